"""Tests of bench/render.py: every benchmark dataset's results reach BENCHMARKS.md."""

import json

import pytest

from bench import render
from bench.presets import TEACHERS


def test_every_dataset_with_a_preset_is_rendered():
    assert set(TEACHERS) <= set(render.DATASETS)
    assert len(render.DATASETS) == len(set(render.DATASETS))


def test_a_user_item_datasets_teacher_results_become_a_section(tmp_path, monkeypatch: pytest.MonkeyPatch):
    metrics = dict.fromkeys(render.METRIC_KEYS, 0.05)
    teacher = {"name": "teacher", "role": "teacher", "params": 10, "metrics": metrics, "best_epoch": 3}
    result = {"dataset": "amazon-video", "split": "leave-one-out", "exclude_history": True}
    result["models"] = [teacher]
    (tmp_path / "amazon-video-teacher.json").write_text(json.dumps(result))
    monkeypatch.setattr(render, "RESULTS_DIR", tmp_path)
    monkeypatch.setattr(render, "BENCH_DIR", tmp_path)  # no NOTES.md
    text = render.render()
    assert (
        "## Teacher: amazon-video (leave-one-out, full-catalogue ranking, items already in the history "
        "excluded, test split)" in text
    )
