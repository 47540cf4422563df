"""Learning curves of a dataset's trained models: validation NDCG@10 against wall time, one line per model.

    python -m bench.curves --dataset ml-1m    # -> bench/results/ml-1m-curves.png (read by bench.render)

Reads the `curve` of every entry in bench/results/<dataset>-teacher.json and -student.json (entries written
before curves were recorded have none and are left out), so "still rising" and "converged" can be seen.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from absl import app, flags  # noqa: E402

RESULTS_DIR = Path(__file__).resolve().parent / "results"
MONITOR = "NDCG@10"


def entries_with_curves(dataset: str, results_dir: Path = RESULTS_DIR) -> list[dict]:
    """Teacher and student entries of `dataset` that carry a learning curve, teacher first, each once."""
    entries, seen = [], set()
    for stage in ("teacher", "student"):
        path = results_dir / f"{dataset}-{stage}.json"
        if not path.exists():
            continue
        for entry in json.loads(path.read_text())["models"]:
            if entry.get("curve") and entry["name"] not in seen:
                seen.add(entry["name"])
                entries.append(entry)
    return entries


def plot_curves(entries: Sequence[dict], title: str, path: Path) -> Path:
    """Validation NDCG@10 against minutes of training, one line per entry (marker at its best epoch)."""
    figure, axes = plt.subplots(figsize=(7, 4.2))
    for entry in entries:
        minutes = [point["seconds"] / 60 for point in entry["curve"]]
        scores = [point["valid"][MONITOR] for point in entry["curve"]]
        (line,) = axes.plot(minutes, scores, label=entry["name"], linewidth=1.4)
        best = entry.get("best_epoch")
        if best:
            axes.plot(minutes[best - 1], scores[best - 1], "o", color=line.get_color())
    axes.set_xlabel("wall time of training (minutes, validation included)")
    axes.set_ylabel(f"validation {MONITOR}")
    axes.set_title(title)
    axes.grid(alpha=0.3)
    axes.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)
    return path


def plot_dataset(dataset: str, results_dir: Path = RESULTS_DIR) -> Path | None:
    entries = entries_with_curves(dataset, results_dir)
    if not entries:
        return None
    return plot_curves(entries, f"{dataset}: learning curves", results_dir / f"{dataset}-curves.png")


FLAGS = flags.FLAGS


def main(argv: Sequence[str]) -> None:
    del argv
    path = plot_dataset(FLAGS.dataset)
    if path is None:
        raise app.UsageError(
            f"no entry of bench/results/{FLAGS.dataset}-teacher.json or -student.json has a learning curve; "
            "run the teacher or student stage first"
        )
    print(f"wrote {path}")


if __name__ == "__main__":
    flags.DEFINE_string("dataset", "ml-1m", "Dataset whose teacher and student results to plot.")
    app.run(main)
