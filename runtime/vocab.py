"""Item vocabulary (internal id <-> original id and title), read and written as an export's `vocab.tsv`."""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from pathlib import Path

from runtime.atomic import atomic_write_text

HEADER = "internal_id\toriginal_id\ttitle"
_FORBIDDEN_IN_ID = ("\t", "\n", "\r")


class VocabError(ValueError):
    """A vocabulary file or value that breaks the `vocab.tsv` contract (docs/artifacts.md)."""


@dataclass(frozen=True)
class Vocab:
    """Items of one dataset; internal id `i` (1..n_items) is `original_ids[i - 1]`, and 0 is padding.

    Attributes:
        original_ids: the ids as they appear in the user's data, in internal id order.
        titles: one title per item (may be empty), same order.
    """

    original_ids: tuple[str, ...]
    titles: tuple[str, ...]

    def __post_init__(self) -> None:
        if len(self.titles) != len(self.original_ids):
            raise VocabError(
                f"titles has {len(self.titles)} entries but original_ids has {len(self.original_ids)}; "
                "pass one title per item (use '' when unknown)"
            )
        for original_id in self.original_ids:
            if not original_id or any(character in original_id for character in _FORBIDDEN_IN_ID):
                raise VocabError(
                    f"original id {original_id!r} must be non-empty and free of tabs and newlines"
                )
        if len(set(self.original_ids)) != len(self.original_ids):
            raise VocabError("original_ids contains duplicates; every item must appear once")

    @property
    def n_items(self) -> int:
        """Number of real items (padding not counted)."""
        return len(self.original_ids)

    @functools.cached_property
    def _internal_by_original(self) -> dict[str, int]:
        # Built lazily once: a frozen dataclass still has an instance __dict__ for cached_property.
        return {original_id: index + 1 for index, original_id in enumerate(self.original_ids)}

    def to_internal(self, original_id: str) -> int | None:
        """Internal id of `original_id`, or None for an item the model has never seen."""
        return self._internal_by_original.get(original_id)

    def original_id(self, internal: int) -> str:
        """Original id of internal id `internal` (1..n_items)."""
        return self.original_ids[self._index(internal)]

    def title(self, internal: int) -> str:
        """Title of internal id `internal` (1..n_items); may be empty."""
        return self.titles[self._index(internal)]

    def _index(self, internal: int) -> int:
        if not 1 <= internal <= self.n_items:
            raise VocabError(
                f"internal id {internal} is outside 1..{self.n_items} (0 is padding, not an item)"
            )
        return internal - 1


def _clean_title(title: str) -> str:
    """The TSV has no quoting, so tabs and newlines inside titles become spaces (contract rule)."""
    return title.replace("\t", " ").replace("\r", " ").replace("\n", " ")


def write_vocab(path: str | os.PathLike[str], vocab: Vocab) -> None:
    """Writes `vocab` as `vocab.tsv` atomically, so a reader never sees a half-written file.

    Raises:
        OSError: when the folder is not writable.
    """
    path = Path(path)
    lines = [HEADER]
    lines += [
        f"{internal}\t{original_id}\t{_clean_title(title)}"
        for internal, (original_id, title) in enumerate(zip(vocab.original_ids, vocab.titles, strict=True), 1)
    ]
    atomic_write_text(path, "\n".join(lines) + "\n")


def read_vocab(path: str | os.PathLike[str]) -> Vocab:
    """Reads a `vocab.tsv` written by `write_vocab` (or any consumer following docs/artifacts.md).

    Raises:
        VocabError: naming the file and 1-based line of the first malformed line.
        FileNotFoundError: when `path` does not exist.
    """
    return parse_vocab(Path(path).read_bytes(), path)


def parse_vocab(content: bytes, path: str | os.PathLike[str]) -> Vocab:
    """The vocab in `content`, the bytes of the `vocab.tsv` at `path` (named in errors); a caller that has
    hashed the bytes parses exactly those.

    Raises:
        VocabError: naming the file and 1-based line of the first malformed line.
    """
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError as error:
        raise VocabError(f"{path}: not UTF-8 ({error}); re-export the vocabulary with write_vocab") from error
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    if not lines or lines[0].rstrip("\r") != HEADER:
        raise VocabError(
            f"{path}:1: expected the header {HEADER!r}; is this a vocab.tsv from an export folder?"
        )
    original_ids: list[str] = []
    titles: list[str] = []
    seen: set[str] = set()
    for line_number, line in enumerate(lines[1:], start=2):
        fields = line.rstrip("\r").split("\t")
        expected_id = line_number - 1
        if len(fields) != 3:
            raise VocabError(f"{path}:{line_number}: expected 3 tab-separated fields, found {len(fields)}")
        if fields[0] != str(expected_id):
            raise VocabError(
                f"{path}:{line_number}: internal id {fields[0]!r} should be {expected_id}; "
                "lines must list ids 1..n_items in order"
            )
        if not fields[1]:
            raise VocabError(f"{path}:{line_number}: empty original id")
        if fields[1] in seen:
            raise VocabError(f"{path}:{line_number}: original id {fields[1]!r} appears twice")
        seen.add(fields[1])
        original_ids.append(fields[1])
        titles.append(fields[2])
    if not original_ids:
        raise VocabError(f"{path}: no items after the header; a vocabulary needs at least one item")
    return Vocab(tuple(original_ids), tuple(titles))
