"""Every artifact writer replaces its file atomically: a crash in the middle of a write leaves the previous
file intact and no temporary file behind."""

import json
from pathlib import Path

import pytest

from runtime import atomic, sidecar, vocab
from runtime.atomic import atomic_path, atomic_write_bytes, atomic_write_text
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


def test_vocab_write_that_fails_midway_keeps_the_old_vocab(export_dir: Path, monkeypatch) -> None:
    path = export_dir / VOCAB_FILE
    before = path.read_bytes()
    real_fdopen = vocab.os.fdopen

    def half_written(descriptor, *args, **kwargs):
        stream = real_fdopen(descriptor, *args, **kwargs)

        def write(text: str) -> int:
            stream.buffer.write(text[: len(text) // 2].encode())
            raise _Crash("disk full")

        stream.write = write
        return stream

    monkeypatch.setattr(vocab.os, "fdopen", half_written)
    with pytest.raises(_Crash):
        write_vocab(path, tiny_vocab(prefix="new-"))
    assert path.read_bytes() == before and read_vocab(path) == tiny_vocab()
    assert _listing(export_dir) == sorted([MODEL_FILE, VOCAB_FILE, sidecar_path(MODEL_FILE).name])


def test_sidecar_write_that_fails_midway_keeps_the_old_sidecar(export_dir: Path, monkeypatch) -> None:
    model = export_dir / MODEL_FILE
    before = sidecar_path(model).read_bytes()

    def half_dump(fields, stream, **kwargs) -> None:
        stream.write(json.dumps(fields)[:40])
        raise _Crash("killed")

    monkeypatch.setattr(sidecar.json, "dump", half_dump)
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
