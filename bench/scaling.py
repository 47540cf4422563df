"""Catalogue scaling: flatbuffer bytes, `recommend` latency and memory of teacher and student as N grows.

    nice -n 10 python -m bench.scaling                       # N = 1e4..1e6 (+ 1e7 student) -> bench/results/
    python -m bench.scaling --n_items 1000,10000 --runs 50    # a quick look

The models are UNTRAINED: randomly initialised SASRec models on synthetic shapes (d = 64, 1 block, L = 50,
K = 20). Bytes, latency and memory do not depend on the weight values, only on shapes and variant, so no data
and no training are needed. Every model is exported through the project's converter (`convert.export` and
`convert.quantize`) exactly as a trained one would be.

Each step runs in a fresh Python process, so that every peak RSS is that process's own: one process builds
and converts a model, one times `recommend` with `runtime.bench.benchmark_in_fresh_process` (sidecar and vocab
checks included, as a device app would run it), and one loads only the interpreter and calls `recommend`
(`peak_rss_mb`: the model's own memory, without the vocabulary, which grows as N too).
"""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
from absl import app, flags

from runtime.atomic import atomic_write_text
from runtime.bench import benchmark_in_fresh_process, peak_rss_mb, random_histories
from runtime.provenance import command_line, git_commit, machine_info
from runtime.sidecar import VOCAB_FILE

RESULTS_DIR = Path(__file__).resolve().parent / "results"
DATASET_NAME = "synthetic-scaling"
# Deployability criteria of the teacher (bytes of one flatbuffer).
FLATBUFFER_LIMIT_BYTES = 2**31 - 1  # FlatBuffers use 32-bit offsets: a .tflite beyond 2 GiB cannot be built
APP_BUDGET_BYTES = 200 * 10**6  # Google Play's cap on a compressed base module download (200 MB)
STUDENT_BYTES_TARGET = 10 * 10**6  # issue "Scale": student int8 at N = 1e6 under 10 MB
STUDENT_P50_TARGET_MS = 50.0  # issue "Scale": its recommend p50 at N = 1e6 under 50 ms on one core


@dataclass(frozen=True)
class ScalingConfig:
    """The benchmark grid; built from flags in `main`."""

    n_items: tuple[int, ...] = (10**4, 10**5, 10**6, 10**7)
    teacher_max_items: int = 10**6
    teacher_variants: tuple[str, ...] = ("fp32", "dynamic_int8")
    student_variants: tuple[str, ...] = ("fp32", "dynamic_int8", "full_int8")
    hidden_dim: int = 64
    num_blocks: int = 1
    max_len: int = 50
    top_k: int = 20
    runs: int = 100
    warmup: int = 10
    seed: int = 0


@dataclass(frozen=True)
class StudentShape:
    """The STP-TT factorisation of one catalogue size (recorded in the results as `shapes`)."""

    item_factors: tuple[int, ...]
    dim_factors: tuple[int, ...]
    tt_rank: int
    stp_factor: int
    per_item_score_cost: int = field(init=False)

    def __post_init__(self):
        # Multiply-adds per item of the factored score's last step, J_K * R / t^2 (the dense product costs d).
        object.__setattr__(
            self, "per_item_score_cost", self.dim_factors[-1] * self.tt_rank // self.stp_factor**2
        )


def _balanced_item_factors(num_rows: int, num_cores: int) -> tuple[int, ...]:
    """Near-equal factors whose product covers num_rows (the layer pads up to it), largest first."""
    factors, remaining = [], num_rows
    for left in range(num_cores, 0, -1):
        factor = math.ceil(remaining ** (1.0 / left) - 1e-9)
        factors.append(factor)
        remaining = math.ceil(remaining / factor)
    return tuple(sorted(factors, reverse=True))


def student_shape(n_items: int, hidden_dim: int = 64) -> StudentShape:
    """The factorisation used at n_items, following docs' method notes ("Scoring the whole catalogue").

    Two cores up to 1e6 items, three beyond (the first core of two would hold sqrt(N) * J1 * R values). The
    last dimension factor is small and t = 4 with R = 32, so the per-item cost J_K * R / t^2 stays <= d.

    Raises:
        ValueError: hidden_dim has no such factorisation (it must be divisible by 16 for 2 cores, by 4^3 = 64
            for 3).
    """
    num_cores = 2 if n_items <= 10**6 else 3
    tt_rank, stp_factor = 32, 4
    if num_cores == 2:
        last = 8
        dim_factors = (hidden_dim // last, last)
    else:
        last = 4
        dim_factors = (hidden_dim // (last * last), last, last)
    if math.prod(dim_factors) != hidden_dim or min(dim_factors) < 1 or last % stp_factor:
        raise ValueError(
            f"hidden_dim={hidden_dim} does not factor as {dim_factors} for {num_cores} cores; use a multiple "
            f"of {last ** (num_cores - 1) * 2}"
        )
    shape = StudentShape(_balanced_item_factors(n_items + 1, num_cores), dim_factors, tt_rank, stp_factor)
    if shape.per_item_score_cost > hidden_dim:
        raise ValueError(f"{shape} costs more per item than the dense product ({hidden_dim})")
    return shape


def model_config_dict(role: str, n_items: int, config: ScalingConfig) -> dict:
    """SASRecConfig fields of the teacher (dense table) or student (STP-TT table) at n_items."""
    values = {
        "n_items": n_items,
        "max_len": config.max_len,
        "hidden_dim": config.hidden_dim,
        "num_blocks": config.num_blocks,
        "num_heads": 1,
        "dropout": 0.0,
        "readout": "last",
    }
    if role == "student":
        shape = student_shape(n_items, config.hidden_dim)
        values.update(
            item_table="stp_tt",
            tt_rank=shape.tt_rank,
            stp_factor=shape.stp_factor,
            tt_num_cores=len(shape.item_factors),
            tt_item_factors=shape.item_factors,
            tt_dim_factors=shape.dim_factors,
        )
    return values


def write_scaling_vocab(path: Path, n_items: int) -> None:
    """A `vocab.tsv` of n_items synthetic ids ("1".."N", no titles), streamed (1e7 lines need no list)."""
    with open(path, "w", encoding="utf-8", newline="\n") as stream:
        stream.write("internal_id\toriginal_id\ttitle\n")
        for start in range(1, n_items + 1, 100_000):
            stop = min(start + 100_000, n_items + 1)
            stream.write("".join(f"{item}\t{item}\t\n" for item in range(start, stop)))


def build_and_convert(
    role: str, n_items: int, variants: Sequence[str], config: ScalingConfig | dict, out_dir: str
) -> dict:
    """Builds an untrained model and writes one flatbuffer + sidecar per variant into out_dir.

    Runs in its own process (TensorFlow is imported here only). Returns {"params", "config",
    "saved_model_seconds", "build_seconds", "peak_rss_mb", "variants": {variant: {"file", "bytes",
    "conversion_seconds", "quantization", "converter_notes"}}}; conversion_seconds is the variant's converter
    time plus the export of the SavedModel it is converted from (shared by the variants of one padding
    column).
    """
    import model  # noqa: F401  (selects tf-keras before TensorFlow loads)
    from convert.export import save_export_module
    from convert.quantize import convert_variant, padding_column
    from model.keras_setup import tf
    from model.parameters import parameter_report
    from model.sasrec import SASRec, SASRecConfig
    from runtime.atomic import atomic_write_bytes
    from runtime.sidecar import contract_fields, write_sidecar

    if isinstance(config, dict):
        config = ScalingConfig(**{key: tuple(v) if isinstance(v, list) else v for key, v in config.items()})
    tf.keras.utils.set_random_seed(config.seed)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    write_scaling_vocab(out / VOCAB_FILE, n_items)
    started = time.perf_counter()
    sasrec_config = SASRecConfig(**model_config_dict(role, n_items, config))
    keras_model = SASRec(sasrec_config).build_for_inference()
    build_seconds = time.perf_counter() - started
    result = {
        "params": parameter_report(keras_model)["total"],
        "config": sasrec_config.to_dict(),
        "build_seconds": build_seconds,
        "variants": {},
    }
    saved_model_seconds = {}
    with tempfile.TemporaryDirectory(prefix="odrec_scaling_", dir=out) as scratch:
        saved_models = {}
        # No data to calibrate full_int8 with: random valid histories (ranges of untrained activations).
        calibration = random_histories(n_items, config.max_len, 32, config.seed)
        for variant in variants:
            column = padding_column(variant)  # full_int8 converts from its own export graph
            if column not in saved_models:
                started = time.perf_counter()
                directory = Path(scratch) / f"saved_model_{column}"
                saved_models[column] = save_export_module(keras_model, config.top_k, directory, column)
                saved_model_seconds[column] = time.perf_counter() - started
            started = time.perf_counter()
            conversion = convert_variant(saved_models[column], variant, calibration)
            seconds = time.perf_counter() - started + saved_model_seconds[column]
            path = out / f"{role}_{variant}.tflite"
            atomic_write_bytes(path, conversion.flatbuffer)
            fields = contract_fields(role, variant, DATASET_NAME, n_items, config.max_len, config.top_k)
            write_sidecar(path, {**fields, "untrained": True})
            result["variants"][variant] = {
                "file": str(path),
                "bytes": path.stat().st_size,
                "conversion_seconds": seconds,
                "quantization": conversion.quantization,
                "converter_notes": list(conversion.notes),
            }
            del conversion
    result["saved_model_seconds"] = saved_model_seconds
    result["peak_rss_mb"] = peak_rss_mb()
    return result


def interpreter_footprint(model_path: str, max_len: int, calls: int = 5) -> dict:
    """Peak RSS of a process that only opens the flatbuffer (1 thread) and calls `recommend`, plus the
    element counts of every tensor the interpreter allocates.

    Returns:
        {"peak_rss_mb", "baseline_rss_mb" (after imports, before the model), "largest_tensor_elements",
        "tensor_elements" (sorted distinct element counts)}.
    """
    from runtime.litert import load_interpreter

    baseline = peak_rss_mb()
    interpreter = load_interpreter(model_path, num_threads=1)
    runner = interpreter.get_signature_runner("recommend")
    history = np.zeros([1, max_len], np.int32)
    history[0, -1] = 1
    for _ in range(calls):
        runner(history=history)
    elements = sorted({int(np.prod(detail["shape"])) for detail in interpreter.get_tensor_details()})
    return {
        "peak_rss_mb": peak_rss_mb(),
        "baseline_rss_mb": baseline,
        "largest_tensor_elements": elements[-1] if elements else 0,
        "tensor_elements": elements,
    }


def table_sizes(role: str, n_items: int, config: ScalingConfig) -> set[int]:
    """Element counts an N x d item table would have: (N + 1) * d, and padded_rows * d for the student."""
    sizes = {(n_items + 1) * config.hidden_dim}
    if role == "student":
        sizes.add(math.prod(student_shape(n_items, config.hidden_dim).item_factors) * config.hidden_dim)
    return sizes


# The child loads this file by path, not as `bench.scaling`, so that the measured process holds this module's
# top-level imports (numpy, absl, runtime/: no TensorFlow) and nothing a package __init__ might add.
_CHILD = """
import importlib.util, json, sys
spec = importlib.util.spec_from_file_location("odrec_scaling_child", sys.argv[1])
module = importlib.util.module_from_spec(spec)
sys.modules[spec.name] = module
spec.loader.exec_module(module)
result = getattr(module, sys.argv[2])(**json.loads(sys.argv[3]))
print()
print(json.dumps(result))
"""


def in_fresh_process(function_name: str, **kwargs) -> dict:
    """Runs `function_name(**kwargs)` of this module in a new Python process; returns its JSON result.

    Raises:
        RuntimeError: the child failed; the message holds the end of its stderr.
    """
    repo = Path(__file__).resolve().parents[1]
    environment = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(repo), os.environ.get("PYTHONPATH")])),
    }
    result = subprocess.run(
        [sys.executable, "-c", _CHILD, __file__, function_name, json.dumps(kwargs)],
        capture_output=True,
        text=True,
        cwd=repo,
        env=environment,
    )
    if result.returncode != 0:
        raise RuntimeError(f"{function_name}({kwargs}) failed in its process:\n{result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def measure(role: str, n_items: int, variants: Sequence[str], config: ScalingConfig, work_dir: Path) -> list:
    """Results entries of one model at one catalogue size (one per variant)."""
    model_dir = work_dir / f"{role}_{n_items}"
    converted = in_fresh_process(
        "build_and_convert",
        role=role,
        n_items=n_items,
        variants=list(variants),
        config=asdict(config),
        out_dir=str(model_dir),
    )
    sasrec = converted["config"]
    shapes = {"item_table": [sasrec["n_items"] + 1, config.hidden_dim]}
    if role == "student":
        shape = student_shape(n_items, config.hidden_dim)
        shapes = {
            key: list(value) if isinstance(value, tuple) else value for key, value in asdict(shape).items()
        }
        shapes["num_cores"] = len(shape.item_factors)
        shapes["padded_rows"] = math.prod(shape.item_factors)
    entries = []
    for variant, conversion in converted["variants"].items():
        path = conversion["file"]
        footprint = in_fresh_process("interpreter_footprint", model_path=path, max_len=config.max_len)
        latency = benchmark_in_fresh_process(path, config.runs, config.warmup, config.seed)
        entry = {
            "name": f"{role}_{variant}_{n_items}",
            "role": role,
            "variant": variant,
            "n_items": n_items,
            "bytes": conversion["bytes"],
            "params": converted["params"],
            "latency_ms": {"p50": latency["p50_ms"], "p95": latency["p95_ms"]},
            "peak_rss_mb": footprint["peak_rss_mb"],
            "baseline_rss_mb": footprint["baseline_rss_mb"],
            "harness_peak_rss_mb": latency["peak_rss_mb"],
            "conversion_seconds": conversion["conversion_seconds"],
            "conversion_peak_rss_mb": converted["peak_rss_mb"],
            "quantization": conversion["quantization"],
            "converter_notes": conversion["converter_notes"],
            "largest_tensor_elements": footprint["largest_tensor_elements"],
            "holds_n_by_d_tensor": bool(
                table_sizes(role, n_items, config) & set(footprint["tensor_elements"])
            ),
            "shapes": shapes,
        }
        entries.append(entry)
        print(
            f"{entry['name']}: {entry['bytes']:,} bytes, p50 {entry['latency_ms']['p50']:.3f} ms, "
            f"p95 {entry['latency_ms']['p95']:.3f} ms, RSS {entry['peak_rss_mb']:.0f} MB, "
            f"conversion {entry['conversion_seconds']:.1f} s",
            flush=True,
        )
    shutil.rmtree(model_dir, ignore_errors=True)
    return entries


def teacher_deployability(entries: Sequence[dict], config: ScalingConfig) -> dict:
    """Where the dense teacher stops fitting: measured bytes where available, N * d * bytes-per-weight beyond.

    Two criteria: the hard 2 GiB flatbuffer limit, and the 200 MB app download budget.
    """
    verdict = {
        "criteria": {
            "flatbuffer_limit_bytes": FLATBUFFER_LIMIT_BYTES,
            "app_budget_bytes": APP_BUDGET_BYTES,
            "app_budget_note": "Google Play's limit on a compressed base-module download",
        },
        "per_variant": {},
    }
    bytes_per_weight = {"fp32": 4, "fp16": 2, "dynamic_int8": 1, "full_int8": 1}
    for variant in config.teacher_variants:
        rows = {}
        for n_items in config.n_items:
            measured = [
                e
                for e in entries
                if e["role"] == "teacher" and e["variant"] == variant and e["n_items"] == n_items
            ]
            if measured:
                size, source = measured[0]["bytes"], "measured"
            else:
                size = (n_items + 1) * config.hidden_dim * bytes_per_weight.get(variant, 4)
                source = "table bytes only (N+1) * d * bytes per weight, not built"
            rows[str(n_items)] = {
                "bytes": size,
                "source": source,
                "within_flatbuffer_limit": size <= FLATBUFFER_LIMIT_BYTES,
                "within_app_budget": size <= APP_BUDGET_BYTES,
            }
        verdict["per_variant"][variant] = rows
    return verdict


def student_targets(entries: Sequence[dict]) -> dict:
    """The issue's two targets for the student int8 export at N = 1e6, with the measured values."""
    found = [
        e
        for e in entries
        if e["role"] == "student" and e["variant"] == "dynamic_int8" and e["n_items"] == 10**6
    ]
    if not found:
        return {}
    entry = found[0]
    return {
        "bytes": entry["bytes"],
        "bytes_target": STUDENT_BYTES_TARGET,
        "bytes_met": entry["bytes"] < STUDENT_BYTES_TARGET,
        "p50_ms": entry["latency_ms"]["p50"],
        "p50_target_ms": STUDENT_P50_TARGET_MS,
        "p50_met": entry["latency_ms"]["p50"] < STUDENT_P50_TARGET_MS,
    }


def plot(entries: Sequence[dict], config: ScalingConfig, out_dir: Path) -> list[Path]:
    """Log-log plots of bytes and recommend p50 (p95 as error bar top) against N, one line per model."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    lines = sorted({(e["role"], e["variant"]) for e in entries})
    styles = {"teacher": "-", "student": "--"}
    written = []
    for metric, ylabel, filename in (
        ("bytes", "flatbuffer bytes", "scaling-bytes.png"),
        ("latency", "recommend latency, ms (p50, bar to p95; 1 thread)", "scaling-latency.png"),
    ):
        figure, axis = plt.subplots(figsize=(7, 4.5))
        for role, variant in lines:
            rows = sorted(
                (e for e in entries if e["role"] == role and e["variant"] == variant),
                key=lambda e: e["n_items"],
            )
            xs = [e["n_items"] for e in rows]
            if metric == "bytes":
                axis.plot(xs, [e["bytes"] for e in rows], styles[role], marker="o", label=f"{role} {variant}")
            else:
                p50 = np.array([e["latency_ms"]["p50"] for e in rows])
                p95 = np.array([e["latency_ms"]["p95"] for e in rows])
                axis.errorbar(
                    xs,
                    p50,
                    yerr=[np.zeros_like(p50), p95 - p50],
                    fmt=styles[role],
                    marker="o",
                    capsize=3,
                    label=f"{role} {variant}",
                )
        if metric == "bytes":
            verdict = teacher_deployability(entries, config)["per_variant"]
            for variant, rows in verdict.items():
                estimated = [(int(n), row["bytes"]) for n, row in rows.items() if row["source"] != "measured"]
                if estimated:
                    axis.plot(
                        *zip(*estimated, strict=True),
                        "x",
                        markersize=9,
                        label=f"teacher {variant}: table only, not built",
                    )
            axis.axhline(FLATBUFFER_LIMIT_BYTES, color="red", linestyle=":", label="2 GiB flatbuffer limit")
            axis.axhline(APP_BUDGET_BYTES, color="orange", linestyle=":", label="200 MB app download budget")
            axis.axhline(STUDENT_BYTES_TARGET, color="gray", linestyle=":", label="10 MB student target")
        else:
            axis.axhline(STUDENT_P50_TARGET_MS, color="gray", linestyle=":", label="50 ms student target")
        axis.set_xscale("log")
        axis.set_yscale("log")
        axis.set_xlabel("catalogue size N (items)")
        axis.set_ylabel(ylabel)
        axis.set_title(
            f"Untrained SASRec, d={config.hidden_dim}, {config.num_blocks} block, L={config.max_len}, "
            f"K={config.top_k}"
        )
        axis.grid(True, which="both", alpha=0.3)
        axis.legend(fontsize=8)
        figure.tight_layout()
        path = out_dir / filename
        figure.savefig(path, dpi=110)
        plt.close(figure)
        written.append(path)
    return written


def run_scaling(
    config: ScalingConfig, out_dir: Path, work_dir: Path | None = None, command: str = ""
) -> dict:
    """Measures every (model, N, variant), writes scaling.json and the two plots into out_dir; returns the
    report."""
    out_dir.mkdir(parents=True, exist_ok=True)
    commit = git_commit()  # before the run: the tree that was measured, even if HEAD moves meanwhile
    entries = []
    with tempfile.TemporaryDirectory(prefix="odrec_scaling_", dir=work_dir) as scratch:
        for n_items in config.n_items:
            if n_items <= config.teacher_max_items:
                entries += measure("teacher", n_items, config.teacher_variants, config, Path(scratch))
            entries += measure("student", n_items, config.student_variants, config, Path(scratch))
    report = {
        "commit": commit,
        "machine": machine_info(),
        "command": command,
        "note": (
            "UNTRAINED (randomly initialised) models on synthetic shapes: bytes, latency and memory depend "
            "on shapes and variant only. peak_rss_mb (VmHWM): a fresh process that opens only the "
            "interpreter and calls recommend; harness_peak_rss_mb: runtime.bench.benchmark_latency's process "
            "(Recommender, with the sidecar and the N-line vocab); baseline_rss_mb: the first process before "
            "it loads the model."
        ),
        "config": asdict(config),
        "models": entries,
        "teacher_deployability": teacher_deployability(entries, config),
        "student_targets": student_targets(entries),
    }
    atomic_write_text(out_dir / "scaling.json", json.dumps(report, indent=2) + "\n")
    plot(entries, config, out_dir)
    return report


FLAGS = flags.FLAGS


def define_flags() -> None:
    defaults = ScalingConfig()
    flags.DEFINE_list("n_items", [str(n) for n in defaults.n_items], "Catalogue sizes N.")
    flags.DEFINE_integer(
        "teacher_max_items", defaults.teacher_max_items, "Largest N the teacher is built at."
    )
    flags.DEFINE_list(
        "teacher_variants", list(defaults.teacher_variants), "Teacher variants (convert.quantize)."
    )
    flags.DEFINE_list(
        "student_variants", list(defaults.student_variants), "Student variants (convert.quantize)."
    )
    flags.DEFINE_integer("hidden_dim", defaults.hidden_dim, "Width d.", lower_bound=16)
    flags.DEFINE_integer("num_blocks", defaults.num_blocks, "Self-attention blocks.", lower_bound=1)
    flags.DEFINE_integer("max_len", defaults.max_len, "History length L.", lower_bound=1)
    flags.DEFINE_integer("top_k", defaults.top_k, "K of the recommend signature.", lower_bound=1)
    flags.DEFINE_integer("runs", defaults.runs, "Timed recommend calls per model.", lower_bound=1)
    flags.DEFINE_integer("warmup", defaults.warmup, "Untimed recommend calls first.", lower_bound=0)
    flags.DEFINE_integer("seed", defaults.seed, "Seed of the random weights and histories.")
    flags.DEFINE_string("out", str(RESULTS_DIR), "Folder of scaling.json and the plots.")
    flags.DEFINE_string("work_dir", None, "Scratch folder for flatbuffers (default: the system temp).")


def main(argv: Sequence[str]) -> None:
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {argv[1:]}")
    try:
        n_items = tuple(int(value) for value in FLAGS.n_items)
    except ValueError as error:
        raise app.UsageError(f"--n_items must be integers, got {FLAGS.n_items}") from error
    config = ScalingConfig(
        n_items=n_items,
        teacher_max_items=FLAGS.teacher_max_items,
        teacher_variants=tuple(FLAGS.teacher_variants),
        student_variants=tuple(FLAGS.student_variants),
        hidden_dim=FLAGS.hidden_dim,
        num_blocks=FLAGS.num_blocks,
        max_len=FLAGS.max_len,
        top_k=FLAGS.top_k,
        runs=FLAGS.runs,
        warmup=FLAGS.warmup,
        seed=FLAGS.seed,
    )
    for n in n_items:
        if n - config.max_len < config.top_k:
            raise app.UsageError(f"--n_items {n} leaves fewer than top_k={config.top_k} items after L")
        student_shape(n, config.hidden_dim)
    report = run_scaling(
        config, Path(FLAGS.out), Path(FLAGS.work_dir) if FLAGS.work_dir else None, command_line()
    )
    print(json.dumps(report["student_targets"], indent=2))
    print(json.dumps(report["teacher_deployability"]["per_variant"], indent=2))


if __name__ == "__main__":
    define_flags()
    app.run(main)
