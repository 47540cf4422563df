"""Parsers for the benchmark file formats; they return ORIGINAL ids as strings and never re-index.

Every parser reads plain or gzip files (detected by magic bytes, so a gzip without `.gz` works), ignores a
UTF-8 byte order mark at the start of the file (spreadsheets write one), skips blank lines, and reports any
problem as a `DataFormatError` naming the file and the 1-based line. A missing file raises
`FileNotFoundError`.
"""

from __future__ import annotations

import csv
import gzip
import math
import os
import re
import zlib
from collections.abc import Iterator
from typing import BinaryIO

GZIP_MAGIC = b"\x1f\x8b"
_NON_NEGATIVE_INTEGER = re.compile(r"[0-9]+", re.ASCII)
_NEGATIVE_INTEGER = re.compile(r"-[0-9]+", re.ASCII)
_NUMBER = re.compile(r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?", re.ASCII)
# Longer digit strings are not timestamps; the bound also keeps int() far from Python's digit limit.
_MAX_TIMESTAMP_DIGITS = 20
_ID_FORBIDDEN = re.compile(r"[\t\r\n]")

PathLike = str | os.PathLike[str]


class DataFormatError(ValueError):
    """A data file that does not follow its documented format."""


def open_binary(path: PathLike) -> BinaryIO:
    """Opens `path` for reading, decompressing transparently when its first bytes are the gzip magic."""
    stream = open(path, "rb")
    if stream.peek(2)[:2] == GZIP_MAGIC:
        return gzip.GzipFile(fileobj=stream, mode="rb")  # type: ignore[return-value]
    return stream


def _numbered_lines(path: PathLike, encoding: str = "utf-8") -> Iterator[tuple[int, str]]:
    """Yields (1-based line number, text without the line break) for non-blank lines."""
    line_number = 0
    try:
        with open_binary(path) as stream:
            for line_number, raw in enumerate(stream, start=1):
                try:
                    text = raw.decode(encoding)
                except UnicodeDecodeError as error:
                    raise DataFormatError(
                        f"{path}:{line_number}: not valid {encoding} text ({error.reason}); "
                        "check the file is the right one and not binary"
                    ) from error
                text = text.rstrip("\r\n")
                if line_number == 1:
                    text = text.removeprefix("\ufeff")
                if text.strip():
                    yield line_number, text
    except (OSError, EOFError, zlib.error) as error:
        if isinstance(error, FileNotFoundError):
            raise
        raise DataFormatError(
            f"{path}:{line_number + 1}: cannot read the file ({error}); "
            "a gzip file may be truncated or corrupt"
        ) from error


def _fail(path: PathLike, line_number: int, problem: str, fix: str) -> DataFormatError:
    return DataFormatError(f"{path}:{line_number}: {problem}; {fix}")


def _integer_id(token: str, path: PathLike, line_number: int, what: str) -> str:
    """Canonical string of a non-negative integer id ("007" -> "7"), so equal ids compare equal."""
    if _NON_NEGATIVE_INTEGER.fullmatch(token):
        return token.lstrip("0") or "0"
    if _NEGATIVE_INTEGER.fullmatch(token):
        raise _fail(path, line_number, f"negative {what} {token!r}", "ids must be integers >= 0")
    raise _fail(path, line_number, f"{what} {token!r} is not an integer", "ids in this format are integers")


def _timestamp(token: str, path: PathLike, line_number: int) -> float:
    if not _NUMBER.fullmatch(token) or len(token) > _MAX_TIMESTAMP_DIGITS:
        raise _fail(path, line_number, f"timestamp {token!r} is not a number", "use unix seconds")
    timestamp = float(token)
    if not math.isfinite(timestamp):
        raise _fail(path, line_number, f"timestamp {token!r} overflows a float", "use unix seconds")
    return timestamp


def _require_records(count: int, path: PathLike) -> None:
    if count == 0:
        raise DataFormatError(f"{path}: no records found; the file is empty or holds only blank lines")


def load_user_item(path: PathLike) -> dict[str, list[str]]:
    """Reads SASRec-format `user item` lines (chronological within a user) into user -> items in file order.

    Raises:
        DataFormatError: wrong column count, non-integer or negative id, or no records.
    """
    sequences: dict[str, list[str]] = {}
    for line_number, text in _numbered_lines(path):
        fields = text.split()
        if len(fields) != 2:
            raise _fail(
                path,
                line_number,
                f"expected 2 columns 'user item', found {len(fields)}",
                "use --format sessions or csv for other layouts",
            )
        user = _integer_id(fields[0], path, line_number, "user id")
        item = _integer_id(fields[1], path, line_number, "item id")
        sequences.setdefault(user, []).append(item)
    _require_records(len(sequences), path)
    return sequences


def load_sessions(path: PathLike) -> list[list[str]]:
    """Reads SR-GNN text training sessions: one session per line, space-separated item ids, in click order.

    Raises:
        DataFormatError: non-integer or negative id, or no sessions.
    """
    sessions = [
        [_integer_id(token, path, line_number, "item id") for token in text.split()]
        for line_number, text in _numbered_lines(path)
    ]
    _require_records(len(sessions), path)
    return sessions


def load_session_test(path: PathLike) -> list[tuple[list[str], str]]:
    """Reads SR-GNN text test examples `prefix items<TAB>target`: predict target after the prefix.

    Raises:
        DataFormatError: a line without exactly one tab, an empty prefix, a bad id, or no examples.
    """
    examples: list[tuple[list[str], str]] = []
    for line_number, text in _numbered_lines(path):
        fields = text.split("\t")
        if len(fields) != 2:
            raise _fail(
                path,
                line_number,
                f"expected 'prefix<TAB>target', found {len(fields)} tab-separated fields",
                "separate the prefix items by spaces and the target by one tab",
            )
        prefix = [_integer_id(token, path, line_number, "item id") for token in fields[0].split()]
        target_tokens = fields[1].split()
        if not prefix or len(target_tokens) != 1:
            raise _fail(
                path,
                line_number,
                "a test example needs at least one prefix item and exactly one target",
                "drop examples with an empty history",
            )
        examples.append((prefix, _integer_id(target_tokens[0], path, line_number, "target item id")))
    _require_records(len(examples), path)
    return examples


def load_movielens_ratings(path: PathLike) -> dict[str, list[str]]:
    """Reads MovieLens ratings, `ratings.dat` (`user::item::rating::timestamp`) or `u.data` (tab-separated).

    The separator is taken from the first record. Each user's items are ordered by timestamp; same-second ties
    are broken by item id (numerically), which is the order of the SASRec-style derived files.

    Raises:
        DataFormatError: wrong column count, bad id, rating or timestamp, or no records.
    """
    events: dict[str, list[tuple[float, int, str]]] = {}
    separator: str | None = None
    for line_number, text in _numbered_lines(path):
        if separator is None:
            separator = "::" if "::" in text else "whitespace"
        fields = text.split("::") if separator == "::" else text.split()
        if len(fields) != 4:
            raise _fail(
                path,
                line_number,
                f"expected 4 fields 'user item rating timestamp', found {len(fields)}",
                "MovieLens files are 'user::item::rating::timestamp' or tab-separated",
            )
        fields = [field.strip() for field in fields]
        user = _integer_id(fields[0], path, line_number, "user id")
        item = _integer_id(fields[1], path, line_number, "item id")
        if not _NUMBER.fullmatch(fields[2]):
            raise _fail(path, line_number, f"rating {fields[2]!r} is not a number", "check the column order")
        timestamp = _timestamp(fields[3], path, line_number)
        # Canonical ids have no leading zeros, so (length, digits) is numeric order without int(), which
        # refuses ids over 4300 digits.
        events.setdefault(user, []).append((timestamp, len(item), item))
    _require_records(len(events), path)
    return {user: [item for _, _, item in sorted(rows)] for user, rows in events.items()}


def load_csv(path: PathLike) -> dict[str, list[str]]:
    """Reads a CSV with a header naming `user`, `item` and `timestamp` (any order, extra columns ignored).

    Ids are free-form strings (no tabs or newlines). Each user's items are sorted by timestamp, ties keeping
    file order (stable sort). Quoted fields may not span lines.

    Raises:
        DataFormatError: missing header columns, wrong column count, empty id, bad timestamp, or no records.
    """
    events: dict[str, list[tuple[float, str]]] = {}
    columns: dict[str, int] | None = None
    width = 0
    for line_number, text in _numbered_lines(path):
        try:
            fields = [field.strip() for field in next(csv.reader([text]))]
        except csv.Error as error:
            raise _fail(
                path, line_number, f"not a CSV line ({error})", "quote fields that contain commas"
            ) from error
        if columns is None:
            missing = {"user", "item", "timestamp"} - set(fields)
            if missing:
                raise _fail(
                    path,
                    line_number,
                    f"header lacks {sorted(missing)}",
                    "the first line must name the columns user,item,timestamp",
                )
            repeated = sorted(name for name in ("user", "item", "timestamp") if fields.count(name) > 1)
            if repeated:
                raise _fail(
                    path, line_number, f"header names {repeated} more than once", "name each column once"
                )
            columns = {name: fields.index(name) for name in ("user", "item", "timestamp")}
            width = len(fields)
            continue
        if len(fields) != width:
            raise _fail(
                path,
                line_number,
                f"expected {width} columns like the header, found {len(fields)}",
                "every row needs the same columns as the header",
            )
        user, item = fields[columns["user"]], fields[columns["item"]]
        for what, value in (("user", user), ("item", item)):
            if not value or _ID_FORBIDDEN.search(value):
                raise _fail(
                    path,
                    line_number,
                    f"{what} id {value!r} is empty or holds a tab or newline",
                    "ids must be non-empty single-line strings",
                )
        timestamp = _timestamp(fields[columns["timestamp"]], path, line_number)
        events.setdefault(user, []).append((timestamp, item))
    _require_records(len(events), path)
    # sorted() is stable and the key is the timestamp alone, so ties keep file order.
    return {user: [item for _, item in sorted(rows, key=lambda row: row[0])] for user, rows in events.items()}


def load_item_map(path: PathLike) -> dict[str, str]:
    """Reads a two-column TSV with a header, `new_id<TAB>original_id` (`ml-1m_sasrec_style_item_map.tsv`).

    Raises:
        DataFormatError: wrong column count, bad id, duplicated new id, or no records.
    """
    mapping: dict[str, str] = {}
    header_seen = False
    for line_number, text in _numbered_lines(path):
        fields = text.split("\t")
        if len(fields) != 2:
            raise _fail(
                path,
                line_number,
                f"expected 2 tab-separated columns, found {len(fields)}",
                "the map is 'new_id<TAB>original_id' with one header line",
            )
        if not header_seen:
            header_seen = True
            continue
        new_id = _integer_id(fields[0].strip(), path, line_number, "item id")
        if new_id in mapping:
            raise _fail(path, line_number, f"item id {new_id} is mapped twice", "each id must appear once")
        mapping[new_id] = _integer_id(fields[1].strip(), path, line_number, "original item id")
    _require_records(len(mapping), path)
    return mapping


def _load_titles(path: PathLike, separator: str, min_fields: int) -> dict[str, str]:
    titles: dict[str, str] = {}
    for line_number, text in _numbered_lines(path, encoding="latin-1"):
        fields = text.split(separator)
        if len(fields) < min_fields:
            raise _fail(
                path,
                line_number,
                f"expected at least {min_fields} {separator!r}-separated fields, found {len(fields)}",
                "is this the MovieLens movie list of the right version?",
            )
        item = _integer_id(fields[0].strip(), path, line_number, "movie id")
        # movies.dat is `id::title::genres`; joining the middle keeps a title that contains the separator.
        title = separator.join(fields[1:-1]) if separator == "::" else fields[1]
        titles[item] = title.strip()
    _require_records(len(titles), path)
    return titles


def load_ml1m_titles(path: PathLike) -> dict[str, str]:
    """Reads ML-1M `movies.dat` (`MovieID::Title::Genres`, ISO-8859-1) into MovieID -> title."""
    return _load_titles(path, "::", 3)


def load_ml100k_titles(path: PathLike) -> dict[str, str]:
    """Reads ML-100K `u.item` (`|`-separated, ISO-8859-1, title in column 2) into item id -> title."""
    return _load_titles(path, "|", 3)
