"""Tests of runtime.ranking: the history items outside the model's window and top-K without them."""

import numpy as np
import pytest

from runtime.ranking import items_outside_window, top_k_excluding


@pytest.mark.parametrize(
    ("item_ids", "max_len", "expected"),
    [
        ([], 3, []),
        ([1, 2, 3], 3, []),
        ([1, 2, 3, 4], 3, [1]),
        ([5, 1, 5, 2, 3], 2, [5, 1]),  # distinct, in order of first appearance
        ([4, 7, 4, 9], 2, [7]),  # 4 is also in the window: recommend excludes it already
        ([2, 2, 2, 2], 1, []),
    ],
)
def test_items_outside_window(item_ids, max_len, expected):
    assert items_outside_window(item_ids, max_len) == expected


def test_items_outside_window_refuses_bad_max_len():
    with pytest.raises(ValueError, match="max_len must be >= 1"):
        items_outside_window([1], 0)


def test_top_k_excluding_leaves_out_padding_and_every_excluded_id():
    scores = np.array([9.0, 0.5, 4.0, 3.0, 8.0, 1.0], dtype=np.float32)
    ids, values = top_k_excluding(scores, 3, [4, 99])
    assert ids.tolist() == [2, 3, 5] and ids.dtype == np.int32
    np.testing.assert_array_equal(values, np.array([4.0, 3.0, 1.0], dtype=np.float32))


def test_top_k_excluding_breaks_ties_by_lower_id_and_may_return_fewer():
    ids, _ = top_k_excluding(np.array([-1e9, 2.0, 5.0, 2.0, 5.0]), 3, [])
    assert ids.tolist() == [2, 4, 1]
    ids, _ = top_k_excluding(np.array([-1e9, 2.0, 5.0, 2.0]), 5, [2])
    assert ids.tolist() == [1, 3]


@pytest.mark.parametrize(
    ("scores", "k", "message"),
    [(np.zeros(4), 0, "k must be >= 1"), (np.zeros((1, 4)), 2, "one row"), (np.array([0, np.nan]), 1, "NaN")],
)
def test_top_k_excluding_refuses(scores, k, message):
    with pytest.raises(ValueError, match=message):
        top_k_excluding(scores, k, [])
