"""Sustained and concurrent load on the harness: stable memory over 10,000 requests, and several threads at
once giving exactly the single-threaded answers."""

import json
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

from runtime.bench import random_histories
from runtime.litert import Recommender
from tests.runtime.conftest import MAX_LEN, N_ITEMS

REPOSITORY = Path(__file__).resolve().parents[2]
MAX_RSS_GROWTH = 0.05
# Runs in a fresh process so that RSS reflects the harness only; VmRSS is read from /proc/self/status.
SUSTAINED_LOAD = """
import json, sys
import numpy as np
from runtime.litert import Recommender
from runtime.recommend import recommend_original_ids

def rss_kib():
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmRSS:"))

recommender = Recommender(sys.argv[1])
known = list(recommender.vocab.original_ids)
rng = np.random.default_rng(0)
lengths = rng.integers(1, 3 * recommender.max_len, size=500)
histories = [[known[i] for i in rng.integers(0, len(known), size=n)] + ["unknown"] for n in lengths]
def serve(count):
    for request in range(count):
        result = recommend_original_ids(recommender, histories[request % len(histories)])
        assert len(result.recommendations) == recommender.top_k
serve(1000)  # warm-up: allocator pools, interpreter arenas, caches
after_warm_up = rss_kib()
serve(10_000)
print(json.dumps({"after_warm_up_kib": after_warm_up, "after_load_kib": rss_kib()}))
"""


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="VmRSS is read from Linux /proc")
def test_10000_requests_keep_memory_stable(model_path) -> None:
    result = subprocess.run(
        [sys.executable, "-c", SUSTAINED_LOAD, str(model_path)],
        cwd=REPOSITORY,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    rss = json.loads(result.stdout.strip().splitlines()[-1])
    growth = rss["after_load_kib"] / rss["after_warm_up_kib"] - 1
    assert growth < MAX_RSS_GROWTH, rss


THREADS = 4
REQUESTS_PER_THREAD = 500


def _serve(recommender: Recommender, histories: np.ndarray, results: list, errors: list) -> None:
    try:
        results.extend(recommender.recommend(history)[0].tolist() for history in histories)
    except BaseException as error:  # reported by the main thread
        errors.append(error)


def _run_threads(recommenders: list[Recommender], work: list[np.ndarray]) -> tuple[list[list], list]:
    results: list[list] = [[] for _ in work]
    errors: list = []
    threads = [
        threading.Thread(target=_serve, args=(recommender, histories, results[index], errors))
        for index, (recommender, histories) in enumerate(zip(recommenders, work, strict=True))
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return results, errors


@pytest.mark.parametrize("sharing", ["one-recommender-per-thread", "one-shared-recommender"])
def test_threads_get_the_single_threaded_answers(model_path, sharing) -> None:
    work = [random_histories(N_ITEMS, MAX_LEN, REQUESTS_PER_THREAD, seed=thread) for thread in range(THREADS)]
    single = Recommender(model_path)
    expected = [[single.recommend(history)[0].tolist() for history in histories] for histories in work]
    if sharing == "one-recommender-per-thread":
        recommenders = [Recommender(model_path) for _ in range(THREADS)]
    else:
        recommenders = [single] * THREADS  # calls are serialised by the Recommender's lock
    results, errors = _run_threads(recommenders, work)
    assert not errors, errors
    assert results == expected
