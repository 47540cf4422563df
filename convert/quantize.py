"""Post-training variants of one export: the converter options of `fp32`, `fp16`, `dynamic_int8`, `full_int8`.

`qat_int8` starts from a quantization-aware model (convert/qat.py) and is converted like `dynamic_int8`, with
the ranges learnt during fine-tuning taking the place of calibration. `full_int8` is converted from an export
graph whose `score` padding column is the row minimum minus one (`padding_column`): -1e9 cannot share an int8
range with the scores.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from convert.export import SIGNATURES, convert_saved_model
from model.keras_setup import tf
from runtime.history import encode_history

VARIANTS = ("fp32", "fp16", "dynamic_int8", "full_int8", "qat_int8")
STUDENT_ONLY_VARIANTS = ("qat_int8",)
REPRESENTATIVE_SIZE = 100
# qat_int8 fine-tunes the student with fake quantization (convert/qat.py). Below this many steps in all, the
# fine-tune barely moves a weight and what it adds over dynamic_int8 is int8 ranges seen on a handful of
# batches: on README's 1,000-line CSV (5 steps) the QAT student came out 42% larger than dynamic_int8 at the
# same test NDCG@10 (105,032 vs 73,744 bytes, 0.3855 both), and its fine-tune, nearly all TensorFlow tracing
# the quantized train step, took about a sixth of the job's CPU time. The default synthetic run has 16 steps.
MIN_QAT_STEPS = 10
# On data of fewer training sequences than this (README's CSV: 73; the default synthetic run: 2,000), each
# variant's fixed cost (a conversion is about 3 s of CPU whatever the data; full_int8 adds a SavedModel and
# a calibration) outweighs training: both models are then exported as fp32 and dynamic_int8 only (the
# reference, and the smallest file at its accuracy). fp16 is for GPU delegates and full_int8 for
# integer-only accelerators, which a model of a few hundred sequences does not need; --variants asks for
# them. On the CSV they were four of the six conversions.
SMALL_DATA_ROWS = 512
SMALL_DATA_LEFT_OUT = ("fp16", "full_int8")


@dataclass(frozen=True)
class Conversion:
    """A converted variant and what the converter had to settle for (recorded in sidecar and report)."""

    flatbuffer: bytes
    quantization: str
    notes: tuple[str, ...] = field(default_factory=tuple)


def padding_column(variant: str) -> str:
    """The `convert.export` padding column of the SavedModel a variant is converted from."""
    return "below_row_minimum" if variant == "full_int8" else "sentinel"


def variants_for_role(role: str, requested: Sequence[str]) -> list[str]:
    """The requested variants that apply to a role (QAT fine-tunes the student; the teacher and the rivals
    have none)."""
    unknown = sorted(set(requested) - set(VARIANTS))
    if unknown:
        raise ValueError(f"unknown variants {unknown}; choose from {VARIANTS}")
    return [v for v in VARIANTS if v in requested and (role == "student" or v not in STUDENT_ONLY_VARIANTS)]


def qat_steps(training_rows: int, batch_size: int, epochs: int) -> int:
    """Steps of the QAT fine-tune: `epochs` epochs of `training_rows` sequences in batches of `batch_size`."""
    return epochs * math.ceil(training_rows / batch_size)


@dataclass(frozen=True)
class VariantChoice:
    """The variants an export writes for each role, and the ones left out ("what: why"; empty: none was)."""

    student: tuple[str, ...]
    teacher: tuple[str, ...]
    reasons: tuple[str, ...] = ()


def variants_for_data(
    requested: Sequence[str], training_rows: int, batch_size: int, qat_epochs: int, keep_qat: bool = False
) -> VariantChoice:
    """The default variants for a dataset: `requested`, less qat_int8 when its fine-tune would have fewer than
    MIN_QAT_STEPS steps (unless `keep_qat`: the user gave the QAT epochs), and less SMALL_DATA_LEFT_OUT on
    data of fewer than SMALL_DATA_ROWS training sequences (see both). The caller applies this only when the
    user did not name the variants.
    """
    student, teacher, reasons = tuple(requested), tuple(requested), []
    steps = qat_steps(training_rows, batch_size, qat_epochs)
    if "qat_int8" in requested and steps < MIN_QAT_STEPS and not keep_qat:
        student = tuple(variant for variant in student if variant != "qat_int8")
        reasons.append(
            f"qat_int8: its fine-tune would be {steps} steps ({training_rows} training sequences, batch "
            f"{batch_size}, {qat_epochs} epoch{'s' if qat_epochs != 1 else ''}; under {MIN_QAT_STEPS}), too "
            "few to learn more than dynamic_int8 has; --qat_epochs asks for it"
        )
    if training_rows < SMALL_DATA_ROWS:
        left_out = [variant for variant in SMALL_DATA_LEFT_OUT if variant in requested]
        student = tuple(variant for variant in student if variant not in left_out)
        teacher = tuple(
            variant for variant in variants_for_role("teacher", teacher) if variant not in left_out
        )
        if left_out:
            reasons.append(
                f"{', '.join(left_out)}: on {training_rows} training sequences (under {SMALL_DATA_ROWS}) a "
                "conversion costs more than training; --variants asks for them"
            )
    return VariantChoice(student, teacher, tuple(reasons))


def representative_histories(
    train_sequences: Sequence[np.ndarray], max_len: int, count: int = REPRESENTATIVE_SIZE, seed: int = 0
) -> np.ndarray:
    """Encoded prefixes of real training sequences (random sequence, random cut), int32 [count, max_len].

    Calibration sees the activation ranges of real histories of every length, not of random ids.
    """
    rng = np.random.default_rng(seed)
    usable = [sequence for sequence in train_sequences if len(sequence) >= 1]
    if not usable:
        raise ValueError("no non-empty training sequence to calibrate full_int8 with")
    histories = []
    for index in rng.integers(0, len(usable), size=count):
        sequence = usable[index]
        end = int(rng.integers(1, len(sequence) + 1))
        histories.append(encode_history(np.asarray(sequence[:end]).tolist(), max_len))
    return np.stack(histories)


def _representative_dataset(histories: np.ndarray) -> Callable[[], Iterator[tuple[str, dict]]]:
    def generate() -> Iterator[tuple[str, dict]]:
        for history in histories:
            for signature in SIGNATURES:
                yield signature, {"history": history[None, :]}

    return generate


def _optimize(converter: tf.lite.TFLiteConverter) -> None:
    converter.optimizations = [tf.lite.Optimize.DEFAULT]


def _int8_weights(converter: tf.lite.TFLiteConverter) -> None:
    """int8 weights with one scale per tensor (dynamic-range and full-integer variants).

    Per-channel scales would quantize a table twice, per row for FULLY_CONNECTED (`score`) and per tensor for
    GATHER (`lookup`), and store both copies plus a 12-byte scale per row in each signature; one scale lets
    both ops share a single int8 copy (bench/results/tmall-export.json: student dynamic_int8 158,400 B, top-10
    agreement with Keras 0.962).
    """
    _optimize(converter)
    converter._experimental_disable_per_channel_quantization_for_dense_layers = True


def _float16(converter: tf.lite.TFLiteConverter) -> None:
    _optimize(converter)
    converter.target_spec.supported_types = [tf.float16]


def _full_integer(histories: np.ndarray, strict: bool) -> Callable[[tf.lite.TFLiteConverter], None]:
    def setup(converter: tf.lite.TFLiteConverter) -> None:
        _int8_weights(converter)
        converter.representative_dataset = _representative_dataset(histories)
        if strict:
            # int32 history and item ids are not quantized tensors, so they keep their type either way.
            converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]

    return setup


def convert_variant(
    saved_model_dir: str | Path, variant: str, calibration_histories: np.ndarray | None = None
) -> Conversion:
    """Flatbuffer of one variant from the export SavedModel.

    `full_int8` first asks for int8-only kernels; if an operator has none, it falls back to int8 where
    possible and float elsewhere, and says so in `notes`.

    Raises:
        ValueError: unknown variant, or full_int8 without calibration histories.
    """
    if variant in ("fp32",):
        return Conversion(convert_saved_model(saved_model_dir), "none")
    if variant == "fp16":
        return Conversion(convert_saved_model(saved_model_dir, _float16), "float16 weights")
    if variant in ("dynamic_int8", "qat_int8"):
        kind = "int8 weights (one scale per tensor), dynamic-range activations"
        if variant == "qat_int8":
            kind = "quantization-aware int8 (learnt ranges)"
        setup = _int8_weights if variant == "dynamic_int8" else _optimize
        return Conversion(convert_saved_model(saved_model_dir, setup), kind)
    if variant != "full_int8":
        raise ValueError(f"unknown variant {variant!r}; choose from {VARIANTS}")
    if calibration_histories is None:
        raise ValueError("full_int8 needs calibration_histories (encoded training prefixes)")
    try:
        flatbuffer = convert_saved_model(saved_model_dir, _full_integer(calibration_histories, strict=True))
        return Conversion(flatbuffer, "full integer (int8 only)")
    except Exception as error:  # the converter raises ConverterError or RuntimeError per missing kernel
        reason = str(error).strip().splitlines()[0][:300]
        flatbuffer = convert_saved_model(saved_model_dir, _full_integer(calibration_histories, strict=False))
        note = f"int8-only ops failed ({reason}); used int8 with float fallback"
        return Conversion(flatbuffer, "full integer with float fallback", (note,))
