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


def test_the_student_targets_judge_the_best_student_at_30x_and_new_items_only_where_targets_repeat():
    def entry(name: str, ndcg: float, tail: float, compression: float | None = None) -> dict:
        return {
            "name": name,
            "metrics": {"NDCG@10": ndcg},
            "metrics_tail": {"HR@20": tail},
            "metrics_new_excluded": {"HR@20": ndcg, "MRR@20": ndcg / 2},
            "compression_table": compression,
        }

    teacher = entry("teacher", 0.2, 0.4)
    students = {
        "low": entry("low", 0.19, 0.4, 7.7),  # the best, but not compressed enough to count
        "main": entry("main", 0.18, 0.2, 31.0),
        "high": entry("high", 0.1, 0.1, 62.0),
    }
    lines = render.compressed_student_lines(students, teacher)
    assert lines == [
        "- best student at >= 30x table (main) NDCG@10 / teacher's: 0.9000 >= 0.8500: met",
        "- best student at >= 30x table (main) tail HR@20 / teacher's: 0.5000 >= 0.9000: MISSED "
        "(short by 0.4000)",
    ]
    with_repeats = render.compressed_student_lines(students, teacher | {"n_repeat": 5})
    assert with_repeats[:2] == lines and len(with_repeats) == 4
    assert "new-item MRR@20, history excluded / teacher's: 0.9000 >= 0.9500: MISSED" in with_repeats[3]
    assert render.compressed_student_lines({"low": students["low"]}, teacher) == []


def export_entry(role: str, variant: str, size: int, ndcg: float, p50: float) -> dict:
    """A report.json model entry with what `export_section` reads."""
    return {
        "name": f"{'rival_dense' if role == 'rival' else role}_{variant}",
        "role": role,
        "variant": variant,
        "bytes": size,
        "metrics": {"NDCG@10": ndcg, "NDCG@20": ndcg, "HR@20": 2 * ndcg},
        "parity": {"max_rel_err": 1e-7, "top10_agreement": 1.0},
        "latency_ms": {"p50": p50, "p95": 2 * p50},
        "flags": [],
    }


def test_the_export_targets_read_the_student_not_a_rival(tmp_path, monkeypatch: pytest.MonkeyPatch):
    """Rivals (`--rivals`) come after the student in report.json with variants of the same names."""
    models = [
        export_entry("teacher", "fp32", 100_000, 0.20, 1.0),
        export_entry("student", "fp32", 4_000, 0.19, 0.5),
        export_entry("student", "dynamic_int8", 1_000, 0.196, 0.4),
        export_entry("rival", "fp32", 8_000, 0.10, 2.0),
        export_entry("rival", "dynamic_int8", 9_000, 0.10, 2.0),
    ]
    result = {"dataset": "ml-1m", "models": models}
    monkeypatch.setattr(render, "RESULTS_DIR", tmp_path)  # no plots
    lines = render.export_section(result)
    assert "- student dynamic_int8 bytes / teacher fp32 bytes: 0.0100 <= 0.0200: met" in lines
    assert "- student dynamic_int8 NDCG@20 / teacher fp32 NDCG@20: 0.9800 >= 0.9700: met" in lines
    assert "- student fp32 p50 ms (<= teacher fp32 p50): 0.5000 <= 1.0000: met" in lines
    assert any(line.startswith("| rival_dense_dynamic_int8 | dynamic_int8 | 9,000 |") for line in lines)
