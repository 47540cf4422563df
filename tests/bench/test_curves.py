"""bench.curves: every results entry with a learning curve is drawn, once, teacher first."""

import json

from bench.curves import entries_with_curves, plot_dataset


def _entry(name: str, scores: list[float] | None) -> dict:
    entry = {"name": name, "role": "student", "best_epoch": 1}
    if scores is not None:
        entry["curve"] = [
            {"epoch": i + 1, "seconds": 30.0 * (i + 1), "loss": {"loss": 1.0}, "valid": {"NDCG@10": score}}
            for i, score in enumerate(scores)
        ]
    return entry


def test_curves_of_teacher_and_students_are_plotted(tmp_path):
    teacher = {**_entry("teacher", [0.1, 0.2, 0.25]), "role": "teacher"}
    (tmp_path / "toy-teacher.json").write_text(json.dumps({"models": [_entry("markov", None), teacher]}))
    students = [teacher, _entry("student-full", [0.05, 0.15]), _entry("student-old", None)]
    (tmp_path / "toy-student.json").write_text(json.dumps({"models": students}))
    assert [entry["name"] for entry in entries_with_curves("toy", tmp_path)] == ["teacher", "student-full"]
    path = plot_dataset("toy", tmp_path)
    assert path == tmp_path / "toy-curves.png" and path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert plot_dataset("none", tmp_path) is None
