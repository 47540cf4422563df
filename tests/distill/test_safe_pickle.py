"""Tests of distill.safe_pickle: builtin data loads, anything needing a global is refused before it runs."""

import gzip
import pickle
import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from distill.loaders import DataFormatError
from distill.safe_pickle import UnsafePickleError, load_pickle
from tests.distill.standin_data import REAL_DATA, needs_real_data, write_sessions


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


REAL_RETAILROCKET = REAL_DATA / "retailrocket"


@pytest.mark.parametrize(
    "source", ["standin", pytest.param("real", marks=needs_real_data)], ids=["standin", "real"]
)
def test_sr_gnn_pickle_matches_its_text_version(source: str, tmp_path: Path) -> None:
    """The SR-GNN pickle `test.txt.gz` (RetailRocket's, or the stand-in's) holds the text file's examples."""
    from distill.loaders import load_session_test

    folder = REAL_RETAILROCKET
    if source == "standin":
        write_sessions(tmp_path, "retailrocket", seed=5)
        folder = tmp_path / "retailrocket"
    prefixes, targets = load_pickle(folder / "test.txt.gz")
    text = load_session_test(folder / "test_prefix_target.tsv.gz")
    assert (
        text
        and [
            ([str(item) for item in prefix], str(target))
            for prefix, target in zip(prefixes, targets, strict=True)
        ]
        == text
    )


class _CallsEval:
    """`__reduce__` to builtins.eval: the classic code-execution pickle."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple:
        return (eval, (f"open({str(self.marker)!r}, 'w').close()",))


# Hand-written opcode streams that reach a global by every route the pickle protocols offer.
_GLOBAL_ROUTES = {
    "protocol-0 GLOBAL": b"cbuiltins\neval\n(S'1'\ntR.",
    "protocol-0 INST": b"(S'1'\nibuiltins\neval\n.",
    "protocol-4 STACK_GLOBAL": b"\x80\x04\x8c\x08builtins\x94\x8c\x04eval\x94\x93\x8c\x011\x85R.",
    "OBJ of a class": b"\x80\x02(cbuiltins\nobject\no.",
    "copyreg reconstructor": pickle.dumps(Path("x")),
    "nested inside a list": b"\x80\x02]q\x00(K\x01cos\nsystem\nq\x01e.",
}


@pytest.mark.parametrize("compress", [False, True], ids=["plain", "gzip"])
def test_reduce_to_builtins_eval_is_refused_plain_and_gzipped(tmp_path: Path, compress: bool) -> None:
    marker = tmp_path / "pwned"
    payload = pickle.dumps(_CallsEval(marker))
    path = tmp_path / "evil.pkl"
    path.write_bytes(gzip.compress(payload) if compress else payload)
    with pytest.raises(UnsafePickleError, match=r"evil\.pkl: .*global builtins\.eval"):
        load_pickle(path)
    assert not marker.exists()


@pytest.mark.parametrize("payload", list(_GLOBAL_ROUTES.values()), ids=list(_GLOBAL_ROUTES))
def test_every_route_to_a_global_is_refused(tmp_path: Path, payload: bytes) -> None:
    path = tmp_path / "route.pkl"
    path.write_bytes(payload)
    with pytest.raises(UnsafePickleError, match="refusing to load it"):
        load_pickle(path)


@pytest.mark.parametrize(
    "payload",
    [b"\x80\x02Pabc\n.", b"\x80\x02\x82\x07.", b"(" * 100_000 + b".", b"\x80\x05\x95" + b"\xff" * 8],
    ids=["persistent-id", "unregistered-extension", "deep-nesting", "huge-frame"],
)
def test_other_hostile_opcodes_are_data_format_errors(tmp_path: Path, payload: bytes) -> None:
    path = tmp_path / "odd.pkl"
    path.write_bytes(payload)
    with pytest.raises(DataFormatError, match=r"odd\.pkl"):
        load_pickle(path)


@settings(max_examples=80, deadline=None)
@given(
    payload=st.one_of(
        st.binary(max_size=64),
        st.lists(st.sampled_from(list(_GLOBAL_ROUTES.values()) + [pickle.dumps([1, "a"])]), min_size=1).map(
            lambda parts: b"".join(part[:-1] for part in parts) + b"."
        ),
    ),
    compress=st.booleans(),
)
def test_fuzz_load_pickle_raises_only_data_format_error(payload: bytes, compress: bool) -> None:
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "fuzz.pkl"
        path.write_bytes(gzip.compress(payload) if compress else payload)
        try:
            load_pickle(path)
        except DataFormatError:
            pass
