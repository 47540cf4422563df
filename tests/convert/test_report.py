"""Quality flags and the files of the report."""

import json

import matplotlib.pyplot as plt
from matplotlib.colors import to_hex

import model  # noqa: F401
from convert.report import (
    _scatter_with_front,
    front_lines,
    front_points,
    pareto_front,
    quality_flags,
    write_report,
)
from runtime.provenance import machine_info


def entry(variant: str, ndcg: float, agreement: float = 1.0, max_rel_err: float = 1e-7) -> dict:
    return {
        "name": f"student_{variant}",
        "role": "student",
        "variant": variant,
        "bytes": 1000 if variant == "fp32" else 400,
        "params": 10,
        "builtin_only": True,
        "metrics": {"HR@10": 0.5, "NDCG@10": ndcg, "MRR@10": 0.2, "HR@20": 0.6, "NDCG@20": 0.4},
        "metrics_head": {"NDCG@10": ndcg},
        "metrics_tail": {},
        "n_repeat": 1,
        "n_new": 3,
        "metrics_repeat": {"HR@20": 1.0},
        "metrics_new": {"HR@20": 0.4667},
        "metrics_new_excluded": {"HR@20": 0.25, "MRR@20": 0.125},
        "parity": {"max_rel_err": max_rel_err, "top10_agreement": agreement},
        "latency_ms": {"p50": 0.1, "p95": 0.2},
        "flags": [],
    }


def test_flags_an_ndcg_drop_of_more_than_five_percent_and_poor_agreement():
    fp32 = entry("fp32", 0.40)
    assert quality_flags(fp32, fp32) == []
    assert quality_flags(entry("fp16", 0.385), fp32) == []
    assert any("below its fp32" in flag for flag in quality_flags(entry("full_int8", 0.37), fp32))
    assert any("agreement" in flag for flag in quality_flags(entry("full_int8", 0.40, agreement=0.5), fp32))
    assert any(
        "fp32 max relative error" in flag
        for flag in quality_flags(entry("fp32", 0.4, max_rel_err=1e-3), None)
    )


def report_of(models: list[dict], command: str = "to_tflite.py") -> dict:
    """A report.json of a tiny export holding `models`."""
    return {
        "dataset": "tiny",
        "n_items": 10,
        "max_len": 4,
        "top_k": 3,
        "commit": "unknown",
        "machine": machine_info(),
        "command": command,
        "models": models,
    }


def test_writes_json_markdown_and_plots(tmp_path):
    report = report_of([entry("fp32", 0.4), entry("dynamic_int8", 0.3) | {"flags": ["NDCG@10 below"]}])
    write_report(report, tmp_path)
    assert json.loads((tmp_path / "report.json").read_text()) == report
    markdown = (tmp_path / "report.md").read_text()
    assert "student_dynamic_int8" in markdown and "NDCG@10 below" in markdown
    assert "already in the history excluded" not in markdown
    assert "Left out for this data" not in markdown
    write_report(report | {"variants_left_out": ["qat_int8: 5 steps", "teacher fp16: small"]}, tmp_path)
    noted = (tmp_path / "report.md").read_text()
    assert "Left out for this data" in noted and "- qat_int8: 5 steps\n- teacher fp16: small" in noted
    # Repeat share 1/4, repeat / new / new-excluded HR@20, new-excluded MRR@20.
    assert "| 0.2500 | 1.0000 | 0.4667 | 0.2500 | 0.1250 |" in markdown
    write_report(report | {"exclude_history": True}, tmp_path)
    assert (
        "full-catalogue ranking with items already in the history excluded"
        in (tmp_path / "report.md").read_text()
    )
    for plot in ("size_vs_ndcg.png", "latency.png"):
        assert (tmp_path / plot).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_the_pareto_front_keeps_the_files_no_smaller_file_beats():
    points = [(1000, 0.40), (400, 0.39), (500, 0.30), (400, 0.20), (2000, 0.40), (300, float("nan"))]
    # 400 B at 0.39 beats 500 B at 0.30 and its 400 B twin at 0.20; 2,000 B adds nothing over 1,000 B.
    assert pareto_front(points) == [1, 0]
    assert pareto_front([]) == [] and pareto_front([(1, float("nan"))]) == []


def test_the_report_names_the_front_of_each_metric_the_models_carry(tmp_path):
    models = [entry("fp32", 0.40), entry("dynamic_int8", 0.38)]
    models[1]["metrics_new_excluded"] = {"HR@20": 0.30, "MRR@20": 0.1}
    lines = front_lines(models)
    assert lines == [
        "- Pareto front of bytes against NDCG@10: student_dynamic_int8 (0.3800), student_fp32 (0.4000)",
        "- Pareto front of bytes against new-item HR@20, history excluded: student_dynamic_int8 (0.3000)",
    ]
    for model_entry in models:
        model_entry["n_repeat"] = 0
    assert front_lines(models) == lines[:1]  # no target repeats (ML-1M): the second front restates the first


def test_rivals_are_listed_and_drawn_with_their_own_marker_and_legend_entry(tmp_path):
    rival = entry("fp32", 0.35) | {"name": "rival_dense_fp32", "role": "rival", "bytes": 800}
    models = [entry("fp32", 0.40), rival]
    report = report_of(models, "to_tflite.py --rivals runs/dense") | {"rivals": {"rival_dense": "runs/dense"}}
    write_report(report, tmp_path)
    markdown = (tmp_path / "report.md").read_text()
    assert "| rival_dense_fp32 | 800 |" in markdown and "- rival_dense: `runs/dense`" in markdown
    figure, axes = plt.subplots()
    _scatter_with_front(axes, models, front_points(models, "metrics", "NDCG@10"), "NDCG@10")
    legend = [text.get_text() for text in axes.get_legend().get_texts()]
    colors = [to_hex(collection.get_facecolor()[0]) for collection in axes.collections]
    plt.close(figure)
    assert legend == ["student", "rival", "Pareto front"]
    assert colors == [to_hex("tab:green"), to_hex("tab:orange")]
