"""Choice of golden histories (pure)."""

import numpy as np
import pytest

from convert.golden import golden_prefixes


def test_spreads_over_lengths_and_ends_with_one_longer_than_max_len():
    prefixes = [np.arange(1, length + 1) for length in (1, 2, 3, 5, 8, 13)]
    chosen = golden_prefixes(prefixes, max_len=6, count=4)
    assert [len(prefix) for prefix in chosen[:3]] == [1, 3, 13]
    assert len(chosen[-1]) > 6 and len(chosen) == 4


def test_joins_prefixes_when_none_is_longer_than_max_len():
    prefixes = [np.array([1, 2]), np.array([3, 4, 5]), np.array([6])]
    longest = golden_prefixes(prefixes, max_len=4, count=3)[-1]
    assert longest == [1, 2, 3, 4, 5]


def test_refuses_when_all_items_together_fit_in_max_len():
    with pytest.raises(ValueError, match="max_len"):
        golden_prefixes([np.array([1, 2])], max_len=4)
