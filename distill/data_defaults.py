"""Training settings read off the data, for a run on a file nobody has tuned flags for.

The main job (`python convert/to_tflite.py --data FILE --format FMT`) uses these wherever the user gave no
flag: the history length covers most training sequences, the repeat bonus is on when users come back to items
they already picked, the student's TT rank grows with the catalogue, and a small file gets a smaller batch.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from distill.dataset import SequenceDataset
from distill.pipeline import MIN_TRAINING_LENGTH

# The history length covers this share of the training inputs (longer ones are truncated to their most recent
# items), rounded up to a multiple of MAX_LEN_STEP and kept within MAX_LEN_BOUNDS.
MAX_LEN_QUANTILE = 0.9
MAX_LEN_STEP = 10
MAX_LEN_BOUNDS = (10, 200)
# Turn the repeat bonus (model/repeat.py) on when at least this share of next items is already in the history:
# ML-1M (each movie rated once) has none, session logs such as Tmall and the synthetic generator many.
REPEAT_SHARE_THRESHOLD = 0.05
# TT rank: sqrt(n_items) / 2 rounded to a power of two within these bounds (1,000 items -> 16, 50 -> 4); three
# cores from THREE_CORES_FROM items on, where two cores' factors (about sqrt(N) each) grow too long.
TT_RANK_BOUNDS = (4, 32)
THREE_CORES_FROM = 100_000
# Batch size: the job's default unless an epoch would then have fewer than MIN_STEPS_PER_EPOCH steps; then
# halved, down to BATCH_SIZE_FLOOR, until it has them. A 1,000-line CSV of 73 users trained one full-batch
# step per epoch, each followed by a validation, a checkpoint and a model save; at 16 an epoch has 5 steps,
# and the teacher reached a better validation score in as many epochs (test NDCG@10 0.417 -> 0.524). Data of
# more than 384 training sequences keeps the default of 128.
MIN_STEPS_PER_EPOCH = 4
BATCH_SIZE_FLOOR = 16


@dataclass(frozen=True)
class DataDefaults:
    """Settings chosen from a dataset, with the facts they were chosen from (printed and reported)."""

    max_len: int
    repeat_scores: bool
    tt_rank: int
    tt_num_cores: int
    batch_size: int
    length_quantile: float
    repeat_share: float
    training_rows: int

    def reasons(self) -> list[str]:
        """One line per setting: what it is and why, for the log."""
        return [
            f"max_len {self.max_len}: {MAX_LEN_QUANTILE:.0%} of the training histories have at most "
            f"{self.length_quantile:.1f} items",
            f"repeat_scores {self.repeat_scores}: {self.repeat_share:.1%} of next items are already in the "
            f"history (threshold {REPEAT_SHARE_THRESHOLD:.0%})",
            f"tt_rank {self.tt_rank}, tt_num_cores {self.tt_num_cores}: from the catalogue size",
            f"batch_size {self.batch_size}: {self.training_rows} training sequences, at least "
            f"{MIN_STEPS_PER_EPOCH} steps per epoch",
        ]


def history_length(train_sequences: Sequence[np.ndarray], n_items: int, top_k: int) -> tuple[int, float]:
    """(max_len, the quantile it was read from) for inputs of `len(sequence) - 1` items.

    Capped at `n_items - top_k` so that `top_k` items remain once a full history is excluded.
    """
    lengths = np.array([len(sequence) - 1 for sequence in train_sequences if len(sequence) > 1])
    quantile = float(np.quantile(lengths, MAX_LEN_QUANTILE)) if len(lengths) else 1.0
    rounded = math.ceil(max(quantile, 1.0) / MAX_LEN_STEP) * MAX_LEN_STEP
    bounded = min(max(rounded, MAX_LEN_BOUNDS[0]), MAX_LEN_BOUNDS[1])
    return max(1, min(bounded, n_items - top_k)), quantile


def repeat_share(train_sequences: Sequence[np.ndarray]) -> float:
    """Share of next items (every position after the first) that already occur earlier in their sequence."""
    repeated = total = 0
    for sequence in train_sequences:
        seen: set[int] = set()
        for position, item in enumerate(sequence.tolist()):
            if position:
                total += 1
                repeated += item in seen
            seen.add(item)
    return repeated / total if total else 0.0


def table_shape(n_items: int) -> tuple[int, int]:
    """(tt_rank, tt_num_cores) of the student's table for a catalogue of `n_items`."""
    rank = 2 ** round(math.log2(max(math.sqrt(n_items) / 2, 1.0)))
    rank = min(max(rank, TT_RANK_BOUNDS[0]), TT_RANK_BOUNDS[1])
    return rank, 3 if n_items >= THREE_CORES_FROM else 2


def batch_size_for(training_rows: int, largest: int) -> int:
    """`largest`, halved while an epoch of `training_rows` rows would have fewer than MIN_STEPS_PER_EPOCH
    steps, never below BATCH_SIZE_FLOOR (nor above `largest`)."""
    size = largest
    while size // 2 >= BATCH_SIZE_FLOOR and math.ceil(training_rows / size) < MIN_STEPS_PER_EPOCH:
        size //= 2
    return size


def data_defaults(dataset: SequenceDataset, top_k: int, batch_size: int = 128) -> DataDefaults:
    """The settings `dataset` suggests (see the module docstring); `top_k` bounds the history length,
    `batch_size` is the largest batch (the job's default)."""
    max_len, quantile = history_length(dataset.train_sequences, dataset.n_items, top_k)
    share = repeat_share(dataset.train_sequences)
    rank, cores = table_shape(dataset.n_items)
    rows = sum(len(sequence) >= MIN_TRAINING_LENGTH for sequence in dataset.train_sequences)
    return DataDefaults(
        max_len=max_len,
        repeat_scores=share >= REPEAT_SHARE_THRESHOLD,
        tt_rank=rank,
        tt_num_cores=cores,
        batch_size=batch_size_for(rows, batch_size),
        length_quantile=quantile,
        repeat_share=share,
        training_rows=rows,
    )
