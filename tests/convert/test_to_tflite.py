"""End to end: `python convert/to_tflite.py` on a tiny synthetic setting trains, exports and reports.

One run (module fixture, as a script from the repo root) is checked against docs/artifacts.md. It exports two
variants, one epoch each, of the teacher, the student and one rival (--rivals); every variant's conversion has
its own faster unit test (test_quantize, test_qat).
"""

import hashlib
import itertools
import json
import os
import shutil
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from convert import export_folder
from convert.default_run import synthetic_dataset
from convert.export import save_export_module
from convert.export_folder import ExportConfig, export_variant, rival_names, run_export
from convert.ops import builtin_only
from distill.model_io import load_model
from distill.teacher import train_teacher
from distill.training import TrainConfig
from model.sasrec import SASRec, SASRecConfig
from runtime.evaluate import evaluate_model
from runtime.history import encode_history
from runtime.litert import Recommender
from runtime.recommend import recommend_original_ids
from runtime.sidecar import VOCAB_FILE, load_artifact
from runtime.vocab import read_vocab, write_vocab
from tests.conftest import tiny_sasrec_config
from tests.convert.golden_checks import assert_golden_cases_reproduce, assert_golden_training_replays

REPO_ROOT = Path(__file__).resolve().parents[2]
VARIANTS = ("fp32", "dynamic_int8")
RIVAL_FOLDER = "Dense_Rival"  # the run's --rivals folder, whose files are named in file-safe characters:
RIVAL = "rival_dense-rival"
MODELS = ("teacher", "student", RIVAL)
EXPECTED_MODELS = [f"{model}_{variant}" for model, variant in itertools.product(MODELS, VARIANTS)]
TINY_FLAGS = [
    "--synthetic_users=40",
    "--synthetic_items=48",
    "--max_len=8",
    "--hidden_dim=8",
    "--num_blocks=1",
    "--epochs=1",
    "--student_epochs=1",
    "--tt_rank=4",
    "--stp_factor=2",
    "--top_k=5",
    "--bench_runs=5",
    "--bench_warmup=1",
    "--parity_examples=5",
    "--eval_examples=10",
    "--golden_cases=4",
    "--batch_size=64",
    "--on_device_training",
    "--spare_items=2",
]


def run_script(*arguments: str) -> subprocess.CompletedProcess:
    """`python convert/to_tflite.py ...` from the repository root, as a user runs it."""
    environment = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    command = [sys.executable, "convert/to_tflite.py", *arguments]
    return subprocess.run(
        command, cwd=REPO_ROOT, env=environment, capture_output=True, text=True, timeout=300
    )


@pytest.fixture(scope="module")
def rival(tmp_path_factory) -> Path:
    """A dense SASRec trained for one epoch on the run's synthetic data (the main job's own training of its
    teacher and student runs beside it)."""
    out_dir = tmp_path_factory.mktemp(RIVAL_FOLDER, numbered=False)
    dataset = synthetic_dataset(40, 48, seed=0)
    config = tiny_sasrec_config(n_items=dataset.n_items)
    train_teacher(dataset, config, TrainConfig(epochs=1, batch_size=64), out_dir, with_baselines=False)
    return out_dir


@pytest.fixture(scope="module")
def export(tmp_path_factory, rival) -> Path:
    out = tmp_path_factory.mktemp("export")
    result = run_script(f"--out={out}", f"--variants={','.join(VARIANTS)}", f"--rivals={rival}", *TINY_FLAGS)
    assert result.returncode == 0, result.stderr[-3000:]
    assert f"{RIVAL}_fp32.tflite" in result.stdout  # the summary lists the rival's files
    return out


def test_writes_every_model_with_a_verified_sidecar(export):
    names = sorted(path.stem for path in export.glob("*.tflite") if not path.stem.endswith("_on_device"))
    assert names == sorted(EXPECTED_MODELS)
    for model, variant in itertools.product(MODELS, VARIANTS):
        sidecar, vocab = load_artifact(export / f"{model}_{variant}.tflite")
        role = "student" if model == RIVAL else model  # the contract's on-device role
        assert (sidecar["role"], sidecar["variant"], sidecar["dataset"]) == (role, variant, "synthetic")
        assert sidecar["n_items"] == vocab.n_items and sidecar["max_len"] == 8 and sidecar["top_k"] == 5
        assert (
            sidecar["padding_side"] == "left" and sidecar["padding_id"] == 0 and sidecar["excludes_history"]
        )
        assert sidecar["signatures"]["score"]["outputs"]["scores"] == [1, vocab.n_items + 1]
        assert set(sidecar["metrics"]) >= {"HR@10", "NDCG@10", "MRR@10", "HR@20"}
        assert sidecar["builtin_only"] is True and "TOPK_V2" in sidecar["ops"]


def test_every_exported_variant_is_builtin_only(export):
    for path in export.glob("*.tflite"):
        assert builtin_only(path), path.name


def test_golden_matches_a_fresh_litert_run(export):
    golden = json.loads((export / "golden.json").read_text())
    recommender = Recommender(export / golden["model_file"])
    assert golden["model_file"] == "student_fp32.tflite"  # the student's, rivals or not
    assert golden["top_k"] == 5 and len(golden["cases"]) == 4
    assert len(golden["cases"][-1]["history_original_ids"]) > recommender.max_len
    assert_golden_cases_reproduce(recommender, golden, rtol=1e-6)


def test_on_device_export_and_its_golden_training_sequence(export, tmp_path):
    """--on_device_training: the training-capable student and golden_on_device.json, which Python replays."""
    assert (export / "student_fp32_on_device.tflite").is_file()
    assert_golden_training_replays(export, tmp_path / "state.json", rtol=1e-6)


def test_report_json_fields(export):
    report = json.loads((export / "report.json").read_text())
    assert {"dataset", "n_items", "max_len", "top_k", "commit", "machine", "command"} <= set(report)
    assert report["machine"]["accelerator"] == "none" and "to_tflite" in report["command"]
    assert [entry["name"] for entry in report["models"]] == EXPECTED_MODELS
    assert [entry["role"] for entry in report["models"]] == [model.split("_")[0] for model in EXPECTED_MODELS]
    assert list(report["rivals"]) == [RIVAL]
    for entry in report["models"]:
        assert entry["bytes"] == (export / entry["file"]).stat().st_size
        assert {"HR@10", "NDCG@10", "MRR@20"} <= set(entry["metrics"])
        assert set(entry["parity"]) == {"max_rel_err", "top10_agreement"}
        assert set(entry["latency_ms"]) == {"p50", "p95"} and isinstance(entry["flags"], list)
        if entry["variant"] == "fp32":
            assert entry["parity"]["max_rel_err"] <= 1e-5
    for name in ("report.md", "size_vs_ndcg.png", "latency.png", "vocab.tsv"):
        assert (export / name).is_file()


def test_exclude_history_reaches_the_litert_metrics(tmp_path):
    """`--exclude_history` changes only how the flatbuffer's scores are ranked, exactly as runtime.evaluate
    ranks them with the same protocol."""
    dataset = synthetic_dataset(40, 48, seed=0)
    model = SASRec(SASRecConfig(n_items=dataset.n_items, max_len=8, hidden_dim=8, num_blocks=1))
    model.build_for_inference()
    saved = save_export_module(model, 5, tmp_path / "saved")
    write_vocab(tmp_path / VOCAB_FILE, dataset.vocab)
    config = ExportConfig(out=tmp_path, top_k=5, parity_examples=3, bench_runs=2, bench_warmup=0)
    entries, sidecars = {}, {}
    for exclude in (False, True):
        entries[exclude] = export_variant(
            model, saved, "fp32", "teacher", dataset, replace(config, exclude_history=exclude), params=0
        )
        sidecars[exclude] = load_artifact(tmp_path / "teacher_fp32.tflite")[0]
    metrics = {exclude: entry["metrics"] for exclude, entry in entries.items()}
    expected = evaluate_model(
        Recommender(tmp_path / "teacher_fp32.tflite"),
        dataset.test_prefixes,
        dataset.test_targets,
        exclude_history=True,
    )["metrics"]
    assert metrics[True] == pytest.approx(expected)
    assert metrics[True] != metrics[False]
    # Each sidecar and entry says how its metrics were ranked; the target-kind split is the same either way.
    for exclude, protocol in ((False, "full"), (True, "history_excluded")):
        assert entries[exclude]["metrics_protocol"] == sidecars[exclude]["metrics_protocol"] == protocol
        assert sidecars[exclude]["metrics_new_excluded"] == entries[exclude]["metrics_new_excluded"]
    assert entries[True]["metrics_new_excluded"] == entries[False]["metrics_new_excluded"]
    # Excluding the history only removes competitors of a new target.
    new = entries[False]["metrics_new"]
    assert all(entries[True]["metrics_new_excluded"][key] >= new[key] for key in ("HR@20", "MRR@20"))


def _file_hashes(folder: Path) -> dict[str, str]:
    return {
        str(path.relative_to(folder)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def test_a_failed_export_leaves_the_previous_export_byte_identical(
    export, tiny_teacher, tiny_dataset, tmp_path
):
    """The converter fails on the first model (after the old code had already replaced vocab.tsv): every file
    of the previous, good export keeps its bytes, and no staging folder is left beside it."""
    previous = tmp_path / "export"
    shutil.copytree(export, previous)
    before = _file_hashes(previous)
    teacher_dir, _ = tiny_teacher

    def converter_fails(*args, **kwargs):
        raise RuntimeError("converter failed")

    config = ExportConfig(out=previous, variants=("fp32",), top_k=5, parity_examples=2, bench_runs=1)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(export_folder, "convert_variant", converter_fails)
        with pytest.raises(RuntimeError, match="converter failed"):
            run_export(tiny_dataset, teacher_dir, teacher_dir, config, "test")
    assert _file_hashes(previous) == before
    assert sorted(entry.name for entry in tmp_path.iterdir()) == ["export"]


def test_a_top_k_the_catalogue_cannot_serve_is_refused_before_training(tmp_path):
    out = tmp_path / "export"
    result = run_script(f"--out={out}", "--top_k=45", *[flag for flag in TINY_FLAGS if "top_k" not in flag])
    assert result.returncode == 1, result.stderr[-2000:]
    assert (
        result.stderr.strip().splitlines()[-1].startswith("error: --top_k=45 must be in 1..n_items - max_len")
    )
    assert "Traceback" not in result.stderr and "training on" not in result.stdout
    assert not out.exists()


def test_a_wrong_model_folder_is_refused_before_export(tiny_teacher, tmp_path):
    teacher_dir, _ = tiny_teacher
    result = run_script(
        f"--out={tmp_path / 'x'}", f"--teacher={teacher_dir}", f"--student={tmp_path}", *TINY_FLAGS
    )
    assert result.returncode == 1, result.stderr[-2000:]
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("error: ") and "teacher" in last and "items" in last
    assert not (tmp_path / "x").exists()


def keras_top_original_ids(model: SASRec, vocab, original_history: list[str], top_k: int) -> list[str]:
    """Top-k original ids of a Keras model read in `vocab`'s ids, history and padding excluded."""
    internal = [vocab.to_internal(item) for item in original_history]
    scores = model(encode_history(internal, model.config.max_len)[None]).numpy()[0]
    scores[[0, *internal]] = -np.inf
    return [vocab.original_id(int(item)) for item in np.argsort(-scores, kind="stable")[:top_k]]


def test_a_student_in_its_own_item_order_exports_one_vocab_every_model_reads(
    tiny_teacher, tiny_dataset, ordered_student, tmp_path
):
    """The round trip of --item_order: the export's vocab.tsv is the student's order, the sidecars check
    against it, and LiteRT recommends, for a history of original ids, exactly what each Keras model
    recommends in its own folder's ids: the teacher and a rival (the teacher's folder again, dense) in the
    dataset's natural ids, the student in its own."""
    teacher_dir, _ = tiny_teacher
    student_dir, _ = ordered_student
    (rival_name,) = rival_names([teacher_dir])
    out = tmp_path / "export"
    export_config = ExportConfig(
        out=out,
        variants=("fp32",),
        top_k=5,
        eval_examples=5,
        parity_examples=3,
        bench_runs=2,
        bench_warmup=0,
        golden_cases=2,
        rivals=(teacher_dir,),
    )
    run_export(tiny_dataset, teacher_dir, student_dir, export_config, "test")
    student_vocab = read_vocab(student_dir / VOCAB_FILE)
    assert (out / VOCAB_FILE).read_bytes() == (student_dir / VOCAB_FILE).read_bytes()
    assert student_vocab != tiny_dataset.vocab
    for model, keras_model, vocab in (
        ("teacher", load_model(teacher_dir), tiny_dataset.vocab),
        ("student", load_model(student_dir), student_vocab),
        (rival_name, load_model(teacher_dir), tiny_dataset.vocab),
    ):
        load_artifact(out / f"{model}_fp32.tflite")  # sidecar and vocab hashes agree
        recommender = Recommender(out / f"{model}_fp32.tflite")
        for prefix in tiny_dataset.test_prefixes[:4]:
            original = [tiny_dataset.vocab.original_id(int(item)) for item in prefix[-8:]]
            litert = [
                item.original_id for item in recommend_original_ids(recommender, original).recommendations
            ]
            assert litert == keras_top_original_ids(keras_model, vocab, original, 5), model
