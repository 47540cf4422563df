"""Tests of distill.baselines on a hand-made example and on the synthetic data."""

import numpy as np
import pytest

from distill.baselines import MarkovBaseline, PopularityBaseline, RecentItemsBaseline
from distill.dataset import leave_one_out
from distill.synthetic import generate_synthetic

TRAIN = [np.array([1, 2, 3]), np.array([1, 2, 4]), np.array([2, 3])]
N_ITEMS = (
    4  # counts: item 1 -> 2, item 2 -> 3, item 3 -> 2, item 4 -> 1; transitions 1->2 x2, 2->3 x2, 2->4 x1
)


def test_popularity_scores_counts_whatever_the_history() -> None:
    scores = PopularityBaseline().fit(TRAIN, N_ITEMS).score([np.array([1]), np.array([4, 3])])
    np.testing.assert_array_equal(scores, [[-1e9, 2, 3, 2, 1], [-1e9, 2, 3, 2, 1]])


def test_recent_items_repeat_the_history_latest_first_then_popularity() -> None:
    model = RecentItemsBaseline().fit(TRAIN, N_ITEMS)
    # Popularity scaled by 1/4: [0.5, 0.75, 0.5, 0.25]; a history item scores 1 + (latest position) / length.
    prefixes = [np.array([0, 3, 1, 3]), np.array([4]), np.array([], dtype=np.int32)]
    expected = [
        [-1e9, 1 + 2 / 3, 0.75, 2.0, 0.25],  # 3 seen last (position 3 of 3), 1 at position 2; padding ignored
        [-1e9, 0.5, 0.75, 0.5, 2.0],
        [-1e9, 0.5, 0.75, 0.5, 0.25],  # empty history: popularity
    ]
    np.testing.assert_allclose(model.score(prefixes), expected)


def test_markov_scores_transitions_plus_scaled_popularity() -> None:
    model = MarkovBaseline().fit(TRAIN, N_ITEMS)
    # Popularity scaled by 1 / (max count + 1) = 1/4: [0.5, 0.75, 0.5, 0.25] for items 1..4.
    prefixes = [
        np.array([1]),
        np.array([3, 2]),
        np.array([4]),
        np.array([0, 0, 1]),
        np.array([], dtype=np.int32),
    ]
    expected = [
        [-1e9, 0.5, 2.75, 0.5, 0.25],  # after 1: two transitions to 2
        [-1e9, 0.5, 0.75, 2.5, 1.25],  # after 2: 3 twice, 4 once
        [-1e9, 0.5, 0.75, 0.5, 0.25],  # 4 was never followed: popularity fallback
        [-1e9, 0.5, 2.75, 0.5, 0.25],  # left padding is ignored
        [-1e9, 0.5, 0.75, 0.5, 0.25],  # empty history: popularity
    ]
    np.testing.assert_allclose(model.score(prefixes), expected)


def test_scoring_before_fit_is_an_error() -> None:
    with pytest.raises(RuntimeError, match="fit"):
        MarkovBaseline().score([np.array([1])])


def test_out_of_range_items_are_refused() -> None:
    with pytest.raises(ValueError, match="0..4"):
        PopularityBaseline().fit([np.array([1, 5])], N_ITEMS)


def _hit_rate_at_10(scores: np.ndarray, targets: np.ndarray) -> float:
    target_scores = scores[np.arange(len(targets)), targets]
    ranks = (scores > target_scores[:, None]).sum(axis=1)
    return float(np.mean(ranks < 10))


def test_markov_beats_popularity_on_synthetic_data() -> None:
    dataset = leave_one_out("synthetic", generate_synthetic(n_users=300, n_items=200, seed=0, n_clusters=8))
    hit_rates = {
        type(model).__name__: _hit_rate_at_10(
            model.fit(dataset.train_sequences, dataset.n_items).score(dataset.valid_prefixes),
            dataset.valid_targets,
        )
        for model in (PopularityBaseline(), MarkovBaseline())
    }
    assert hit_rates["MarkovBaseline"] > hit_rates["PopularityBaseline"] + 0.1, hit_rates
