"""Next-item ranking metrics (numpy only), so the trainer, the converter and the device harness score alike.

Default protocol: full ranking over the whole catalogue, nothing excluded. Excluding already-seen items and
the SASRec paper's sampled-100 protocol are separate, explicitly named options, never mixed into the default.
Every report is also split by target kind (/work/shared/reference/evaluation.md): a *repeat* target occurs in
the history given to the model, a *new* one does not.
"""

from collections.abc import Sequence

import numpy as np

KS = (5, 10, 20)
PADDING_ID = 0
# Under the history-excluded protocol a target that is in the history is removed with the rest of it (as the
# `recommend` signature does), so no cut-off can reach it: its rank lies past every K.
EXCLUDED_TARGET_RANK = np.iinfo(np.int64).max
FULL = "full"
HISTORY_EXCLUDED = "history_excluded"
# The keys of `target_kind_report`, copied as they are into every results entry.
TARGET_KIND_KEYS = ("n_repeat", "n_new", "metrics_repeat", "metrics_new", "metrics_new_excluded")


def _check_scores_and_targets(scores: np.ndarray, targets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    scores = np.asarray(scores)
    targets = np.asarray(targets)
    if scores.ndim != 2 or targets.shape != (scores.shape[0],):
        raise ValueError(
            f"scores must be [batch, n_items + 1] and targets [batch], got {list(scores.shape)} "
            f"and {list(targets.shape)}"
        )
    _refuse_nan(scores)
    n_items = scores.shape[1] - 1
    if targets.size and (targets.min() < 1 or targets.max() > n_items):
        raise ValueError(f"targets must be internal ids in 1..{n_items}, got {targets[:10].tolist()}")
    return scores, targets.astype(np.int64)


def _refuse_nan(scores: np.ndarray) -> None:
    """A NaN compares False with everything, so it would silently rank a target first."""
    if np.isnan(scores).any():
        raise ValueError(f"scores contain {int(np.isnan(scores).sum())} NaN values; the model is broken")


def _seen_mask(histories: Sequence[np.ndarray], n_columns: int) -> np.ndarray:
    """bool `[batch, n_columns]`: True where the item occurs in the row's history (padding ignored)."""
    seen = np.zeros((len(histories), n_columns), dtype=bool)
    for row, history in enumerate(histories):
        items = np.asarray(history, dtype=np.int64)
        # A negative id would index from the end without complaint.
        if items.size and (items.min() < PADDING_ID or items.max() >= n_columns):
            raise ValueError(f"history {row} holds ids outside 0..{n_columns - 1}: {items.tolist()[:10]}")
        seen[row, items[items != PADDING_ID]] = True
    return seen


def target_ranks(
    scores: np.ndarray, targets: np.ndarray, histories: Sequence[np.ndarray] | None = None
) -> np.ndarray:
    """0-based rank of each target among the real items: how many other items score at least as high.

    Ties count against the target, so a degenerate model (e.g. constant scores from a broken quantization)
    ranks last instead of first; with continuous scores ties do not happen.

    Args:
        scores: `[batch, n_items + 1]`, column i = item i; column 0 (padding) never counts.
        targets: `[batch]` internal ids in 1..n_items.
        histories: optional history-excluded protocol (what `recommend` shows): every item in row b's history
            is removed from the ranking, its target included, so a target in the history is a miss
            (`EXCLUDED_TARGET_RANK`). Pass the history the model was given (its last max_len items). Off by
            default.

    Returns:
        int64 `[batch]`.
    """
    scores, targets = _check_scores_and_targets(scores, targets)
    rows = np.arange(scores.shape[0])
    beats_target = scores >= scores[rows, targets][:, None]
    beats_target[rows, targets] = False
    beats_target[:, PADDING_ID] = False
    if histories is None:
        return beats_target.sum(axis=1)
    seen = _seen_mask(histories, scores.shape[1])
    ranks = (beats_target & ~seen).sum(axis=1)
    return np.where(seen[rows, targets], EXCLUDED_TARGET_RANK, ranks)


def repeat_targets(targets: np.ndarray, histories: Sequence[np.ndarray]) -> np.ndarray:
    """bool `[batch]`: True where the target occurs in its row's history (a repeat target)."""
    targets = np.asarray(targets, dtype=np.int64)
    if len(histories) != targets.size:
        raise ValueError(f"got {len(histories)} histories but {targets.size} targets; give one history each")
    pairs = zip(histories, targets, strict=True)
    return np.fromiter((np.any(np.asarray(h) == t) for h, t in pairs), dtype=bool, count=targets.size)


def ranking_metrics(ranks: np.ndarray, ks: Sequence[int] = KS) -> dict[str, float]:
    """HR@K, NDCG@K and MRR@K (means over examples) from 0-based target ranks.

    With a single relevant item, NDCG = 1 / log2(rank + 2) and MRR = 1 / (rank + 1), both 0 beyond K.

    Raises:
        ValueError: no ranks (a mean over nothing is not a metric).
    """
    ranks = np.asarray(ranks, dtype=np.float64)
    if ranks.size == 0:
        raise ValueError("ranking_metrics needs at least one rank, got none")
    metrics: dict[str, float] = {}
    for k in ks:
        hit = ranks < k
        metrics[f"HR@{k}"] = float(hit.mean())
        metrics[f"NDCG@{k}"] = float(np.where(hit, 1.0 / np.log2(ranks + 2.0), 0.0).mean())
        metrics[f"MRR@{k}"] = float(np.where(hit, 1.0 / (ranks + 1.0), 0.0).mean())
    return metrics


def head_item_mask(
    train_sequences: Sequence[Sequence[int]], n_items: int, head_fraction: float = 0.2
) -> np.ndarray:
    """Marks the most frequent training items ("head"); the rest is the long tail.

    The head holds round(head_fraction * n_items) items (at least 1), by training frequency, ties to the
    lower id.

    Returns:
        bool `[n_items + 1]`; index 0 (padding) is False.
    """
    if not 0.0 < head_fraction <= 1.0:
        raise ValueError(f"head_fraction must be in (0, 1], got {head_fraction}")
    counts = np.zeros(n_items + 1, dtype=np.int64)
    for sequence in train_sequences:
        items = np.asarray(sequence, dtype=np.int64)
        items = items[items != PADDING_ID]
        if items.size and items.max() > n_items:
            raise ValueError(f"training sequences hold ids above n_items={n_items}: {int(items.max())}")
        np.add.at(counts, items, 1)
    item_ids = np.arange(1, n_items + 1)
    # lexsort sorts by the last key first: frequency descending, then id ascending.
    by_frequency = item_ids[np.lexsort((item_ids, -counts[1:]))]
    n_head = max(1, round(head_fraction * n_items))
    mask = np.zeros(n_items + 1, dtype=bool)
    mask[by_frequency[:n_head]] = True
    return mask


def _top_k_floor(real_scores: np.ndarray, k: int) -> np.ndarray:
    """Per row, a score with at least k entries at or above it and few more: the k-th largest of the maxima of
    equal column chunks (each of those k maxima is an entry at or above it). O(n), vectorised."""
    n_items = real_scores.shape[1]
    n_chunks = min(n_items, max(4 * k, 256))
    starts = np.linspace(0, n_items, n_chunks, endpoint=False).astype(np.int64)
    maxima = np.maximum.reduceat(real_scores, starts, axis=1)
    return np.partition(maxima, n_chunks - k, axis=1)[:, n_chunks - k]


def top_k_items(scores: np.ndarray, k: int, histories: Sequence[np.ndarray] | None = None) -> np.ndarray:
    """The k best real items per row, best first, ties to the lower id; the padding id never appears.

    Args:
        scores: `[batch, n_items + 1]`.
        k: 1..n_items.
        histories: when given, each row's history items are ranked last (as the `recommend` signature does).

    Returns:
        int64 `[batch, k]` internal ids.
    """
    scores = np.asarray(scores)
    if not np.issubdtype(scores.dtype, np.floating):
        scores = scores.astype(np.float64)
    _refuse_nan(scores)
    n_items = scores.shape[1] - 1
    if not 1 <= k <= n_items:
        raise ValueError(f"k must be in 1..n_items={n_items}, got {k}")
    real_scores = scores[:, 1:]
    if histories is not None:
        real_scores = real_scores.copy()
        real_scores[_seen_mask(histories, n_items + 1)[:, 1:]] = -np.inf
    # A full sort of 40k-item rows dominated evaluation; only entries at or above the floor can make the top
    # k, and ordering those few by (row, score desc, id asc) keeps ties in id order.
    rows, items = np.nonzero(real_scores >= _top_k_floor(real_scores, k)[:, None])
    order = np.lexsort((items, -real_scores[rows, items], rows))
    rows, items = rows[order], items[order]
    first = np.searchsorted(rows, np.arange(real_scores.shape[0]))
    return items[first[:, None] + np.arange(k)] + 1


def coverage_at_k(top_items: np.ndarray, n_items: int) -> float:
    """Share of the catalogue in at least one top-k list: distinct recommended items / n_items."""
    items = np.unique(np.asarray(top_items))
    return float(np.count_nonzero(items != PADDING_ID) / n_items)


def evaluation_report(
    ranks: np.ndarray,
    targets: np.ndarray,
    head_mask: np.ndarray | None,
    top_items: np.ndarray | None = None,
) -> dict:
    """Overall metrics, plus head/tail metrics split by whether the target is a head item.

    Args:
        ranks: `[batch]` 0-based target ranks.
        targets: `[batch]` internal ids.
        head_mask: bool `[n_items + 1]` from `head_item_mask`; None skips the head/tail split.
        top_items: optional `[batch, 10]` recommendations for `coverage@10`.

    Returns:
        {"metrics", "metrics_head", "metrics_tail", "n_examples", "n_head", "n_tail", "coverage@10"}; a split
        with no example gets an empty metrics dict.
    """
    ranks = np.asarray(ranks)
    targets = np.asarray(targets, dtype=np.int64)
    report: dict = {"n_examples": int(ranks.size), "metrics": ranking_metrics(ranks)}
    if head_mask is not None:
        is_head = np.asarray(head_mask, dtype=bool)[targets]
        report["n_head"] = int(is_head.sum())
        report["n_tail"] = int((~is_head).sum())
        report["metrics_head"] = ranking_metrics(ranks[is_head]) if is_head.any() else {}
        report["metrics_tail"] = ranking_metrics(ranks[~is_head]) if (~is_head).any() else {}
    if top_items is not None:
        if head_mask is None:
            raise ValueError("coverage@10 needs the catalogue size: pass head_mask along with top_items")
        report["coverage@10"] = coverage_at_k(np.asarray(top_items)[:, :10], len(head_mask) - 1)
    return report


def target_kind_report(full_ranks: np.ndarray, excluded_ranks: np.ndarray, is_repeat: np.ndarray) -> dict:
    """Metrics split by target kind, so that what a model earns on repeats and on new items is seen apart.

    The split is exact: overall full-ranking metrics = (n_repeat * metrics_repeat + n_new * metrics_new) / n,
    and overall history-excluded metrics = n_new * metrics_new_excluded / n (every repeat target is a miss).

    Args:
        full_ranks: `[batch]` ranks with nothing excluded.
        excluded_ranks: `[batch]` ranks with the history excluded (`target_ranks(..., histories)`).
        is_repeat: bool `[batch]` from `repeat_targets`.

    Returns:
        {"n_repeat", "n_new", "metrics_repeat", "metrics_new" (full ranking), "metrics_new_excluded"}; a kind
        with no example gets an empty metrics dict.
    """
    full_ranks, excluded_ranks = np.asarray(full_ranks), np.asarray(excluded_ranks)
    is_repeat = np.asarray(is_repeat, dtype=bool)
    if not full_ranks.shape == excluded_ranks.shape == is_repeat.shape:
        raise ValueError(
            f"full_ranks {full_ranks.shape}, excluded_ranks {excluded_ranks.shape} and is_repeat "
            f"{is_repeat.shape} must describe the same examples"
        )

    def metrics_of(ranks: np.ndarray) -> dict[str, float]:
        return ranking_metrics(ranks) if ranks.size else {}

    return {
        "n_repeat": int(is_repeat.sum()),
        "n_new": int((~is_repeat).sum()),
        "metrics_repeat": metrics_of(full_ranks[is_repeat]),
        "metrics_new": metrics_of(full_ranks[~is_repeat]),
        "metrics_new_excluded": metrics_of(excluded_ranks[~is_repeat]),
    }


def target_kind_summary(entry: dict) -> dict[str, float]:
    """The target-kind cells every results table shows: repeat share, repeat HR@20, new HR@20 (full ranking),
    new-excluded HR@20 and MRR@20 (the `recommend` protocol); NaN where an entry has no such number (a kind
    with no example, or a results file written before the split existed)."""
    nan = float("nan")
    n_repeat, n_new = entry.get("n_repeat", 0), entry.get("n_new", 0)
    return {
        "repeat share": n_repeat / (n_repeat + n_new) if n_repeat + n_new else nan,
        "repeat HR@20": entry.get("metrics_repeat", {}).get("HR@20", nan),
        "new HR@20": entry.get("metrics_new", {}).get("HR@20", nan),
        "new excl. HR@20": entry.get("metrics_new_excluded", {}).get("HR@20", nan),
        "new excl. MRR@20": entry.get("metrics_new_excluded", {}).get("MRR@20", nan),
    }


class RankingPass:
    """The ranks of one scoring pass under both protocols, batch by batch, so that every number of a report
    (overall, head/tail, target kinds, either protocol) comes from the same scores."""

    def __init__(self) -> None:
        self._full: list[np.ndarray] = []
        self._excluded: list[np.ndarray] = []
        self._repeat: list[np.ndarray] = []

    def add(self, scores: np.ndarray, targets: np.ndarray, histories: Sequence[np.ndarray]) -> None:
        """Ranks one batch; `histories` are what the model was given (its last max_len items)."""
        self._full.append(target_ranks(scores, targets))
        self._excluded.append(target_ranks(scores, targets, histories))
        self._repeat.append(repeat_targets(targets, histories))

    def ranks(self, exclude_history: bool) -> np.ndarray:
        """int64 `[n_examples]` ranks under the history-excluded or the full protocol."""
        if not self._full:
            raise ValueError("nothing to evaluate: the split has no examples")
        return np.concatenate(self._excluded if exclude_history else self._full)

    def target_kinds(self) -> dict:
        """`target_kind_report` of every batch added so far."""
        return target_kind_report(self.ranks(False), self.ranks(True), np.concatenate(self._repeat))

    def report(
        self,
        targets: np.ndarray,
        head_mask: np.ndarray | None,
        exclude_history: bool,
        top_items: np.ndarray | None = None,
    ) -> dict:
        """`evaluation_report` under the chosen protocol, the target-kind split, "metrics_protocol" and
        "exclude_history"; with `exclude_history`, also "metrics_all_items" (the full-ranking overall)."""
        report = evaluation_report(self.ranks(exclude_history), targets, head_mask, top_items)
        report.update(self.target_kinds())
        report["metrics_protocol"] = HISTORY_EXCLUDED if exclude_history else FULL
        report["exclude_history"] = exclude_history
        if exclude_history:
            report["metrics_all_items"] = ranking_metrics(self.ranks(False))
        return report


def sampled_target_ranks(
    scores: np.ndarray,
    targets: np.ndarray,
    histories: Sequence[np.ndarray],
    n_negatives: int = 100,
    seed: int = 0,
) -> np.ndarray:
    """The SASRec paper's sampled protocol: rank of the target among `n_negatives` uniform negatives.

    Negatives are drawn without replacement from the items that are neither in the history nor the target.
    Numbers from this protocol are not comparable with full-ranking ones; report them under their own name.

    Returns:
        int64 `[batch]` ranks in 0..n_negatives.

    Raises:
        ValueError: a row has fewer than `n_negatives` eligible items.
    """
    scores, targets = _check_scores_and_targets(scores, targets)
    n_items = scores.shape[1] - 1
    rng = np.random.default_rng(seed)
    seen = _seen_mask(histories, n_items + 1)
    ranks = np.zeros(len(targets), dtype=np.int64)
    for row, target in enumerate(targets):
        eligible = ~seen[row]
        eligible[[PADDING_ID, target]] = False
        candidates = np.flatnonzero(eligible)
        if candidates.size < n_negatives:
            raise ValueError(
                f"example {row} has only {candidates.size} eligible negatives, fewer than "
                f"n_negatives={n_negatives}; lower n_negatives or use full ranking"
            )
        negatives = rng.choice(candidates, size=n_negatives, replace=False)
        ranks[row] = np.count_nonzero(scores[row, negatives] > scores[row, target])
    return ranks
