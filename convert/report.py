"""report.json, report.md and the size/accuracy and latency plots of an export folder."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402

from runtime.atomic import atomic_path, atomic_write_text  # noqa: E402
from runtime.metrics import target_kind_summary  # noqa: E402

MIN_TOP10_AGREEMENT = 0.9
MAX_NDCG_DROP = 0.05
FP32_MAX_REL_ERR = 1e-5
TABLE_KEYS = ("HR@10", "NDCG@10", "MRR@10", "HR@20", "NDCG@20")


def quality_flags(entry: dict, fp32_entry: dict | None) -> list[str]:
    """Warnings for a variant: parity, top-10 agreement, NDCG@10 more than 5% (relative) below its fp32."""
    flags = []
    parity = entry["parity"]
    if entry["variant"] == "fp32" and parity["max_rel_err"] > FP32_MAX_REL_ERR:
        flags.append(f"fp32 max relative error {parity['max_rel_err']:.2e} exceeds {FP32_MAX_REL_ERR:.0e}")
    if parity["top10_agreement"] < MIN_TOP10_AGREEMENT:
        flags.append(
            f"top-10 agreement with Keras {parity['top10_agreement']:.3f} < {MIN_TOP10_AGREEMENT}: "
            "its ranking metrics are not trustworthy"
        )
    if fp32_entry is not None and entry is not fp32_entry:
        reference, value = fp32_entry["metrics"]["NDCG@10"], entry["metrics"]["NDCG@10"]
        if reference > 0 and value < (1 - MAX_NDCG_DROP) * reference:
            flags.append(
                f"NDCG@10 {value:.4f} is {100 * (1 - value / reference):.1f}% below "
                f"its fp32 ({reference:.4f})"
            )
    return flags


# What a frontier is drawn against: overall NDCG@10, and on session data the `recommend` protocol's new-item
# HR@20 (where a model earns its item table; a repeat rule reaches the overall numbers without one).
FRONT_METRICS = (
    ("metrics", "NDCG@10", "NDCG@10"),
    ("metrics_new_excluded", "HR@20", "new-item HR@20, history excluded"),
)


def pareto_front(points: Sequence[tuple[float, float]]) -> list[int]:
    """Indices of the (bytes, quality) points that no other point dominates (as few or fewer bytes and as
    good or better quality, one of them strictly), by increasing bytes; NaN qualities are never on it."""
    candidates = sorted(
        (index for index, (_, quality) in enumerate(points) if not math.isnan(quality)),
        key=lambda index: (points[index][0], -points[index][1]),
    )
    front, best = [], -math.inf
    for index in candidates:
        if points[index][1] > best:
            front.append(index)
            best = points[index][1]
    return front


def front_points(models: Sequence[dict], group: str, key: str) -> list[tuple[float, float]]:
    """(bytes, metric) per model; NaN where a model has no such metric (e.g. no new-item targets)."""
    return [(entry["bytes"], entry.get(group, {}).get(key, math.nan)) for entry in models]


def front_metrics(models: Sequence[dict]) -> list[tuple[str, str, str]]:
    """FRONT_METRICS that say something for these models: the new-item front only where some targets repeat
    a history item (on ML-1M none does, and it would restate the first)."""
    repeats = any(entry.get("n_repeat") for entry in models)
    return [metric for metric in FRONT_METRICS if repeats or metric[0] != "metrics_new_excluded"]


def front_lines(models: Sequence[dict]) -> list[str]:
    """One line per frontier metric the models carry: the files on its Pareto front, smallest first."""
    lines = []
    for group, key, label in front_metrics(models):
        points = front_points(models, group, key)
        front = pareto_front(points)
        if front:
            names = ", ".join(f"{models[index]['name']} ({points[index][1]:.4f})" for index in front)
            lines.append(f"- Pareto front of bytes against {label}: {names}")
    return lines


# Marker and colour of each role in the plots (rival: a `--rivals` model, beside the student at equal budget).
ROLE_STYLES = {"teacher": ("s", "tab:blue"), "student": ("o", "tab:green"), "rival": ("^", "tab:orange")}
EXCLUDED = " with items already in the history excluded"
LEFT_OUT = "Left out for this data (`--variants` names the variants to export)"


def _markdown(report: dict) -> str:
    lines = [
        f"# Export report: {report['dataset']}",
        "",
        f"n_items {report['n_items']}, max_len {report['max_len']}, top_k {report['top_k']}; commit "
        f"`{report['commit']}`; {report['machine']['cpu']} ({report['machine']['cores']} cores, "
        f"{report['machine']['memory_gb']} GB, accelerator {report['machine']['accelerator']}).",
        "",
        f"Command: `{report['command']}`",
        "",
        f"Metrics: full-catalogue ranking{EXCLUDED if report.get('exclude_history') else ''} over the test "
        "split, computed by running each flatbuffer in LiteRT. "
        "Target kinds (against the last max_len items the model is given): repeat and new HR@20 rank the "
        "whole catalogue; new excl. ranks new-item targets with the history excluded, as `recommend` does. "
        "Parity: `score` against the Keras model it was converted from (the QAT model for qat_int8). "
        "Latency: `recommend` at 1 thread.",
        "",
        "| model | bytes | params | builtin | "
        + " | ".join(TABLE_KEYS)
        + " | NDCG@10 head | NDCG@10 tail | repeat share | repeat HR@20 | new HR@20 | new excl. HR@20 "
        "| new excl. MRR@20 | max rel err | top-10 agr. | p50 ms | p95 ms | flags |",
        "|---" * (len(TABLE_KEYS) + 16) + "|",
    ]
    for entry in report["models"]:
        metrics = " | ".join(f"{entry['metrics'][key]:.4f}" for key in TABLE_KEYS)
        head = entry["metrics_head"].get("NDCG@10", float("nan"))
        tail = entry["metrics_tail"].get("NDCG@10", float("nan"))
        kinds = " | ".join(f"{value:.4f}" for value in target_kind_summary(entry).values())
        lines.append(
            f"| {entry['name']} | {entry['bytes']:,} | {entry['params']:,} "
            f"| {'yes' if entry['builtin_only'] else 'NO'}"
            f" | {metrics} | {head:.4f} | {tail:.4f} | {kinds} | {entry['parity']['max_rel_err']:.2e}"
            f" | {entry['parity']['top10_agreement']:.3f} | {entry['latency_ms']['p50']:.3f}"
            f" | {entry['latency_ms']['p95']:.3f} | {'; '.join(entry['flags']) or '-'} |"
        )
    if report.get("rivals"):
        lines += ["", "Rivals (`--rivals`), exported as the student is (without qat_int8):", ""]
        lines += [f"- {name}: `{folder}`" for name, folder in report["rivals"].items()]
    lines += [""] + front_lines(report["models"])
    if report.get("variants_left_out"):
        lines += ["", f"{LEFT_OUT}:", ""] + [f"- {reason}" for reason in report["variants_left_out"]]
    lines += _baseline_table(report.get("baselines", []))
    lines += ["", "![size vs NDCG@10](size_vs_ndcg.png)", "", "![latency](latency.png)", ""]
    notes = [note for entry in report["models"] for note in entry.get("notes", [])]
    if notes:
        lines += ["## Converter notes", ""] + [f"- {note}" for note in notes] + [""]
    return "\n".join(lines)


def _baseline_table(baselines: Sequence[dict]) -> list[str]:
    """The baselines on the same test examples, so the models' numbers have something to beat."""
    if not baselines:
        return []
    lines = [
        "",
        "## Baselines",
        "",
        "Fitted on the training split, ranked in Python on the same test examples as the models.",
        "",
        "| baseline | " + " | ".join(TABLE_KEYS) + " |",
        "|---" * (len(TABLE_KEYS) + 1) + "|",
    ]
    for entry in baselines:
        metrics = " | ".join(f"{entry['metrics'][key]:.4f}" for key in TABLE_KEYS)
        lines.append(f"| {entry['name']} | {metrics} |")
    return lines


def best_baseline(report: dict) -> dict | None:
    """The baseline entry with the highest test NDCG@10, or None when the report has none."""
    return max(report.get("baselines", []), key=lambda entry: entry["metrics"]["NDCG@10"], default=None)


def _plot_size_vs_ndcg(models: Sequence[dict], path: Path) -> None:
    """Bytes against NDCG@10, and on session data against new-item HR@20 (history excluded), each panel
    with its Pareto front: the files worth shipping at their size."""
    candidates = [(front_points(models, group, key), label) for group, key, label in front_metrics(models)]
    panels = [(points, label) for points, label in candidates if pareto_front(points)]
    figure, all_axes = plt.subplots(1, len(panels), figsize=(8 * len(panels), 5), squeeze=False)
    for axes, (points, label) in zip(all_axes[0], panels, strict=True):
        _scatter_with_front(axes, models, points, f"{label} (test, LiteRT)")
    figure.suptitle("Size vs accuracy of every exported model (red: flagged, see report.md)")
    figure.tight_layout()
    _save_figure(figure, path)


def _role_style(role: str) -> tuple[str, str]:
    """(marker, colour) of a role's points; an unknown role is a grey cross."""
    return ROLE_STYLES.get(role, ("x", "tab:gray"))


def _scatter_with_front(axes, models: Sequence[dict], points: Sequence[tuple[float, float]], ylabel: str):
    drawn_roles: dict[str, None] = {}  # in order of first appearance, for the legend
    for index, (entry, point) in enumerate(zip(models, points, strict=True)):
        if math.isnan(point[1]):
            continue
        flagged = bool(entry.get("flags"))
        marker, color = _role_style(entry["role"])
        axes.scatter(*point, marker=marker, s=60, color="tab:red" if flagged else color)
        drawn_roles[entry["role"]] = None
        label = entry["name"] + (" (FLAGGED)" if flagged else "")
        # Variants of one model sit close together: alternate the label side so they stay readable.
        axes.annotate(
            label, point, fontsize=7, xytext=(5, 6 if index % 2 else -11), textcoords="offset points"
        )
    front = [points[index] for index in pareto_front(points)]
    (front_line,) = axes.step(
        [x for x, _ in front],
        [y for _, y in front],
        where="post",
        color="black",
        linewidth=1,
        alpha=0.6,
        label="Pareto front",
    )
    # One legend entry per role drawn, in its unflagged colour (a flagged point is red whatever its role).
    roles = [
        Line2D([], [], linestyle="none", marker=_role_style(role)[0], color=_role_style(role)[1], label=role)
        for role in drawn_roles
    ]
    axes.legend(handles=[*roles, front_line], loc="lower right", fontsize=8)
    axes.set_xscale("log")
    axes.set_xlabel("flatbuffer size (bytes, log scale)")
    axes.set_ylabel(ylabel)
    axes.grid(True, which="both", alpha=0.3)


def _plot_latency(models: Sequence[dict], path: Path) -> None:
    figure, axes = plt.subplots(figsize=(7, 4.5))
    names = [entry["name"] for entry in models]
    positions = range(len(models))
    axes.bar([p - 0.2 for p in positions], [e["latency_ms"]["p50"] for e in models], width=0.4, label="p50")
    axes.bar([p + 0.2 for p in positions], [e["latency_ms"]["p95"] for e in models], width=0.4, label="p95")
    axes.set_xticks(list(positions), names, rotation=30, ha="right")
    axes.set_yscale("log")
    axes.set_ylabel("recommend latency (ms, 1 thread, log scale)")
    axes.set_title("LiteRT latency per model")
    axes.legend()
    figure.tight_layout()
    _save_figure(figure, path)


def _save_figure(figure: plt.Figure, path: Path) -> None:
    """Writes the figure atomically (a full disk raises `OutputWriteError` naming `path`) and closes it."""
    try:
        with atomic_path(path) as temporary:
            figure.savefig(temporary, dpi=120)
    finally:
        plt.close(figure)


def write_report(report: dict, out_dir: str | Path) -> None:
    """Writes report.json, report.md, size_vs_ndcg.png and latency.png into the export folder."""
    out_dir = Path(out_dir)
    atomic_write_text(out_dir / "report.json", json.dumps(report, indent=2) + "\n")
    atomic_write_text(out_dir / "report.md", _markdown(report))
    _plot_size_vs_ndcg(report["models"], out_dir / "size_vs_ndcg.png")
    _plot_latency(report["models"], out_dir / "latency.png")
