"""absl flags shared by the training CLIs and their conversion into configs (flags stay at the edge)."""

from __future__ import annotations

import contextlib
import math
import sys
from collections.abc import Iterator
from pathlib import Path

from absl import flags

from distill.dataset import SequenceDataset
from distill.distiller import DistillConfig
from distill.item_order import ITEM_ORDERS
from distill.registry import DATASETS, FORMATS, load_dataset
from distill.run_folder import RunFolderError, default_out_dir
from distill.training import MONITORS, STRATEGIES, TrainConfig, TrainingDivergedError
from model.sasrec import LOSSES, NEGATIVE_SAMPLERS, READOUTS, SASRecConfig

# numpy seeds are unsigned 32-bit integers; a seed outside them failed deep inside numpy.
SEED_BOUNDS = {"lower_bound": 0, "upper_bound": 2**32 - 1}


def register_rate_validator(name: str, flag_values: flags.FlagValues = flags.FLAGS) -> None:
    """`--name` must be a rate in [0, 1) (a dropout of 1 drops everything; NaN passes absl's bounds)."""
    flags.register_validator(
        name,
        lambda value: math.isfinite(value) and 0.0 <= value < 1.0,
        message=f"--{name} must be a number in [0, 1)",
        flag_values=flag_values,
    )


def register_positive_validator(name: str, flag_values: flags.FlagValues = flags.FLAGS) -> None:
    """`--name` must be a finite number > 0 (a learning rate, a temperature)."""
    flags.register_validator(
        name,
        lambda value: math.isfinite(value) and value > 0.0,
        message=f"--{name} must be a finite number > 0",
        flag_values=flag_values,
    )


def register_non_negative_validator(name: str, flag_values: flags.FlagValues = flags.FLAGS) -> None:
    """`--name` must be a finite number >= 0 (a loss weight; 0 switches the term off)."""
    flags.register_validator(
        name,
        lambda value: math.isfinite(value) and value >= 0.0,
        message=f"--{name} must be a finite number >= 0",
        flag_values=flag_values,
    )


def define_dataset_flags(flag_values: flags.FlagValues = flags.FLAGS) -> None:
    into = {"flag_values": flag_values}
    flags.DEFINE_enum(
        "dataset", "synthetic", list(DATASETS), "Named dataset, resolved under --data_dir.", **into
    )
    flags.DEFINE_string(
        "data_dir", None, "Benchmark data folder (default: $ODREC_DATA_DIR, then ../shared/data).", **into
    )
    flags.DEFINE_string(
        "data", None, "A dataset file of your own (sessions: TRAIN,TEST); overrides --dataset.", **into
    )
    flags.DEFINE_enum("format", None, list(FORMATS), "Format of --data.", **into)
    flags.DEFINE_integer(
        "seed", 0, "Seed of the synthetic generator, shuffling and initialisation.", **SEED_BOUNDS, **into
    )


def define_model_flags(
    hidden_dim: int = 64, max_len: int = 50, flag_values: flags.FlagValues = flags.FLAGS
) -> None:
    into = {"flag_values": flag_values}
    flags.DEFINE_integer(
        "max_len", max_len, "History length L (most recent items kept).", lower_bound=1, **into
    )
    flags.DEFINE_integer("hidden_dim", hidden_dim, "Embedding and hidden width d.", lower_bound=1, **into)
    flags.DEFINE_integer("num_blocks", 2, "Self-attention blocks.", lower_bound=1, **into)
    flags.DEFINE_integer("num_heads", 1, "Attention heads.", lower_bound=1, **into)
    flags.DEFINE_float("dropout", 0.2, "Dropout rate, in [0, 1).", **into)
    register_rate_validator("dropout", flag_values)
    flags.DEFINE_enum(
        "readout", "last", list(READOUTS), "Sequence readout: last position or OD-Rec attention.", **into
    )
    flags.DEFINE_enum(
        "loss", "full", list(LOSSES), "Full softmax over the catalogue, or sampled softmax.", **into
    )
    flags.DEFINE_integer(
        "num_negatives", 512, "Negatives per batch for --loss=sampled.", lower_bound=1, **into
    )
    flags.DEFINE_enum(
        "negative_sampler", "uniform", list(NEGATIVE_SAMPLERS), "Negative sampler (logQ-corrected).", **into
    )
    flags.DEFINE_bool(
        "repeat_scores",
        False,
        "Add a learnt bonus to the scores of items already in the history (model/repeat.py); pays off on "
        "session data where next items often repeat (Tmall), costs L + d + 1 parameters.",
        **into,
    )
    flags.DEFINE_bool(
        "explore_path",
        False,
        "With --repeat_scores: score history items and new items as two distributions under a learnt gate "
        "(RepeatNet-style, model/repeat.py RepeatExplore) instead of an additive bonus, so that new-item "
        "targets train the ranking that `recommend` (history excluded) shows; L + d + 2 parameters.",
        **into,
    )


def define_training_flags(
    epochs: int = 20,
    batch_size: int = 128,
    flag_values: flags.FlagValues = flags.FLAGS,
    learning_rate: float = 1e-3,
    patience: int = 3,
) -> None:
    """The flags `train_config_from_flags` reads (with `seed` from `define_dataset_flags`)."""
    into = {"flag_values": flag_values}
    flags.DEFINE_integer("epochs", epochs, "Maximum epochs.", lower_bound=1, **into)
    flags.DEFINE_integer("batch_size", batch_size, "Sequences per batch.", lower_bound=1, **into)
    flags.DEFINE_float("learning_rate", learning_rate, "Adam learning rate.", **into)
    register_positive_validator("learning_rate", flag_values)
    flags.DEFINE_integer(
        "patience",
        patience,
        "Early stopping: epochs without validation NDCG@10 improvement.",
        lower_bound=1,
        **into,
    )
    flags.DEFINE_integer(
        "lr_decay_patience",
        0,
        "Multiply the learning rate by --lr_decay_factor after every this many epochs without validation "
        "NDCG@10 improvement (0: never; keep it below --patience).",
        lower_bound=0,
        **into,
    )
    flags.DEFINE_float("lr_decay_factor", 0.3, "See --lr_decay_patience; in (0, 1).", **into)
    flags.DEFINE_float(
        "weight_decay",
        0.0,
        "Decoupled weight decay (AdamW): each step every weight shrinks by learning rate x this (0: Adam).",
        lower_bound=0.0,
        **into,
    )
    flags.register_validator(
        "lr_decay_factor",
        lambda value: math.isfinite(value) and 0.0 < value < 1.0,
        message="--lr_decay_factor must be a number in (0, 1)",
        flag_values=flag_values,
    )
    flags.DEFINE_enum(
        "monitor",
        "all",
        list(MONITORS),
        "What early stopping follows: validation NDCG@10 over all targets, or that plus NDCG@10 of the "
        "new-item targets with the history excluded (all+new; for data whose targets often repeat).",
        **into,
    )
    flags.DEFINE_bool(
        "exclude_history", False, "Evaluation: drop items already in the history from the ranking.", **into
    )
    flags.DEFINE_enum(
        "strategy",
        "default",
        list(STRATEGIES),
        "Distribution: one device; mirrored replicas on this machine (GPUs, else logical CPUs); or "
        "multi_worker over the cluster in TF_CONFIG. --batch_size is the global batch, split evenly over the "
        "replicas (docs/distributed.md).",
        **into,
    )


# What a bad input can raise below the command line: data and config errors are ValueErrors
# (DataFormatError, ModelFolderError, config checks), missing files and full disks OSErrors.
USER_ERRORS = (ValueError, OSError, RunFolderError, TrainingDivergedError)


@contextlib.contextmanager
def errors_as_one_line() -> Iterator[None]:
    """The edge of every CLI: an error of bad input ends the process with `error: <message>` and status 1, on
    one line (a message with line breaks, such as an HDF5 or TensorFlow one quoted inside ours, is joined)."""
    try:
        yield
    except USER_ERRORS as error:
        sys.exit("error: " + " ".join(str(error).split()))


def define_output_flags(role: str, flag_values: flags.FlagValues = flags.FLAGS) -> None:
    """`--out` and `--overwrite` of a training CLI writing a `role` ("teacher", "student") folder."""
    into = {"flag_values": flag_values}
    flags.DEFINE_string(
        "out",
        None,
        f"Output folder (default artifacts/<dataset>/{role}; with --data, artifacts/<file stem>-<hash of "
        f"its content>/{role}). A run resumes there only if the folder's run.json names the same settings "
        "and data.",
        **into,
    )
    flags.DEFINE_bool(
        "overwrite",
        False,
        "Delete what --out holds and start again (a folder of other settings or data is refused otherwise).",
        **into,
    )


def out_dir_from_flags(values: flags.FlagValues, role: str) -> Path:
    """`--out`, or the data-dependent default of `distill.run_folder.default_out_dir`."""
    if values.out:
        return Path(values.out)
    return default_out_dir(values.dataset, values.data, role)


def dataset_from_flags(values: flags.FlagValues) -> SequenceDataset:
    """The dataset of the flags; with --data it is named after the file unless --dataset is given too."""
    name = values.dataset if values.data is None or values["dataset"].present else None
    return load_dataset(
        name=name, data_dir=values.data_dir, path=values.data, fmt=values.format, seed=values.seed
    )


def train_config_from_flags(values: flags.FlagValues) -> TrainConfig:
    return TrainConfig(
        epochs=values.epochs,
        batch_size=values.batch_size,
        learning_rate=values.learning_rate,
        patience=values.patience,
        seed=values.seed,
        strategy=values.strategy,
        lr_decay_patience=values.lr_decay_patience,
        lr_decay_factor=values.lr_decay_factor,
        monitor=values.monitor,
        weight_decay=values.weight_decay,
    )


def backbone_from_flags(values: flags.FlagValues) -> dict:
    """The SASRecConfig fields shared by teacher and student."""
    return {
        "max_len": values.max_len,
        "hidden_dim": values.hidden_dim,
        "num_blocks": values.num_blocks,
        "num_heads": values.num_heads,
        "dropout": values.dropout,
        "readout": values.readout,
        "loss": values.loss,
        "num_negatives": values.num_negatives,
        "negative_sampler": values.negative_sampler,
        "repeat_scores": values.repeat_scores,
        "explore_path": values.explore_path,
    }


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


def define_student_table_flags(flag_values: flags.FlagValues = flags.FLAGS) -> None:
    """The STP-TT item table of the student (`student_table_from_flags` reads them)."""
    into = {"flag_values": flag_values}
    flags.DEFINE_integer("tt_rank", 16, "Student TT rank R.", lower_bound=1, **into)
    flags.DEFINE_integer(
        "stp_factor", 2, "Student semi-tensor-product factor t (1 = plain TT).", lower_bound=1, **into
    )
    flags.DEFINE_integer(
        "tt_num_cores", 2, "Student TT cores (2 or 3).", lower_bound=2, upper_bound=3, **into
    )
    flags.DEFINE_string(
        "tt_item_factors", "", "Explicit item factors, e.g. 169,241 (default: automatic).", **into
    )
    flags.DEFINE_string(
        "tt_dim_factors", "", "Explicit dimension factors, e.g. 16,8 (default: automatic).", **into
    )
    for name in ("tt_item_factors", "tt_dim_factors"):
        flags.register_validator(
            name,
            _factors_are_valid,
            message=f"--{name} must be positive integers separated by commas, e.g. 169,241",
            flag_values=flag_values,
        )


def define_distillation_flags(flag_values: flags.FlagValues = flags.FLAGS) -> None:
    """The loss weights and options of the distillation (`distill_config_from_flags` reads them)."""
    into = {"flag_values": flag_values}
    flags.DEFINE_float("ce_weight", 0.2, "Weight of the student's cross-entropy.", **into)
    flags.DEFINE_float("kd_weight", 0.8, "Weight of soft-target KD (0 = off).", **into)
    flags.DEFINE_float("cl_weight", 0.2, "Weight of the contrastive recombination term (0 = off).", **into)
    flags.DEFINE_float("pred_weight", 0.001, "Weight of the predictive recombination term (0 = off).", **into)
    flags.DEFINE_float("temperature", 1.0, "KD temperature T (the KD term is scaled by T^2).", **into)
    flags.DEFINE_float("cl_temperature", 0.2, "InfoNCE temperature tau.", **into)
    for name in ("temperature", "cl_temperature"):
        register_positive_validator(name, flag_values)
    for name in ("ce_weight", "kd_weight", "cl_weight", "pred_weight"):
        register_non_negative_validator(name, flag_values)
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
        "Start the student from the teacher: cores = TT-SVD of the teacher's table, every backbone "
        "weight copied (needs the teacher's backbone: no width/depth overrides).",
        **into,
    )
    flags.DEFINE_enum(
        "item_order",
        "natural",
        list(ITEM_ORDERS),
        "Which internal id each item takes in the student, and so which items share a TT core slice: the "
        "dataset's (natural), a balanced clustering of the teacher's table (teacher) or of item "
        "co-occurrence (cooccurrence); kept in the student's vocab.tsv (distill/item_order.py).",
        **into,
    )


def student_table_from_flags(values: flags.FlagValues) -> dict:
    """The SASRecConfig fields of the student's STP-TT item table."""
    return {
        "item_table": "stp_tt",
        "tt_rank": values.tt_rank,
        "stp_factor": values.stp_factor,
        "tt_num_cores": values.tt_num_cores,
        "tt_item_factors": parse_factors(values.tt_item_factors),
        "tt_dim_factors": parse_factors(values.tt_dim_factors),
    }


def distill_config_from_flags(values: flags.FlagValues) -> DistillConfig:
    return DistillConfig(
        ce_weight=values.ce_weight,
        kd_weight=values.kd_weight,
        cl_weight=values.cl_weight,
        pred_weight=values.pred_weight,
        temperature=values.temperature,
        cl_temperature=values.cl_temperature,
        kd_top_k=values.kd_top_k,
        sampled=values.sampled_distillation,
        warm_start=values.warm_start,
        cache_teacher=values.cache_teacher,
        item_order=values.item_order,
    )


def student_config_from_flags(values: flags.FlagValues, teacher: SASRecConfig) -> SASRecConfig:
    """The teacher's backbone, with any width/depth flag given overriding it, and the STP-TT table."""
    backbone = teacher.to_dict()
    for name in ("hidden_dim", "num_blocks", "num_heads", "dropout"):
        if values[name].present:
            backbone[name] = values[name].value
    backbone.update(student_table_from_flags(values))
    return SASRecConfig.from_dict(backbone)


def define_teacher_cli_flags(flag_values: flags.FlagValues = flags.FLAGS) -> None:
    """Every flag of `python -m distill.train_teacher`, into `flag_values` (tests: a fresh `FlagValues`)."""
    define_dataset_flags(flag_values)
    define_model_flags(flag_values=flag_values)
    define_training_flags(flag_values=flag_values)
    define_output_flags("teacher", flag_values)


def define_student_cli_flags(flag_values: flags.FlagValues = flags.FLAGS) -> None:
    """Every flag of `python -m distill.train_student`, into `flag_values` (tests: a fresh `FlagValues`)."""
    into = {"flag_values": flag_values}
    define_dataset_flags(flag_values)
    define_training_flags(flag_values=flag_values)
    flags.DEFINE_string(
        "teacher", None, "Teacher model folder (from distill.train_teacher).", required=True, **into
    )
    define_output_flags("student", flag_values)
    flags.DEFINE_string("name", "student", "Name of this student in metrics and reports.", **into)
    flags.DEFINE_integer("hidden_dim", 64, "Student width d (default: the teacher's).", lower_bound=1, **into)
    flags.DEFINE_integer("num_blocks", 2, "Student blocks (default: the teacher's).", lower_bound=1, **into)
    flags.DEFINE_integer("num_heads", 1, "Student heads (default: the teacher's).", lower_bound=1, **into)
    flags.DEFINE_float("dropout", 0.2, "Student dropout in [0, 1) (default: the teacher's).", **into)
    register_rate_validator("dropout", flag_values)
    define_student_table_flags(flag_values)
    define_distillation_flags(flag_values)
