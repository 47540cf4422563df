"""Tests of distill.baselines on a hand-made example and on the synthetic data."""

import numpy as np
import pytest

from distill.baselines import (
    MarkovBaseline,
    PopularityBaseline,
    RecentItemsBaseline,
    SequentialRulesBaseline,
    SessionKNNBaseline,
)
from distill.dataset import from_sessions, leave_one_out
from distill.loaders import load_session_test, load_sessions
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
    generated = generate_synthetic(n_users=300, n_items=200, seed=0, n_clusters=8)
    dataset = leave_one_out("synthetic", generated.sequences)
    hit_rates = {
        type(model).__name__: _hit_rate_at_10(
            model.fit(dataset.train_sequences, dataset.n_items).score(dataset.valid_prefixes),
            dataset.valid_targets,
        )
        for model in (PopularityBaseline(), MarkovBaseline())
    }
    assert hit_rates["MarkovBaseline"] > hit_rates["PopularityBaseline"] + 0.1, hit_rates


# Rules of TRAIN (window 10, weight 1 / distance): [1, 2, 3] gives 1->2 1, 2->3 1, 1->3 0.5; [1, 2, 4] gives
# 1->2 1, 2->4 1, 1->4 0.5; [2, 3] gives 2->3 1. Sums: 1->2 2, 1->3 0.5, 1->4 0.5, 2->3 2, 2->4 1.
RULES_N_ITEMS = 5  # item 5 never occurs in training: popularity 0


def ranking(scores: np.ndarray, excluded: tuple[int, ...] = ()) -> list[int]:
    """Real items best first (stable: ties to the lower id), without `excluded`."""
    order = np.argsort(-scores[1:], kind="stable") + 1
    return [int(item) for item in order if item not in excluded]


def test_sequential_rules_by_hand() -> None:
    model = SequentialRulesBaseline().fit(TRAIN, RULES_N_ITEMS)
    # [1, 2]: last click 2 (weight 1) -> 3: 2, 4: 1; then 1 (weight 0.5) -> 2: 1, 3: 0.25, 4: 0.25.
    # [3, 1, 1, 2]: 2 (1), 1 (0.5), 1 (0.33): 2: 0.83 * 2, 3: 2 + 0.83 * 0.5, 4: 1 + 0.83 * 0.5; the 4th click
    # from the end (3) casts no vote.
    prefixes = [np.array([1, 2]), np.array([3, 1, 1, 2]), np.array([0, 4])]
    np.testing.assert_allclose(
        model.rule_scores(prefixes),
        [[0, 0, 1.0, 2.25, 1.25, 0], [0, 0, 1.66, 2.415, 1.415, 0], [0, 0, 0, 0, 0, 0]],
    )
    scores = model.score(prefixes)
    # Full ranking: the history, most recent first; then rule candidates; then popularity (2, 1/3, 4, 5).
    assert ranking(scores[0]) == [2, 1, 3, 4, 5]
    assert ranking(scores[1]) == [2, 1, 3, 4, 5]
    assert ranking(scores[2]) == [4, 2, 1, 3, 5]
    # History excluded: rule candidates not in the history, then popularity.
    assert ranking(scores[0], excluded=(1, 2)) == [3, 4, 5]
    assert ranking(scores[2], excluded=(4,)) == [2, 1, 3, 5]


def test_sequential_rules_window_and_refusals() -> None:
    model = SequentialRulesBaseline(window=1).fit(TRAIN, RULES_N_ITEMS)
    np.testing.assert_allclose(model.rule_scores([np.array([1])]), [[0, 0, 2.0, 0, 0, 0]])  # no 1->3, 1->4
    with pytest.raises(RuntimeError, match="fit"):
        SequentialRulesBaseline().score([np.array([1])])
    with pytest.raises(ValueError, match="window"):
        SequentialRulesBaseline(window=0)


KNN_TRAIN = [np.array([1, 2, 3]), np.array([1, 2, 4]), np.array([2, 3]), np.array([5, 6])]


def test_session_knn_by_hand() -> None:
    # History [2, 1]: position weights 2 -> 1/2, 1 -> 1. Dots: S0 = S1 = 1.5, S2 = 0.5, S3 = 0 (no candidate).
    # Cosine: S0 = S1 = 1.5 / sqrt(2 * 3) = 0.6123724, S2 = 0.5 / sqrt(2 * 2) = 0.25.
    s01 = 1.5 / np.sqrt(6)
    two_best = SessionKNNBaseline(k=2, sample_size=3).fit(KNN_TRAIN, 6)
    np.testing.assert_allclose(
        two_best.neighbour_scores([np.array([2, 1])]), [[0, 2 * s01, 2 * s01, s01, s01, 0, 0]]
    )
    # Only the 2 most recent candidate sequences (S1, S2) are compared; both vote.
    recent = SessionKNNBaseline(k=2, sample_size=2).fit(KNN_TRAIN, 6)
    np.testing.assert_allclose(
        recent.neighbour_scores([np.array([2, 1])]), [[0, s01, s01 + 0.25, 0.25, s01, 0, 0]]
    )
    # Votes above popularity (2, then 1 and 3, then 4, 5, 6); an unknown-only history falls back to it.
    assert ranking(recent.score([np.array([2, 1])])[0]) == [2, 1, 4, 3, 5, 6]
    assert ranking(recent.score([np.array([0])])[0]) == [2, 1, 3, 4, 5, 6]


def test_session_knn_refuses_a_sample_smaller_than_k() -> None:
    with pytest.raises(ValueError, match="k <= sample_size"):
        SessionKNNBaseline(k=10, sample_size=5)


def test_baselines_fit_on_training_sessions_only(tmp_path) -> None:
    """A test file whose examples hold a transition that no training session has leaves the fit unchanged."""
    train_file = tmp_path / "train.txt"
    train_file.write_text("10 20 30\n10 20 40\n20 30\n30 40\n")
    leaky, clean = tmp_path / "leaky.tsv", tmp_path / "clean.tsv"
    leaky.write_text("40\t10\n40 10\t30\n")  # 40 -> 10 and 10 -> 30 after 40: never seen in training
    clean.write_text("10\t20\n")
    datasets = [
        from_sessions("toy", load_sessions(train_file), load_session_test(path)) for path in (leaky, clean)
    ]
    fitted = [
        (
            SequentialRulesBaseline().fit(d.train_sequences, d.n_items),
            SessionKNNBaseline(k=2, sample_size=2).fit(d.train_sequences, d.n_items),
        )
        for d in datasets
    ]
    assert all(len(d.train_sequences) == 3 for d in datasets)  # the last training session is validation
    (leaky_rules, leaky_knn), (clean_rules, clean_knn) = fitted
    assert (leaky_rules.rules_ != clean_rules.rules_).nnz == 0
    assert (leaky_knn.sessions_ != clean_knn.sessions_).nnz == 0
    leaky_dataset = datasets[0]
    item = leaky_dataset.vocab.to_internal
    rule_scores = leaky_rules.rule_scores([np.array([item("40")])])
    assert rule_scores[0, item("10")] == 0.0  # 40 -> 10 is only in the test file
