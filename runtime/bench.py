"""Latency and memory of `recommend` on this machine, as a device would call it.

python -m runtime.bench --model artifacts/student_fp32.tflite --runs 1000 --warmup 50 --json bench.json
"""

import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from absl import app, flags

from runtime.atomic import OutputPathError, atomic_write_text, check_output_file
from runtime.history import encode_history
from runtime.litert import Recommender, max_threads
from runtime.provenance import run_record
from runtime.sidecar import ArtifactError

HISTORY_POOL_SIZE = 256
REPO_ROOT = Path(__file__).resolve().parents[1]


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far (MB).

    Linux: VmHWM of /proc/self/status, because ru_maxrss can carry a large parent's peak into a child process.
    Elsewhere ru_maxrss (macOS reports bytes, the BSDs KiB).
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / (1 << 10)
    except OSError:
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1 << 20) if sys.platform == "darwin" else peak / (1 << 10)


def random_histories(n_items: int, max_len: int, count: int, seed: int) -> np.ndarray:
    """Valid encoded histories of random length 1..max_len, drawn before timing so drawing is not timed.

    Returns:
        int32 `[count, max_len]`.
    """
    rng = np.random.default_rng(seed)
    lengths = rng.integers(1, max_len + 1, size=count)
    return np.stack(
        [encode_history(rng.integers(1, n_items + 1, size=length).tolist(), max_len) for length in lengths]
    )


def benchmark_latency(
    model_path: str | os.PathLike[str],
    num_threads: int = 1,
    runs: int = 1000,
    warmup: int = 50,
    seed: int = 0,
) -> dict:
    """Times `Recommender.recommend` (validation + LiteRT invoke): `runs` calls after `warmup` untimed.

    Returns:
        {"num_threads", "runs", "warmup", "p50_ms", "p95_ms", "p99_ms", "mean_ms", "peak_rss_mb"}; peak RSS is
        the whole process's high-water mark, so it only grows across calls in one process.

    Raises:
        ValueError: runs < 1 or warmup < 0.
        ArtifactError: the export does not verify.
    """
    if runs < 1 or warmup < 0:
        raise ValueError(f"runs must be >= 1 and warmup >= 0, got runs={runs}, warmup={warmup}")
    recommender = Recommender(model_path, num_threads=num_threads)
    histories = random_histories(
        recommender.n_items, recommender.max_len, min(runs + warmup, HISTORY_POOL_SIZE), seed
    )
    for call in range(warmup):
        recommender.recommend(histories[call % len(histories)])
    latencies_ms = np.empty(runs)
    for call in range(runs):
        history = histories[call % len(histories)]
        started = time.perf_counter()
        recommender.recommend(history)
        latencies_ms[call] = (time.perf_counter() - started) * 1e3
    p50, p95, p99 = np.percentile(latencies_ms, [50, 95, 99])
    return {
        "num_threads": num_threads,
        "runs": runs,
        "warmup": warmup,
        "p50_ms": float(p50),
        "p95_ms": float(p95),
        "p99_ms": float(p99),
        "mean_ms": float(latencies_ms.mean()),
        "peak_rss_mb": peak_rss_mb(),
    }


def benchmark_in_fresh_process(
    model_path: str | os.PathLike[str], runs: int, warmup: int, seed: int = 0, num_threads: int = 1
) -> dict:
    """`benchmark_latency` in a new Python process (`python -m runtime.bench`), as an app runs the model.

    A caller that has TensorFlow loaded (the export, the scaling benchmark) would otherwise time LiteRT beside
    TensorFlow's threads and memory: the ML-1M export timed in-process came out up to 54% slower than alone
    (bench/NOTES.md). Raises RuntimeError naming the command when the child fails.
    """
    with tempfile.TemporaryDirectory(prefix="odrec_latency_") as directory:
        output = Path(directory) / "latency.json"
        # The child runs in the repository (to import `runtime`): give it an absolute path.
        command = [sys.executable, "-m", "runtime.bench", "--model", str(Path(model_path).resolve())]
        command += ["--num_threads", str(num_threads), "--runs", str(runs), "--warmup", str(warmup)]
        command += ["--seed", str(seed), "--json", str(output)]
        completed = subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True)
        if completed.returncode != 0:
            raise RuntimeError(f"{' '.join(command[1:])} failed:\n{completed.stderr[-3000:]}")
        (result,) = json.loads(output.read_text())["results"]
    return result


def format_results(model_name: str, results: Sequence[dict]) -> str:
    """One row per thread count."""
    runs, warmup = results[0]["runs"], results[0]["warmup"]
    lines = [f"recommend latency of {model_name} (ms, {runs} runs after {warmup} warm-up)"]
    lines.append(f"{'threads':>7} {'p50':>9} {'p95':>9} {'p99':>9} {'mean':>9} {'peak RSS MB':>12}")
    for result in results:
        lines.append(
            f"{result['num_threads']:>7} {result['p50_ms']:>9.4f} {result['p95_ms']:>9.4f} "
            f"{result['p99_ms']:>9.4f} {result['mean_ms']:>9.4f} {result['peak_rss_mb']:>12.1f}"
        )
    return "\n".join(lines)


def define_flags() -> None:
    """Flags live only here, defined when run as a script, so importing the module has no side effect."""
    flags.DEFINE_string("model", None, "Exported .tflite; its sidecar <model>.json and vocab sit beside it.")
    flags.DEFINE_integer("runs", 1000, "Timed calls per thread count.", lower_bound=1)
    flags.DEFINE_integer("warmup", 50, "Untimed calls before timing.", lower_bound=0)
    flags.DEFINE_multi_integer(
        "num_threads",
        [1, 2],
        "Thread counts to measure (repeatable).",
        lower_bound=1,
        upper_bound=max_threads(),
    )
    flags.DEFINE_integer("seed", 0, "Seed of the random histories.")
    flags.DEFINE_string("json", None, "Also write the results to this JSON file.")
    flags.mark_flag_as_required("model")


def main(argv: Sequence[str]) -> None:
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {argv[1:]}")
    options = flags.FLAGS
    try:
        if options.json:
            check_output_file(options.json)
        results = [
            benchmark_latency(options.model, threads, options.runs, options.warmup, options.seed)
            for threads in options.num_threads
        ]
    except (ArtifactError, OutputPathError, ImportError) as error:
        sys.exit(f"error: {error}")
    print(format_results(os.path.basename(options.model), results))
    if options.json:
        report = {**run_record(), "model_file": os.path.basename(options.model), "results": results}
        atomic_write_text(options.json, json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    define_flags()
    app.run(main)
