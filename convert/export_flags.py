"""The flags of the main job (`python convert/to_tflite.py`) and their conversion into the job's configs.

Dataset, model, training, student-table and distillation flags are `distill.cli_flags`' own (defined once
for every CLI); here are only the export's flags and the job's defaults. Settings the user does not give are
chosen from the data (`distill.data_defaults`).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from absl import flags

from convert.default_run import JobResult, TrainingPlan, run_job, synthetic_dataset
from convert.export_folder import ON_DEVICE_FILE, ExportConfig
from convert.on_device import OnDeviceConfig
from convert.quantize import VARIANTS, variants_for_data
from convert.summary import summary_text
from distill import cli_flags
from distill.data_defaults import DataDefaults, data_defaults
from distill.dataset import SequenceDataset
from distill.run_folder import default_out_dir
from distill.synthetic import DEFAULT_ITEMS, DEFAULT_USERS
from model.sasrec import SASRecConfig
from runtime.provenance import command_line

# The job's training defaults. 80 teacher epochs at 2e-3 (about 4 minutes on 2 cores) bring the synthetic
# teacher level with the first-order Markov baseline (test NDCG@10 0.455 both); 10 epochs at 1e-3 stopped at
# 0.32.
HIDDEN_DIM = 32
TEACHER_EPOCHS = 80
STUDENT_EPOCHS = 30
LEARNING_RATE = 2e-3
PATIENCE = 5
# Writing a checkpoint and the best model takes about 0.2 s of CPU; an epoch of README's 1,000-line CSV about
# as much, so the job writes when that is at most a tenth of the training time since the last write (every
# epoch of multi-second epochs; `distill.training.ValidationCheckpoint`).
CHECKPOINT_SHARE = 0.1
# Flags whose default is read off the data when the user does not give them (name -> DataDefaults field).
DATA_CHOSEN = ("max_len", "repeat_scores", "tt_rank", "tt_num_cores", "batch_size")


def define_flags(flag_values: flags.FlagValues = flags.FLAGS) -> None:
    """Every flag of the main job, into `flag_values` (tests use a fresh `FlagValues`)."""
    into = {"flag_values": flag_values}
    cli_flags.define_dataset_flags(flag_values)
    cli_flags.define_model_flags(hidden_dim=HIDDEN_DIM, flag_values=flag_values)
    cli_flags.define_training_flags(
        epochs=TEACHER_EPOCHS, flag_values=flag_values, learning_rate=LEARNING_RATE, patience=PATIENCE
    )
    cli_flags.define_student_table_flags(flag_values)
    cli_flags.define_distillation_flags(flag_values)
    for name in DATA_CHOSEN:
        flag_values[name].help += " Default: chosen from the data (see distill/data_defaults.py)."
    flags.DEFINE_integer("student_epochs", STUDENT_EPOCHS, "Maximum student epochs.", lower_bound=1, **into)
    flags.DEFINE_integer(
        "synthetic_users", DEFAULT_USERS, "Users of the synthetic dataset.", lower_bound=2, **into
    )
    flags.DEFINE_integer(
        "synthetic_items", DEFAULT_ITEMS, "Items of the synthetic dataset.", lower_bound=8, **into
    )
    flags.DEFINE_string("teacher", None, "Trained teacher folder; with --student, skips training.", **into)
    flags.DEFINE_string("student", None, "Trained student folder; with --teacher, skips training.", **into)
    flags.DEFINE_string(
        "out",
        None,
        "Export folder (default artifacts/<dataset>; with --data, artifacts/<file stem>-<hash of its "
        "content>). The default run trains into <out>/models/.",
        **into,
    )
    flags.DEFINE_bool(
        "overwrite",
        False,
        "Default run: train again in <out>/models/ when it holds a run of other settings or data.",
        **into,
    )
    flags.DEFINE_list("variants", list(VARIANTS), "Variants to export (qat_int8 is student only).", **into)
    flags.DEFINE_list(
        "rivals",
        [],
        "Trained model folders of this dataset (e.g. a dense SASRec of the student's parameter count), "
        "exported beside the student as rival_<folder name>_<variant> with the student's variants but "
        "qat_int8, so that the report compares them at equal budget.",
        **into,
    )
    flags.DEFINE_integer("top_k", 20, "K of the recommend signature.", lower_bound=1, **into)
    flags.DEFINE_integer(
        "eval_examples", 0, "Test examples evaluated in LiteRT per variant (0 = all).", lower_bound=0, **into
    )
    flags.DEFINE_integer(
        "parity_examples", 200, "Test histories for Keras/LiteRT parity (0 = all).", lower_bound=0, **into
    )
    flags.DEFINE_integer("bench_runs", 300, "Timed recommend calls per variant.", lower_bound=1, **into)
    flags.DEFINE_integer("bench_warmup", 30, "Untimed recommend calls before timing.", lower_bound=0, **into)
    flags.DEFINE_integer("golden_cases", 8, "Histories in golden.json.", lower_bound=2, **into)
    flags.DEFINE_integer(
        "qat_epochs", 1, "Quantization-aware fine-tune epochs of the student.", lower_bound=0, **into
    )
    flags.DEFINE_bool(
        "on_device_training",
        False,
        f"Also write {ON_DEVICE_FILE}: the student with train/get_weights/set_weights/set_items signatures "
        "(convert/on_device.py).",
        **into,
    )
    flags.DEFINE_integer(
        "spare_items", 16, "On-device export: item slots for items added later.", lower_bound=1, **into
    )
    flags.DEFINE_float("on_device_learning_rate", 0.05, "On-device export: SGD step size of `train`.", **into)
    cli_flags.register_positive_validator("on_device_learning_rate", flag_values)
    flags.DEFINE_float(
        "on_device_weight_decay", 0.01, "On-device export: pull of `train` toward the shipped model.", **into
    )


def dataset_from_flags(values: flags.FlagValues) -> SequenceDataset:
    """--data/--format, else the named --dataset; the synthetic one at --synthetic_users/--synthetic_items."""
    if values.data is None and values.dataset == "synthetic":
        return synthetic_dataset(values.synthetic_users, values.synthetic_items, values.seed)
    return cli_flags.dataset_from_flags(values)


def export_config_from_flags(values: flags.FlagValues, dataset: SequenceDataset) -> ExportConfig:
    out = Path(values.out) if values.out else default_out_dir(dataset.name, values.data, role=None)
    return ExportConfig(
        out=out,
        variants=tuple(values.variants),
        top_k=values.top_k,
        eval_examples=values.eval_examples,
        parity_examples=values.parity_examples,
        bench_runs=values.bench_runs,
        bench_warmup=values.bench_warmup,
        golden_cases=values.golden_cases,
        qat_epochs=values.qat_epochs,
        batch_size=values.batch_size,
        seed=values.seed,
        exclude_history=values.exclude_history,
        on_device=on_device_config(values),
        rivals=tuple(Path(folder) for folder in values.rivals),
    )


def on_device_config(values: flags.FlagValues) -> OnDeviceConfig | None:
    """The on-device export's settings, or None without --on_device_training."""
    if not values.on_device_training:
        return None
    return OnDeviceConfig(
        spare_items=values.spare_items,
        learning_rate=values.on_device_learning_rate,
        weight_decay=values.on_device_weight_decay,
    )


def chosen_settings(values: flags.FlagValues, defaults: DataDefaults) -> dict:
    """The data-chosen value of every DATA_CHOSEN flag the user did not give, and the given ones."""
    return {
        name: values[name].value if values[name].present else getattr(defaults, name) for name in DATA_CHOSEN
    }


def plan_from_flags(values: flags.FlagValues, dataset: SequenceDataset, settings: dict) -> TrainingPlan:
    """Teacher and student configs: the backbone flags, with `settings` (see `chosen_settings`) applied."""
    backbone = {**cli_flags.backbone_from_flags(values), "max_len": settings["max_len"]}
    backbone["repeat_scores"] = settings["repeat_scores"]
    teacher = SASRecConfig(n_items=dataset.n_items, **backbone)
    table = {
        **cli_flags.student_table_from_flags(values),
        "tt_rank": settings["tt_rank"],
        "tt_num_cores": settings["tt_num_cores"],
    }
    student = dataclasses.replace(teacher, **table)
    train = dataclasses.replace(
        cli_flags.train_config_from_flags(values),
        batch_size=settings["batch_size"],
        checkpoint_share=0.0 if values.strategy == "multi_worker" else CHECKPOINT_SHARE,
    )
    return TrainingPlan(
        teacher=teacher,
        student=student,
        teacher_train=train,
        student_train=dataclasses.replace(train, epochs=values.student_epochs),
        distill=cli_flags.distill_config_from_flags(values),
    )


def job_from_flags(values: flags.FlagValues) -> tuple[JobResult, SequenceDataset]:
    """Runs the main job as the flags say; prints the data-chosen settings first."""
    if bool(values.teacher) != bool(values.student):
        raise ValueError("pass both --teacher and --student (existing folders), or neither (train both)")
    dataset = dataset_from_flags(values)
    config = export_config_from_flags(values, dataset)
    defaults = data_defaults(dataset, values.top_k, values["batch_size"].default)
    if values.teacher:
        given = (Path(values.teacher), Path(values.student))
        config = variants_from_data(values, config, defaults.training_rows)
        return run_job(dataset, config, command_line(), given=given), dataset
    settings = chosen_settings(values, defaults)
    config = dataclasses.replace(config, batch_size=settings["batch_size"])  # the QAT fine-tune's too
    reasons = zip(DATA_CHOSEN, _reasons(defaults), strict=True)
    for reason in dict.fromkeys(reason for name, reason in reasons if not values[name].present):
        print(f"chosen from the data: {reason}")
    config = variants_from_data(values, config, defaults.training_rows)
    plan = plan_from_flags(values, dataset, settings)
    return run_job(dataset, config, command_line(), plan=plan, overwrite=values.overwrite), dataset


def variants_from_data(values: flags.FlagValues, config: ExportConfig, training_rows: int) -> ExportConfig:
    """`config` with the variants the data suggests (`convert.quantize.variants_for_data`) unless the user
    gave --variants; prints and records why a variant was left out."""
    if values["variants"].present:
        return config
    choice = variants_for_data(
        config.variants,
        training_rows,
        config.batch_size,
        config.qat_epochs,
        keep_qat=values["qat_epochs"].present,
    )
    if not choice.reasons:
        return config
    for reason in choice.reasons:
        print(f"chosen from the data: left out {reason}")
    return dataclasses.replace(
        config, variants=choice.student, teacher_variants=choice.teacher, variants_left_out=choice.reasons
    )


def _reasons(defaults: DataDefaults) -> list[str]:
    """One reason per DATA_CHOSEN flag (tt_rank and tt_num_cores share theirs)."""
    max_len, repeat, table, batch = defaults.reasons()
    return [max_len, repeat, table, table, batch]


def main_job(values: flags.FlagValues) -> None:
    """The whole command: the job, then the summary."""
    result, dataset = job_from_flags(values)
    print(
        summary_text(
            result.report, result.out, dataset, (result.teacher_dir, result.student_dir), result.seconds
        )
    )
