"""The three entry points end to end (subprocesses, as a user runs them) and their Python functions."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from runtime.bench import benchmark_in_fresh_process, benchmark_latency, random_histories
from runtime.evaluate import EvaluationFileError, evaluate_model, format_report, read_test_file
from runtime.history import EmptyHistoryError, encode_history
from runtime.litert import Recommender
from runtime.metrics import evaluation_report, head_item_mask, target_ranks
from runtime.recommend import recommend_original_ids
from tests.runtime.conftest import MAX_LEN, N_ITEMS, TOP_K, original_id

REPOSITORY = Path(__file__).resolve().parents[2]
# (internal prefix, internal target) pairs for the evaluation tests. ([6], 6) is a repeat target; in
# ([3, 5, 6, 7, 8], 3) the target fell out of the model's last MAX_LEN = 4 items, so it counts as new.
EXAMPLES = [([1, 2], 3), ([4, 5, 6, 7, 8], 9), ([10], 11), ([12, 1, 3], 2), ([6], 6), ([3, 5, 6, 7, 8], 3)]


def run_module(module: str, *arguments: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", module, *arguments],
        cwd=REPOSITORY,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_recommend_cli_prints_original_ids_titles_and_latency(model_path, tiny_model):
    expected_ids, _ = tiny_model.recommend(encode_history([3, 5], MAX_LEN))
    history = f"{original_id(3)} unknown-sku {original_id(5)}"
    result = run_module("runtime.recommend", f"--model={model_path}", f"--history={history}")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert "skipped 1 unknown history id(s): unknown-sku" in lines[0]
    assert " ms" in lines[1]
    top_line = lines[3].split()
    assert top_line[:2] == ["1", original_id(int(expected_ids[0]))]
    assert " ".join(top_line[3:]) == f"Title {expected_ids[0]}"


def test_recommend_cli_leaves_out_items_older_than_the_window(model_path, tiny_model):
    """9 items for a max_len of 4: the five older ones are excluded too (through `score`)."""
    items = [9, 9, 4, 1, 5, 6, 2, 3, 7]
    scores = tiny_model.scores(encode_history(items, MAX_LEN)).astype(np.float64)
    scores[[0, *items]] = -np.inf
    expected = [original_id(int(item)) for item in np.argsort(-scores, kind="stable")[:TOP_K]]
    history = " ".join(original_id(item) for item in items)
    result = run_module("runtime.recommend", f"--model={model_path}", f"--history={history}")
    assert result.returncode == 0, result.stderr
    assert "one 'score' call" in result.stdout and "every history item excluded" in result.stdout
    assert [line.split()[1] for line in result.stdout.splitlines()[2:]] == expected


def test_recommend_cli_unknown_error_names_the_id(model_path):
    result = run_module(
        "runtime.recommend", f"--model={model_path}", f"--history={original_id(3)} bogus", "--unknown=error"
    )
    assert result.returncode == 1 and "bogus" in result.stderr and "not in the vocab" in result.stderr


def test_recommend_cli_refuses_a_history_of_unknown_ids(model_path):
    result = run_module("runtime.recommend", f"--model={model_path}", "--history=bogus")
    assert result.returncode == 1 and "none of the 1 history ids" in result.stderr


def test_recommend_original_ids_refuses_an_empty_history(model_path):
    with pytest.raises(EmptyHistoryError, match="the history is empty"):
        recommend_original_ids(Recommender(model_path), [])


def test_bench_cli_reports_percentiles_for_one_and_two_threads(model_path, tmp_path):
    output = tmp_path / "bench.json"
    result = run_module(
        "runtime.bench", f"--model={model_path}", "--runs=30", "--warmup=3", f"--json={output}"
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(output.read_text())
    assert report["command"].startswith("python -m runtime.bench --model=")
    assert report["commit"] and report["machine"]["cores"] >= 1
    assert [entry["num_threads"] for entry in report["results"]] == [1, 2]
    for entry in report["results"]:
        assert 0 < entry["p50_ms"] <= entry["p95_ms"] <= entry["p99_ms"] < 1000
        assert entry["peak_rss_mb"] > 10


def test_benchmark_latency_function(model_path):
    result = benchmark_latency(model_path, num_threads=1, runs=20, warmup=2, seed=1)
    assert result["runs"] == 20 and 0 < result["p50_ms"] <= result["p99_ms"]


def test_benchmark_in_fresh_process_times_in_a_child_and_names_the_failing_command(model_path, tmp_path):
    result = benchmark_in_fresh_process(model_path, runs=3, warmup=1)
    assert result["num_threads"] == 1 and result["runs"] == 3
    assert 0 < result["p50_ms"] <= result["p95_ms"]
    with pytest.raises(RuntimeError, match="runtime.bench --model .*missing.tflite"):
        benchmark_in_fresh_process(tmp_path / "missing.tflite", runs=3, warmup=1)


def test_random_histories_are_valid():
    histories = random_histories(N_ITEMS, MAX_LEN, count=50, seed=0)
    assert histories.shape == (50, MAX_LEN) and histories.dtype == np.int32
    assert np.all(histories[:, -1] >= 1) and histories.max() <= N_ITEMS


def _expected_report(tiny_model, head_mask=None, exclude_history=False):
    inputs = [encode_history(prefix, MAX_LEN) for prefix, _ in EXAMPLES]
    scores = np.stack([tiny_model.scores(history) for history in inputs])
    targets = np.array([target for _, target in EXAMPLES])
    ranks = target_ranks(scores, targets, inputs if exclude_history else None)
    return evaluation_report(ranks, targets, head_mask)


@pytest.mark.parametrize("exclude_history", [False, True])
def test_evaluate_model_matches_numpy(model_path, tiny_model, exclude_history):
    head_mask = head_item_mask([[1, 1, 2, 3, 9, 9]], N_ITEMS)
    prefixes, targets = [prefix for prefix, _ in EXAMPLES], np.array([target for _, target in EXAMPLES])
    report = evaluate_model(
        Recommender(model_path), prefixes, targets, head_mask, exclude_history=exclude_history
    )
    expected = _expected_report(tiny_model, head_mask, exclude_history)
    for key in ("metrics", "metrics_head", "metrics_tail"):
        assert report[key] == pytest.approx(expected[key])
    assert report["protocol"] == "full" and report["exclude_history"] is exclude_history
    assert report["metrics_protocol"] == ("history_excluded" if exclude_history else "full")
    assert (report["n_repeat"], report["n_new"]) == (1, 5)
    assert 0 < report["coverage@10"] <= 1
    header = format_report("tiny.tflite", report).splitlines()[1].split()
    assert header == ["metric", "all", "head", "tail", "repeat", "new", "new-excl"]


def test_history_excluded_evaluation_agrees_with_the_recommend_signature(model_path):
    """A new target's history-excluded rank r is where `recommend` lists it (r < top_k), else unlisted;
    a repeat target is a miss and never comes back from `recommend`. 12 items: every rank counts in MRR@20."""
    recommender = Recommender(model_path)
    for prefix, target in EXAMPLES:
        report = evaluate_model(recommender, [prefix], np.array([target]), exclude_history=True)
        item_ids, _ = recommender.recommend(encode_history(prefix, MAX_LEN))
        listed = [int(item) for item in np.ravel(item_ids)]
        if report["n_repeat"]:
            assert target not in listed and report["metrics"]["MRR@20"] == 0.0
            continue
        rank = round(1 / report["metrics"]["MRR@20"]) - 1
        assert report["metrics_new_excluded"]["MRR@20"] == report["metrics"]["MRR@20"]
        assert (listed.index(target) if target in listed else None) == (rank if rank < TOP_K else None)


def test_evaluate_model_sampled_protocol_is_labelled(model_path):
    prefixes, targets = [prefix for prefix, _ in EXAMPLES], np.array([target for _, target in EXAMPLES])
    report = evaluate_model(Recommender(model_path), prefixes, targets, protocol="sampled", n_negatives=5)
    assert report["protocol"] == "sampled_5" and report["metrics"]["HR@5"] <= 1


def test_evaluate_cli_with_original_ids(model_path, tiny_model, tmp_path):
    test_file = tmp_path / "test.tsv"
    test_file.write_text(
        "".join(
            " ".join(original_id(item) for item in prefix) + f"\t{original_id(target)}\n"
            for prefix, target in EXAMPLES
        )
    )
    output = tmp_path / "report.json"
    result = run_module(
        "runtime.evaluate", f"--model={model_path}", f"--test={test_file}", f"--json={output}"
    )
    assert result.returncode == 0, result.stderr
    assert "HR@10" in result.stdout and f"on {len(EXAMPLES)} examples" in result.stdout
    assert json.loads(output.read_text())["metrics"] == pytest.approx(_expected_report(tiny_model)["metrics"])


@pytest.mark.parametrize(
    ("line", "ids", "message"),
    [
        ("1 2\t99", "internal", r"'99' is not a known internal id \(in 1..12\)"),
        ("\t3", "internal", "non-empty prefix"),
        ("1 2 3", "internal", "<TAB>"),
        (f"{original_id(1)}\tnope", "original", "'nope' is not a known original id"),
    ],
)
def test_read_test_file_names_the_bad_line(model_path, tmp_path, line, ids, message):
    test_file = tmp_path / "test.tsv"
    good_line = "1\t2" if ids == "internal" else f"{original_id(1)}\t{original_id(2)}"
    test_file.write_text(f"{good_line}\n\n{line}\n")
    with pytest.raises(EvaluationFileError, match=f"test.tsv:3: .*{message}"):
        read_test_file(test_file, Recommender(model_path).vocab, ids)


def test_evaluate_cli_reports_bad_test_file(model_path, tmp_path):
    test_file = tmp_path / "test.tsv"
    test_file.write_text("1 2\t99\n")
    result = run_module("runtime.evaluate", f"--model={model_path}", f"--test={test_file}", "--ids=internal")
    assert result.returncode == 1 and "test.tsv:1" in result.stderr
