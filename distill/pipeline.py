"""tf.data input pipeline: every position of a training sequence predicts its next item (SASRec objective)."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import tensorflow as tf

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


@dataclass(frozen=True, eq=False)
class EpochBatches:
    """Training batches whose order is a pure function of `(seed, epoch)`, never of how many epochs this
    process has already run: a run resumed at epoch e sees exactly the batches an uninterrupted run sees.

    Attributes:
        inputs / targets: int32 `[n_sequences, max_len]` from `shifted_training_arrays`.
        batch_size: sequences per batch; the last batch of every epoch may be smaller.
        seed: shuffling seed.
        shuffle: False keeps the input order in every epoch.
        row_extras: a function of a batch's row indices giving tensors with one entry per row of the batch
            (the teacher's cached targets, distill.teacher_cache); when given, every batch is
            `(inputs, targets, row_extras(rows))`.
    """

    inputs: np.ndarray
    targets: np.ndarray
    batch_size: int
    seed: int
    shuffle: bool = True
    row_extras: Callable[[tf.Tensor], Mapping[str, tf.Tensor]] | None = None

    @property
    def steps_per_epoch(self) -> int:
        return math.ceil(len(self.inputs) / self.batch_size)

    def order(self, epoch: int | tf.Tensor) -> tf.Tensor:
        """The row permutation of epoch `epoch`, int32 `[n_sequences]` (stateless: no hidden RNG state)."""
        count = len(self.inputs)
        if not self.shuffle:
            return tf.range(count, dtype=tf.int32)
        seed = tf.stack([tf.constant(self.seed, tf.int64), tf.cast(epoch, tf.int64)])
        return tf.argsort(tf.random.stateless_uniform([count], seed=seed), stable=True)

    def epochs(self, first_epoch: int, end_epoch: int) -> tf.data.Dataset:
        """Batches of epochs `first_epoch .. end_epoch - 1` back to back, `steps_per_epoch` batches each.

        Use with `model.fit(..., initial_epoch=first_epoch, epochs=end_epoch, steps_per_epoch=...)`: the
        cardinality is unknown, so Keras keeps one iterator across epochs instead of restarting it.
        """
        inputs, targets = tf.constant(self.inputs), tf.constant(self.targets)

        def one_epoch(epoch: tf.Tensor) -> tf.data.Dataset:
            return tf.data.Dataset.from_tensor_slices(self.order(epoch)).batch(self.batch_size)

        def gather(rows: tf.Tensor) -> tuple:
            batch = (tf.gather(inputs, rows), tf.gather(targets, rows))
            if self.row_extras is None:
                return batch
            return (*batch, self.row_extras(rows))

        return (
            tf.data.Dataset.range(first_epoch, end_epoch)
            .flat_map(one_epoch)
            .map(gather, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
            .prefetch(tf.data.AUTOTUNE)
        )


def training_batches(
    sequences: Sequence[np.ndarray], max_len: int, batch_size: int, seed: int, shuffle: bool = True
) -> EpochBatches:
    """Pads the sequences once into resumable, epoch-indexed batches (see `EpochBatches`).

    Raises:
        ValueError: no sequence has at least 2 items, or batch_size < 1.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    inputs, targets = shifted_training_arrays(sequences, max_len)
    if len(inputs) == 0:
        raise ValueError("no training sequence has 2 or more items; there is nothing to learn from")
    return EpochBatches(inputs, targets, batch_size, seed, shuffle)


def training_dataset(
    sequences: Sequence[np.ndarray], max_len: int, batch_size: int, seed: int, shuffle: bool = True
) -> tf.data.Dataset:
    """Batches of `(inputs, targets)`, int32 `[batch, max_len]`, built from arrays padded once (no generator).

    Iterated directly (e.g. by `keras.Model.fit`), the order changes every epoch and is reproducible from the
    start of a process. `distill.training.fit` instead trains from the `EpochBatches` attached as
    `.epoch_batches`, so a run resumed at epoch e sees the same order as one that never stopped.

    Args:
        sequences: training sequences of internal ids, oldest first.
        max_len: model input length L.
        batch_size: sequences per batch; the last batch may be smaller.
        seed: shuffling seed.
        shuffle: False keeps the input order (evaluation, tests).

    Raises:
        ValueError: no sequence has at least 2 items, or batch_size < 1.
    """
    batches = training_batches(sequences, max_len, batch_size, seed, shuffle)
    dataset = tf.data.Dataset.from_tensor_slices((batches.inputs, batches.targets))
    if shuffle:
        dataset = dataset.shuffle(len(batches.inputs), seed=seed, reshuffle_each_iteration=True)
    dataset = dataset.batch(batch_size).prefetch(tf.data.AUTOTUNE)
    # A plain attribute, so existing callers keep passing the dataset to `fit` unchanged.
    dataset.epoch_batches = batches
    return dataset
