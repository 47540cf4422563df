"""Every artifact writer replaces its file atomically: a crash in the middle of a write leaves the previous
file intact and no temporary file behind."""

import errno
import os
from pathlib import Path

import pytest

from runtime import atomic
from runtime.atomic import (
    OutputWriteError,
    atomic_path,
    atomic_write_bytes,
    atomic_write_text,
    staged_folder,
    write_error,
)
from runtime.sidecar import load_sidecar, sidecar_path, write_sidecar
from runtime.vocab import read_vocab, write_vocab
from tests.runtime.conftest import MODEL_FILE, VOCAB_FILE, sidecar_fields, tiny_vocab


class _Crash(RuntimeError):
    pass


def _listing(folder: Path) -> list[str]:
    return sorted(entry.name for entry in folder.iterdir())


def test_atomic_write_keeps_the_old_file_when_the_write_fails(tmp_path: Path, monkeypatch) -> None:
    target = tmp_path / "metrics.json"
    atomic_write_text(target, '{"old": true}')

    def crash(descriptor: int) -> None:
        raise _Crash("power cut before the data reached the disk")

    monkeypatch.setattr(atomic.os, "fsync", crash)
    with pytest.raises(_Crash):
        atomic_write_bytes(target, b'{"new": tr')
    assert target.read_text() == '{"old": true}' and _listing(tmp_path) == ["metrics.json"]


def test_atomic_path_keeps_the_old_file_when_the_block_fails(tmp_path: Path) -> None:
    target = tmp_path / "model.weights.h5"
    target.write_bytes(b"good weights")
    with pytest.raises(_Crash):
        with atomic_path(target) as temporary:
            temporary.write_bytes(b"half of the new")
            raise _Crash
    assert target.read_bytes() == b"good weights" and _listing(tmp_path) == ["model.weights.h5"]


def _crash_after_half_the_bytes(monkeypatch) -> None:
    """Every atomic write dies after writing half its data, as a full disk or a kill would leave it."""
    real_open = open

    def half_open(path, mode="r", *args, **kwargs):
        stream = real_open(path, mode, *args, **kwargs)
        if "w" in mode:
            original = stream.write

            def write(data: bytes) -> int:
                original(data[: len(data) // 2])
                raise _Crash("disk full")

            stream.write = write
        return stream

    monkeypatch.setattr(atomic, "open", half_open, raising=False)


def test_vocab_write_that_fails_midway_keeps_the_old_vocab(export_dir: Path, monkeypatch) -> None:
    path = export_dir / VOCAB_FILE
    before = path.read_bytes()
    _crash_after_half_the_bytes(monkeypatch)
    with pytest.raises(_Crash):
        write_vocab(path, tiny_vocab(prefix="new-"))
    monkeypatch.undo()
    assert path.read_bytes() == before and read_vocab(path) == tiny_vocab()
    assert _listing(export_dir) == sorted([MODEL_FILE, VOCAB_FILE, sidecar_path(MODEL_FILE).name])


def test_sidecar_write_that_fails_midway_keeps_the_old_sidecar(export_dir: Path, monkeypatch) -> None:
    model = export_dir / MODEL_FILE
    before = sidecar_path(model).read_bytes()
    _crash_after_half_the_bytes(monkeypatch)
    with pytest.raises(_Crash):
        write_sidecar(model, {**sidecar_fields(), "metrics": {"HR@10": 0.5}})
    monkeypatch.undo()
    assert sidecar_path(model).read_bytes() == before
    assert load_sidecar(model)["metrics"] == {}
    assert _listing(export_dir) == sorted([MODEL_FILE, VOCAB_FILE, sidecar_path(MODEL_FILE).name])


@pytest.mark.parametrize("module", ["runtime.bench", "runtime.evaluate"])
def test_cli_json_reports_are_written_atomically(module: str) -> None:
    source = Path(__import__(module, fromlist=["x"]).__file__).read_text()
    assert "atomic_write_text(options.json" in source and 'open(options.json, "w"' not in source


def _contents(folder: Path) -> dict[str, bytes]:
    return {str(path.relative_to(folder)): path.read_bytes() for path in folder.rglob("*") if path.is_file()}


def test_staged_folder_leaves_the_old_folder_identical_when_the_block_fails(tmp_path: Path) -> None:
    target = tmp_path / "export"
    (target / "models").mkdir(parents=True)
    (target / "vocab.tsv").write_text("old vocab")
    (target / "models" / "weights").write_bytes(b"\x00\x01")
    before = _contents(target)
    with pytest.raises(_Crash):
        with staged_folder(target, carry=("models",)) as staging:
            (staging / "vocab.tsv").write_text("new vocab")
            raise _Crash("the converter failed")
    assert _contents(target) == before
    assert _listing(tmp_path) == ["export"]  # no staging folder left behind


def test_staged_folder_swaps_in_the_new_files_and_carries_named_entries(tmp_path: Path) -> None:
    target = tmp_path / "export"
    (target / "models").mkdir(parents=True)
    (target / "models" / "weights").write_bytes(b"trained")
    (target / "stale.tflite").write_bytes(b"from an older export")
    with staged_folder(target, carry=("models", "absent")) as staging:
        (staging / "vocab.tsv").write_text("new vocab")
    assert _contents(target) == {"vocab.tsv": b"new vocab", "models/weights": b"trained"}
    assert _listing(tmp_path) == ["export"]
    with staged_folder(tmp_path / "fresh") as staging:
        (staging / "a").write_text("a")
    assert _contents(tmp_path / "fresh") == {"a": b"a"}


def test_a_full_disk_is_one_line_naming_the_file_and_keeps_the_old_one(tmp_path: Path, monkeypatch) -> None:
    target = tmp_path / "metrics.json"
    atomic_write_text(target, '{"old": true}')

    def disk_full(descriptor: int) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(atomic.os, "fsync", disk_full)
    with pytest.raises(OutputWriteError) as raised:
        atomic_write_text(target, '{"new": true}')
    message = str(raised.value)
    assert raised.value.errno == errno.ENOSPC and "\n" not in message
    assert f"cannot write {target} (No space left on device); the disk is full: free space" in message
    assert target.read_text() == '{"old": true}' and _listing(tmp_path) == ["metrics.json"]


def test_a_staging_folder_that_cannot_be_made_leaves_the_target_alone(tmp_path: Path, monkeypatch) -> None:
    target = tmp_path / "export"
    target.mkdir()
    (target / "vocab.tsv").write_text("old vocab")

    def no_space(*args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(atomic.tempfile, "mkdtemp", no_space)
    with pytest.raises(OutputWriteError, match=f"cannot write {target} .*the disk is full"):
        with staged_folder(target):
            pass
    assert _contents(target) == {"vocab.tsv": b"old vocab"} and _listing(tmp_path) == ["export"]


@pytest.mark.parametrize(
    "error_number, advice",
    [(errno.EFBIG, "ulimit -f"), (errno.EACCES, "a folder you may write to"), (None, "check the disk")],
)
def test_write_errors_say_what_to_do(error_number, advice) -> None:
    error = write_error("out/x.json", error_number, "reason\nwith a line break")
    assert isinstance(error, OSError) and advice in str(error) and "\n" not in str(error)
    assert str(error).startswith("[Errno")
    assert "cannot write out/x.json (reason with a line break)" in str(error)
