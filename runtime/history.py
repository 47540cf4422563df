"""History pre-processing shared by every consumer: id mapping, validation and left padding.

Pure numpy so it can be unit-tested without a model and mirrored line by line in the JVM and browser code.
"""

from collections.abc import Sequence
from typing import Literal, Protocol

import numpy as np

PADDING_ID = 0
UNKNOWN_POLICIES = ("skip", "error")


class HistoryError(ValueError):
    """Base class of every error about a user history (caught as one family by callers and fuzz tests)."""


class InvalidItemIdError(HistoryError):
    """An internal item id outside 1..n_items, or a malformed encoded history, would reach the interpreter."""


class EmptyHistoryError(HistoryError):
    """A history with no real item: the model has nothing to condition on, so we refuse rather than guess."""


class UnknownItemError(HistoryError):
    """Original item ids that the vocab does not know."""

    def __init__(self, unknown_ids: Sequence[str]) -> None:
        self.unknown_ids = list(unknown_ids)
        super().__init__(
            f"{len(self.unknown_ids)} history item id(s) are not in the vocab: {self.unknown_ids[:10]}"
            f"{' ...' if len(self.unknown_ids) > 10 else ''}; pass unknown='skip' (--unknown skip) "
            "to drop them"
        )


class VocabLike(Protocol):
    """The part of `runtime.vocab.Vocab` that id mapping needs."""

    @property
    def n_items(self) -> int: ...

    def to_internal(self, original_id: str) -> int | None: ...


def check_item_ids(item_ids: Sequence[int] | np.ndarray, n_items: int | None = None) -> None:
    """Raises `InvalidItemIdError` unless every id is an integer in 1..n_items (1.. when n_items is None)."""
    values = np.asarray(item_ids)
    if values.size == 0:
        return
    if not np.issubdtype(values.dtype, np.integer):
        raise InvalidItemIdError(f"item ids must be integers, got dtype {values.dtype}")
    upper = np.iinfo(np.int64).max if n_items is None else n_items
    invalid = values[(values < 1) | (values > upper)]
    if invalid.size:
        allowed = "1.." + ("" if n_items is None else str(n_items))
        raise InvalidItemIdError(
            f"item ids must be internal ids in {allowed} (0 is padding), got {invalid[:10].tolist()}; "
            "map original ids through the vocab first"
        )


def encode_history(item_ids: Sequence[int], max_len: int, n_items: int | None = None) -> np.ndarray:
    """Left-pads (or truncates) a chronological history to the model's fixed input length.

    Args:
        item_ids: internal item ids, oldest first.
        max_len: the model's input length L.
        n_items: when given, ids above it are refused too.

    Returns:
        int32 `[max_len]`: zeros in front, the most recent item at index `max_len - 1`.

    Raises:
        ValueError: max_len < 1.
        InvalidItemIdError: an id outside 1..n_items.
    """
    if max_len < 1:
        raise ValueError(f"max_len must be >= 1, got {max_len}")
    check_item_ids(item_ids, n_items)
    recent = np.asarray(item_ids, dtype=np.int64)[-max_len:]
    encoded = np.zeros(max_len, dtype=np.int32)
    if recent.size:
        encoded[max_len - recent.size :] = recent
    return encoded


def encode_batch(prefixes: Sequence[Sequence[int]], max_len: int, n_items: int | None = None) -> np.ndarray:
    """`encode_history` for each prefix. Returns int32 `[len(prefixes), max_len]`."""
    encoded = np.zeros((len(prefixes), max_len), dtype=np.int32)
    for row, prefix in enumerate(prefixes):
        encoded[row] = encode_history(prefix, max_len, n_items)
    return encoded


def check_encoded_history(history: np.ndarray, max_len: int, n_items: int) -> np.ndarray:
    """Validates an encoded history right before inference and returns it as int32 `[max_len]`.

    Raises:
        InvalidItemIdError: wrong shape, non-integer dtype, or ids outside 0..n_items.
        EmptyHistoryError: every position is padding.
    """
    history = np.asarray(history)
    if history.shape != (max_len,):
        raise InvalidItemIdError(
            f"history must have shape [{max_len}] (the model's max_len), got {list(history.shape)}; "
            "use runtime.history.encode_history to pad or truncate it"
        )
    if not np.issubdtype(history.dtype, np.integer):
        raise InvalidItemIdError(f"history must hold integer item ids, got dtype {history.dtype}")
    out_of_range = history[(history < PADDING_ID) | (history > n_items)]
    if out_of_range.size:
        raise InvalidItemIdError(
            f"history holds ids outside 0..{n_items} (0 is padding): {out_of_range[:10].tolist()}"
        )
    if not np.any(history != PADDING_ID):
        raise EmptyHistoryError(
            "the history has no real item (all padding); there is nothing to recommend from, "
            "so show a popularity list instead"
        )
    return history.astype(np.int32)


def check_original_ids(original_ids: Sequence[str | int] | np.ndarray) -> list[str]:
    """Original ids as strings, from a sequence (list, tuple, 1-D numpy array) of strings or integers.

    A plain string is refused: iterating it would silently use its characters as ids ("1193 661" -> "1",
    "1", "9", ...).

    Raises:
        InvalidItemIdError: a string or bytes, a non-sequence, a multi-dimensional array, or an element that
            is neither a string nor an integer (bools and floats included).
    """
    if isinstance(original_ids, str | bytes):
        raise InvalidItemIdError(
            f"the history must be a sequence of ids, got the single string {original_ids[:40]!r}; "
            "split it first, e.g. history.split()"
        )
    if isinstance(original_ids, np.ndarray):
        if original_ids.ndim != 1 or original_ids.dtype.kind not in "iuU":
            raise InvalidItemIdError(
                f"a history array must be 1-D of integers or strings, got shape {list(original_ids.shape)} "
                f"and dtype {original_ids.dtype}"
            )
        original_ids = original_ids.tolist()
    if not isinstance(original_ids, Sequence):
        raise InvalidItemIdError(
            f"the history must be a sequence of ids (list or tuple), got {type(original_ids).__name__}"
        )
    ids = []
    for value in original_ids:
        if isinstance(value, str):
            ids.append(value)
        elif isinstance(value, int | np.integer) and not isinstance(value, bool):
            ids.append(str(int(value)))
        else:
            raise InvalidItemIdError(
                f"history ids must be strings or integers, got {value!r} ({type(value).__name__})"
            )
    return ids


def map_original_history(
    original_ids: Sequence[str | int] | np.ndarray,
    vocab: VocabLike,
    unknown: Literal["skip", "error"] = "skip",
) -> tuple[list[int], list[str]]:
    """Maps original (user-data) item ids to internal ids through the vocab.

    Args:
        original_ids: original ids, oldest first (see `check_original_ids` for the accepted types).
        vocab: the export's vocab.
        unknown: "skip" drops ids the vocab does not know (and returns them); "error" refuses them.

    Returns:
        (internal ids in the same order, the skipped original ids).

    Raises:
        ValueError: unknown is not "skip" or "error".
        UnknownItemError: unknown == "error" and some ids are not in the vocab.
        InvalidItemIdError: `original_ids` of the wrong type (e.g. one string).
    """
    if unknown not in UNKNOWN_POLICIES:
        raise ValueError(f"unknown must be one of {UNKNOWN_POLICIES}, got {unknown!r}")
    original_ids = check_original_ids(original_ids)
    internal_ids: list[int] = []
    skipped: list[str] = []
    for original_id in original_ids:
        internal_id = vocab.to_internal(original_id)
        if internal_id is None:
            skipped.append(original_id)
        else:
            internal_ids.append(internal_id)
    if skipped and unknown == "error":
        raise UnknownItemError(skipped)
    check_item_ids(internal_ids, vocab.n_items)
    return internal_ids, skipped
