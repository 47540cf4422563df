"""Tests of distill.safe_pickle: builtin data loads, anything needing a global is refused before it runs."""

import gzip
import pickle
from pathlib import Path

import pytest

from distill.loaders import DataFormatError
from distill.safe_pickle import UnsafePickleError, load_pickle


class _WritesMarker:
    """Unpickling this with the standard Unpickler would call os.system and create a marker file."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple:
        import os

        return (os.system, (f"touch {self.marker}",))


def test_builtin_containers_load_from_plain_and_gzip(tmp_path: Path) -> None:
    data = ([[1, 2, 3], [4]], [5, 6], {"umap": {1: 0}}, "text", 2.5, None, True)
    plain, compressed = tmp_path / "data.pkl", tmp_path / "data.txt"
    plain.write_bytes(pickle.dumps(data, protocol=4))
    compressed.write_bytes(gzip.compress(pickle.dumps(data, protocol=2)))
    assert load_pickle(plain) == data
    assert load_pickle(compressed) == data


def test_malicious_pickle_is_refused_and_nothing_runs(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.pkl"
    path.write_bytes(pickle.dumps(_WritesMarker(marker)))
    with pytest.raises(UnsafePickleError, match=r"evil\.pkl: .*global (posix|os|nt)\.system"):
        load_pickle(path)
    assert not marker.exists()


def test_truncated_pickle_is_a_data_format_error(tmp_path: Path) -> None:
    path = tmp_path / "cut.pkl"
    path.write_bytes(pickle.dumps(list(range(100)))[:20])
    with pytest.raises(DataFormatError, match=r"cut\.pkl: not a readable pickle"):
        load_pickle(path)


REAL_RETAILROCKET = Path(__file__).resolve().parents[3] / "shared" / "data" / "retailrocket"


@pytest.mark.skipif(not REAL_RETAILROCKET.is_dir(), reason=f"benchmark data not found at {REAL_RETAILROCKET}")
def test_real_sr_gnn_pickle_matches_its_text_version() -> None:
    from distill.loaders import load_session_test

    prefixes, targets = load_pickle(REAL_RETAILROCKET / "test.txt.gz")
    text = load_session_test(REAL_RETAILROCKET / "test_prefix_target.tsv.gz")
    assert [
        ([str(item) for item in prefix], str(target))
        for prefix, target in zip(prefixes, targets, strict=True)
    ] == text
