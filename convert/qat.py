"""Quantization-aware fine-tuning of the student (tensorflow-model-optimization, Keras 2).

SASRec is a subclassed model, so `tfmot.quantization.keras.quantize_apply` (functional models only) cannot
rewrite it, and whole-model annotation fails on MultiHeadAttention. Instead the point-wise Dense layers
(feed-forward of every block, and the attention readout when present) are replaced in place by
`QuantizeWrapperV2` with the default 8-bit Dense config: they learn int8 weight and activation ranges while
the rest stays float. The fine-tune uses the distillation objective (`distill.distiller.Distiller`, frozen
teacher).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from distill.distiller import DistillConfig, Distiller
from distill.item_order import load_model_in_vocab
from distill.model_io import load_model
from distill.pipeline import training_dataset
from model.keras_setup import keras
from model.sasrec import SASRec
from runtime.metrics import head_item_mask
from runtime.vocab import Vocab


def _dense_owners(model: SASRec) -> list[tuple[keras.layers.Layer, str]]:
    """(owner, attribute) of every Dense layer that QAT wraps."""
    owners = [(block, name) for block in model.blocks for name in ("ffn_inner", "ffn_outer")]
    if model.readout is not None:
        names = ("position_projection", "mean_projection", "weight_projection")
        owners += [(model.readout, name) for name in names]
    return owners


def annotate_dense_layers(model: SASRec) -> int:
    """Wraps the model's Dense layers for QAT in place (weights are kept); returns how many were wrapped."""
    # Imported here: about 1 s of CPU that an export without qat_int8 does not need.
    import tensorflow_model_optimization as tfmot

    registry = tfmot.quantization.keras.default_8bit.Default8BitQuantizeRegistry()
    owners = _dense_owners(model)
    for owner, name in owners:
        dense = getattr(owner, name)
        wrapper = tfmot.quantization.keras.QuantizeWrapperV2(dense, registry.get_quantize_config(dense))
        setattr(owner, name, wrapper)
    return len(owners)


def quantization_aware_student(
    student_dir: str,
    teacher_dir: str,
    train_sequences: Sequence[np.ndarray],
    epochs: int = 1,
    batch_size: int = 128,
    learning_rate: float = 1e-4,
    seed: int = 0,
    distill_config: DistillConfig | None = None,
    vocab: Vocab | None = None,
) -> SASRec:
    """Loads the trained student, wraps its Dense layers and fine-tunes it briefly with fake quantization.

    Args:
        student_dir / teacher_dir: model folders (config.json + weights).
        train_sequences: training sequences (internal ids, oldest first), as the student was trained on.
        epochs: fine-tune epochs (0 only calibrates the wrappers' ranges on one dummy batch).
        vocab: the item order of `train_sequences` (the student's); the teacher is read in it
            (`distill.item_order.load_model_in_vocab`). None: the teacher's folder order is taken as is.

    Returns:
        the fine-tuned student (float weights + learnt ranges), ready for `convert.export.save_export_module`.
    """
    keras.utils.set_random_seed(seed)
    student = load_model(student_dir)
    annotate_dense_layers(student)
    student.build_for_inference()  # builds the wrappers (their range variables) before any optimizer exists
    teacher = load_model(teacher_dir) if vocab is None else load_model_in_vocab(teacher_dir, vocab)
    hot_items = head_item_mask(train_sequences, student.config.n_items)
    distiller = Distiller(teacher, student, hot_items, distill_config or DistillConfig())
    optimizer = keras.optimizers.Adam(learning_rate)
    # Slots now rather than in the first step, which would make tf.function trace the step twice
    # (`distill.training.make_optimizer`).
    optimizer.build(distiller.trained_variables())
    distiller.compile(optimizer=optimizer)
    if epochs > 0:
        distiller.fit(
            training_dataset(train_sequences, student.config.max_len, batch_size, seed), epochs=epochs
        )
    return student
