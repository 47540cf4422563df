"""Pre-processing without a model: padding, truncation, validation, original-id mapping."""

import numpy as np
import pytest

from runtime.history import (
    EmptyHistoryError,
    InvalidItemIdError,
    UnknownItemError,
    check_encoded_history,
    encode_batch,
    encode_history,
    map_original_history,
)
from runtime.vocab import Vocab

VOCAB = Vocab(("a", "b", "c"), ("Apple", "Banana", ""))


@pytest.mark.parametrize(
    ("item_ids", "expected"),
    [
        ([3, 5], [0, 0, 3, 5]),
        ([1, 2, 3, 4, 5, 6], [3, 4, 5, 6]),
        ([], [0, 0, 0, 0]),
        ([7, 8, 9, 1], [7, 8, 9, 1]),
    ],
)
def test_encode_history_left_pads_and_keeps_most_recent(item_ids, expected):
    encoded = encode_history(item_ids, max_len=4)
    assert encoded.dtype == np.int32
    np.testing.assert_array_equal(encoded, expected)


@pytest.mark.parametrize(("item_ids", "n_items"), [([0, 2], None), ([-1], None), ([4], 3)])
def test_encode_history_refuses_ids_outside_the_catalogue(item_ids, n_items):
    with pytest.raises(InvalidItemIdError, match="internal ids in 1.."):
        encode_history(item_ids, max_len=4, n_items=n_items)


def test_encode_history_refuses_bad_max_len():
    with pytest.raises(ValueError, match="max_len must be >= 1"):
        encode_history([1], max_len=0)


def test_encode_batch():
    np.testing.assert_array_equal(encode_batch([[1], [1, 2, 3, 4]], max_len=3), [[0, 0, 1], [2, 3, 4]])


def test_check_encoded_history_accepts_valid_and_returns_int32():
    checked = check_encoded_history(np.array([0, 1, 3], dtype=np.int64), max_len=3, n_items=3)
    assert checked.dtype == np.int32


@pytest.mark.parametrize(
    ("history", "error", "message"),
    [
        (np.array([1, 2]), InvalidItemIdError, r"shape \[3\]"),
        (np.array([1.0, 2.0, 3.0]), InvalidItemIdError, "dtype"),
        (np.array([0, 1, 4]), InvalidItemIdError, r"outside 0..3.*\[4\]"),
        (np.array([0, -2, 1]), InvalidItemIdError, r"\[-2\]"),
        (np.zeros(3, dtype=np.int32), EmptyHistoryError, "no real item"),
    ],
)
def test_check_encoded_history_errors(history, error, message):
    with pytest.raises(error, match=message):
        check_encoded_history(history, max_len=3, n_items=3)


def test_map_original_history_skips_unknown_ids():
    assert map_original_history(["c", "zz", "a", "yy"], VOCAB) == ([3, 1], ["zz", "yy"])


def test_map_original_history_error_policy_names_the_ids():
    with pytest.raises(UnknownItemError, match=r"\['zz'\]") as raised:
        map_original_history(["a", "zz"], VOCAB, unknown="error")
    assert raised.value.unknown_ids == ["zz"]
    assert map_original_history(["a"], VOCAB, unknown="error") == ([1], [])


def test_map_original_history_refuses_unknown_policy():
    with pytest.raises(ValueError, match="unknown must be one of"):
        map_original_history(["a"], VOCAB, unknown="ignore")
