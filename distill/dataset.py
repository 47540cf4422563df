"""Splits user or session sequences into train / validation / test over contiguous internal item ids.

Rules (the contract other modules rely on):
- Item re-indexing: the items seen are numbered 1..N in sorted original-id order, numerically when every
  original id is an integer, lexicographically otherwise; 0 stays padding. The same input always gives
  the same ids.
- Leave-one-out (users): for a user with >= 3 items, train = seq[:-2], validation = (seq[:-2] -> seq[-2]),
  test = (seq[:-1] -> seq[-1]). Users with fewer than 3 items go wholly into training (SASRec's rule).
- Sessions: the last `valid_fraction` of the training sessions (file order) become validation, each expanded
  into every (prefix of length >= 1 -> next item) pair; the rest are training sequences. The vocabulary is
  built from all training-file sessions; a test example holding any item outside it is dropped and counted in
  `n_test_dropped` (the real Tmall and RetailRocket files have none).
Validation is for model selection; test data never influences training or selection.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from runtime.vocab import Vocab

LEAVE_ONE_OUT = "leave-one-out"
SESSION = "session"
MIN_LEAVE_ONE_OUT_LENGTH = 3


@dataclass(frozen=True)
class SequenceDataset:
    """A split dataset in internal ids (int32, 1..n_items, chronological).

    Attributes:
        name: dataset name, e.g. "ml-1m".
        split: "leave-one-out" or "session".
        vocab: internal id <-> original id and title.
        train_sequences: training sequences, each `[length]` int32.
        valid_prefixes / valid_targets: validation histories and the item to predict, `[n_valid]`.
        test_prefixes / test_targets: test histories and the item to predict, `[n_test]`.
        n_test_dropped: test examples dropped because they hold items unseen in training (session split only).
    """

    name: str
    split: str
    vocab: Vocab
    train_sequences: tuple[np.ndarray, ...]
    valid_prefixes: tuple[np.ndarray, ...]
    valid_targets: np.ndarray
    test_prefixes: tuple[np.ndarray, ...]
    test_targets: np.ndarray
    n_test_dropped: int = 0

    @property
    def n_items(self) -> int:
        """Number of real items; scores have `n_items + 1` columns (column 0 = padding)."""
        return self.vocab.n_items

    def summary(self) -> dict[str, object]:
        """Counts, average lengths and the share of test targets already in their prefix (repeats), for logs
        and reports."""
        pairs = zip(self.test_prefixes, self.test_targets, strict=True)
        repeats = [target in prefix for prefix, target in pairs]
        train_lengths = [len(sequence) for sequence in self.train_sequences]
        test_lengths = [len(prefix) for prefix in self.test_prefixes]
        return {
            "name": self.name,
            "split": self.split,
            "n_items": self.n_items,
            "n_train_sequences": len(self.train_sequences),
            "n_train_interactions": int(sum(train_lengths)),
            "avg_train_length": float(np.mean(train_lengths)) if train_lengths else 0.0,
            "n_valid": len(self.valid_prefixes),
            "n_test": len(self.test_prefixes),
            "avg_test_prefix_length": float(np.mean(test_lengths)) if test_lengths else 0.0,
            "n_test_dropped": self.n_test_dropped,
            "test_target_in_prefix": float(np.mean(repeats)) if repeats else 0.0,
        }


def _sorted_item_ids(original_ids: Iterable[str]) -> list[str]:
    unique = set(original_ids)
    if all(original_id.isascii() and original_id.isdigit() for original_id in unique):
        # Numeric order without int(): by digit count, then digits; leading zeros only break exact ties.
        return sorted(unique, key=lambda digits: (len(digits.lstrip("0")), digits.lstrip("0"), digits))
    return sorted(unique)


def build_vocab(original_ids: Iterable[str], titles: Mapping[str, str] | None = None) -> Vocab:
    """Vocabulary of the given items, numbered by this module's re-indexing rule; missing titles are ''."""
    ordered = _sorted_item_ids(original_ids)
    titles = titles or {}
    return Vocab(tuple(ordered), tuple(titles.get(original_id, "") for original_id in ordered))


def _to_internal(vocab: Vocab, items: Sequence[str]) -> np.ndarray:
    return np.fromiter((vocab.to_internal(item) for item in items), dtype=np.int32, count=len(items))


def leave_one_out(
    name: str, user_sequences: Mapping[str, Sequence[str]], titles: Mapping[str, str] | None = None
) -> SequenceDataset:
    """Leave-one-out split of chronological per-user sequences (see the module docstring for the rules).

    Args:
        name: dataset name.
        user_sequences: user -> original item ids, oldest first; users keep their mapping order.
        titles: optional original id -> title.

    Raises:
        ValueError: when there are no users or a user has no items.
    """
    if not user_sequences:
        raise ValueError(f"dataset {name!r} has no users; check the input file")
    for user, items in user_sequences.items():
        if not items:
            raise ValueError(
                f"dataset {name!r}: user {user!r} has no items; drop empty users before splitting"
            )
    vocab = build_vocab((item for items in user_sequences.values() for item in items), titles)
    train, valid_prefixes, valid_targets, test_prefixes, test_targets = [], [], [], [], []
    for items in user_sequences.values():
        sequence = _to_internal(vocab, items)
        if len(sequence) < MIN_LEAVE_ONE_OUT_LENGTH:
            train.append(sequence)
            continue
        train.append(sequence[:-2])
        valid_prefixes.append(sequence[:-2])
        valid_targets.append(sequence[-2])
        test_prefixes.append(sequence[:-1])
        test_targets.append(sequence[-1])
    return SequenceDataset(
        name=name,
        split=LEAVE_ONE_OUT,
        vocab=vocab,
        train_sequences=tuple(train),
        valid_prefixes=tuple(valid_prefixes),
        valid_targets=np.asarray(valid_targets, dtype=np.int32),
        test_prefixes=tuple(test_prefixes),
        test_targets=np.asarray(test_targets, dtype=np.int32),
    )


def from_sessions(
    name: str,
    train_sessions: Sequence[Sequence[str]],
    test_pairs: Sequence[tuple[Sequence[str], str]],
    valid_fraction: float = 0.1,
) -> SequenceDataset:
    """Session split (see the module docstring): validation = the last sessions of the training file.

    Args:
        name: dataset name.
        train_sessions: training sessions of original item ids, in file (time) order.
        test_pairs: (prefix, target) test examples in original ids.
        valid_fraction: share of the training sessions, taken from the end, used for validation; at least one.

    Raises:
        ValueError: `valid_fraction` outside (0, 1), or too few sessions to keep one for training.
    """
    if not 0.0 < valid_fraction < 1.0:
        raise ValueError(f"valid_fraction={valid_fraction} must be in (0, 1), e.g. 0.1")
    n_valid_sessions = math.ceil(len(train_sessions) * valid_fraction)
    if len(train_sessions) - n_valid_sessions < 1:
        raise ValueError(
            f"dataset {name!r} has {len(train_sessions)} training sessions: too few to keep "
            f"{n_valid_sessions} for validation and at least one for training"
        )
    vocab = build_vocab(item for session in train_sessions for item in session)
    boundary = len(train_sessions) - n_valid_sessions
    train = tuple(_to_internal(vocab, session) for session in train_sessions[:boundary])
    valid_prefixes, valid_targets = [], []
    for session in train_sessions[boundary:]:
        sequence = _to_internal(vocab, session)
        for end in range(1, len(sequence)):
            valid_prefixes.append(sequence[:end])
            valid_targets.append(sequence[end])
    test_prefixes, test_targets, n_test_dropped = [], [], 0
    for prefix, target in test_pairs:
        if vocab.to_internal(target) is None or any(vocab.to_internal(item) is None for item in prefix):
            n_test_dropped += 1
            continue
        test_prefixes.append(_to_internal(vocab, prefix))
        test_targets.append(vocab.to_internal(target))
    if test_pairs and not test_targets:
        raise ValueError(
            f"dataset {name!r}: none of its {len(test_pairs)} test examples can be evaluated (every one has "
            "a target or a prefix item that never occurs in the training sessions); check that the test file "
            "belongs to this training file (--data TRAIN,TEST)"
        )
    return SequenceDataset(
        name=name,
        split=SESSION,
        vocab=vocab,
        train_sequences=train,
        valid_prefixes=tuple(valid_prefixes),
        valid_targets=np.asarray(valid_targets, dtype=np.int32),
        test_prefixes=tuple(test_prefixes),
        test_targets=np.asarray(test_targets, dtype=np.int32),
        n_test_dropped=n_test_dropped,
    )
