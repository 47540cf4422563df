"""The export folder of docs/artifacts.md: flatbuffers with sidecars, vocab, golden cases and the report.

Every variant is converted, verified against its sidecar, evaluated in LiteRT on the test split, compared with
its Keras model and timed in a fresh process; the folder is written transactionally (`run_export`).
"""

from __future__ import annotations

import dataclasses
import re
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from convert.export import check_top_k, save_export_module
from convert.golden import GOLDEN_FILE, golden_prefixes, write_golden
from convert.golden_on_device import GOLDEN_ON_DEVICE_FILE, golden_training_history, write_golden_on_device
from convert.on_device import OnDeviceConfig, write_on_device_model
from convert.ops import non_builtin_operators, operator_counts
from convert.parity import compare_scores, keras_scores, litert_scores, parity_histories
from convert.qat import quantization_aware_student
from convert.quantize import (
    VARIANTS,
    convert_variant,
    padding_column,
    representative_histories,
    variants_for_role,
)
from convert.report import quality_flags, write_report
from distill.dataset import SequenceDataset
from distill.item_order import folder_vocab, in_vocab_order, load_model_in_vocab
from distill.model_io import check_model_folder, load_model, read_model_config
from distill.teacher import evaluate_baselines, training_sequences
from model.parameters import parameter_report
from model.sasrec import SASRec
from runtime.atomic import atomic_write_bytes, staged_folder
from runtime.bench import benchmark_in_fresh_process
from runtime.evaluate import evaluate_model
from runtime.litert import Recommender
from runtime.metrics import TARGET_KIND_KEYS, head_item_mask
from runtime.provenance import git_commit, machine_info
from runtime.sidecar import VOCAB_FILE, ArtifactError, contract_fields, load_artifact, write_sidecar
from runtime.vocab import write_vocab

MODELS_DIR = "models"  # the default run's training folders inside the export folder
ON_DEVICE_FILE = "student_fp32_on_device.tflite"
ROLES = ("teacher", "student")
# Equal-budget rivals (--rivals): models of another design beside the student, exported as one is, with this
# role in report.json; their sidecars say "student", the on-device role of the contract (docs/artifacts.md).
RIVAL_ROLE = "rival"


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
    teacher_variants: tuple[str, ...] | None = None  # None: the same as `variants`
    # Default variants left out for this data, "what: why" each (`convert.quantize.variants_for_data`).
    variants_left_out: tuple[str, ...] = ()
    rivals: tuple[Path, ...] = ()  # model folders exported beside the student (`rival_names`)

    def role_variants(self, role: str) -> list[str]:
        """The variants exported for `role` ("teacher", "student" or RIVAL_ROLE), in VARIANTS order; a rival
        gets the student's without qat_int8 (that fine-tunes the STP-TT student under distillation)."""
        teacher = role == "teacher" and self.teacher_variants is not None
        return variants_for_role(role, self.teacher_variants if teacher else self.variants)


def rival_names(folders: Sequence[Path]) -> list[str]:
    """The name of each rival's files and report entries, `rival_<folder name>` with the folder name
    lowercased and every run of characters outside [a-z0-9-] made one "-", so that no name is a student's.

    Raises:
        ValueError: a folder name without a letter or digit, or two folders of one name (callers check
            before anything is trained or converted).
    """
    named: dict[str, Path] = {}
    for folder in folders:
        stem = re.sub(r"[^a-z0-9-]+", "-", Path(folder).resolve().name.lower()).strip("-")
        if not stem:
            raise ValueError(f"--rivals: folder {folder} has no letter or digit to name its files; rename it")
        name = f"{RIVAL_ROLE}_{stem}"
        if name in named:
            raise ValueError(
                f"--rivals: {named[name]} and {folder} would both be exported as {name}_<variant>; rename "
                "one of the folders"
            )
        named[name] = Path(folder)
    return list(named)


def _examples(dataset: SequenceDataset, count: int) -> tuple[list[np.ndarray], np.ndarray]:
    limit = len(dataset.test_prefixes) if count <= 0 else count
    return list(dataset.test_prefixes[:limit]), dataset.test_targets[:limit]


@dataclass(frozen=True)
class ParityReference:
    """What every variant of one Keras model is compared with: test histories and that model's own scores,
    computed once per model rather than once per variant (each computation traced a new function)."""

    histories: np.ndarray  # int32 [n, max_len]
    scores: np.ndarray  # float32 [n, n_items + 1]

    @classmethod
    def of(cls, keras_model: SASRec, dataset: SequenceDataset, count: int) -> ParityReference:
        histories = parity_histories(dataset.test_prefixes, keras_model.config.max_len, count)
        return cls(histories, keras_scores(keras_model, histories))


def export_variant(
    keras_model: SASRec,
    saved_model_dir: Path,
    variant: str,
    role: str,
    dataset: SequenceDataset,
    config: ExportConfig,
    params: int,
    reference: ParityReference | None = None,
    model_name: str | None = None,
) -> dict:
    """Converts, writes, verifies, evaluates and times one variant; returns its report entry.

    `params` is the deployed model's weight count (a QAT model also holds quantizer state, not counted).
    `reference`: the Keras model's parity scores, when already computed for another variant of it.
    `model_name`: the start of its file and report names, `<model_name>_<variant>` (default: `role`).
    """
    model_config = keras_model.config
    name = f"{model_name or role}_{variant}"
    calibration = representative_histories(dataset.train_sequences, model_config.max_len, seed=config.seed)
    conversion = convert_variant(saved_model_dir, variant, calibration)
    path = config.out / f"{name}.tflite"
    atomic_write_bytes(path, conversion.flatbuffer)
    ops = operator_counts(path)
    sidecar_role = "student" if role == RIVAL_ROLE else role
    fields = contract_fields(
        sidecar_role, variant, dataset.name, dataset.n_items, model_config.max_len, config.top_k
    )
    fields.update(
        builtin_only=not non_builtin_operators(ops),
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
    reference = reference or ParityReference.of(keras_model, dataset, config.parity_examples)
    parity = compare_scores(
        reference.scores, litert_scores(recommender, reference.histories), reference.histories
    )
    latency = benchmark_in_fresh_process(path, config.bench_runs, config.bench_warmup)
    # `excludes_history` says what `recommend` does; `metrics_protocol` how `metrics` were ranked.
    target_kinds = {key: evaluation[key] for key in TARGET_KIND_KEYS}
    fields.update(
        metrics=evaluation["metrics"], metrics_protocol=evaluation["metrics_protocol"], **target_kinds
    )
    write_sidecar(path, fields)
    print(
        f"{path.name}: {path.stat().st_size:,} bytes, "
        f"NDCG@10 {evaluation['metrics']['NDCG@10']:.4f}, {parity}"
    )
    return {
        "name": name,
        "role": role,
        "variant": variant,
        "file": path.name,
        "bytes": path.stat().st_size,
        "params": params,
        "builtin_only": fields["builtin_only"],
        "ops": ops,
        "quantization": conversion.quantization,
        "notes": [f"{name}: {note}" for note in conversion.notes],
        "metrics_protocol": evaluation["metrics_protocol"],
        "metrics": evaluation["metrics"],
        "metrics_head": evaluation.get("metrics_head", {}),
        "metrics_tail": evaluation.get("metrics_tail", {}),
        **target_kinds,
        "n_eval_examples": evaluation["n_examples"],
        "parity": parity,
        "latency_ms": {"p50": latency["p50_ms"], "p95": latency["p95_ms"]},
    }


def export_role(
    role: str,
    model_dir: Path,
    teacher_dir: Path,
    dataset: SequenceDataset,
    config: ExportConfig,
    model_name: str | None = None,
) -> list[dict]:
    """Every applicable variant of one model; each is compared with the Keras model it was converted from.
    `dataset` is in the export's item order (`export_dataset`); the model is read in it. `model_name`: see
    `export_variant`."""
    keras_model = load_model_in_vocab(model_dir, dataset.vocab)
    if keras_model.config.n_items != dataset.n_items:
        raise ValueError(
            f"{model_dir} holds a model of {keras_model.config.n_items} items but dataset {dataset.name} has "
            f"{dataset.n_items}; pass the models trained on this dataset"
        )
    params = parameter_report(keras_model)["total"]
    reference = ParityReference.of(keras_model, dataset, config.parity_examples)
    entries = []
    with tempfile.TemporaryDirectory(prefix=f"odrec_{role}_") as scratch:
        saved_models: dict[str, Path] = {}
        for variant in config.role_variants(role):
            if variant == "qat_int8":
                qat_model = quantization_aware_student(
                    str(model_dir),
                    str(teacher_dir),
                    training_sequences(dataset, keras_model.config),
                    epochs=config.qat_epochs,
                    batch_size=config.batch_size,
                    seed=config.seed,
                    vocab=dataset.vocab,
                )
                qat_dir = save_export_module(qat_model, config.top_k, Path(scratch) / "qat")
                entries.append(
                    export_variant(
                        qat_model, qat_dir, variant, role, dataset, config, params, model_name=model_name
                    )
                )
            else:
                column = padding_column(variant)
                if column not in saved_models:
                    directory = Path(scratch) / f"float_{column}"
                    saved_models[column] = save_export_module(keras_model, config.top_k, directory, column)
                entries.append(
                    export_variant(
                        keras_model,
                        saved_models[column],
                        variant,
                        role,
                        dataset,
                        config,
                        params,
                        reference,
                        model_name,
                    )
                )
    fp32 = next((entry for entry in entries if entry["variant"] == "fp32"), None)
    for entry in entries:
        entry["flags"] = quality_flags(entry, fp32) + entry["notes"]
    return entries


def export_dataset(dataset: SequenceDataset, student_dir: Path) -> SequenceDataset:
    """`dataset` in the student's item order (its vocab.tsv; `distill.item_order`): the export's vocab.tsv,
    test examples and golden cases use it, and the teacher is renumbered to it, so that one vocab.tsv serves
    both models. A student folder without vocab.tsv is taken to be in the dataset's order."""
    vocab = folder_vocab(student_dir)
    return dataset if vocab is None else in_vocab_order(dataset, vocab)


def run_export(
    dataset: SequenceDataset, teacher_dir: Path, student_dir: Path, config: ExportConfig, command: str
) -> dict:
    """Writes the whole export folder, transactionally: every file goes into a temporary sibling of
    `config.out`, which replaces it only once every model passed `verify_export`; a failure leaves the old
    folder byte-identical. A `models/` folder of the default run's training moves into the new folder.
    The folder's item order is the student's (`export_dataset`).

    Raises:
        ArtifactError: a written model or sidecar fails its checks (nothing is swapped in).
    """
    dataset = export_dataset(dataset, student_dir)
    with staged_folder(config.out, carry=(MODELS_DIR,)) as staging:
        report = write_export(
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


def write_export(
    dataset: SequenceDataset,
    teacher_dir: Path,
    student_dir: Path,
    config: ExportConfig,
    staged: ExportConfig,
    command: str,
) -> dict:
    """Vocab first, then flatbuffers + sidecars (teacher, student, rivals), golden.json and the report, all
    into `staged.out`. Golden files are the student's only."""
    write_vocab(staged.out / VOCAB_FILE, dataset.vocab)
    rivals = dict(zip(rival_names(config.rivals), config.rivals, strict=True))
    models = []
    sources = [("teacher", teacher_dir, None), ("student", student_dir, None)]
    sources += [(RIVAL_ROLE, path, name) for name, path in rivals.items()]
    for role, model_dir, model_name in sources:
        models += export_role(role, model_dir, teacher_dir, dataset, staged, model_name)
    student_fp32 = staged.out / "student_fp32.tflite"
    max_len = read_model_config(student_dir).max_len
    if student_fp32.exists() or config.on_device is not None:
        prefixes = golden_prefixes(dataset.test_prefixes, max_len, config.golden_cases)
    if student_fp32.exists():
        write_golden(student_fp32, prefixes, staged.out / GOLDEN_FILE)
    if config.on_device is not None:
        fields = contract_fields(
            "student", "fp32_on_device", dataset.name, dataset.n_items, max_len, config.top_k
        )
        on_device = staged.out / ON_DEVICE_FILE
        write_on_device_model(load_model(student_dir), config.top_k, config.on_device, on_device, fields)
        history = golden_training_history(prefixes, max_len)
        write_golden_on_device(on_device, history, staged.out / GOLDEN_ON_DEVICE_FILE)
    first = models[0]
    head_mask = head_item_mask(dataset.train_sequences, dataset.n_items)
    baselines = evaluate_baselines(
        dataset, head_mask, config.exclude_history, max_len, test_limit=config.eval_examples
    )
    report = {
        "dataset": dataset.name,
        "n_items": dataset.n_items,
        "max_len": read_model_config(teacher_dir).max_len,
        "top_k": config.top_k,
        "commit": git_commit(),
        "machine": machine_info(),
        "command": command,
        "export_config": {key: str(value) for key, value in dataclasses.asdict(config).items()},
        "n_eval_examples": first["n_eval_examples"],
        "exclude_history": config.exclude_history,
        "models": models,
        "baselines": baselines,
    }
    if config.variants_left_out:
        report["variants_left_out"] = list(config.variants_left_out)
    if rivals:
        report["rivals"] = {name: str(path) for name, path in rivals.items()}
    write_report(report, staged.out)
    return report


def check_before_training(
    dataset: SequenceDataset, config: ExportConfig, model_dirs: Sequence[Path], max_len: int
) -> None:
    """Everything that can fail an export and is known before training: the variants, the model folders (of
    this dataset?), the rivals' names and `top_k` against the catalogue and the history length.

    Args:
        model_dirs: the given teacher and student folders (empty when the run trains them).
        max_len: history length of the models to be trained (ignored when folders are given).

    Raises:
        ValueError: an unknown variant, two rivals of one name, or a `top_k` the catalogue cannot serve.
        ModelFolderError: a folder (given or a rival) that is not a model of this dataset.
    """
    for role in ROLES:
        config.role_variants(role)
    rival_names(config.rivals)
    given = zip(model_dirs, ROLES[: len(model_dirs)], strict=True)
    folders = [(folder, role, role) for folder, role in given]
    folders += [(folder, RIVAL_ROLE, "rivals") for folder in config.rivals]
    # Any item order: the export reads every model in the student's (`export_dataset`).
    max_lens = [
        check_model_folder(folder, dataset, role, any_order=True, flag=flag).max_len
        for folder, role, flag in folders
    ]
    if not model_dirs:
        max_lens.append(max_len)
    for length in max_lens:
        check_top_k(config.top_k, dataset.n_items, length)
