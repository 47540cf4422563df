"""Metrics against values computed by hand and written here (the functions are never their own oracle)."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from runtime.metrics import (
    EXCLUDED_TARGET_RANK,
    KS,
    RankingPass,
    coverage_at_k,
    evaluation_report,
    head_item_mask,
    ranking_metrics,
    repeat_targets,
    sampled_target_ranks,
    target_kind_report,
    target_ranks,
    top_k_items,
)

# n_items = 4; column 0 is padding.
SCORES = np.array(
    [
        [-1e9, 0.5, 0.9, 0.1, 0.9],
        [-1e9, 0.2, 0.3, 0.4, 0.1],
    ]
)
TARGETS = np.array([1, 4])


def test_target_ranks_count_strictly_higher_real_items():
    # Row 0: items 2 and 4 (0.9) beat 0.5 -> 2. Row 1: items 1, 2, 3 beat 0.1 -> 3.
    np.testing.assert_array_equal(target_ranks(SCORES, TARGETS), [2, 3])


def test_target_ranks_never_count_padding():
    scores = SCORES.copy()
    scores[:, 0] = 100.0
    np.testing.assert_array_equal(target_ranks(scores, TARGETS), [2, 3])


def test_target_ranks_exclude_history_makes_a_target_in_the_history_a_miss():
    # Row 0 drops item 2 -> rank 1. Row 1 holds its target 4 in the history: removed with it, never a hit.
    histories = [np.array([0, 2]), np.array([3, 4])]
    np.testing.assert_array_equal(target_ranks(SCORES, TARGETS, histories), [1, EXCLUDED_TARGET_RANK])
    assert ranking_metrics(np.array([EXCLUDED_TARGET_RANK]), ks=(4,)) == {"HR@4": 0, "NDCG@4": 0, "MRR@4": 0}


def test_repeat_targets_ignore_padding_and_need_one_history_per_target():
    np.testing.assert_array_equal(
        repeat_targets(np.array([2, 4, 1]), [np.array([0, 2]), np.array([3]), np.array([0, 0, 1])]),
        [True, False, True],
    )
    with pytest.raises(ValueError, match="2 histories but 1 targets"):
        repeat_targets(np.array([1]), [np.array([1]), np.array([2])])


# n_items = 5. Item i scores 6 - i, so with nothing excluded the rank of target t is t - 1.
KIND_SCORES = np.tile([-1e9, 5.0, 4.0, 3.0, 2.0, 1.0], (4, 1))
KIND_TARGETS = np.array([3, 1, 5, 2])
# Row 0: 3 is in the history twice (one repeat example); row 1: 1 is new; row 2: 5 is new behind 1 and 2;
# row 3: 2 repeats, 0 is padding.
KIND_HISTORIES = [np.array([3, 2, 3]), np.array([4]), np.array([1, 2]), np.array([0, 2])]


def test_target_kind_report_by_hand():
    full = target_ranks(KIND_SCORES, KIND_TARGETS)
    excluded = target_ranks(KIND_SCORES, KIND_TARGETS, KIND_HISTORIES)
    np.testing.assert_array_equal(full, [2, 0, 4, 1])
    np.testing.assert_array_equal(excluded, [EXCLUDED_TARGET_RANK, 0, 2, EXCLUDED_TARGET_RANK])
    report = target_kind_report(full, excluded, repeat_targets(KIND_TARGETS, KIND_HISTORIES))
    assert (report["n_repeat"], report["n_new"]) == (2, 2)
    # Repeat ranks 2 and 1; new ranks 0 and 4 (full), 0 and 2 (history excluded).
    assert report["metrics_repeat"]["HR@5"] == 1.0
    assert report["metrics_repeat"]["MRR@5"] == pytest.approx((1 / 3 + 1 / 2) / 2)
    assert report["metrics_new"]["MRR@5"] == pytest.approx((1 + 1 / 5) / 2)
    assert report["metrics_new"]["NDCG@5"] == pytest.approx((1 + 1 / math.log2(6)) / 2)
    assert report["metrics_new_excluded"]["MRR@5"] == pytest.approx((1 + 1 / 3) / 2)
    assert report["metrics_new_excluded"]["NDCG@5"] == pytest.approx((1 + 0.5) / 2)


def test_target_kind_report_leaves_an_empty_kind_empty():
    report = target_kind_report(np.array([0]), np.array([0]), np.array([False]))
    assert report["n_repeat"] == 0 and report["metrics_repeat"] == {}
    assert report["metrics_new"]["HR@5"] == 1.0


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), n_items=st.integers(2, 30), batch=st.integers(1, 12))
def test_the_target_kind_split_sums_back_to_the_overall_metrics(seed, n_items, batch):
    rng = np.random.default_rng(seed)
    scores = rng.integers(0, 6, size=(batch, n_items + 1)).astype(np.float64)
    targets = rng.integers(1, n_items + 1, size=batch)
    histories = [rng.integers(0, n_items + 1, size=rng.integers(1, 6)) for _ in range(batch)]
    ranking = RankingPass()
    ranking.add(scores, targets, histories)
    report = ranking.report(targets, None, exclude_history=True)
    n_repeat, n_new = report["n_repeat"], report["n_new"]
    assert n_repeat + n_new == batch
    for key in report["metrics"]:
        repeat = report["metrics_repeat"].get(key, 0.0)
        new = report["metrics_new"].get(key, 0.0)
        new_excluded = report["metrics_new_excluded"].get(key, 0.0)
        assert report["metrics_all_items"][key] == pytest.approx((n_repeat * repeat + n_new * new) / batch)
        # Every repeat target is a miss with the history excluded.
        assert report["metrics"][key] == pytest.approx(n_new * new_excluded / batch)


def test_ranking_pass_names_its_protocol_and_refuses_no_examples():
    ranking = RankingPass()
    with pytest.raises(ValueError, match="no examples"):
        ranking.ranks(False)
    ranking.add(KIND_SCORES, KIND_TARGETS, KIND_HISTORIES)
    full = ranking.report(KIND_TARGETS, None, exclude_history=False)
    assert full["metrics_protocol"] == "full" and "metrics_all_items" not in full
    assert full["metrics"]["MRR@5"] == pytest.approx((1 / 3 + 1 + 1 / 5 + 1 / 2) / 4)  # ranks 2, 0, 4, 1
    excluded = ranking.report(KIND_TARGETS, None, exclude_history=True)
    assert excluded["metrics_protocol"] == "history_excluded"
    # Rows 1 and 2 (ranks 0 and 2); the repeats are misses.
    assert excluded["metrics"]["HR@5"] == pytest.approx(0.5)
    assert excluded["metrics"]["MRR@5"] == pytest.approx((1 + 1 / 3) / 4)


def test_history_excluded_ranks_equal_ranking_the_scores_with_the_history_removed():
    """The recommend protocol: drop every history item (target included) and rank what is left."""
    rng = np.random.default_rng(3)
    scores = rng.normal(size=(6, 9))
    targets = rng.integers(1, 9, size=6)
    histories = [rng.integers(1, 9, size=3) for _ in range(6)]
    ranks = target_ranks(scores, targets, histories)
    for row in range(6):
        order = [int(item) for item in np.argsort(-scores[row, 1:]) + 1 if item not in histories[row]]
        expected = order.index(targets[row]) if targets[row] in order else EXCLUDED_TARGET_RANK
        assert ranks[row] == expected
        assert (targets[row] in histories[row]) == (expected == EXCLUDED_TARGET_RANK)


@pytest.mark.parametrize("targets", [np.array([0, 1]), np.array([1, 5])])
def test_target_ranks_refuse_targets_outside_the_catalogue(targets):
    with pytest.raises(ValueError, match="1..4"):
        target_ranks(SCORES, targets)


def test_nan_scores_and_bad_history_ids_are_refused():
    broken = SCORES.copy()
    broken[0, 3] = np.nan
    with pytest.raises(ValueError, match="1 NaN"):
        target_ranks(broken, TARGETS)
    with pytest.raises(ValueError, match="1 NaN"):
        top_k_items(broken, 2)
    with pytest.raises(ValueError, match=r"outside 0..4: \[-1\]"):
        target_ranks(SCORES, TARGETS, [np.array([-1]), np.array([2])])


def test_ranking_metrics_by_hand():
    metrics = ranking_metrics(np.array([0, 2, 7]), ks=(1, 5))
    expected = {
        "HR@1": 1 / 3,
        "NDCG@1": 1 / 3,
        "MRR@1": 1 / 3,
        "HR@5": 2 / 3,
        "NDCG@5": (1 + 0.5) / 3,  # 1/log2(2) + 1/log2(4)
        "MRR@5": (1 + 1 / 3) / 3,
    }
    assert metrics == pytest.approx(expected)


def test_ranking_metrics_default_ks():
    metrics = ranking_metrics(np.array([0, 2, 7]))
    assert set(metrics) == {f"{name}@{k}" for k in KS for name in ("HR", "NDCG", "MRR")}
    assert metrics["HR@20"] == 1.0
    assert metrics["NDCG@20"] == pytest.approx((1 + 0.5 + 0.31546487678572877) / 3)  # 1/log2(9)
    assert metrics["MRR@20"] == pytest.approx((1 + 1 / 3 + 1 / 8) / 3)


def test_ranking_metrics_refuse_empty():
    with pytest.raises(ValueError, match="at least one rank"):
        ranking_metrics(np.array([]))


def test_head_item_mask_by_frequency_then_lower_id():
    # Counts: item 1 -> 2, item 2 -> 3, item 3 -> 1, item 4 -> 0, item 5 -> 1.
    sequences = [[1, 2, 2], [0, 3, 2, 1], [5, 2]]
    np.testing.assert_array_equal(head_item_mask(sequences, 5), [False, False, True, False, False, False])
    np.testing.assert_array_equal(
        head_item_mask(sequences, 5, head_fraction=0.6), [False, True, True, True, False, False]
    )


def test_top_k_items_ties_to_lower_id_and_never_padding():
    scores = np.array([[100.0, 0.3, 0.9, 0.9, 0.1]])
    np.testing.assert_array_equal(top_k_items(scores, 3), [[2, 3, 1]])
    np.testing.assert_array_equal(top_k_items(scores, 3, histories=[np.array([0, 2])]), [[3, 1, 4]])
    np.testing.assert_array_equal(top_k_items(scores, 4), [[2, 3, 1, 4]])
    with pytest.raises(ValueError, match="k must be in 1..n_items=4"):
        top_k_items(scores, 5)


@settings(max_examples=60, deadline=None)
@given(
    shape=st.tuples(st.integers(1, 5), st.integers(1, 700)),
    levels=st.integers(1, 50),
    seed=st.integers(0, 2**31 - 1),
    data=st.data(),
)
def test_top_k_items_equals_a_full_stable_sort(shape, levels, seed, data):
    """Few distinct levels force many ties around the k-th score; -inf marks seen items."""
    rows, n_items = shape
    rng = np.random.default_rng(seed)
    scores = rng.integers(0, levels, size=(rows, n_items + 1)).astype(np.float32)
    scores[rng.random(scores.shape) < 0.1] = -np.inf
    k = data.draw(st.integers(1, n_items))
    expected = np.argsort(-scores[:, 1:].astype(np.float64), axis=1, kind="stable")[:, :k] + 1
    np.testing.assert_array_equal(top_k_items(scores, k), expected)


def test_coverage_at_k():
    assert coverage_at_k(np.array([[1, 2], [2, 3]]), n_items=10) == pytest.approx(0.3)


def test_evaluation_report_splits_head_and_tail():
    head_mask = np.array([False, True, False, False, False])  # only item 1 is head
    ranks, targets = np.array([0, 2, 7]), np.array([1, 3, 4])
    report = evaluation_report(ranks, targets, head_mask, top_items=np.array([[1, 2], [1, 2], [1, 3]]))
    assert report["n_examples"] == 3 and report["n_head"] == 1 and report["n_tail"] == 2
    assert report["metrics"]["HR@5"] == pytest.approx(2 / 3)
    assert report["metrics_head"]["HR@5"] == 1.0
    assert report["metrics_tail"]["HR@5"] == 0.5
    assert report["metrics_tail"]["HR@10"] == 1.0
    assert report["metrics_tail"]["MRR@10"] == pytest.approx((1 / 3 + 1 / 8) / 2)
    assert report["coverage@10"] == pytest.approx(3 / 4)


def test_evaluation_report_without_head_mask_or_head_examples():
    report = evaluation_report(np.array([1]), np.array([2]), None)
    assert "metrics_head" not in report and report["metrics"]["MRR@5"] == 0.5
    report = evaluation_report(np.array([1]), np.array([2]), np.array([False, True, False]))
    assert report["metrics_head"] == {} and report["metrics_tail"]["HR@5"] == 1.0


def test_sampled_ranks_when_every_eligible_item_is_drawn():
    # Item i scores 7 - i. Target 3 (score 4), history {1}: the negatives are all of {2, 4, 5, 6}; 2 wins.
    scores = np.array([[-1e9, 6.0, 5.0, 4.0, 3.0, 2.0, 1.0]])
    ranks = sampled_target_ranks(scores, np.array([3]), [np.array([1])], n_negatives=4, seed=123)
    np.testing.assert_array_equal(ranks, [1])
    with pytest.raises(ValueError, match="only 4 eligible negatives"):
        sampled_target_ranks(scores, np.array([3]), [np.array([1])], n_negatives=5)


def test_sampled_ranks_are_seeded_and_bounded():
    rng = np.random.default_rng(0)
    scores = rng.normal(size=(5, 31))
    targets, histories = np.arange(1, 6), [rng.integers(1, 31, size=3) for _ in range(5)]
    first = sampled_target_ranks(scores, targets, histories, n_negatives=10, seed=3)
    again = sampled_target_ranks(scores, targets, histories, n_negatives=10, seed=3)
    np.testing.assert_array_equal(first, again)
    assert first.min() >= 0 and first.max() <= 10
    assert math.isfinite(ranking_metrics(first)["NDCG@5"])


def test_target_ranks_count_ties_against_the_target():
    # Constant scores (a collapsed model) must rank every target last, not first.
    scores = np.zeros((2, 5), dtype=np.float32)
    np.testing.assert_array_equal(target_ranks(scores, np.array([1, 4])), [3, 3])
    scores = np.array([[0.0, 1.0, 2.0, 2.0, 0.5]])
    np.testing.assert_array_equal(target_ranks(scores, np.array([2])), [1])
