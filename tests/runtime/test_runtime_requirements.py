"""requirements-runtime.txt is enough for runtime/: a virtualenv built from that file alone (no TensorFlow)
runs the three runtime CLIs on the committed web demo model. pip's cache keeps a second run fast."""

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
ASSETS = REPO / "web_demo" / "public" / "model"
MODEL = ASSETS / "student_fp32.tflite"


@pytest.fixture(scope="module")
def runtime_python(tmp_path_factory) -> Path:
    """The python of a fresh python3.11 virtualenv holding requirements-runtime.txt and nothing else."""
    interpreter = shutil.which("python3.11")
    assert interpreter, "python3.11 is needed (scripts/install_system_deps.sh python installs it)"
    venv = tmp_path_factory.mktemp("runtime_venv")
    subprocess.run([interpreter, "-m", "venv", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    install = [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    subprocess.run([*install, "-r", str(REPO / "requirements-runtime.txt")], check=True, timeout=600)
    return python


def run_cli(python: Path, *arguments: str) -> subprocess.CompletedProcess:
    hidden = ("PYTHONPATH", "VIRTUAL_ENV")
    environment = {key: value for key, value in os.environ.items() if key not in hidden}
    command = [str(python), "-m", *arguments]
    return subprocess.run(command, cwd=REPO, env=environment, capture_output=True, text=True, timeout=120)


def test_the_virtualenv_holds_no_tensorflow(runtime_python):
    result = run_cli(runtime_python, "pip", "list", "--format=json")
    names = {package["name"].lower() for package in json.loads(result.stdout)}
    assert {"numpy", "ai-edge-litert", "absl-py"} <= names
    assert not names & {"tensorflow", "tf-keras", "tensorflow-cpu"}


def test_recommend_runs_a_golden_case(runtime_python):
    case = json.loads((ASSETS / "golden.json").read_text())["cases"][0]
    history = " ".join(case["history_original_ids"])
    result = run_cli(runtime_python, "runtime.recommend", f"--model={MODEL}", f"--history={history}")
    assert result.returncode == 0, result.stderr[-2000:]
    assert case["original_ids"][0] in result.stdout


def test_evaluate_and_bench_run(runtime_python, tmp_path):
    cases = json.loads((ASSETS / "golden.json").read_text())["cases"]
    lines = [" ".join(case["history_original_ids"]) + "\t" + case["original_ids"][0] for case in cases]
    (tmp_path / "test.tsv").write_text("\n".join(lines) + "\n")
    evaluation = run_cli(
        runtime_python, "runtime.evaluate", f"--model={MODEL}", f"--test={tmp_path / 'test.tsv'}",
        "--exclude_history", f"--json={tmp_path / 'eval.json'}",
    )  # fmt: skip
    assert evaluation.returncode == 0, evaluation.stderr[-2000:]
    # Every target is the model's own first recommendation, ranked as `recommend` ranks: HR@10 is exactly 1.
    report = json.loads((tmp_path / "eval.json").read_text())
    assert report["metrics"]["HR@10"] == 1.0
    bench = run_cli(runtime_python, "runtime.bench", f"--model={MODEL}", "--runs=5", "--warmup=1")
    assert bench.returncode == 0, bench.stderr[-2000:]
    assert "p50" in bench.stdout
