"""The few lines the main job ends with: what was achieved, where each file is, what to run next."""

from __future__ import annotations

import os
import shlex
from pathlib import Path

import numpy as np

from convert.golden import GOLDEN_FILE
from convert.report import best_baseline
from distill.dataset import SequenceDataset

HEADLINE_MODEL = "student_fp32"  # the model the demos ship
REPO_ROOT = Path(__file__).resolve().parents[1]
EXAMPLE_HISTORY_LENGTH = 5


def example_history(dataset: SequenceDataset, length: int = EXAMPLE_HISTORY_LENGTH) -> list[str]:
    """The most recent `length` original ids of the first test history whose ids a shell can pass unquoted
    inside one space-separated argument (no whitespace); [] if there is none."""
    for prefix in dataset.test_prefixes:
        ids = [dataset.vocab.original_ids[int(item) - 1] for item in np.asarray(prefix)[-length:]]
        if ids and not any(part.split() != [part] for part in ids):
            return ids
    return []


def _display(path: Path, base: Path | None = None) -> str:
    """`path` relative to `base` (default: the working folder) when it is inside it, else absolute."""
    resolved = path.resolve()
    try:
        return str(resolved.relative_to((base or Path.cwd()).resolve()))
    except ValueError:
        return str(resolved)


def _kib(size: int) -> str:
    return f"{size / 1024:,.1f} KiB"


def headline(report: dict) -> list[str]:
    """Student bytes and NDCG@10 against the teacher and the best baseline, and its p50 latency."""
    models = {entry["name"]: entry for entry in report["models"]}
    student = models.get(HEADLINE_MODEL) or next(e for e in report["models"] if e["role"] == "student")
    teacher = models.get("teacher_fp32") or next(e for e in report["models"] if e["role"] == "teacher")
    baseline = best_baseline(report)
    against = f"teacher {teacher['metrics']['NDCG@10']:.4f}"
    if baseline is not None:
        against += f", best baseline {baseline['name']} {baseline['metrics']['NDCG@10']:.4f}"
    ratio = teacher["bytes"] / student["bytes"]
    lines = [
        f"{student['name']}: {_kib(student['bytes'])} ({ratio:.1f}x smaller than {teacher['name']}), "
        f"NDCG@10 {student['metrics']['NDCG@10']:.4f} ({against}), recommend p50 "
        f"{student['latency_ms']['p50']:.2f} ms",
    ]
    students = [entry for entry in report["models"] if entry["role"] == "student"]
    smallest = min(students, key=lambda entry: entry["bytes"])
    if smallest is not student:
        lines.append(
            f"smallest: {smallest['name']}: {_kib(smallest['bytes'])}, NDCG@10 "
            f"{smallest['metrics']['NDCG@10']:.4f}, p50 {smallest['latency_ms']['p50']:.2f} ms"
        )
    return lines


def left_out(report: dict) -> list[str]:
    """The default variants this data did without, one line each, for the summary."""
    reasons = report.get("variants_left_out", [])
    header = ["  left out for this data (--variants names the variants to export):"] if reasons else []
    return header + [f"    {reason}" for reason in reasons]


def summary_text(
    report: dict, out: Path, dataset: SequenceDataset, model_dirs: tuple[Path, Path], seconds: float
) -> str:
    """The closing summary of the main job (plain text, about 15 lines)."""
    folder = _display(out)
    student = out / f"{HEADLINE_MODEL}.tflite"
    if not student.is_file():
        student = out / next(e["file"] for e in report["models"] if e["role"] == "student")
    models = ", ".join(entry["file"] for entry in report["models"])
    lines = [
        "",
        f"Done in {seconds:.0f} s: {dataset.name}, {dataset.n_items:,} items, "
        f"{len(report['models'])} models exported.",
        *("  " + line for line in headline(report)),
        *left_out(report),
        "",
        "Files:",
        f"  models   {folder}/ {models} (each with its .json sidecar)",
        f"  report   {_display(out / 'report.md')} (and report.json, size_vs_ndcg.png, latency.png)",
        f"  vocab    {_display(out / 'vocab.tsv')}",
    ]
    if (out / GOLDEN_FILE).is_file():
        lines.append(f"  golden   {_display(out / GOLDEN_FILE)}")
    lines.append(f"  training {', '.join(_display(directory) for directory in model_dirs)}")
    return "\n".join(lines + next_commands(out, student, example_history(dataset)))


def next_commands(out: Path, student: Path, history: list[str]) -> list[str]:
    """What to run next, from the repository root (`python -m runtime...` imports from there)."""
    model = shlex.quote(_display(student, REPO_ROOT))
    where = "" if Path.cwd().resolve() == REPO_ROOT else f" (from {REPO_ROOT})"
    lines = ["", f"Next{where}:"]
    if history:
        lines.append(
            f"  python -m runtime.recommend --model {model} --history {shlex.quote(' '.join(history))}"
        )
    web_path = shlex.quote(os.path.relpath(out.resolve(), REPO_ROOT / "web_demo"))
    return lines + [
        f"  python -m runtime.bench --model {model}",
        f"  web demo: cd web_demo && npm ci && node scripts/copy_model.mjs {web_path} && npm start",
    ]
