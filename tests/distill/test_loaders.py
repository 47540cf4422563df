"""Tests of distill.loaders: every format on hand-written fixtures, malformed lines, and fuzzing."""

import gzip
import shutil
import string
import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from distill import loaders
from distill.loaders import DataFormatError

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "data"

PARSERS = {
    "user-item": loaders.load_user_item,
    "sessions": loaders.load_sessions,
    "session-test": loaders.load_session_test,
    "movielens": loaders.load_movielens_ratings,
    "csv": loaders.load_csv,
    "item-map": loaders.load_item_map,
    "ml-1m-titles": loaders.load_ml1m_titles,
    "ml-100k-titles": loaders.load_ml100k_titles,
}


def test_user_item_keeps_file_order_per_user() -> None:
    assert loaders.load_user_item(FIXTURES / "user_item.txt") == {
        "1": ["10", "12", "11", "13"],
        "2": ["12", "10"],
        "3": ["11"],
    }


def test_gzip_is_detected_by_magic_bytes_not_extension(tmp_path: Path) -> None:
    disguised = tmp_path / "user_item.txt"  # gzip content under a plain-text name
    disguised.write_bytes(gzip.compress((FIXTURES / "user_item.txt").read_bytes()))
    assert loaders.load_user_item(disguised) == loaders.load_user_item(FIXTURES / "user_item.txt")


def test_sessions_and_test_pairs() -> None:
    assert loaders.load_sessions(FIXTURES / "sessions_train.txt") == [
        ["1", "2", "3"],
        ["4", "5"],
        ["2", "3", "6", "1"],
    ]
    assert loaders.load_session_test(FIXTURES / "sessions_test.tsv") == [(["1", "2"], "3"), (["4"], "5")]


def test_movielens_orders_by_timestamp_then_item_id() -> None:
    assert loaders.load_movielens_ratings(FIXTURES / "ratings.dat") == {
        "1": ["10", "15", "20"],
        "2": ["30", "20"],
    }
    assert loaders.load_movielens_ratings(FIXTURES / "u.data") == {"7": ["10", "15", "20"], "8": ["30"]}


def test_csv_sorts_by_timestamp_keeping_file_order_for_ties() -> None:
    assert loaders.load_csv(FIXTURES / "interactions.csv") == {
        "alice": ["sku-a", "sku-b", "sku-c"],
        "bob": ["sku-a"],
    }


def test_item_map_and_titles_decode_latin_1() -> None:
    assert loaders.load_item_map(FIXTURES / "item_map.tsv") == {"1": "20", "2": "10"}
    assert loaders.load_ml1m_titles(FIXTURES / "movies.dat") == {
        "10": "Café Society (1995)",
        "20": "Heat (1995)",
    }
    assert loaders.load_ml100k_titles(FIXTURES / "u.item") == {
        "10": "Café Society (1995)",
        "20": "Heat (1995)",
    }


def test_ids_are_canonical_strings(tmp_path: Path) -> None:
    path = tmp_path / "padded.txt"
    path.write_text("01 007\n1 7\n")
    assert loaders.load_user_item(path) == {"1": ["7", "7"]}


@pytest.mark.parametrize(
    ("parser", "content", "line", "words"),
    [
        ("user-item", "1 2\n1 x\n", 2, "not an integer"),
        ("user-item", "1 2\n\n1 -3\n", 3, "negative"),
        ("user-item", "1 2 3\n", 1, "2 columns"),
        ("user-item", "1 ٣\n", 1, "not an integer"),  # a non-ASCII digit that int() would accept
        ("sessions", "1 2\n3 4.5\n", 2, "not an integer"),
        ("session-test", "1 2\t3\n1 2 3\n", 2, "prefix<TAB>target"),
        ("session-test", "\t3\n", 1, "at least one prefix item"),
        ("movielens", "1::2::3::4\n1::2::3\n", 2, "4 fields"),
        ("movielens", "1\t2\t3\tsoon\n", 1, "timestamp"),
        ("movielens", "1\t2\tgood\t4\n", 1, "rating"),
        ("csv", "user,item\n", 1, "header lacks"),
        ("csv", "user,item,timestamp\na,b,1\na,b\n", 3, "columns"),
        ("csv", "user,item,timestamp\na,,1\n", 2, "empty"),
        ("csv", "user,item,timestamp\na,b,yesterday\n", 2, "timestamp"),
        ("item-map", "item_id\tMovieID\n1\t2\n1\t3\n", 3, "mapped twice"),
        ("ml-1m-titles", "1::Title\n", 1, "at least 3"),
        ("user-item", "1 2\n\xff\xfe 1\n", 2, "utf-8"),
    ],
)
def test_malformed_lines_name_file_and_line(
    tmp_path: Path, parser: str, content: str, line: int, words: str
) -> None:
    path = tmp_path / "bad.txt"
    path.write_bytes(content.encode("utf-8") if "\xff" not in content else content.encode("latin-1"))
    with pytest.raises(DataFormatError, match=rf"bad\.txt:{line}: .*{words}"):
        PARSERS[parser](path)


@pytest.mark.parametrize("parser", sorted(PARSERS))
@pytest.mark.parametrize("content", [b"", b"\n  \n\n"])
def test_empty_file_is_an_error_naming_it(tmp_path: Path, parser: str, content: bytes) -> None:
    path = tmp_path / "empty.txt"
    path.write_bytes(content)
    with pytest.raises(DataFormatError, match=r"empty\.txt: no records"):
        PARSERS[parser](path)


def test_truncated_gzip_is_a_data_format_error(tmp_path: Path) -> None:
    path = tmp_path / "cut.txt.gz"
    path.write_bytes(gzip.compress(b"1 2\n" * 1000)[:30])
    with pytest.raises(DataFormatError, match=r"cut\.txt\.gz:\d+: cannot read"):
        loaders.load_user_item(path)


def test_missing_file_is_file_not_found(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        loaders.load_user_item(tmp_path / "absent.txt")


_TOKENS = st.sampled_from(
    ["1", "22", "0", "-4", "x", "3.5", "::", "|", ",", "\t", " ", "", "٣", "1e3", '"', "\r"]
)
_NEAR_VALID_LINE = st.lists(_TOKENS, max_size=6).map("".join)
_NEAR_VALID_FILE = st.lists(_NEAR_VALID_LINE, max_size=6).map(lambda lines: "\n".join(lines).encode("utf-8"))


def _parse_or_format_error(parser: str, content: bytes, compress: bool) -> None:
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "fuzz.txt"
        path.write_bytes(gzip.compress(content) if compress else content)
        try:
            PARSERS[parser](path)
        except DataFormatError:
            pass


@settings(max_examples=60, deadline=None)
@given(
    parser=st.sampled_from(sorted(PARSERS)),
    content=st.one_of(
        st.binary(max_size=64), _NEAR_VALID_FILE, st.text(string.printable, max_size=64).map(str.encode)
    ),
    compress=st.booleans(),
)
def test_parsers_raise_only_data_format_error(parser: str, content: bytes, compress: bool) -> None:
    _parse_or_format_error(parser, content, compress)


@settings(max_examples=30, deadline=None)
@given(parser=st.sampled_from(sorted(PARSERS)), cut=st.integers(min_value=1, max_value=40))
def test_corrupt_gzip_raises_only_data_format_error(parser: str, cut: int) -> None:
    content = gzip.compress(b"1 2\n3 4\n" * 50)
    _parse_or_format_error(parser, content[:cut] + b"\x00garbage", compress=False)


def test_fixture_parsers_accept_their_own_gzip_copies(tmp_path: Path) -> None:
    plain = FIXTURES / "sessions_test.tsv"
    compressed = tmp_path / "sessions_test.tsv.gz"
    with open(plain, "rb") as source, gzip.open(compressed, "wb") as target:
        shutil.copyfileobj(source, target)
    assert loaders.load_session_test(compressed) == loaders.load_session_test(plain)
