"""Catalogue update bytes: round trip within int8 precision, the 1 kB per 10 items budget, refusals."""

import numpy as np
import pytest

from runtime.item_update import ItemUpdateError, decode_item_update, encode_item_update

SHA = "ab" * 32


def test_round_trip_within_half_a_quantization_step():
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(3, 64)).astype(np.float32)
    update = decode_item_update(encode_item_update(["a", "b-7", "ü"], vectors, SHA))
    assert update.original_ids == ("a", "b-7", "ü") and update.model_sha256_prefix == SHA[:16]
    steps = np.abs(vectors).max(axis=1, keepdims=True) / 127
    assert np.all(np.abs(update.vectors - vectors) <= steps / 2 + 1e-7)


def test_ten_items_of_width_64_fit_in_one_kilobyte():
    """ML-1M's width; ids as long as a Tmall item id (7 digits)."""
    vectors = np.random.default_rng(1).normal(size=(10, 64))
    data = encode_item_update([f"{1000000 + i}" for i in range(10)], vectors, SHA)
    assert len(data) <= 1000, len(data)


@pytest.mark.parametrize(
    "corrupt",
    [
        lambda data: data[:-1],
        lambda data: data + b"\x00",
        lambda data: b"XXXX" + data[4:],
        lambda data: data[:10],
        lambda data: data[:30] + bytes([data[30] ^ 1]) + data[31:],
    ],
    ids=["truncated", "trailing", "magic", "header", "flipped-bit"],
)
def test_a_corrupted_update_is_refused_naming_the_file(corrupt):
    data = encode_item_update(["x", "y"], np.ones((2, 4)), SHA)
    with pytest.raises(ItemUpdateError, match="update.bin"):
        decode_item_update(corrupt(data), "update.bin")


def test_mismatched_ids_and_vectors_are_refused():
    with pytest.raises(ItemUpdateError, match="len\\(original_ids\\)=1"):
        encode_item_update(["x"], np.ones((2, 4)), SHA)
    with pytest.raises(ItemUpdateError, match="NaN"):
        encode_item_update(["x"], np.full((1, 4), np.nan), SHA)
