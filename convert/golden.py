"""golden.json: histories and what the Python LiteRT harness recommends for them, for cross-runtime parity."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from runtime.atomic import atomic_write_text
from runtime.history import encode_history
from runtime.litert import Recommender
from runtime.sidecar import file_sha256

GOLDEN_FILE = "golden.json"
DEFAULT_CASES = 8


def golden_prefixes(
    prefixes: Sequence[np.ndarray], max_len: int, count: int = DEFAULT_CASES
) -> list[list[int]]:
    """`count` test prefixes spread over the length range, the last one longer than `max_len`.

    Consumers must truncate to the most recent L items, so one case always exercises that: when no test prefix
    is longer than L, the longest prefixes are joined (real items, oldest first) until one is.
    """
    if count < 2 or not prefixes:
        raise ValueError(
            f"need count >= 2 and at least one test prefix, got count={count}, {len(prefixes)} prefixes"
        )
    by_length = sorted(range(len(prefixes)), key=lambda index: (len(prefixes[index]), index))
    picks = np.linspace(0, len(by_length) - 1, count - 1).round().astype(int)
    chosen = [np.asarray(prefixes[by_length[pick]]).tolist() for pick in picks]
    long_history: list[int] = []
    for index in reversed(by_length):
        long_history = np.asarray(prefixes[index]).tolist() + long_history
        if len(long_history) > max_len:
            break
    if len(long_history) <= max_len:
        raise ValueError(
            f"the test prefixes hold {len(long_history)} items in all, not more than max_len={max_len}"
        )
    return chosen + [long_history]


def _ranked(vocab, item_ids: np.ndarray, scores: np.ndarray) -> dict:
    return {
        "item_ids": item_ids.tolist(),
        "scores": scores.tolist(),
        "original_ids": [vocab.original_id(int(item)) for item in item_ids],
    }


def golden_cases(recommender: Recommender, prefixes: Sequence[Sequence[int]]) -> list[dict]:
    """One case per prefix: original and encoded history, the `recommend` output with original ids, and what
    an app shows with every history item excluded (`history_excluded`, docs/artifacts.md).

    A prefix longer than `max_len` is first preceded by the three items `recommend` ranks highest for its last
    `max_len` items: they lie outside the model's window, so a consumer that excludes only the window shows
    them and fails the case. Such a case also keeps its full `score` row (`scores_all_items`), from which a
    consumer that cannot run the model (the JVM tests) redoes the exclusion.
    """
    vocab = recommender.vocab
    cases = []
    for prefix in prefixes:
        prefix = [int(item) for item in prefix]
        history = encode_history(prefix, recommender.max_len, recommender.n_items)
        item_ids, scores = recommender.recommend(history)
        if len(prefix) > recommender.max_len:
            prefix = item_ids[:3].tolist() + prefix
        excluded_ids, excluded_scores, signature = recommender.recommend_unseen(prefix)
        case = {
            "history_original_ids": [vocab.original_id(item) for item in prefix],
            "history": history.tolist(),
            **_ranked(vocab, item_ids, scores),
            "history_excluded": {"signature": signature, **_ranked(vocab, excluded_ids, excluded_scores)},
        }
        if signature == "score":
            case["scores_all_items"] = recommender.score(history).tolist()
        cases.append(case)
    return cases


def write_golden(model_path: str | Path, prefixes: Sequence[Sequence[int]], out_path: str | Path) -> dict:
    """Runs `recommend` on every prefix with the verified export; writes golden.json (docs/artifacts.md)."""
    recommender = Recommender(model_path)
    golden = {
        "model_file": Path(model_path).name,
        "model_sha256": file_sha256(model_path),
        "top_k": recommender.top_k,
        "cases": golden_cases(recommender, prefixes),
    }
    atomic_write_text(out_path, json.dumps(golden, indent=2) + "\n")
    return golden
