"""Tests of distill.pipeline: shifting, left padding, truncation, shapes and seeded shuffling."""

import numpy as np
import pytest

from distill.pipeline import shifted_training_arrays, training_dataset

SEQUENCES = [np.array([1, 2, 3, 4, 5, 6]), np.array([7, 8]), np.array([9]), np.array([3, 1, 2])]


def test_every_position_predicts_its_next_item_left_padded_and_truncated() -> None:
    inputs, targets = shifted_training_arrays(SEQUENCES, max_len=4)
    np.testing.assert_array_equal(inputs, [[2, 3, 4, 5], [0, 0, 0, 7], [0, 0, 3, 1]])  # [9] has no target
    np.testing.assert_array_equal(targets, [[3, 4, 5, 6], [0, 0, 0, 8], [0, 0, 1, 2]])
    assert inputs.dtype == targets.dtype == np.int32


def test_training_dataset_batches_and_shapes() -> None:
    dataset = training_dataset(SEQUENCES, max_len=4, batch_size=2, seed=0, shuffle=False)
    batches = list(dataset.as_numpy_iterator())
    assert [inputs.shape for inputs, _ in batches] == [(2, 4), (1, 4)]
    assert all(inputs.dtype == np.int32 and targets.dtype == np.int32 for inputs, targets in batches)
    np.testing.assert_array_equal(batches[0][1][1], [0, 0, 0, 8])


def test_shuffling_is_seeded_and_keeps_pairs_together() -> None:
    sequences = [np.array([item, item + 100]) for item in range(1, 21)]

    def first_epoch(seed: int) -> list[tuple[int, int]]:
        batches = training_dataset(sequences, max_len=1, batch_size=4, seed=seed).as_numpy_iterator()
        return [
            (int(i), int(t))
            for inputs, targets in batches
            for i, t in zip(inputs[:, 0], targets[:, 0], strict=True)
        ]

    assert first_epoch(1) == first_epoch(1)
    assert first_epoch(1) != first_epoch(2)
    assert sorted(first_epoch(1)) == [(item, item + 100) for item in range(1, 21)]


def test_training_dataset_refuses_nothing_to_learn() -> None:
    with pytest.raises(ValueError, match="2 or more items"):
        training_dataset([np.array([1])], max_len=4, batch_size=2, seed=0)
