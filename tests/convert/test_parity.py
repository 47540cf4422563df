"""Parity measures against values computed by hand."""

import numpy as np
import pytest

import model  # noqa: F401
from convert.parity import compare_scores, parity_histories


def test_relative_error_and_agreement_by_hand():
    reference = np.array([[-1e9, 1.0, 2.0, 4.0, 3.0], [-1e9, 2.0, -1.0, 0.5, 0.0]])
    candidate = np.array([[-2e9, 1.0, 2.5, 4.0, 3.0], [-1e9, 2.0, -1.0, 0.5, 0.1]])
    histories = np.array([[0, 0], [0, 1]])
    result = compare_scores(reference, candidate, histories)
    # Row 0: 0.5 / 4 = 0.125 (the padding column is ignored); row 1: 0.1 / 2 = 0.05.
    assert result["max_rel_err"] == pytest.approx(0.125)
    # k = min(10, 4 real items): both lists hold every item, whatever the order.
    assert result["top10_agreement"] == pytest.approx(1.0)


def test_agreement_counts_overlap_not_order():
    reference = np.array([[-1e9] + list(range(12, 0, -1))], dtype=float)
    candidate = reference.copy()
    candidate[0, 1] = -5.0  # item 1 (best) falls out of the candidate's top 10, item 11 comes in
    result = compare_scores(reference, candidate, np.zeros((1, 3), int))
    assert result["top10_agreement"] == pytest.approx(0.9)


def test_parity_histories_are_left_padded_prefixes():
    prefixes = [np.array([3, 4]), np.array([1, 2, 3, 4, 5])]
    np.testing.assert_array_equal(parity_histories(prefixes, 3, 0), [[0, 3, 4], [3, 4, 5]])
    assert parity_histories(prefixes, 3, 1).shape == (1, 3)
