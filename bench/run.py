"""Run one benchmark stage and write its results file.

    python -m bench.run --stage teacher --dataset tmall    # -> bench/results/tmall-teacher.json
    python -m bench.run --stage student --dataset tmall    # -> bench/results/tmall-student.json

Runs resume: a stage whose model folders already hold finished training only re-evaluates them, so a long run
can be interrupted and the same command given again.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from pathlib import Path

from absl import app, flags

from bench.presets import STUDENTS, TABLES, TEACHERS
from distill.registry import load_dataset
from distill.train_student import train_student
from distill.train_teacher import train_teacher
from distill.training import TrainConfig
from model.sasrec import SASRecConfig
from runtime.atomic import atomic_write_text
from runtime.provenance import command_line, git_commit, machine_info

RESULTS_DIR = Path(__file__).resolve().parent / "results"


def provenance(dataset, config: dict, train_config: dict) -> dict:
    return {
        "commit": git_commit(),
        "machine": machine_info(),
        "command": command_line(),
        "dataset": dataset.name,
        "split": dataset.split,
        "data_summary": dataset.summary(),
        "config": config,
        "train_config": train_config,
    }


def teacher_config(dataset, name: str, epochs: int | None = None) -> tuple[SASRecConfig, TrainConfig]:
    """The preset of `name`; `epochs` caps training (a run stopped early is then evaluated as it stands)."""
    backbone, train_config = TEACHERS[name]
    if epochs is not None:
        train_config = dataclasses.replace(train_config, epochs=epochs)
    return SASRecConfig(n_items=dataset.n_items, **backbone), train_config


def run_teacher(name: str, runs_dir: Path, data_dir: str | None, epochs: int | None = None) -> dict:
    dataset = load_dataset(name, data_dir=data_dir)
    config, train_config = teacher_config(dataset, name, epochs)
    metrics = train_teacher(dataset, config, train_config, runs_dir / name / "teacher")
    result = provenance(dataset, config.to_dict(), train_config.to_dict())
    result["models"] = metrics["models"]
    result["parameters"] = metrics["parameters"]
    return result


def run_students(
    name: str, runs_dir: Path, data_dir: str | None, variants: Sequence[str], epochs: int | None = None
) -> dict:
    dataset = load_dataset(name, data_dir=data_dir)
    config, train_config = teacher_config(dataset, name, epochs)
    teacher_dir = runs_dir / name / "teacher"
    teacher_metrics = json.loads((teacher_dir / "metrics.json").read_text())
    result = provenance(dataset, config.to_dict(), train_config.to_dict())
    result["teacher_dir"] = str(teacher_dir)
    result["models"] = [entry for entry in teacher_metrics["models"] if entry["role"] == "teacher"]
    for variant in variants:
        table, distill_config = STUDENTS[variant]
        student_config = SASRecConfig.from_dict(
            {**config.to_dict(), "item_table": "stp_tt", **TABLES[name][table]}
        )
        metrics = train_student(
            dataset,
            teacher_dir,
            student_config,
            distill_config,
            train_config,
            runs_dir / name / variant,
            name=variant,
        )
        entry = metrics["models"][0]
        entry["table"] = TABLES[name][table]
        entry["parameters"] = metrics["parameters"]["student"]
        result["models"].append(entry)
        write_result(f"{name}-student", result)  # after every student, so a partial ladder is kept
    return result


def write_result(name: str, result: dict) -> Path:
    path = RESULTS_DIR / f"{name}.json"
    atomic_write_text(path, json.dumps(result, indent=2) + "\n")
    print(f"wrote {path}")
    return path


FLAGS = flags.FLAGS


def main(argv: Sequence[str]) -> None:
    del argv
    runs_dir = Path(FLAGS.runs_dir)
    if FLAGS.stage == "teacher":
        write_result(
            f"{FLAGS.dataset}-teacher", run_teacher(FLAGS.dataset, runs_dir, FLAGS.data_dir, FLAGS.epochs)
        )
    else:
        run_students(FLAGS.dataset, runs_dir, FLAGS.data_dir, FLAGS.variants, FLAGS.epochs)


if __name__ == "__main__":
    flags.DEFINE_enum("stage", "teacher", ["teacher", "student"], "Which benchmark stage to run.")
    flags.DEFINE_enum("dataset", "tmall", sorted(TEACHERS), "Benchmark dataset.")
    flags.DEFINE_string(
        "data_dir", None, "Benchmark data folder (default: $ODREC_DATA_DIR, then ../shared/data)."
    )
    flags.DEFINE_string("runs_dir", "artifacts/bench", "Where model folders (checkpoints, logs) are kept.")
    flags.DEFINE_integer(
        "epochs", None, "Cap on epochs (default: the preset's); a finished run is only evaluated."
    )
    flags.DEFINE_list("variants", list(STUDENTS), "Student variants to train, in order.")
    app.run(main)
