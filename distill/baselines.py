"""Non-neural reference recommenders: popularity, first-order item-to-item transitions and repeating the
history (numpy only)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

PADDING_SCORE = -1e9  # the value the exported `score` signature puts in column 0 (docs/artifacts.md)


def _last_items(prefixes: Sequence[np.ndarray] | np.ndarray) -> np.ndarray:
    """Most recent real item of each history (0 for an empty or all-padding one); accepts left-padded rows."""
    last = np.zeros(len(prefixes), dtype=np.int64)
    for row, prefix in enumerate(prefixes):
        real = np.asarray(prefix)[np.asarray(prefix) > 0]
        if real.size:
            last[row] = real[-1]
    return last


def _item_counts(train_sequences: Sequence[np.ndarray], n_items: int) -> np.ndarray:
    if not train_sequences:
        return np.zeros(n_items + 1, dtype=np.float64)
    flat = np.concatenate([np.asarray(sequence, dtype=np.int64) for sequence in train_sequences])
    if flat.size and (flat.min() < 0 or flat.max() > n_items):
        raise ValueError(
            f"training items must be in 0..{n_items} (n_items={n_items}); got {flat.min()}..{flat.max()}"
        )
    counts = np.bincount(flat, minlength=n_items + 1).astype(np.float64)
    counts[0] = 0.0
    return counts


def _tie_break_popularity(train_sequences: Sequence[np.ndarray], n_items: int) -> np.ndarray:
    """Training counts scaled into [0, 1), so they only order items another score ties; padding -1e9."""
    counts = _item_counts(train_sequences, n_items)
    popularity = counts / (counts.max() + 1.0)
    popularity[0] = PADDING_SCORE
    return popularity


class PopularityBaseline:
    """Scores every item by its number of training interactions, whatever the history."""

    def __init__(self) -> None:
        self.scores_: np.ndarray | None = None

    def fit(self, train_sequences: Sequence[np.ndarray], n_items: int) -> PopularityBaseline:
        """Counts interactions of each internal item id 1..n_items."""
        scores = _item_counts(train_sequences, n_items)
        scores[0] = PADDING_SCORE
        self.scores_ = scores
        return self

    def score(self, prefixes: Sequence[np.ndarray] | np.ndarray) -> np.ndarray:
        """Returns float64 `[batch, n_items + 1]`; column 0 (padding) is -1e9."""
        if self.scores_ is None:
            raise RuntimeError("call fit() before score()")
        return np.tile(self.scores_, (len(prefixes), 1))


class MarkovBaseline:
    """First-order Markov chain: scores the items that followed the last history item in training.

    Transitions are stored as CSR arrays (one row per source item), so 40k items cost memory proportional
    to the number of distinct observed transitions. Popularity, scaled into [0, 1), breaks ties and is
    the whole score for a last item never seen as a source.
    """

    def __init__(self) -> None:
        self.row_starts_: np.ndarray | None = None
        self.next_items_: np.ndarray | None = None
        self.transition_counts_: np.ndarray | None = None
        self.popularity_scores_: np.ndarray | None = None

    def fit(self, train_sequences: Sequence[np.ndarray], n_items: int) -> MarkovBaseline:
        """Counts transitions `sequence[t] -> sequence[t + 1]` over all training sequences."""
        self.popularity_scores_ = _tie_break_popularity(train_sequences, n_items)
        pairs = [np.asarray(sequence, dtype=np.int64) for sequence in train_sequences if len(sequence) >= 2]
        sources = np.concatenate([pair[:-1] for pair in pairs]) if pairs else np.zeros(0, dtype=np.int64)
        targets = np.concatenate([pair[1:] for pair in pairs]) if pairs else np.zeros(0, dtype=np.int64)
        keys, transition_counts = np.unique(sources * (n_items + 1) + targets, return_counts=True)
        unique_sources, unique_targets = np.divmod(keys, n_items + 1)
        self.row_starts_ = np.searchsorted(unique_sources, np.arange(n_items + 2))
        self.next_items_ = unique_targets
        self.transition_counts_ = transition_counts.astype(np.float64)
        return self

    def score(self, prefixes: Sequence[np.ndarray] | np.ndarray) -> np.ndarray:
        """Returns float64 `[batch, n_items + 1]`: transitions from the last item + popularity tie-break."""
        if self.popularity_scores_ is None:
            raise RuntimeError("call fit() before score()")
        scores = np.tile(self.popularity_scores_, (len(prefixes), 1))
        for row, last_item in enumerate(_last_items(prefixes)):
            start, end = self.row_starts_[last_item], self.row_starts_[last_item + 1]
            scores[row, self.next_items_[start:end]] += self.transition_counts_[start:end]
        return scores


class RecentItemsBaseline:
    """Recommends the history again, most recently seen first; popularity, scaled into [0, 1), ranks others.

    Session data repeat a lot (on Tmall it beats the SASRec teacher, bench/results/tmall-teacher.json): the
    bar a model must clear on repeats. It knows nothing about items the user has not seen.
    """

    def __init__(self) -> None:
        self.popularity_scores_: np.ndarray | None = None

    def fit(self, train_sequences: Sequence[np.ndarray], n_items: int) -> RecentItemsBaseline:
        self.popularity_scores_ = _tie_break_popularity(train_sequences, n_items)
        return self

    def score(self, prefixes: Sequence[np.ndarray] | np.ndarray) -> np.ndarray:
        """Returns float64 `[batch, n_items + 1]`: history items above 1, later occurrences higher."""
        if self.popularity_scores_ is None:
            raise RuntimeError("call fit() before score()")
        scores = np.tile(self.popularity_scores_, (len(prefixes), 1))
        for row, prefix in enumerate(prefixes):
            real = np.asarray(prefix, dtype=np.int64)
            real = real[real > 0]
            items, index_from_end = np.unique(real[::-1], return_index=True)
            last_position = real.size - index_from_end  # 1-based position of each item's latest occurrence
            scores[row, items] = 1.0 + last_position / max(real.size, 1)
        return scores
