"""Learn-nothing reference recommenders, fitted on training sequences only: popularity, first-order
item-to-item transitions, repeating the history, recency + sequential rules and session-kNN
(numpy + scipy.sparse; definitions in /work/shared/reference/evaluation.md)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import sparse

PADDING_SCORE = -1e9  # the value the exported `score` signature puts in column 0 (docs/artifacts.md)


def _last_items(prefixes: Sequence[np.ndarray] | np.ndarray) -> np.ndarray:
    """Most recent real item of each history (0 for an empty or all-padding one); accepts left-padded rows."""
    last = np.zeros(len(prefixes), dtype=np.int64)
    for row, prefix in enumerate(prefixes):
        real = np.asarray(prefix)[np.asarray(prefix) > 0]
        if real.size:
            last[row] = real[-1]
    return last


def _recency(prefix: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct real items of a history and their recency in (0, 1]: latest position / history length."""
    real = np.asarray(prefix, dtype=np.int64)
    real = real[real > 0]
    items, index_from_end = np.unique(real[::-1], return_index=True)
    return items, (real.size - index_from_end) / max(real.size, 1)


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
            items, recency = _recency(prefix)
            scores[row, items] = 1.0 + recency
        return scores


# Candidate scores sit above 1 and popularity (in [0, 1)) breaks their ties at this scale: distinct rule or
# neighbour scores differ by far more than 1e-9 times the largest one, so the tie-break never reorders them.
TIE_BREAK_SCALE = 1e-9


def _tiered(popularity: np.ndarray, candidate_scores: np.ndarray) -> np.ndarray:
    """float64 `[batch, n_items + 1]`: items with a positive candidate score above every other item, ordered
    by it, popularity breaking ties; the rest by popularity alone (in [0, 1))."""
    scores = np.tile(popularity, (candidate_scores.shape[0], 1))
    rows, items = np.nonzero(candidate_scores > 0)
    scores[rows, items] = 1.0 + candidate_scores[rows, items] + TIE_BREAK_SCALE * popularity[items]
    return scores


class SequentialRulesBaseline:
    """Recency + sequential rules (Ludewig & Jannach 2018, as evaluation.md defines them).

    Fit: for every training sequence, a rule a -> b for each b that follows a within `window` clicks, weight
    1 / distance. Score: candidates of the last clicks, weighted 1, 0.5, 0.33 (most recent first). The full
    ranking puts the history's distinct items first (most recent first), then rule candidates, then
    popularity; with the history excluded that leaves rule candidates not in the history, then popularity.
    """

    def __init__(self, window: int = 10, click_weights: Sequence[float] = (1.0, 0.5, 0.33)) -> None:
        if window < 1 or not click_weights:
            raise ValueError(
                f"window must be >= 1 and click_weights non-empty, got {window}, {click_weights}"
            )
        self.window = window
        self.click_weights = tuple(click_weights)
        self.rules_: sparse.csr_matrix | None = None
        self.popularity_scores_: np.ndarray | None = None

    def fit(self, train_sequences: Sequence[np.ndarray], n_items: int) -> SequentialRulesBaseline:
        """Sums the 1 / distance weights of every rule a -> b into a sparse `[n_items + 1, n_items + 1]`."""
        self.popularity_scores_ = _tie_break_popularity(train_sequences, n_items)
        sequences = [np.asarray(sequence, dtype=np.int64) for sequence in train_sequences]
        sources, targets, weights = (
            [np.zeros(0, dtype=np.int64)],
            [np.zeros(0, dtype=np.int64)],
            [np.zeros(0)],
        )
        for distance in range(1, self.window + 1):
            longer = [sequence for sequence in sequences if len(sequence) > distance]
            if not longer:
                break
            sources.append(np.concatenate([sequence[:-distance] for sequence in longer]))
            targets.append(np.concatenate([sequence[distance:] for sequence in longer]))
            weights.append(np.full(sources[-1].size, 1.0 / distance))
        shape = (n_items + 1, n_items + 1)
        rules = sparse.coo_matrix(
            (np.concatenate(weights), (np.concatenate(sources), np.concatenate(targets))), shape=shape
        )
        self.rules_ = rules.tocsr()  # duplicates summed
        return self

    def rule_scores(self, prefixes: Sequence[np.ndarray] | np.ndarray) -> np.ndarray:
        """float64 `[batch, n_items + 1]`: the weighted rule scores of the last clicks of each history."""
        if self.rules_ is None:
            raise RuntimeError("call fit() before score()")
        rows, items, weights = [], [], []
        for row, prefix in enumerate(prefixes):
            real = np.asarray(prefix, dtype=np.int64)
            last = real[real > 0][::-1][: len(self.click_weights)]  # most recent first
            rows += [row] * last.size
            items += last.tolist()
            weights += self.click_weights[: last.size]
        clicks = sparse.csr_matrix((weights, (rows, items)), shape=(len(prefixes), self.rules_.shape[0]))
        return (clicks @ self.rules_).toarray()

    def score(self, prefixes: Sequence[np.ndarray] | np.ndarray) -> np.ndarray:
        """Returns float64 `[batch, n_items + 1]`: history items above rule candidates above the rest."""
        if self.popularity_scores_ is None:
            raise RuntimeError("call fit() before score()")
        scores = _tiered(self.popularity_scores_, self.rule_scores(prefixes))
        ceiling = scores.max(axis=1)
        for row, prefix in enumerate(prefixes):
            items, recency = _recency(prefix)
            scores[row, items] = ceiling[row] + recency
        return scores


class SessionKNNBaseline:
    """Session-kNN in the V-SKNN manner: the training sequences most similar to the history vote for their
    items.

    The history is a vector of its items weighted by position (linear decay: latest occurrence / length, so
    the last click weighs 1); a training sequence's similarity is its dot product with that vector over
    sqrt(|history items| x |sequence items|) (cosine). Only the `sample_size` most recent training sequences
    that share an item with the history are compared (sequences are in time order), the `k` most similar vote,
    each item scores the sum of its voters' similarities, and popularity ranks the rest.
    """

    def __init__(self, k: int = 100, sample_size: int = 1000) -> None:
        if k < 1 or sample_size < k:
            raise ValueError(f"need 1 <= k <= sample_size, got k={k}, sample_size={sample_size}")
        self.k = k
        self.sample_size = sample_size
        self.sessions_: sparse.csr_matrix | None = None
        self.session_sizes_: np.ndarray | None = None
        self.popularity_scores_: np.ndarray | None = None

    def fit(self, train_sequences: Sequence[np.ndarray], n_items: int) -> SessionKNNBaseline:
        """Keeps the training sequences as a binary sparse `[n_sequences, n_items + 1]` in time order."""
        self.popularity_scores_ = _tie_break_popularity(train_sequences, n_items)
        sequences = [np.unique(np.asarray(sequence, dtype=np.int64)) for sequence in train_sequences]
        sequences = [sequence[sequence > 0] for sequence in sequences]
        rows = np.repeat(np.arange(len(sequences)), [sequence.size for sequence in sequences])
        items = np.concatenate(sequences) if sequences else np.zeros(0, dtype=np.int64)
        self.sessions_ = sparse.csr_matrix(
            (np.ones(items.size), (rows, items)), shape=(len(sequences), n_items + 1)
        )
        self.session_sizes_ = np.diff(self.sessions_.indptr).astype(np.float64)
        return self

    def neighbour_scores(self, prefixes: Sequence[np.ndarray] | np.ndarray) -> np.ndarray:
        """float64 `[batch, n_items + 1]`: per item, the summed similarities of the neighbours holding it."""
        if self.sessions_ is None:
            raise RuntimeError("call fit() before score()")
        histories = [_recency(prefix) for prefix in prefixes]
        rows = np.repeat(np.arange(len(histories)), [items.size for items, _ in histories])
        items = np.concatenate([items for items, _ in histories] + [np.zeros(0, dtype=np.int64)])
        weights = np.concatenate([recency for _, recency in histories] + [np.zeros(0)])
        queries = sparse.csr_matrix((weights, (rows, items)), shape=(len(histories), self.sessions_.shape[1]))
        overlaps = (queries @ self.sessions_.T).tocsr()
        neighbour_rows, neighbour_sessions, neighbour_similarities = [], [], []
        for row, (history_items, _) in enumerate(histories):
            start, end = overlaps.indptr[row], overlaps.indptr[row + 1]
            sessions, dots = overlaps.indices[start:end], overlaps.data[start:end]
            recent = np.argsort(sessions)[-self.sample_size :]  # the most recent candidate sequences
            sessions, dots = sessions[recent], dots[recent]
            similarities = dots / np.sqrt(history_items.size * self.session_sizes_[sessions])
            best = np.argsort(-similarities, kind="stable")[: self.k]
            neighbour_rows.append(np.full(best.size, row))
            neighbour_sessions.append(sessions[best])
            neighbour_similarities.append(similarities[best])
        neighbours = sparse.csr_matrix(
            (
                np.concatenate(neighbour_similarities + [np.zeros(0)]),
                (
                    np.concatenate(neighbour_rows + [np.zeros(0, dtype=np.int64)]),
                    np.concatenate(neighbour_sessions + [np.zeros(0, dtype=np.int64)]),
                ),
            ),
            shape=(len(histories), self.sessions_.shape[0]),
        )
        return (neighbours @ self.sessions_).toarray()

    def score(self, prefixes: Sequence[np.ndarray] | np.ndarray) -> np.ndarray:
        """Returns float64 `[batch, n_items + 1]`: neighbour votes above popularity."""
        if self.popularity_scores_ is None:
            raise RuntimeError("call fit() before score()")
        return _tiered(self.popularity_scores_, self.neighbour_scores(prefixes))
