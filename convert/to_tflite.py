"""Export a teacher and a student as LiteRT flatbuffers with sidecars, golden cases and a report.

    python convert/to_tflite.py                                   # synthetic data: trains both, then exports
    python convert/to_tflite.py --dataset ml-1m --teacher T --student S --out artifacts/ml-1m

Without --teacher/--student the models are trained first (teacher with `distill.train_teacher`, student
distilled from it with `distill.train_student`) into <out>/models/. The folder layout is docs/artifacts.md.
"""

from __future__ import annotations

import sys
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the repo importable, and select tf-keras first
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import dataclasses  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from collections.abc import Sequence  # noqa: E402
from dataclasses import dataclass  # noqa: E402

import numpy as np  # noqa: E402
from absl import app, flags  # noqa: E402

import model  # noqa: E402, F401  (sets TF_USE_LEGACY_KERAS before TensorFlow loads)
from convert.export import check_top_k, save_export_module  # noqa: E402
from convert.golden import GOLDEN_FILE, golden_prefixes, write_golden  # noqa: E402
from convert.on_device import OnDeviceConfig, write_on_device_model  # noqa: E402
from convert.ops import non_builtin_operators, operator_counts  # noqa: E402
from convert.parity import compare_scores, keras_scores, litert_scores, parity_histories  # noqa: E402
from convert.qat import quantization_aware_student  # noqa: E402
from convert.quantize import (  # noqa: E402
    VARIANTS,
    convert_variant,
    padding_column,
    representative_histories,
    variants_for_role,
)
from convert.report import quality_flags, write_report  # noqa: E402
from distill.cli_flags import SEED_BOUNDS, errors_as_one_line, register_positive_validator  # noqa: E402
from distill.dataset import SequenceDataset, leave_one_out  # noqa: E402
from distill.distiller import DistillConfig  # noqa: E402
from distill.model_io import check_model_folder, load_model  # noqa: E402
from distill.registry import load_dataset  # noqa: E402
from distill.run_folder import folder_lock  # noqa: E402
from distill.synthetic import DEFAULT_ITEMS, DEFAULT_USERS, generate_synthetic  # noqa: E402
from distill.train_student import train_student  # noqa: E402
from distill.train_teacher import train_teacher, training_sequences  # noqa: E402
from distill.training import TrainConfig  # noqa: E402
from model.parameters import parameter_report  # noqa: E402
from model.sasrec import SASRec, SASRecConfig  # noqa: E402
from runtime.atomic import atomic_write_bytes, staged_folder  # noqa: E402
from runtime.bench import benchmark_in_fresh_process  # noqa: E402
from runtime.evaluate import evaluate_model  # noqa: E402
from runtime.litert import Recommender  # noqa: E402
from runtime.metrics import head_item_mask  # noqa: E402
from runtime.provenance import command_line, git_commit, machine_info  # noqa: E402
from runtime.sidecar import ArtifactError, load_artifact, write_sidecar  # noqa: E402
from runtime.vocab import write_vocab  # noqa: E402

VOCAB_FILE = "vocab.tsv"
ON_DEVICE_FILE = "student_fp32_on_device.tflite"
MODELS_DIR = "models"  # the default run's training folders inside the export folder
ROLES = ("teacher", "student")
SYNTHETIC_ITEMS_PER_CLUSTER = 4


@dataclass(frozen=True)
class ExportConfig:
    """Everything the export job needs, built from flags in `main`."""

    out: Path
    variants: tuple[str, ...] = VARIANTS
    top_k: int = 20
    eval_examples: int = 0
    parity_examples: int = 200
    bench_runs: int = 300
    bench_warmup: int = 30
    golden_cases: int = 8
    qat_epochs: int = 1
    batch_size: int = 128
    seed: int = 0
    exclude_history: bool = False
    on_device: OnDeviceConfig | None = None  # --on_device_training: also write ON_DEVICE_FILE


@dataclass(frozen=True)
class TrainingPlan:
    """How to train the models when no folders are given (the synthetic default: minutes on 2 cores)."""

    teacher: SASRecConfig
    student: SASRecConfig
    teacher_train: TrainConfig
    student_train: TrainConfig


def synthetic_dataset(n_users: int, n_items: int, seed: int) -> SequenceDataset:
    """The registry's synthetic dataset, at another size when asked (tests shrink it)."""
    if (n_users, n_items) == (DEFAULT_USERS, DEFAULT_ITEMS):
        return load_dataset("synthetic", seed=seed)
    clusters = max(1, min(20, n_items // SYNTHETIC_ITEMS_PER_CLUSTER))
    return leave_one_out("synthetic", generate_synthetic(n_users, n_items, seed=seed, n_clusters=clusters))


def train_models(
    dataset: SequenceDataset, plan: TrainingPlan, models_dir: Path, overwrite: bool = False
) -> tuple[Path, Path]:
    """Trains the teacher, then distils the student from it; returns both folders (resumes a folder of the
    same settings and data, refuses another unless `overwrite`: see `distill.run_folder`)."""
    teacher_dir, student_dir = models_dir / "teacher", models_dir / "student"
    train_teacher(dataset, plan.teacher, plan.teacher_train, teacher_dir, overwrite=overwrite)
    train_student(
        dataset,
        teacher_dir,
        plan.student,
        DistillConfig(),
        plan.student_train,
        student_dir,
        overwrite=overwrite,
    )
    return teacher_dir, student_dir


def sidecar_fields(
    dataset: SequenceDataset, config: SASRecConfig, top_k: int, role: str, variant: str
) -> dict:
    """The contract fields of docs/artifacts.md (hashes are filled in by `write_sidecar`)."""
    history = {"history": [1, config.max_len]}
    return {
        "role": role,
        "variant": variant,
        "dataset": dataset.name,
        "n_items": dataset.n_items,
        "max_len": config.max_len,
        "top_k": top_k,
        "padding_side": "left",
        "padding_id": 0,
        "excludes_history": True,
        "signatures": {
            "recommend": {"inputs": history, "outputs": {"item_ids": [1, top_k], "scores": [1, top_k]}},
            "score": {"inputs": history, "outputs": {"scores": [1, dataset.n_items + 1]}},
        },
        "vocab_file": VOCAB_FILE,
        "metrics": {},
    }


def _examples(dataset: SequenceDataset, count: int) -> tuple[list[np.ndarray], np.ndarray]:
    limit = len(dataset.test_prefixes) if count <= 0 else count
    return list(dataset.test_prefixes[:limit]), dataset.test_targets[:limit]


def export_variant(
    keras_model: SASRec,
    saved_model_dir: Path,
    variant: str,
    role: str,
    dataset: SequenceDataset,
    config: ExportConfig,
    params: int,
) -> dict:
    """Converts, writes, verifies, evaluates and times one variant; returns its report entry.

    `params` is the deployed model's weight count (a QAT model also holds quantizer state, not counted).
    """
    model_config = keras_model.config
    calibration = representative_histories(dataset.train_sequences, model_config.max_len, seed=config.seed)
    conversion = convert_variant(saved_model_dir, variant, calibration)
    path = config.out / f"{role}_{variant}.tflite"
    atomic_write_bytes(path, conversion.flatbuffer)
    ops = operator_counts(path)
    fields = sidecar_fields(dataset, model_config, config.top_k, role, variant)
    fields.update(
        builtin_only=not non_builtin_operators(path),
        ops=ops,
        quantization=conversion.quantization,
        converter_notes=list(conversion.notes),
    )
    write_sidecar(path, fields)

    recommender = Recommender(path)
    prefixes, targets = _examples(dataset, config.eval_examples)
    head_mask = head_item_mask(dataset.train_sequences, dataset.n_items)
    evaluation = evaluate_model(
        recommender, prefixes, targets, head_mask, exclude_history=config.exclude_history
    )
    histories = parity_histories(dataset.test_prefixes, model_config.max_len, config.parity_examples)
    parity = compare_scores(
        keras_scores(keras_model, histories), litert_scores(recommender, histories), histories
    )
    latency = benchmark_in_fresh_process(path, config.bench_runs, config.bench_warmup)
    fields["metrics"] = evaluation["metrics"]
    write_sidecar(path, fields)
    print(
        f"{path.name}: {path.stat().st_size:,} bytes, "
        f"NDCG@10 {evaluation['metrics']['NDCG@10']:.4f}, {parity}"
    )
    return {
        "name": f"{role}_{variant}",
        "role": role,
        "variant": variant,
        "file": path.name,
        "bytes": path.stat().st_size,
        "params": params,
        "builtin_only": fields["builtin_only"],
        "ops": ops,
        "quantization": conversion.quantization,
        "notes": [f"{role}_{variant}: {note}" for note in conversion.notes],
        "metrics": evaluation["metrics"],
        "metrics_head": evaluation.get("metrics_head", {}),
        "metrics_tail": evaluation.get("metrics_tail", {}),
        "n_eval_examples": evaluation["n_examples"],
        "parity": parity,
        "latency_ms": {"p50": latency["p50_ms"], "p95": latency["p95_ms"]},
    }


def export_role(
    role: str, model_dir: Path, teacher_dir: Path, dataset: SequenceDataset, config: ExportConfig
) -> list[dict]:
    """Every applicable variant of one model; each is compared with the Keras model it was converted from."""
    keras_model = load_model(model_dir)
    if keras_model.config.n_items != dataset.n_items:
        raise ValueError(
            f"{model_dir} holds a model of {keras_model.config.n_items} items but dataset {dataset.name} has "
            f"{dataset.n_items}; pass the models trained on this dataset"
        )
    params = parameter_report(keras_model)["total"]
    entries = []
    with tempfile.TemporaryDirectory(prefix=f"odrec_{role}_") as scratch:
        saved_models: dict[str, Path] = {}
        for variant in variants_for_role(role, config.variants):
            if variant == "qat_int8":
                qat_model = quantization_aware_student(
                    str(model_dir),
                    str(teacher_dir),
                    training_sequences(dataset, keras_model.config),
                    epochs=config.qat_epochs,
                    batch_size=config.batch_size,
                    seed=config.seed,
                )
                qat_dir = save_export_module(qat_model, config.top_k, Path(scratch) / "qat")
                entries.append(export_variant(qat_model, qat_dir, variant, role, dataset, config, params))
            else:
                column = padding_column(variant)
                if column not in saved_models:
                    directory = Path(scratch) / f"float_{column}"
                    saved_models[column] = save_export_module(keras_model, config.top_k, directory, column)
                entries.append(
                    export_variant(keras_model, saved_models[column], variant, role, dataset, config, params)
                )
    fp32 = next((entry for entry in entries if entry["variant"] == "fp32"), None)
    for entry in entries:
        entry["flags"] = quality_flags(entry, fp32) + entry["notes"]
    return entries


def run_export(
    dataset: SequenceDataset, teacher_dir: Path, student_dir: Path, config: ExportConfig, command: str
) -> dict:
    """Writes the whole export folder, transactionally: every file goes into a temporary sibling of
    `config.out`, which replaces it only once every model passed `verify_export`; a failure leaves the old
    folder byte-identical. A `models/` folder of the default run's training moves into the new folder.

    Raises:
        ArtifactError: a written model or sidecar fails its checks (nothing is swapped in).
    """
    with staged_folder(config.out, carry=(MODELS_DIR,)) as staging:
        report = _write_export(
            dataset, teacher_dir, student_dir, config, dataclasses.replace(config, out=staging), command
        )
        verify_export(staging)
    return report


def verify_export(folder: Path) -> None:
    """Every flatbuffer in `folder` matches its sidecar and vocab (sha256, fields, vocab length).

    Raises:
        ArtifactError: a model or sidecar fails `runtime.sidecar.load_artifact`, or the folder holds none.
    """
    models = sorted(folder.glob("*.tflite"))
    if not models:
        raise ArtifactError(f"the export in {folder} holds no .tflite model")
    for model_path in models:
        load_artifact(model_path)


def _write_export(
    dataset: SequenceDataset,
    teacher_dir: Path,
    student_dir: Path,
    config: ExportConfig,
    staged: ExportConfig,
    command: str,
) -> dict:
    """Vocab first, then flatbuffers + sidecars, golden.json and the report, all into `staged.out`."""
    write_vocab(staged.out / VOCAB_FILE, dataset.vocab)
    models = []
    for role, model_dir in (("teacher", teacher_dir), ("student", student_dir)):
        models += export_role(role, model_dir, teacher_dir, dataset, staged)
    student_fp32 = staged.out / "student_fp32.tflite"
    if student_fp32.exists():
        max_len = load_model(student_dir).config.max_len
        prefixes = golden_prefixes(dataset.test_prefixes, max_len, config.golden_cases)
        write_golden(student_fp32, prefixes, staged.out / GOLDEN_FILE)
    if config.on_device is not None:
        student = load_model(student_dir)
        fields = sidecar_fields(dataset, student.config, config.top_k, "student", "fp32_on_device")
        write_on_device_model(student, config.top_k, config.on_device, staged.out / ON_DEVICE_FILE, fields)
    first = models[0]
    report = {
        "dataset": dataset.name,
        "n_items": dataset.n_items,
        "max_len": load_model(teacher_dir).config.max_len,
        "top_k": config.top_k,
        "commit": git_commit(),
        "machine": machine_info(),
        "command": command,
        "export_config": {key: str(value) for key, value in dataclasses.asdict(config).items()},
        "n_eval_examples": first["n_eval_examples"],
        "exclude_history": config.exclude_history,
        "models": models,
    }
    write_report(report, staged.out)
    return report


def check_before_training(
    dataset: SequenceDataset, config: ExportConfig, model_dirs: Sequence[Path], max_len: int
) -> None:
    """Everything that can fail an export and is known before training: the variants, the model folders (of
    this dataset?) and `top_k` against the catalogue and the history length.

    Args:
        model_dirs: the given teacher and student folders (empty when the run trains them).
        max_len: history length of the models to be trained (ignored when folders are given).

    Raises:
        ValueError: an unknown variant, or a `top_k` the catalogue cannot serve.
        ModelFolderError: a folder that is not a model of this dataset.
    """
    variants_for_role("student", config.variants)
    folders = zip(model_dirs, ROLES[: len(model_dirs)], strict=True)
    max_lens = [check_model_folder(folder, dataset, role).max_len for folder, role in folders]
    for length in max_lens or [max_len]:
        check_top_k(config.top_k, dataset.n_items, length)


FLAGS = flags.FLAGS


def define_flags(flag_values: flags.FlagValues = flags.FLAGS) -> None:
    """Every flag of this CLI, into `flag_values` (tests use a fresh `FlagValues`)."""
    into = {"flag_values": flag_values}
    flags.DEFINE_string(
        "dataset", "synthetic", "Dataset name (distill.registry), resolved under --data_dir.", **into
    )
    flags.DEFINE_string(
        "data_dir", None, "Benchmark data folder (default: $ODREC_DATA_DIR, then ../shared/data).", **into
    )
    flags.DEFINE_string("teacher", None, "Trained teacher folder; with --student, skips training.", **into)
    flags.DEFINE_string("student", None, "Trained student folder; with --teacher, skips training.", **into)
    flags.DEFINE_string("out", None, "Export folder (default artifacts/<dataset>).", **into)
    flags.DEFINE_list("variants", list(VARIANTS), "Variants to export (qat_int8 is student only).", **into)
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
    flags.DEFINE_integer(
        "seed", 0, "Seed of data generation, training and calibration.", **SEED_BOUNDS, **into
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
    register_positive_validator("on_device_learning_rate", flag_values)
    flags.DEFINE_float(
        "on_device_weight_decay", 0.01, "On-device export: pull of `train` toward the shipped model.", **into
    )
    flags.DEFINE_bool(
        "exclude_history",
        False,
        "Metrics: leave items already in the history out of the ranking (the protocol bench/presets.py "
        "sets for ML-1M); parity and `recommend` are unaffected.",
        **into,
    )
    # Training of the default run (ignored with --teacher/--student).
    flags.DEFINE_integer(
        "synthetic_users", DEFAULT_USERS, "Users of the synthetic dataset.", lower_bound=2, **into
    )
    flags.DEFINE_integer(
        "synthetic_items", DEFAULT_ITEMS, "Items of the synthetic dataset.", lower_bound=8, **into
    )
    flags.DEFINE_integer("max_len", 50, "History length L.", lower_bound=1, **into)
    flags.DEFINE_integer("hidden_dim", 32, "Width d of teacher and student.", lower_bound=1, **into)
    flags.DEFINE_integer("num_blocks", 2, "Self-attention blocks.", lower_bound=1, **into)
    # 80 teacher epochs at 2e-3 (about 4 minutes on 2 cores) bring the synthetic teacher level with the
    # first-order Markov baseline (test NDCG@10 0.455 both); 10 epochs at 1e-3 stopped at 0.32.
    flags.DEFINE_integer(
        "epochs", 80, "Maximum teacher epochs (early stopping on validation).", lower_bound=1, **into
    )
    flags.DEFINE_integer("student_epochs", 30, "Maximum student epochs.", lower_bound=1, **into)
    flags.DEFINE_float("learning_rate", 2e-3, "Adam learning rate of teacher and student.", **into)
    register_positive_validator("learning_rate", flag_values)
    flags.DEFINE_integer(
        "patience", 5, "Early stopping: epochs without validation NDCG@10 improvement.", lower_bound=1, **into
    )
    flags.DEFINE_integer("batch_size", 128, "Sequences per batch.", lower_bound=1, **into)
    flags.DEFINE_integer("tt_rank", 16, "Student TT rank R.", lower_bound=1, **into)
    flags.DEFINE_integer("stp_factor", 2, "Student semi-tensor-product factor t.", lower_bound=1, **into)
    flags.DEFINE_integer(
        "tt_num_cores", 2, "Student TT cores (2 or 3).", lower_bound=2, upper_bound=3, **into
    )
    flags.DEFINE_bool(
        "overwrite",
        False,
        "Default run: train again in <out>/models/ when it holds a run of other settings or data.",
        **into,
    )


def main(argv: Sequence[str]) -> None:
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {argv[1:]}")
    if bool(FLAGS.teacher) != bool(FLAGS.student):
        raise app.UsageError("pass both --teacher and --student (existing folders), or neither (train both)")
    with errors_as_one_line():
        export(FLAGS)


def export(values: flags.FlagValues) -> None:
    """The whole job of the command line: checks, then (training and) the export, holding `--out`'s lock."""
    if values.dataset == "synthetic":
        dataset = synthetic_dataset(values.synthetic_users, values.synthetic_items, values.seed)
    else:
        dataset = load_dataset(values.dataset, data_dir=values.data_dir, seed=values.seed)
    config = ExportConfig(
        out=Path(values.out or f"artifacts/{dataset.name}"),
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
    )
    given = [Path(values.teacher), Path(values.student)] if values.teacher else []
    check_before_training(dataset, config, given, values.max_len)
    with folder_lock(config.out):
        if given:
            teacher_dir, student_dir = given
        else:
            teacher_dir, student_dir = train_from_flags(values, dataset, config.out / MODELS_DIR)
        print(f"exporting {', '.join(config.variants)} of {teacher_dir} and {student_dir} to {config.out}")
        started = time.perf_counter()
        report = run_export(dataset, teacher_dir, student_dir, config, command_line())
    print(
        f"wrote {len(report['models'])} models, golden.json and report.md to {config.out} "
        f"(export took {time.perf_counter() - started:.0f} s)"
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


def train_from_flags(
    values: flags.FlagValues, dataset: SequenceDataset, models_dir: Path
) -> tuple[Path, Path]:
    """The default run: trains the teacher and distils the student into `models_dir` (resumes if present)."""
    teacher = SASRecConfig(
        n_items=dataset.n_items,
        max_len=values.max_len,
        hidden_dim=values.hidden_dim,
        num_blocks=values.num_blocks,
    )
    student = dataclasses.replace(
        teacher,
        item_table="stp_tt",
        tt_rank=values.tt_rank,
        stp_factor=values.stp_factor,
        tt_num_cores=values.tt_num_cores,
    )
    train = TrainConfig(
        epochs=values.epochs,
        batch_size=values.batch_size,
        learning_rate=values.learning_rate,
        patience=values.patience,
        seed=values.seed,
    )
    plan = TrainingPlan(teacher, student, train, dataclasses.replace(train, epochs=values.student_epochs))
    print(
        f"training on {dataset.name} ({dataset.n_items} items, {len(dataset.train_sequences)} sequences) "
        f"into {models_dir}: teacher up to {train.epochs} epochs, student distilled up to "
        f"{values.student_epochs} epochs (lr {train.learning_rate}, patience {train.patience}; "
        "an existing folder of the same settings and data resumes)"
    )
    started = time.perf_counter()
    folders = train_models(dataset, plan, models_dir, values.overwrite)
    print(f"training took {time.perf_counter() - started:.0f} s")
    return folders


if __name__ == "__main__":
    define_flags()
    app.run(main)
