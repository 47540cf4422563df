"""Seen-item exclusion outside the graph: which items of a history the model cannot exclude, and top-K over
the `score` signature without them.

`recommend` excludes the items of its input, the last `max_len` of the history. An app holds more: the items
before that window are left out here, in app code, over the full-catalogue scores. Pure numpy, mirrored by
`Ranking.java` (android_demo/logic) and `processing.js` (web_demo), each with its own tests.
"""

from collections.abc import Callable, Iterable, Sequence

import numpy as np

from runtime.history import PADDING_ID


def items_outside_window(item_ids: Sequence[int], max_len: int) -> list[int]:
    """The items of a history that its last `max_len` items do not hold, so `recommend` cannot see them.

    Args:
        item_ids: internal ids, oldest first, any length.
        max_len: the model's input length L.

    Returns:
        distinct ids, in order of first appearance; empty when `recommend` alone excludes the whole history.

    Raises:
        ValueError: max_len < 1.
    """
    if max_len < 1:
        raise ValueError(f"max_len must be >= 1, got {max_len}")
    window = {int(item) for item in item_ids[-max_len:]}
    outside: dict[int, None] = {}
    for item in item_ids[: max(0, len(item_ids) - max_len)]:
        if int(item) not in window:
            outside.setdefault(int(item), None)
    return list(outside)


def top_k_excluding(scores: np.ndarray, k: int, excluded_ids: Iterable[int]) -> tuple[np.ndarray, np.ndarray]:
    """The `k` best items of one `score` row that are neither excluded nor padding, best first; ties go to the
    lower id, as LiteRT's TOPK_V2 orders them inside `recommend`.

    Args:
        scores: float `[n_columns]`, column `i` = item `i`, column 0 padding.
        k: how many to return, >= 1.
        excluded_ids: ids never returned (the whole history); padding is always left out.

    Returns:
        (int32 `[m]` ids, float32 `[m]` scores) with m = min(k, allowed items).

    Raises:
        ValueError: k < 1, scores not 1-D, or a NaN score (a broken model must not rank silently).
    """
    scores = np.asarray(scores)
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    if scores.ndim != 1:
        raise ValueError(f"scores must be one row [n_columns], got shape {list(scores.shape)}")
    if np.isnan(scores).any():
        raise ValueError(f"scores hold NaN at items {np.flatnonzero(np.isnan(scores))[:10].tolist()}")
    allowed = np.ones(scores.shape[0], dtype=bool)
    allowed[PADDING_ID] = False
    excluded = np.fromiter((int(item) for item in excluded_ids), dtype=np.int64)
    allowed[excluded[(excluded >= 0) & (excluded < scores.shape[0])]] = False
    candidates = np.flatnonzero(allowed)
    # Stable sort on the negated scores keeps ascending ids among equal scores.
    order = np.argsort(-scores[candidates].astype(np.float64), kind="stable")[:k]
    chosen = candidates[order]
    return chosen.astype(np.int32), scores[chosen].astype(np.float32)


def recommend_unseen(
    item_ids: Sequence[int],
    encoded: np.ndarray,
    max_len: int,
    top_k: int,
    recommend: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]],
    score: Callable[[np.ndarray], np.ndarray],
    max_id: int | None = None,
) -> tuple[np.ndarray, np.ndarray, str]:
    """Top-K with every item of a history of any length excluded: `recommend` when its window holds them all,
    else `score` and `top_k_excluding` over the whole history (one forward pass either way).

    Args:
        item_ids: the whole history, internal ids, oldest first.
        encoded: its model input, int32 `[max_len]`.
        max_len / top_k: the model's L and K.
        recommend / score: the model's two signatures on `encoded`.
        max_id: the largest id that may be returned (columns above it, e.g. unused spare slots, are dropped).

    Returns:
        (int32 ids, float32 scores, best first; the signature that ran: "recommend" or "score").
    """
    if not items_outside_window(item_ids, max_len):
        return (*recommend(encoded), "recommend")
    scores = score(encoded)
    if max_id is not None:
        scores = scores[: max_id + 1]
    return (*top_k_excluding(scores, top_k, item_ids), "score")
