"""Bad and odd dataset files end to end (file -> parser -> split -> training arrays): each is handled by a
documented rule or refused with a `DataFormatError` naming the file and line. Complements test_loaders.py."""

import gzip
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from distill import loaders
from distill.dataset import leave_one_out
from distill.loaders import DataFormatError
from distill.pipeline import shifted_training_arrays, training_batches
from distill.registry import load_dataset

INT32_MAX, INT64_MAX = 2**31 - 1, 2**63 - 1
HUGE_IDS = [str(INT32_MAX + 1), str(INT64_MAX), str(2**64 + 7), "9" * 40]


@pytest.mark.parametrize("fmt", ["user-item", "movielens", "csv"])
def test_ids_beyond_int64_stay_exact_strings_and_internal_ids_stay_small(tmp_path: Path, fmt: str) -> None:
    rows = [("5", item, second) for second, item in enumerate(HUGE_IDS)]
    path = tmp_path / "big.txt"
    if fmt == "user-item":
        path.write_text("".join(f"{user} {item}\n" for user, item, _ in rows))
    elif fmt == "movielens":
        path.write_text("".join(f"{user}::{item}::4::{second}\n" for user, item, second in rows))
    else:
        path.write_text("user,item,timestamp\n" + "".join(f"{u},{i},{s}\n" for u, i, s in rows))
    dataset = load_dataset(path=str(path), fmt=fmt)
    assert dataset.vocab.original_ids == tuple(HUGE_IDS)  # numeric order, exact digits
    assert dataset.test_targets.dtype == np.int32 and dataset.n_items == len(HUGE_IDS)
    assert dataset.vocab.original_id(int(dataset.test_targets[0])) == HUGE_IDS[-1]


def test_an_id_longer_than_pythons_int_limit_is_not_a_crash(tmp_path: Path) -> None:
    path = tmp_path / "ratings.dat"
    path.write_text(f"1::{'9' * 5000}::3::5\n1::7::3::5\n")  # a same-second tie, broken numerically
    assert loaders.load_movielens_ratings(path) == {"1": ["7", "9" * 5000]}


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("\ufeffuser,item,timestamp", None),  # Excel's UTF-8 byte order mark
        ('"user","item","timestamp"', None),
        (" timestamp , item , user , rating ", None),  # any order, spaces, extra columns
        ("User,Item,Timestamp", r"big\.csv:1: header lacks \['item', 'timestamp', 'user'\]"),
        ("user,item,user,timestamp", r"big\.csv:1: header names \['user'\] more than once"),
        ("u,i,t", r"big\.csv:1: header lacks"),
    ],
)
def test_csv_header_variants(tmp_path: Path, header: str, expected: str | None) -> None:
    names = [name.strip().strip('"').lstrip("\ufeff").lower() for name in header.split(",")]
    values = {"user": "alice", "item": "sku-1", "timestamp": "10", "rating": "5"}
    row = ",".join(values.get(name, "x") for name in names)
    path = tmp_path / "big.csv"
    path.write_bytes(f"{header}\n{row}\n".encode())
    if expected is None:
        assert loaders.load_csv(path) == {"alice": ["sku-1"]}
    else:
        with pytest.raises(DataFormatError, match=expected):
            loaders.load_csv(path)


@pytest.mark.parametrize(
    ("parser", "content", "line"),
    [
        (loaders.load_csv, "user,item,timestamp\na,b,1\na,c,1e400\n", 3),
        (loaders.load_movielens_ratings, "1::2::3::4\n1::3::3::-1e999\n", 2),
    ],
)
def test_timestamps_that_overflow_a_float_are_refused(
    tmp_path: Path, parser, content: str, line: int
) -> None:
    path = tmp_path / "ts.txt"
    path.write_text(content)
    with pytest.raises(DataFormatError, match=rf"ts\.txt:{line}: timestamp .* overflows a float"):
        parser(path)


def test_header_only_csv_has_no_records(tmp_path: Path) -> None:
    path = tmp_path / "only.csv"
    path.write_text("user,item,timestamp\n\n")
    with pytest.raises(DataFormatError, match=r"only\.csv: no records"):
        loaders.load_csv(path)


_ROWS = st.lists(
    st.tuples(st.sampled_from("abc"), st.sampled_from(["x", "y", "z", "w"]), st.integers(0, 4)),
    min_size=1,
    max_size=25,
)


@settings(max_examples=40, deadline=None)
@given(rows=_ROWS)
def test_unsorted_csv_is_a_stable_sort_by_timestamp(rows: list[tuple[str, str, int]]) -> None:
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "events.csv"
        path.write_text("user,item,timestamp\n" + "".join(f"{u},{i},{t}\n" for u, i, t in rows))
        parsed = loaders.load_csv(path)
    for user in {u for u, _, _ in rows}:
        ordered = sorted((row for row in rows if row[0] == user), key=lambda row: row[2])
        assert parsed[user] == [item for _, item, _ in ordered]


@pytest.mark.parametrize(
    "corrupt",
    [
        lambda data: data[:-8] + bytes(8),  # wrong CRC and length in the trailer
        lambda data: data[:12] + bytes(b ^ 0xFF for b in data[12:20]) + data[20:],  # flipped deflate bytes
        lambda data: data + b"\x1f\x8bjunk",  # a second, broken gzip member
        lambda data: gzip.compress(data),  # gzip inside gzip: decompresses once to binary
    ],
    ids=["bad-trailer", "flipped-bytes", "broken-second-member", "double-gzip"],
)
def test_corrupted_gzip_is_a_data_format_error(tmp_path: Path, corrupt) -> None:
    path = tmp_path / "data.txt.gz"
    path.write_bytes(corrupt(gzip.compress(b"1 2\n1 3\n2 4\n" * 20)))
    with pytest.raises(DataFormatError, match=r"data\.txt\.gz:\d+: "):
        loaders.load_user_item(path)


def test_empty_gzip_has_no_records(tmp_path: Path) -> None:
    path = tmp_path / "empty.gz"
    path.write_bytes(gzip.compress(b""))
    with pytest.raises(DataFormatError, match=r"empty\.gz: no records"):
        loaders.load_user_item(path)


def test_single_interaction_users_train_only_and_teach_nothing_alone(tmp_path: Path) -> None:
    path = tmp_path / "users.txt"
    path.write_text("1 10\n2 11\n2 12\n2 13\n2 14\n")
    dataset = load_dataset(path=str(path), fmt="user-item")
    assert [len(sequence) for sequence in dataset.train_sequences] == [1, 2]  # user 1 wholly in training
    assert len(dataset.test_targets) == 1
    inputs, _ = shifted_training_arrays(dataset.train_sequences, max_len=3)
    assert len(inputs) == 1  # a single item has no next item to predict

    lonely = tmp_path / "lonely.txt"
    lonely.write_text("1 10\n2 11\n3 10\n")
    dataset = load_dataset(path=str(lonely), fmt="user-item")
    assert dataset.summary()["n_test"] == 0
    with pytest.raises(ValueError, match="no training sequence has 2 or more items"):
        training_batches(dataset.train_sequences, max_len=3, batch_size=2, seed=0)


def test_items_seen_only_as_test_targets_are_in_the_vocab_but_never_trained() -> None:
    dataset = leave_one_out("tiny", {"u1": ["1", "2", "3", "99"], "u2": ["2", "3", "1"]})
    only_in_test = dataset.vocab.to_internal("99")
    assert only_in_test is not None and int(dataset.test_targets[0]) == only_in_test
    assert all(only_in_test not in sequence for sequence in dataset.train_sequences)
    assert all(only_in_test not in prefix for prefix in dataset.valid_prefixes)


# Near-valid content: fragments of every format, ids past int32/int64 and Python's digit limit, BOM, headers.
_TOKENS = st.sampled_from(
    [
        "1",
        "7",
        "0",
        "-1",
        "x",
        "2.5",
        "1e400",
        "nan",
        str(INT32_MAX + 1),
        str(2**64),
        "9" * 4400,
        "::",
        "|",
        ",",
        "\t",
        " ",
        "\ufeff",
        '"',
        "user",
        "item",
        "timestamp",
        "\x00",
        "é",
    ]
)
_LINES = st.lists(st.lists(_TOKENS, max_size=8).map("".join), max_size=8)
_CONTENT = st.one_of(
    _LINES.map(lambda lines: "\n".join(lines).encode("utf-8")),
    _LINES.map(lambda lines: ("user,item,timestamp\n" + "\n".join(lines)).encode("utf-8")),
    st.binary(max_size=80),
)
# The split's own refusals (documented ValueErrors of distill.dataset) are clear errors too.
_SPLIT_REFUSALS = ("too few", "no users", "no items", "test examples can be evaluated")


@settings(max_examples=120, deadline=None)
@given(
    fmt=st.sampled_from(["user-item", "movielens", "csv", "sessions"]), content=_CONTENT, zipped=st.booleans()
)
def test_fuzz_whole_dataset_loading_raises_only_our_errors(fmt: str, content: bytes, zipped: bool) -> None:
    """Random and near-valid files through `load_dataset`: a split dataset, or an error naming the problem."""
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "fuzz.txt"
        path.write_bytes(gzip.compress(content) if zipped else content)
        argument = str(path)
        if fmt == "sessions":
            test_path = Path(directory) / "test.tsv"
            test_path.write_text("1 2\t3\n")
            argument = f"{path},{test_path}"
        try:
            dataset = load_dataset(path=argument, fmt=fmt)
        except DataFormatError as error:
            assert "fuzz.txt" in str(error)
            return
        except ValueError as error:
            assert type(error) is ValueError and any(words in str(error) for words in _SPLIT_REFUSALS), error
            return
    for sequence in (*dataset.train_sequences, dataset.test_targets, dataset.valid_targets):
        assert sequence.dtype == np.int32 and np.all((sequence >= 1) & (sequence <= dataset.n_items))
