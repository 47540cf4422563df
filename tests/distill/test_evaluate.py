"""evaluate_scorer with a hand-made scorer against hand-computed HR / NDCG / MRR; the Keras model scorer."""

from __future__ import annotations

import numpy as np
import pytest

from distill.evaluate import evaluate_scorer, model_scorer
from model.keras_setup import keras
from model.sasrec import SASRec
from runtime.history import encode_batch
from tests.conftest import tiny_sasrec_config

N_ITEMS = 12
# Item i scores 13 - i, so the rank of target t is t - 1 whatever the history.
FIXED_SCORES = np.array([-1e9] + [13.0 - item for item in range(1, N_ITEMS + 1)])
PREFIXES = [np.array([5, 6]), np.array([2]), np.array([1, 2, 3])]
TARGETS = np.array([1, 4, 8])  # ranks 0, 3, 7


def fixed_scorer(prefixes):
    return np.tile(FIXED_SCORES, (len(prefixes), 1))


def head_mask() -> np.ndarray:
    mask = np.zeros(N_ITEMS + 1, dtype=bool)
    mask[[1, 2]] = True
    return mask


@pytest.mark.parametrize("batch_size", [1, 2, 256])
def test_hand_computed_metrics(batch_size):
    report = evaluate_scorer(fixed_scorer, PREFIXES, TARGETS, head_mask(), batch_size=batch_size)
    # Ranks 0, 3, 7: NDCG terms 1, 1/log2(5) = 0.4306766, 1/log2(9) = 0.3154649; MRR terms 1, 1/4, 1/8.
    expected = {
        "HR@5": 2 / 3,
        "HR@10": 1.0,
        "HR@20": 1.0,
        "NDCG@5": 0.4768922,
        "NDCG@10": 0.5820471,
        "NDCG@20": 0.5820471,
        "MRR@5": 0.4166667,
        "MRR@10": 0.4583333,
        "MRR@20": 0.4583333,
    }
    assert report["metrics"] == pytest.approx(expected, abs=1e-6)
    # Head = items {1, 2}: only the first example (rank 0); the tail holds ranks 3 and 7.
    assert report["metrics_head"] == pytest.approx({key: 1.0 for key in expected}, abs=1e-6)
    assert report["metrics_tail"]["HR@5"] == pytest.approx(0.5)
    assert report["metrics_tail"]["MRR@10"] == pytest.approx(0.1875)
    assert report["metrics_tail"]["NDCG@10"] == pytest.approx(0.3730707, abs=1e-6)
    assert report["coverage@10"] == pytest.approx(10 / 12)
    assert report["exclude_history"] is False and report["metrics_protocol"] == "full"
    assert "metrics_all_items" not in report
    # No target occurs in its prefix: every example is new, and with nothing excluded "new" is "overall".
    assert (report["n_repeat"], report["n_new"]) == (0, 3) and report["metrics_repeat"] == {}
    assert report["metrics_new"] == pytest.approx(expected, abs=1e-6)


def test_exclude_history_removes_seen_items_from_the_competition():
    report = evaluate_scorer(fixed_scorer, PREFIXES, TARGETS, head_mask(), exclude_history=True)
    # Ranks become 0, 2 (item 2 seen) and 4 (items 1, 2, 3 seen).
    assert report["metrics"]["HR@5"] == pytest.approx(1.0)
    assert report["metrics"]["MRR@5"] == pytest.approx((1 + 1 / 3 + 1 / 5) / 3)
    assert report["metrics"]["NDCG@5"] == pytest.approx(0.6289510, abs=1e-6)
    assert report["exclude_history"] is True
    # The same scores with nothing excluded, from the same pass: ranks 0, 3, 7 as in the test above.
    assert report["metrics_all_items"]["MRR@10"] == pytest.approx(0.4583333, abs=1e-6)


def test_a_target_in_the_history_counts_once_as_a_repeat_and_is_a_miss_when_the_history_is_excluded():
    prefixes = [np.array([3, 1, 3]), np.array([2]), np.array([7, 9])]
    targets = np.array([3, 4, 9])  # full ranks 2, 3, 8
    report = evaluate_scorer(fixed_scorer, prefixes, targets, head_mask(), exclude_history=True)
    assert (report["n_repeat"], report["n_new"]) == (2, 1)
    assert report["metrics_repeat"]["MRR@10"] == pytest.approx((1 / 3 + 1 / 9) / 2)
    assert report["metrics_new"]["MRR@10"] == pytest.approx(1 / 4)
    # Item 2 leaves the ranking: target 4 moves up from rank 3 to rank 2.
    assert report["metrics_new_excluded"]["MRR@10"] == pytest.approx(1 / 3)
    # Overall with the history excluded: the two repeats are misses, whatever they scored.
    assert report["metrics"]["MRR@10"] == pytest.approx((1 / 3) / 3)
    assert report["metrics"]["HR@20"] == pytest.approx(1 / 3)
    assert report["metrics_all_items"]["MRR@10"] == pytest.approx((1 / 3 + 1 / 4 + 1 / 9) / 3)
    assert report["metrics_protocol"] == "history_excluded"


def test_repeats_and_exclusion_use_the_last_max_len_items_the_model_sees():
    seen = []

    def recording_scorer(prefixes):
        seen.extend(prefix.tolist() for prefix in prefixes)
        return fixed_scorer(prefixes)

    report = evaluate_scorer(
        recording_scorer, [np.array([4, 1, 2])], np.array([4]), head_mask(), exclude_history=True, max_len=2
    )
    assert seen == [[1, 2]]
    # 4 fell out of the model's input: a new target; items 1 and 2 are excluded, so its rank is 3 - 2 = 1.
    assert (report["n_repeat"], report["n_new"]) == (0, 1)
    assert report["metrics"]["MRR@5"] == pytest.approx(1 / 2)
    whole = evaluate_scorer(
        fixed_scorer, [np.array([4, 1, 2])], np.array([4]), head_mask(), exclude_history=True
    )
    assert whole["n_repeat"] == 1 and whole["metrics"]["HR@20"] == 0.0


def test_empty_split_raises():
    with pytest.raises(ValueError, match="nothing to evaluate"):
        evaluate_scorer(fixed_scorer, [], np.array([], dtype=np.int64), head_mask())


def test_model_scorer_scores_left_padded_histories():
    keras.utils.set_random_seed(0)
    model = SASRec(tiny_sasrec_config(n_items=N_ITEMS)).build_for_inference()
    scorer = model_scorer(model, max_len=8)
    prefixes = [np.array([3]), np.arange(1, 11)]  # the second is longer than max_len: keeps the last 8
    scores = scorer(prefixes)
    assert scores.shape == (2, N_ITEMS + 1)
    expected = model(encode_batch(prefixes, 8)).numpy()
    np.testing.assert_allclose(scores, expected, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(scorer([np.arange(3, 11)]), expected[1:], rtol=1e-5, atol=1e-5)
