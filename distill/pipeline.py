"""tf.data input pipeline: every position of a training sequence predicts its next item (SASRec objective)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import tensorflow as tf

from runtime import history

MIN_TRAINING_LENGTH = 2  # one input and one target


def shifted_training_arrays(sequences: Sequence[np.ndarray], max_len: int) -> tuple[np.ndarray, np.ndarray]:
    """Pads all training sequences once into next-item (inputs, targets) arrays.

    For a sequence s, inputs = s[:-1][-max_len:] and targets = s[1:][-max_len:], both LEFT-padded with 0 (the
    export's padding side), so the last position holds the most recent item. Padding positions have target 0,
    which the loss masks. Sequences shorter than 2 items have nothing to predict and are skipped.

    Returns:
        (inputs, targets), int32 `[n_sequences_kept, max_len]` each.

    Raises:
        ValueError: max_len < 1.
    """
    if max_len < 1:
        raise ValueError(f"max_len must be >= 1, got {max_len}")
    kept = [np.asarray(sequence) for sequence in sequences if len(sequence) >= MIN_TRAINING_LENGTH]
    inputs = np.zeros((len(kept), max_len), dtype=np.int32)
    targets = np.zeros((len(kept), max_len), dtype=np.int32)
    for row, sequence in enumerate(kept):
        recent_inputs = sequence[:-1][-max_len:]
        recent_targets = sequence[1:][-max_len:]
        inputs[row, max_len - len(recent_inputs) :] = recent_inputs
        targets[row, max_len - len(recent_targets) :] = recent_targets
    return inputs, targets


def training_dataset(
    sequences: Sequence[np.ndarray], max_len: int, batch_size: int, seed: int, shuffle: bool = True
) -> tf.data.Dataset:
    """Batches of `(inputs, targets)`, int32 `[batch, max_len]`, built from arrays padded once (no generator).

    Args:
        sequences: training sequences of internal ids, oldest first.
        max_len: model input length L.
        batch_size: sequences per batch; the last batch may be smaller.
        seed: shuffling seed (the order changes every epoch but is reproducible).
        shuffle: False keeps the input order (evaluation, tests).

    Raises:
        ValueError: no sequence has at least 2 items, or batch_size < 1.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    inputs, targets = shifted_training_arrays(sequences, max_len)
    if len(inputs) == 0:
        raise ValueError("no training sequence has 2 or more items; there is nothing to learn from")
    dataset = tf.data.Dataset.from_tensor_slices((inputs, targets))
    if shuffle:
        dataset = dataset.shuffle(len(inputs), seed=seed, reshuffle_each_iteration=True)
    return dataset.batch(batch_size).prefetch(tf.data.AUTOTUNE)


def encode_batch(prefixes: Sequence[Sequence[int]], max_len: int) -> np.ndarray:
    """Left-pads evaluation histories, keeping the most recent `max_len` items: int32 `[n, max_len]`.

    Delegates to `runtime.history.encode_batch`, so training-time evaluation encodes exactly like the device.
    """
    return history.encode_batch(prefixes, max_len)
