"""Tests of runtime.vocab: the vocab.tsv contract of docs/artifacts.md."""

from pathlib import Path

import pytest

from runtime.vocab import HEADER, Vocab, VocabError, read_vocab, write_vocab


def test_ids_are_one_based_and_zero_is_padding() -> None:
    vocab = Vocab(("40", "2"), ("Forty", ""))
    assert vocab.n_items == 2
    assert vocab.to_internal("2") == 2
    assert vocab.to_internal("unknown") is None
    assert (vocab.original_id(1), vocab.title(1), vocab.title(2)) == ("40", "Forty", "")
    with pytest.raises(VocabError, match="0 is padding"):
        vocab.original_id(0)
    with pytest.raises(VocabError, match="outside 1..2"):
        vocab.title(3)


def test_write_read_round_trip_and_exact_bytes(tmp_path: Path) -> None:
    vocab = Vocab(("40", "sku 2", "Ω"), ("Heat (1995)", "", "Café"))
    path = tmp_path / "vocab.tsv"
    write_vocab(path, vocab)
    assert path.read_bytes() == f"{HEADER}\n1\t40\tHeat (1995)\n2\tsku 2\t\n3\tΩ\tCafé\n".encode()
    assert read_vocab(path) == vocab
    assert [entry.name for entry in tmp_path.iterdir()] == ["vocab.tsv"]  # no temporary file left behind


def test_tabs_and_newlines_in_titles_become_spaces(tmp_path: Path) -> None:
    path = tmp_path / "vocab.tsv"
    write_vocab(path, Vocab(("1",), ("a\tb\nc\r",)))
    assert read_vocab(path).titles == ("a b c ",)


@pytest.mark.parametrize(
    ("original_ids", "titles", "words"),
    [
        (("1", "1"), ("", ""), "duplicates"),
        (("1",), ("", ""), "one title per item"),
        (("a\tb",), ("",), "tabs"),
    ],
)
def test_invalid_vocab_is_refused(original_ids: tuple, titles: tuple, words: str) -> None:
    with pytest.raises(VocabError, match=words):
        Vocab(original_ids, titles)


@pytest.mark.parametrize(
    ("content", "where"),
    [
        (b"id\toriginal\n1\t2\t\n", "vocab.tsv:1: expected the header"),
        (f"{HEADER}\n1\t2\n".encode(), "vocab.tsv:2: expected 3"),
        (f"{HEADER}\n1\t2\t\n3\t4\t\n".encode(), "vocab.tsv:3: internal id '3' should be 2"),
        (f"{HEADER}\n1\t2\t\n2\t2\t\n".encode(), "vocab.tsv:3: original id '2' appears twice"),
        (f"{HEADER}\n1\t\tx\n".encode(), "vocab.tsv:2: empty original id"),
        (f"{HEADER}\n".encode(), "vocab.tsv: no items"),
        (b"\xff\xfe", "vocab.tsv: not UTF-8"),
    ],
)
def test_malformed_file_names_file_and_line(tmp_path: Path, content: bytes, where: str) -> None:
    path = tmp_path / "vocab.tsv"
    path.write_bytes(content)
    with pytest.raises(VocabError, match=where):
        read_vocab(path)


def test_vocab_module_does_not_need_numpy_or_tensorflow() -> None:
    import runtime.vocab

    source = Path(runtime.vocab.__file__).read_text()
    assert "import numpy" not in source and "tensorflow" not in source
