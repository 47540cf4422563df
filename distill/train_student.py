"""Distil a trained teacher into an STP-TT student.

    python -m distill.train_student --teacher artifacts/tmall/teacher --dataset tmall \
        --out artifacts/tmall/student


Writes the student model folder (config.json + weights), vocab.tsv, metrics.json with overall / head / tail
metrics and the parameter accounting (components, compression ratios, distillation-only heads not counted).
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from absl import app, flags

from distill import cli_flags
from distill.dataset import SequenceDataset
from distill.distiller import DistillConfig, Distiller
from distill.model_io import check_model_folder, load_model
from distill.pipeline import EpochBatches
from distill.run_folder import owned_run_folder
from distill.teacher_cache import load_or_build_teacher_cache
from distill.train_teacher import item_counts, split_metrics, train_and_evaluate, training_sequences
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
    distiller.compile(optimizer=make_optimizer(train_config))
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
    print(json.dumps({key: entry[key] for key in ("params", "compression_table", "compression_model")}))
    print(json.dumps(entry["metrics"]))
    return metrics


def parse_factors(text: str) -> tuple[int, ...]:
    """ "169,241" -> (169, 241); "" -> () (automatic).

    Raises:
        ValueError: a part that is not a positive integer; the message names it.
    """
    parts = [part.strip() for part in text.split(",") if part.strip()]
    if not all(part.isascii() and part.isdigit() and int(part) > 0 for part in parts):
        raise ValueError(f"factors {text!r} must be positive integers separated by commas, e.g. 169,241")
    return tuple(int(part) for part in parts)


def _factors_are_valid(text: str) -> bool:
    try:
        parse_factors(text)
    except ValueError:
        return False
    return True


FLAGS = flags.FLAGS


def student_config_from_flags(values: flags.FlagValues, teacher: SASRecConfig) -> SASRecConfig:
    """The teacher's backbone, with any width/depth flag overriding it, and the STP-TT table settings."""
    backbone = teacher.to_dict()
    for name in ("hidden_dim", "num_blocks", "num_heads", "dropout"):
        if values[name].present:
            backbone[name] = values[name].value
    backbone.update(
        item_table="stp_tt",
        tt_rank=values.tt_rank,
        stp_factor=values.stp_factor,
        tt_num_cores=values.tt_num_cores,
        tt_item_factors=parse_factors(values.tt_item_factors),
        tt_dim_factors=parse_factors(values.tt_dim_factors),
    )
    return SASRecConfig.from_dict(backbone)


def main(argv: Sequence[str]) -> None:
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {argv[1:]}")
    with cli_flags.errors_as_one_line():
        dataset = cli_flags.dataset_from_flags(FLAGS)
        teacher_config = check_model_folder(FLAGS.teacher, dataset, "teacher")
        distill_config = DistillConfig(
            ce_weight=FLAGS.ce_weight,
            kd_weight=FLAGS.kd_weight,
            cl_weight=FLAGS.cl_weight,
            pred_weight=FLAGS.pred_weight,
            temperature=FLAGS.temperature,
            cl_temperature=FLAGS.cl_temperature,
            kd_top_k=FLAGS.kd_top_k,
            sampled=FLAGS.sampled_distillation,
            warm_start=FLAGS.warm_start,
            cache_teacher=FLAGS.cache_teacher,
        )
        train_student(
            dataset,
            FLAGS.teacher,
            student_config_from_flags(FLAGS, teacher_config),
            distill_config,
            cli_flags.train_config_from_flags(FLAGS),
            cli_flags.out_dir_from_flags(FLAGS, "student"),
            exclude_history=FLAGS.exclude_history,
            name=FLAGS.name,
            overwrite=FLAGS.overwrite,
        )


def define_flags(flag_values: flags.FlagValues = flags.FLAGS) -> None:
    """Every flag of this CLI, into `flag_values` (tests use a fresh `FlagValues`)."""
    into = {"flag_values": flag_values}
    cli_flags.define_dataset_flags(flag_values)
    cli_flags.define_training_flags(flag_values=flag_values)
    flags.DEFINE_string(
        "teacher", None, "Teacher model folder (from distill.train_teacher).", required=True, **into
    )
    cli_flags.define_output_flags("student", flag_values)
    flags.DEFINE_string("name", "student", "Name of this student in metrics and reports.", **into)
    flags.DEFINE_integer("hidden_dim", 64, "Student width d (default: the teacher's).", lower_bound=1, **into)
    flags.DEFINE_integer("num_blocks", 2, "Student blocks (default: the teacher's).", lower_bound=1, **into)
    flags.DEFINE_integer("num_heads", 1, "Student heads (default: the teacher's).", lower_bound=1, **into)
    flags.DEFINE_float("dropout", 0.2, "Student dropout in [0, 1) (default: the teacher's).", **into)
    cli_flags.register_rate_validator("dropout", flag_values)
    flags.DEFINE_integer("tt_rank", 16, "TT rank R.", lower_bound=1, **into)
    flags.DEFINE_integer(
        "stp_factor", 2, "Semi-tensor-product factor t (1 = plain TT).", lower_bound=1, **into
    )
    flags.DEFINE_integer(
        "tt_num_cores", 2, "Number of TT cores (2 or 3).", lower_bound=2, upper_bound=3, **into
    )
    flags.DEFINE_string(
        "tt_item_factors", "", "Explicit item factors, e.g. 169,241 (default: automatic).", **into
    )
    flags.DEFINE_string(
        "tt_dim_factors", "", "Explicit dimension factors, e.g. 16,8 (default: automatic).", **into
    )
    flags.DEFINE_float("ce_weight", 0.2, "Weight of the student's cross-entropy.", **into)
    flags.DEFINE_float("kd_weight", 0.8, "Weight of soft-target KD (0 = off).", **into)
    flags.DEFINE_float("cl_weight", 0.2, "Weight of the contrastive recombination term (0 = off).", **into)
    flags.DEFINE_float("pred_weight", 0.001, "Weight of the predictive recombination term (0 = off).", **into)
    flags.DEFINE_float("temperature", 1.0, "KD temperature T (the KD term is scaled by T^2).", **into)
    flags.DEFINE_float("cl_temperature", 0.2, "InfoNCE temperature tau.", **into)
    for name in ("temperature", "cl_temperature"):
        cli_flags.register_positive_validator(name, flag_values)
    for name in ("ce_weight", "kd_weight", "cl_weight", "pred_weight"):
        cli_flags.register_non_negative_validator(name, flag_values)
    for name in ("tt_item_factors", "tt_dim_factors"):
        flags.register_validator(
            name,
            _factors_are_valid,
            message=f"--{name} must be positive integers separated by commas, e.g. 169,241",
            flag_values=flag_values,
        )
    flags.DEFINE_integer(
        "kd_top_k",
        0,
        "KD over the teacher's top-k items plus a tail bucket (large catalogues); 0 = full catalogue.",
        lower_bound=0,
        **into,
    )
    flags.DEFINE_bool(
        "sampled_distillation",
        False,
        "Large catalogues: the student's CE is its sampled softmax (the teacher's negative sampler) and KD "
        "is over the teacher's top --kd_top_k items only: neither scores the whole catalogue.",
        **into,
    )
    flags.DEFINE_bool(
        "cache_teacher",
        True,
        "With --kd_top_k: compute the frozen teacher's top-k targets and sequence vectors once and keep them "
        "in <teacher>/distill_cache/ for every epoch and every later student of the same data.",
        **into,
    )
    flags.DEFINE_bool(
        "warm_start",
        False,
        "Start the student from the teacher: cores = TT-SVD of the teacher's item table, every backbone "
        "weight copied (needs the teacher's backbone: no width/depth overrides).",
        **into,
    )


if __name__ == "__main__":
    define_flags()
    app.run(main)
