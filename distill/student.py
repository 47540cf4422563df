"""Distilling a trained teacher into an STP-TT student (the library behind `python -m distill.train_student`).

A student folder holds the model (config.json + weights), vocab.tsv, metrics.json with overall / head / tail
metrics and the parameter accounting (components, compression ratios, distillation-only heads not counted).
"""

from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path

import numpy as np

from distill.dataset import SequenceDataset
from distill.distiller import DistillConfig, Distiller
from distill.item_order import reorder_dataset, reorder_item_table, student_item_order
from distill.model_io import check_model_folder, load_model
from distill.pipeline import EpochBatches
from distill.run_folder import owned_run_folder
from distill.teacher import (
    item_counts,
    print_comparison,
    split_metrics,
    train_and_evaluate,
    training_sequences,
)
from distill.teacher_cache import load_or_build_teacher_cache
from distill.training import (
    TrainConfig,
    is_chief,
    learning_curve,
    make_optimizer,
    make_strategy,
    remove_worker_dir,
    worker_write_dir,
)
from model.keras_setup import keras, tf
from model.parameters import compression_ratios, parameter_report
from model.sasrec import SASRec, SASRecConfig
from model.warm_start import warm_start_student
from runtime.atomic import atomic_write_text
from runtime.metrics import head_item_mask
from runtime.vocab import write_vocab


def build_distiller(
    dataset: SequenceDataset,
    teacher: SASRec,
    student_config: SASRecConfig,
    distill_config: DistillConfig,
    train_config: TrainConfig,
) -> Distiller:
    """A compiled Distiller of a new student; the hot items and the negative sampler come from `dataset`.
    Sampled distillation trains the student with its sampled softmax, whatever loss its config names."""
    if distill_config.sampled:
        student_config = dataclasses.replace(student_config, loss="sampled")
    student = SASRec(student_config)
    student.build_for_inference()
    if distill_config.warm_start:
        error = warm_start_student(student, teacher)
        print(f"warm start: the student's table approximates the teacher's with relative error {error:.3f}")
    student.set_item_counts(item_counts(dataset.train_sequences, dataset.n_items))
    hot_items = head_item_mask(dataset.train_sequences, dataset.n_items)
    distiller = Distiller(teacher, student, hot_items, distill_config)
    distiller.compile(optimizer=make_optimizer(train_config, distiller.trained_variables()))
    return distiller


def train_student(
    dataset: SequenceDataset,
    teacher_dir: str | Path,
    student_config: SASRecConfig,
    distill_config: DistillConfig,
    train_config: TrainConfig,
    out_dir: str | Path,
    exclude_history: bool = False,
    name: str = "student",
    overwrite: bool = False,
) -> dict:
    """Distils (or, with only ce_weight set, trains from scratch) a student; returns its metrics.json.

    The teacher folder is checked first (`distill.model_io.check_model_folder`), then the run takes
    `out_dir` as its own (`distill.run_folder`, as `train_teacher`; `overwrite` starts again). Under
    `train_config.strategy` teacher, student, heads and optimizer are built inside the strategy's scope; on a
    multi-worker cluster only the chief writes `out_dir`.

    Raises:
        ModelFolderError: the teacher folder is missing, incomplete, or of another dataset.
        RunFolderError: another run holds `out_dir`, or it holds a run of other settings or data.
    """
    out_dir = Path(out_dir)
    check_model_folder(teacher_dir, dataset, "teacher")
    strategy = make_strategy(train_config.strategy)
    write_dir = worker_write_dir(out_dir, strategy)
    record = {
        "role": "student",
        "teacher_dir": str(Path(teacher_dir).resolve()),
        "model": student_config.to_dict(),
        "distill": distill_config.to_dict(),
        "train": train_config.to_dict(),
    }
    with owned_run_folder(out_dir, record, dataset, overwrite, write_dir):
        return _train_student(
            dataset,
            teacher_dir,
            student_config,
            distill_config,
            train_config,
            out_dir,
            write_dir,
            strategy,
            exclude_history,
            name,
        )


def _train_student(
    dataset: SequenceDataset,
    teacher_dir: str | Path,
    student_config: SASRecConfig,
    distill_config: DistillConfig,
    train_config: TrainConfig,
    out_dir: Path,
    write_dir: Path,
    strategy: tf.distribute.Strategy,
    exclude_history: bool,
    name: str,
) -> dict:
    write_dir.mkdir(parents=True, exist_ok=True)
    keras.utils.set_random_seed(train_config.seed)
    teacher = load_model(teacher_dir)
    # The student's item order renumbers the data and the frozen teacher together, here and only here: every
    # later step (rows, hot items, KD, cache, warm start, metrics, vocab.tsv) sees one numbering.
    new_to_old = student_item_order(distill_config.item_order, dataset, teacher, student_config, out_dir)
    dataset = reorder_dataset(dataset, new_to_old)
    reorder_item_table(teacher, new_to_old)
    if new_to_old is not None:
        moved = int(np.sum(new_to_old != np.arange(1, dataset.n_items + 1)))
        print(f"item order {distill_config.item_order}: {moved} of {dataset.n_items} items take new ids")
    with strategy.scope():
        if strategy is not tf.distribute.get_strategy():
            # The teacher must belong to the strategy too, but `load_weights` of an .h5 file inside
            # a strategy scope fails on the loss tracker's sync-on-read variables (it divides the h5py dataset
            # itself by the replica count): rebuild the teacher in the scope and copy the loaded weights.
            loaded, teacher = teacher, SASRec(teacher.config).build_for_inference()
            teacher.set_weights(loaded.get_weights())
        distiller = build_distiller(dataset, teacher, student_config, distill_config, train_config)
    write_vocab(write_dir / "vocab.tsv", dataset.vocab)
    start = time.time()
    teacher_cache = None
    if distill_config.uses_teacher_cache:

        def teacher_cache(batches: EpochBatches):
            return load_or_build_teacher_cache(
                teacher_dir,
                teacher,
                batches,
                distill_config.kd_top_k,
                distill_config.temperature,
                write=is_chief(strategy),
                item_order=new_to_old,
            ).batch_rows

    best, reports = train_and_evaluate(
        distiller,
        dataset,
        training_sequences(dataset, student_config),
        train_config,
        write_dir,
        exclude_history,
        restore_dir=out_dir,
        row_extras=teacher_cache,
    )
    teacher_params, student_params = parameter_report(teacher), parameter_report(best)
    heads = int(sum(np.prod(w.shape) for head in distiller.heads() for w in head.trainable_weights))
    state = reports["state"]
    entry = {
        "name": name,
        "role": "student",
        "params": student_params["total"],
        **compression_ratios(teacher_params, student_params),
        **split_metrics(reports["test"]),
        "valid_metrics": reports["valid"]["metrics"],
        "best_epoch": state["best_epoch"],
        "epochs": len(state["history"]),
        **learning_curve(state),
        "distill_config": distill_config.to_dict(),
    }
    metrics = {
        "dataset": dataset.name,
        "split": dataset.split,
        "teacher_dir": str(teacher_dir),
        "config": distiller.student.config.to_dict(),
        "distill_config": distill_config.to_dict(),
        "train_config": train_config.to_dict(),
        "exclude_history": exclude_history,
        "parameters": {"student": student_params, "teacher": teacher_params, "distillation_heads": heads},
        "seconds": time.time() - start,
        "models": [entry],
    }
    atomic_write_text(write_dir / "metrics.json", json.dumps(metrics, indent=2))
    remove_worker_dir(out_dir, write_dir)
    print(
        f"student: {entry['params']:,} parameters, item table {entry['compression_table']:.1f}x and model "
        f"{entry['compression_model']:.1f}x smaller than the teacher's"
    )
    print_comparison([entry])
    return metrics
