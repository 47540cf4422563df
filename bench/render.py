"""Render BENCHMARKS.md from bench/results/*.json (and bench/NOTES.md): `python -m bench.render`.

Every number in BENCHMARKS.md comes from a results file, which records the commit, machine and command.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from pathlib import Path

from bench.curves import plot_dataset
from convert.report import front_lines
from runtime.atomic import atomic_write_text
from runtime.metrics import target_kind_summary

BENCH_DIR = Path(__file__).resolve().parent
RESULTS_DIR = BENCH_DIR / "results"
OUTPUT = BENCH_DIR.parent / "BENCHMARKS.md"
METRIC_KEYS = ("HR@10", "NDCG@10", "MRR@10", "HR@20", "NDCG@20", "MRR@20")


def fmt(value, digits: int = 4) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return f"{value:,}" if isinstance(value, int) else str(value)


def table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return lines + [""]


def provenance(result: dict) -> list[str]:
    machine = result.get("machine", {})
    return [
        f"- commit `{result.get('commit')}`; machine: {machine.get('cpu')}, {machine.get('cores')} cores, "
        f"{machine.get('memory_gb')} GB, accelerator {machine.get('accelerator')}",
        f"- command: `{result.get('command')}`",
        "",
    ]


def target_line(name: str, value: float | None, threshold: float, comparison: str = ">=") -> str:
    if value is None:
        return f"- {name}: not measured"
    met = value >= threshold if comparison == ">=" else value <= threshold
    gap = "" if met else f" (short by {abs(threshold - value):.4f})"
    return f"- {name}: {value:.4f} {comparison} {threshold:.4f}: {'met' if met else 'MISSED'}{gap}"


KIND_HEADER = list(target_kind_summary({}))
KIND_NOTE = (
    "Target kinds (evaluation.md): a repeat target occurs in the prefix given to the model (its last "
    "max_len items); repeat and new HR@20 rank the whole catalogue; new excl. ranks new-item targets with "
    "the history excluded (the `recommend` protocol, what an app shows). – : measured before the split "
    "existed."
)


def kind_cells(entry: dict) -> list[str]:
    """The target-kind columns of a results entry (repeat share, repeat/new/new-excluded numbers)."""
    return [fmt(value) for value in target_kind_summary(entry).values()]


def protocol(result: dict) -> str:
    if result.get("exclude_history"):
        return "full-catalogue ranking, items already in the history excluded"
    return "full-catalogue ranking"


TEACHER_TARGETS = {
    "ml-1m": [("NDCG@10", 0.17), ("HR@10", 0.29)],
    "tmall": [("HR@20", 0.28), ("MRR@20", 0.13)],
}


def model_table(entries: list[dict]) -> list[str]:
    """One row per model: parameters, every metric, tail HR@20, the target-kind cells, seconds per epoch."""
    rows = []
    for entry in entries:
        rows.append(
            [entry["name"], fmt(entry["params"])]
            + [fmt(entry["metrics"][key]) for key in METRIC_KEYS]
            + [fmt(entry.get("metrics_tail", {}).get("HR@20"))]
            + kind_cells(entry)
            + [fmt(entry.get("seconds_per_epoch"), 1)]
        )
    return table(["model", "params", *METRIC_KEYS, "tail HR@20", *KIND_HEADER, "s/epoch"], rows)


def teacher_section(result: dict) -> list[str]:
    dataset = result["dataset"]
    lines = [f"## Teacher: {dataset} ({result['split']}, {protocol(result)}, test split)", ""]
    lines += provenance(result) + model_table(result["models"]) + [KIND_NOTE, ""]
    teacher = next(entry for entry in result["models"] if entry["role"] == "teacher")
    epochs = teacher.get("epochs")
    lines.append(
        f"Teacher config: `{json.dumps(result.get('config'))}`; epochs run {epochs}, best epoch "
        f"{teacher.get('best_epoch')} (selected on validation NDCG@10)."
    )
    lines.append("")
    if "metrics_all_items" in teacher:
        all_items = ", ".join(f"{key} {fmt(teacher['metrics_all_items'][key])}" for key in METRIC_KEYS)
        lines += [f"The teacher with nothing excluded (full-catalogue ranking): {all_items}.", ""]
    for key, threshold in TEACHER_TARGETS.get(dataset, []):
        lines.append(target_line(f"teacher {key}", teacher["metrics"][key], threshold))
    return lines + [""]


# Sequential rules as measured in /work/shared/reference/evaluation.md (HR@20, MRR@20): full ranking, and
# new-item targets with the history excluded.
RULES_REFERENCE = {
    "tmall": ((0.4915, 0.1893), (0.0953, 0.0312)),
    "retailrocket": ((0.5567, 0.2876), (0.3285, 0.1217)),
}


# Issue 15's session-data targets (HR@20, MRR@20): full ranking, and new-item targets with the history
# excluded (1.2x the rules of evaluation.md).
SESSION_TARGETS = {
    "tmall": ((0.52, 0.24), (0.115, 0.037)),
    "retailrocket": ((0.60, 0.31), (0.39, 0.146)),
}


def teacher_ablation_section(result: dict) -> list[str]:
    """The preset teacher beside its variants (bench.run --stage teacher-ablation) and the session targets."""
    dataset = result["dataset"]
    lines = [f"## Teacher ablation: {dataset} ({result['split']}, {protocol(result)}, test split)", ""]
    lines += provenance(result) + model_table(result["models"]) + [KIND_NOTE, ""]
    for entry in result["models"]:
        overrides = {
            key: value for key, value in entry.get("config", {}).items() if result["config"].get(key) != value
        } | {
            f"train.{key}": value
            for key, value in entry.get("train_config", {}).items()
            if result["train_config"].get(key, value) != value
        }
        lines.append(
            f"- {entry['name']}: epochs run {entry.get('epochs')}, best epoch {entry.get('best_epoch')}; "
            f"differs from the preset in `{json.dumps(overrides)}`"
        )
    lines.append("")
    if dataset in SESSION_TARGETS:
        (full_hr, full_mrr), (new_hr, new_mrr) = SESSION_TARGETS[dataset]
        for entry in result["models"]:
            excluded, name = entry.get("metrics_new_excluded", {}), entry["name"]
            lines += [
                target_line(f"{name} HR@20", entry["metrics"]["HR@20"], full_hr),
                target_line(f"{name} MRR@20", entry["metrics"]["MRR@20"], full_mrr),
                target_line(f"{name} new-item HR@20, history excluded", excluded.get("HR@20"), new_hr),
                target_line(f"{name} new-item MRR@20, history excluded", excluded.get("MRR@20"), new_mrr),
            ]
    return lines + [""]


def baselines_section(result: dict) -> list[str]:
    dataset = result["dataset"]
    lines = [f"## Learn-nothing baselines: {dataset} ({result['split']}, {protocol(result)}, test split)", ""]
    lines += provenance(result)
    header = [
        "model",
        "repeat share",
        "HR@20",
        "MRR@20",
        "NDCG@20",
        "repeat HR@20",
        "new HR@20",
        "new MRR@20",
        "new excl. HR@20",
        "new excl. MRR@20",
        "new excl. NDCG@20",
    ]
    rows = []
    for entry in result["models"]:
        new, excluded = entry["metrics_new"], entry["metrics_new_excluded"]
        rows.append(
            [entry["name"], fmt(target_kind_summary(entry)["repeat share"])]
            + [fmt(entry["metrics"][key]) for key in ("HR@20", "MRR@20", "NDCG@20")]
            + [fmt(entry["metrics_repeat"].get("HR@20")), fmt(new.get("HR@20")), fmt(new.get("MRR@20"))]
            + [fmt(excluded.get(key)) for key in ("HR@20", "MRR@20", "NDCG@20")]
        )
    lines += table(header, rows)
    lines += [
        f"Fitted on the training sequences only; each sees the last {result['config']['max_len']} items of a "
        f"prefix, as the preset's teacher does. {KIND_NOTE}",
        "",
    ]
    rules = next((entry for entry in result["models"] if "rules" in entry["name"]), None)
    if rules and dataset in RULES_REFERENCE:
        (full_hr, full_mrr), (new_hr, new_mrr) = RULES_REFERENCE[dataset]
        excluded = rules["metrics_new_excluded"]
        measured = rules["metrics"]
        lines.append(
            f"- {rules['name']} against evaluation.md: full ranking HR@20 {fmt(measured['HR@20'])} vs "
            f"{full_hr:.4f}, MRR@20 {fmt(measured['MRR@20'])} vs {full_mrr:.4f}; new-item targets with the "
            f"history excluded HR@20 {fmt(excluded['HR@20'])} vs {new_hr:.4f}, MRR@20 "
            f"{fmt(excluded['MRR@20'])} vs {new_mrr:.4f} (bench/NOTES.md says why they differ)"
        )
    return lines + [""]


def sampled_section(result: dict) -> list[str]:
    dataset = result["dataset"]
    lines = [f"## Sampled vs full softmax: {dataset} teacher (test split)", ""]
    lines += provenance(result)
    seconds = result["seconds_per_step"]
    losses = {"teacher-full-softmax": "full", "teacher-sampled-softmax": "sampled"}
    rows = []
    for entry in result["models"]:
        loss = losses[entry["name"]]
        rows.append(
            [entry["name"]]
            + [fmt(entry["metrics"][key]) for key in ("NDCG@10", "HR@10", "HR@20", "MRR@20")]
            + [str(entry.get("epochs")), str(entry.get("best_epoch")), fmt(seconds[loss] * 1000, 1)]
        )
    lines += table(["model", "NDCG@10", "HR@10", "HR@20", "MRR@20", "epochs", "best epoch", "ms/step"], rows)
    full, sampled = result["models"]
    lines.append(
        f"Sampled: {result['num_negatives']} shared popularity negatives per step with logQ correction; "
        "ms/step = mean of a training step (forward, loss, backward, Adam), both losses timed in one process."
    )
    lines.append("")
    ratio = sampled["metrics"]["NDCG@10"] / full["metrics"]["NDCG@10"]
    lines.append(target_line("sampled NDCG@10 / full NDCG@10", ratio, 0.95))
    lines.append(f"- sampled step time / full step time: {seconds['sampled'] / seconds['full']:.3f}")
    return lines + [""]


def curves_section(dataset: str) -> list[str]:
    """The learning-curve plot of `dataset` (bench.curves), drawn afresh from its results files."""
    path = plot_dataset(dataset, RESULTS_DIR)
    if path is None:
        return []
    return [
        f"## Learning curves: {dataset}",
        "",
        "Validation NDCG@10 against wall time of training (the `curve` of each results entry; a dot marks "
        "the epoch kept). `python -m bench.curves --dataset " + dataset + "` redraws it.",
        "",
        f"![{dataset} learning curves](bench/results/{path.name})",
        "",
    ]


def speed_section(result: dict) -> list[str]:
    """Teacher step against each distillation variant's step, measured back to back (issue 16's target)."""
    lines = [f"## Step time: {result['dataset']} teacher vs distillation", ""]
    lines += provenance(result)
    seconds, ratios = result["seconds_per_step"], result["ratio_to_teacher"]
    steps_per_epoch = result["steps_per_epoch"]
    rows = [
        [variant, fmt(step * 1000, 1), fmt(step * steps_per_epoch, 0), fmt(ratios[variant], 2)]
        for variant, step in seconds.items()
    ]
    lines += table(["model", "ms/step", "s/epoch (training steps)", "x teacher"], rows)
    lines.append(
        f"Best of {result['rounds']} rounds of {result['timed_steps']} steps each, every model on the same "
        f"real batches ({steps_per_epoch} steps per epoch), in one process; `topk` is KD over the teacher's "
        "top 100 items plus a tail bucket; `sampled` is the student's sampled softmax with KD over the "
        "teacher's top 100 renormalised there; `once` reconstructs the student's table once per step "
        "(`materialize_table`, the same losses); `fast` also samples the predictive term (`sampled_pred`); "
        "`cached` reads the teacher from `distill.teacher_cache`."
    )
    for variant, cache in result["teacher_cache"].items():
        lines.append(
            f"- teacher cache of {variant}: built once in {cache['build_seconds']:.1f} s, "
            f"{cache['mib']:.1f} MiB in memory (shared by every later student of this teacher and data)"
        )
    best_cached = min(
        (ratio for variant, ratio in ratios.items() if variant.endswith("-cached")), default=None
    )
    lines.append(target_line("cached distillation step / teacher step", best_cached, 1.2, "<="))
    return lines + [""]


def student_section(result: dict) -> list[str]:
    dataset = result["dataset"]
    lines = [f"## Student ladder: {dataset} (STP-TT item table, {protocol(result)}, test split)", ""]
    lines += provenance(result)
    teacher = next(entry for entry in result["models"] if entry["role"] == "teacher")
    header = [
        "model",
        "params",
        "table x",
        "model x",
        "HR@10",
        "NDCG@10",
        "HR@20",
        "NDCG@20",
        "MRR@20",
        "head HR@20",
        "tail HR@20",
        "tail MRR@20",
        *KIND_HEADER,
        "s/epoch",
    ]
    rows = []
    for entry in result["models"]:
        metrics, head, tail = entry["metrics"], entry.get("metrics_head", {}), entry.get("metrics_tail", {})
        rows.append(
            [
                entry["name"],
                fmt(entry["params"]),
                fmt(entry.get("compression_table"), 1),
                fmt(entry.get("compression_model"), 1),
                fmt(metrics["HR@10"]),
                fmt(metrics["NDCG@10"]),
                fmt(metrics["HR@20"]),
                fmt(metrics["NDCG@20"]),
                fmt(metrics["MRR@20"]),
                fmt(head.get("HR@20")),
                fmt(tail.get("HR@20")),
                fmt(tail.get("MRR@20")),
                *kind_cells(entry),
                fmt(entry.get("seconds_per_epoch"), 0),
            ]
        )
    lines += table(header, rows)
    lines += [KIND_NOTE, ""]
    if "seconds_per_step" in result:
        timed = result["seconds_per_step"].items()
        steps = ", ".join(f"{name} {seconds * 1e3:.0f}" for name, seconds in timed)
        lines += [f"Distillation step, ms (timed back to back in one process, same batches): {steps}.", ""]
    students = {entry["name"]: entry for entry in result["models"] if entry["role"] == "student"}
    full, scratch = students.get("student-full"), students.get("student-scratch")
    if full:
        lines.append(target_line("full student table compression", full["compression_table"], 30.0))
        for key in ("HR@20", "MRR@20"):
            ratio = full["metrics"][key] / teacher["metrics"][key]
            lines.append(target_line(f"full student {key} / teacher {key}", ratio, 0.97))
    if full and scratch:
        lines.append(
            target_line(
                "full student NDCG@20 - from-scratch NDCG@20",
                full["metrics"]["NDCG@20"] - scratch["metrics"]["NDCG@20"],
                0.0,
            )
        )
    high = students.get("student-full-high")
    if high:
        lines.append(
            target_line("high-compression point, table compression", high["compression_table"], 60.0)
        )
    lines += compressed_student_lines(students, teacher)
    lines += rival_lines(students)
    return lines + [""]


def compressed_student_lines(students: dict[str, dict], teacher: dict) -> list[str]:
    """Issue 17's student targets, for the STP-TT student with >= 30x table compression that scores the
    best NDCG@10: NDCG@10 >= 0.85x the teacher's, tail HR@20 >= 0.9x, and where there are new-item
    targets beside repeats (session data), their HR@20 and MRR@20 with the history excluded >= 0.95x."""
    compressed = [entry for entry in students.values() if (entry.get("compression_table") or 0) >= 30.0]
    if not compressed:
        return []
    best = max(compressed, key=lambda entry: entry["metrics"]["NDCG@10"])
    name = f"best student at >= 30x table ({best['name']})"
    ratios = [("NDCG@10", "metrics", "NDCG@10", 0.85), ("tail HR@20", "metrics_tail", "HR@20", 0.9)]
    if teacher.get("n_repeat"):  # session data: the new-item targets are where the table earns its place
        new_items = "metrics_new_excluded"
        ratios += [(f"new-item {key}, history excluded", new_items, key, 0.95) for key in ("HR@20", "MRR@20")]
    lines = []
    for label, group, key, threshold in ratios:
        value, reference = best.get(group, {}).get(key), teacher.get(group, {}).get(key)
        if value is not None and reference:
            lines.append(target_line(f"{name} {label} / teacher's", value / reference, threshold))
    return lines


def rival_lines(students: dict[str, dict]) -> list[str]:
    """For every equal-budget dense rival (a student whose table is dense), the best STP-TT student of its
    parameter count (within 2%) by NDCG@10 against it: overall NDCG@10 and tail HR@20 (issue 17)."""
    lines = []
    for rival in students.values():
        if rival.get("table", {}).get("item_table") != "dense":
            continue
        peers = [
            entry
            for entry in students.values()
            if entry.get("table", {}).get("item_table") != "dense"
            and abs(entry["params"] - rival["params"]) <= 0.02 * rival["params"]
        ]
        if not peers:
            continue
        best = max(peers, key=lambda entry: entry["metrics"]["NDCG@10"])
        name = f"{best['name']} - {rival['name']} ({rival['params']:,} parameters)"
        lines.append(
            target_line(f"{name}, NDCG@10", best["metrics"]["NDCG@10"] - rival["metrics"]["NDCG@10"], 0.0)
        )
        best_tail, rival_tail = best.get("metrics_tail", {}), rival.get("metrics_tail", {})
        if "HR@20" in best_tail and "HR@20" in rival_tail:
            lines.append(target_line(f"{name}, tail HR@20", best_tail["HR@20"] - rival_tail["HR@20"], 0.0))
    return lines


def table_rank_section(result: dict) -> list[str]:
    size = f"{result['rows']:,} x {result['dim']}"
    lines = [f"## Teacher table compressibility: {result['dataset']} ({size})", ""]
    lines += provenance(result)
    lines += [
        "Relative Frobenius error of the best approximation of the teacher's item table that each student "
        "table size allows: its TT-SVD fit (the `--warm_start` initialisation) and a plain low-rank table "
        "with as many parameters (truncated SVD); where measured, the TT-SVD fit again with the items in "
        "each learnt `--item_order` (distill/item_order.py).",
        "",
    ]
    orders = list(
        dict.fromkeys(o for entry in result["tables"] for o in entry.get("tt_svd_error_by_order", {}))
    )
    rows = [
        [
            entry["name"],
            fmt(entry["params"]),
            fmt(entry["compression_table"], 1),
            fmt(entry["tt_svd_error"], 3),
            *(fmt(entry.get("tt_svd_error_by_order", {}).get(order), 3) for order in orders),
            fmt(entry["low_rank_rank"]),
            fmt(entry["low_rank_error"], 3),
        ]
        for entry in result["tables"]
    ]
    ordered = [f"TT-SVD error, {order} order" for order in orders]
    header = ["table", "params", "table x", "TT-SVD error", *ordered, "same-budget rank", "low-rank error"]
    lines += table(header, rows)
    by_rank = result["low_rank_error_by_rank"].items()
    spectrum = ", ".join(f"rank {rank}: {fmt(error, 3)}" for rank, error in by_rank)
    return lines + [f"Low-rank error by rank: {spectrum}.", ""]


EXPORT_TARGET_DATASETS = ("tmall", "ml-1m")


def export_section(result: dict) -> list[str]:
    dataset = result["dataset"]
    lines = [
        f"## On-device export: {dataset} (LiteRT, {protocol(result)}, metrics computed by running the "
        "flatbuffers)",
        "",
    ]
    lines += provenance(result)
    rows = []
    for entry in result["models"]:
        parity, latency = entry.get("parity", {}), entry.get("latency_ms", {})
        rows.append(
            [
                entry["name"],
                entry["variant"],
                fmt(entry["bytes"]),
                fmt(entry["metrics"].get("NDCG@10")),
                fmt(entry["metrics"].get("NDCG@20")),
                fmt(entry["metrics"].get("HR@20")),
                *kind_cells(entry),
                f"{parity['max_rel_err']:.1e}" if parity.get("max_rel_err") is not None else "–",
                fmt(parity.get("top10_agreement"), 3),
                fmt(latency.get("p50"), 3),
                fmt(latency.get("p95"), 3),
                "; ".join(entry.get("flags", [])) or "",
            ]
        )
    header = [
        "model",
        "variant",
        "bytes",
        "NDCG@10",
        "NDCG@20",
        "HR@20",
        *KIND_HEADER,
        "max rel err",
        "top-10 agree",
        "p50 ms",
        "p95 ms",
        "flags",
    ]
    lines += table(header, rows)
    lines += [KIND_NOTE, ""] + front_lines(result["models"]) + [""]
    by_key = {(entry["role"], entry["variant"]): entry for entry in result["models"]}
    teacher = by_key.get(("teacher", "fp32"))
    # Every int8 student the report did not flag: the target holds if one of them meets both lines.
    int8_students = [by_key.get(("student", v)) for v in ("dynamic_int8", "full_int8", "qat_int8")]
    unflagged_int8 = [entry for entry in int8_students if entry and not entry.get("flags")]
    student_fp32 = by_key.get(("student", "fp32"))
    if dataset not in EXPORT_TARGET_DATASETS:
        teacher = None  # the size and latency targets are set for real catalogues (Tmall, ML-1M) only
    for student_int8 in unflagged_int8 if teacher else []:
        variant = student_int8["variant"]
        lines.append(
            target_line(
                f"student {variant} bytes / teacher fp32 bytes",
                student_int8["bytes"] / teacher["bytes"],
                1 / 50,
                "<=",
            )
        )
        lines.append(
            target_line(
                f"student {variant} NDCG@20 / teacher fp32 NDCG@20",
                student_int8["metrics"]["NDCG@20"] / teacher["metrics"]["NDCG@20"],
                0.97,
            )
        )
    if teacher and student_fp32:
        lines.append(
            target_line(
                "student fp32 p50 ms (<= teacher fp32 p50)",
                student_fp32["latency_ms"]["p50"],
                teacher["latency_ms"]["p50"],
                "<=",
            )
        )
    for plot in sorted(RESULTS_DIR.glob(f"{dataset}-export*.png")):
        lines += ["", f"![{plot.stem}](bench/results/{plot.name})"]
    return lines + [""]


def scaling_section(result: dict) -> list[str]:
    lines = [
        "## Catalogue scaling (synthetic shapes, untrained weights: size and latency do not depend on it)",
        "",
    ]
    lines += provenance(result)
    if result.get("note"):
        lines += [result["note"], ""]
    rows = []
    for entry in result["models"]:
        latency = entry.get("latency_ms", {})
        rows.append(
            [
                entry["role"],
                entry["variant"],
                f"{entry['n_items']:.0e}",
                fmt(entry["bytes"]),
                fmt(entry["params"]),
                fmt(latency.get("p50"), 2),
                fmt(latency.get("p95"), 2),
                fmt(entry.get("peak_rss_mb"), 0),
                fmt(entry.get("conversion_seconds"), 1),
                "yes" if entry.get("holds_n_by_d_tensor") else "no",
            ]
        )
    header = [
        "model",
        "variant",
        "N",
        "bytes",
        "params",
        "p50 ms",
        "p95 ms",
        "peak RSS MB",
        "convert s",
        "N x d table",
    ]
    lines += table(header, rows)
    students = [e for e in result["models"] if e["role"] == "student" and e["n_items"] == 10**6]
    for entry in students:
        if entry["variant"] in ("dynamic_int8", "full_int8"):
            lines.append(
                target_line(
                    f"student {entry['variant']} MB at N = 1e6 (< 10)", entry["bytes"] / 1e6, 10.0, "<="
                )
            )
            lines.append(
                target_line(
                    f"student {entry['variant']} p50 ms at N = 1e6 (< 50)",
                    entry["latency_ms"]["p50"],
                    50.0,
                    "<=",
                )
            )
    budget = result.get("teacher_deployability", {})
    for variant, per_n in budget.get("per_variant", {}).items():
        failing = [n for n, row in per_n.items() if not row["within_app_budget"]]
        if failing:
            lines.append(
                f"- teacher {variant} exceeds the {budget['criteria']['app_budget_bytes'] / 1e6:.0f} MB app "
                f"budget ({budget['criteria']['app_budget_note']}) from N = {min(map(int, failing)):.0e}"
            )
    lines += [
        "",
        "![bytes](bench/results/scaling-bytes.png)",
        "",
        "![latency](bench/results/scaling-latency.png)",
    ]
    return lines + [""]


# Every benchmark dataset in the order of BENCHMARKS.md: user-item sets, session sets, synthetic.
DATASETS = ("ml-1m", "amazon-video", "tmall", "retailrocket", "synthetic", "synthetic-5k")

SECTIONS: list[tuple[str, Callable[[dict], list[str]]]] = [
    ("baselines", baselines_section),
    ("teacher", teacher_section),
    ("teacher-ablation", teacher_ablation_section),
    ("student", student_section),
    ("table-rank", table_rank_section),
    ("sampled", sampled_section),
    ("speed", speed_section),
    ("export", export_section),
]


def render() -> str:
    lines = [
        "# Benchmarks",
        "",
        "Generated by `python -m bench.render` from `bench/results/*.json`; each section names the commit, "
        "the machine and the command that produced its numbers. Re-run a stage with its command (runs resume "
        "from their checkpoints), then re-render.",
        "",
    ]
    for dataset in DATASETS:
        for stage, section in SECTIONS:
            path = RESULTS_DIR / f"{dataset}-{stage}.json"
            if path.exists():
                lines += section(json.loads(path.read_text()))
        lines += curves_section(dataset)
    scaling = RESULTS_DIR / "scaling.json"
    if scaling.exists():
        lines += scaling_section(json.loads(scaling.read_text()))
    notes = BENCH_DIR / "NOTES.md"
    if notes.exists():
        lines += [notes.read_text().rstrip(), ""]
    return "\n".join(lines)


if __name__ == "__main__":
    atomic_write_text(OUTPUT, render())
    print(f"wrote {OUTPUT}")
