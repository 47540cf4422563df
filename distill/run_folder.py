"""A run owns its output folder: an OS lock against concurrent runs, and a record of what it trains on.

Without this, a second dataset with the same item count silently resumed the first one's checkpoint, and two
runs on one folder raced inside TensorFlow. The record (`run.json`: the run's config and a fingerprint of its
data) is what a later run must match to resume; anything else is refused unless the caller overwrites.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import json
import os
import shutil
from collections.abc import Iterator, Mapping
from pathlib import Path

import numpy as np

from distill.dataset import SequenceDataset
from runtime.atomic import atomic_write_text

RUN_RECORD = "run.json"
# Settings that may change between a run and its resume: they extend or shorten training, not what is trained.
RESUMABLE_SETTINGS = ("epochs", "patience", "checkpoint_share")
# Settings added after folders were first written, with the value those folders ran at: a record without
# one matches a run at that value (a folder of an older version stays resumable), and only that value.
ADDED_SETTINGS = {"item_order": "natural", "monitor": "all", "weight_decay": 0.0}
ARTIFACTS_DIR = Path("artifacts")
SHORT_HASH_LENGTH = 10


class RunFolderError(RuntimeError):
    """An output folder that this run may not use: locked by another run, or holding another run's work."""


def data_fingerprint(dataset: SequenceDataset) -> str:
    """sha256 of the split name, the training sequences and the vocabulary's original ids.

    Two datasets with the same item count but different interactions or ids get different fingerprints.
    """
    digest = hashlib.sha256()
    digest.update(dataset.split.encode())
    for sequence in dataset.train_sequences:
        values = np.asarray(sequence, dtype=np.int64)
        digest.update(len(values).to_bytes(8, "little"))
        digest.update(values.tobytes())
    for original_id in dataset.vocab.original_ids:
        encoded = original_id.encode()
        digest.update(len(encoded).to_bytes(8, "little"))
        digest.update(encoded)
    return digest.hexdigest()


def file_content_hash(paths: list[Path]) -> str:
    """Short sha256 of the files' bytes, in order (used to name a default folder after the data)."""
    digest = hashlib.sha256()
    for path in paths:
        with open(path, "rb") as stream:
            for block in iter(lambda: stream.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()[:SHORT_HASH_LENGTH]


def default_out_dir(dataset_name: str, data: str | None, role: str | None) -> Path:
    """`artifacts/<dataset>/<role>` for a named dataset; `artifacts/<stem>-<hash>/<role>` for a file; without
    a role, the dataset's folder itself (the main job's export folder).

    A file of one's own is named by its stem and a hash of its content, so two different files (or one file
    edited) never share a folder, and never land in a named dataset's folder.

    Args:
        dataset_name: the `--dataset` name (used when `data` is None).
        data: the `--data` value: a path, or "TRAIN,TEST" for sessions.
        role: "teacher" or "student", or None.
    """
    if data is None:
        folder = ARTIFACTS_DIR / dataset_name
    else:
        paths = [Path(part) for part in data.split(",") if part]
        stem = paths[0].name.split(".")[0] or "data"
        folder = ARTIFACTS_DIR / f"{stem}-{file_content_hash(paths)}"
    return folder / role if role else folder


def lock_path(folder: Path) -> Path:
    """The lock file of `folder`: a hidden sibling, so it survives replacing or emptying the folder."""
    return folder.parent / f".{folder.name}.lock"


@contextlib.contextmanager
def folder_lock(folder: str | os.PathLike[str]) -> Iterator[Path]:
    """Holds an exclusive `flock` on `folder`'s lock file for the block; the OS drops it if the process dies.

    Yields:
        The folder as an absolute path.

    Raises:
        RunFolderError: another process holds the lock (the message names its pid), or `folder` is a file.
    """
    folder = Path(folder).resolve()
    if folder.exists() and not folder.is_dir():
        raise RunFolderError(f"{folder} exists and is not a folder; give a folder path as --out")
    folder.parent.mkdir(parents=True, exist_ok=True)
    path = lock_path(folder)
    handle = open(path, "a+")
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as error:
            if error.errno not in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                raise
            handle.seek(0)
            holder = handle.read().strip() or "unknown"
            raise RunFolderError(
                f"{folder} is in use by another run (pid {holder}, lock {path}); wait for it to finish or "
                "choose another --out"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        yield folder
    finally:
        handle.close()  # closing the descriptor releases the flock


def _differences(recorded: Mapping, wanted: Mapping, prefix: str = "") -> list[str]:
    """Dotted names of the settings whose values differ (RESUMABLE_SETTINGS ignored)."""
    names = []
    for key in sorted(set(recorded) | set(wanted)):
        if key in RESUMABLE_SETTINGS:
            continue
        old, new = recorded.get(key, ADDED_SETTINGS.get(key)), wanted.get(key)
        if isinstance(old, Mapping) and isinstance(new, Mapping):
            names += _differences(old, new, f"{prefix}{key}.")
        elif old != new:
            names.append(f"{prefix}{key} ({old!r} in the folder, {new!r} now)")
    return names


def claim_run_folder(folder: Path, config: Mapping, fingerprint: str, overwrite: bool) -> None:
    """Makes `folder` this run's: resumable only if its record matches `config` and `fingerprint`.

    Call it while holding `folder_lock(folder)`. With `overwrite`, the folder's contents are deleted first.
    `config` must be JSON-serialisable (the configs' `to_dict()`).

    Raises:
        RunFolderError: the folder holds another run's work (a different config or data, or files without a
            record); the message names what differs and how to start again.
    """
    record_path = folder / RUN_RECORD
    if overwrite and folder.exists():
        shutil.rmtree(folder)
    wanted = json.loads(json.dumps({"config": config, "data_fingerprint": fingerprint}))
    if record_path.is_file():
        try:
            recorded = json.loads(record_path.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as error:
            raise RunFolderError(
                f"{record_path} is not valid JSON ({error}); pass --overwrite to start again"
            ) from None
        if not isinstance(recorded, dict):
            recorded = {}
        differences = _differences(recorded, wanted)
        if differences:
            what = "; ".join(
                "the training data (data_fingerprint)" if name.startswith("data_fingerprint") else name
                for name in differences
            )
            raise RunFolderError(
                f"{folder} holds a run with other settings or data, so it cannot be resumed: {what}. "
                "Pass --overwrite to start again there, or choose another --out"
            )
        return
    if folder.is_dir() and any(folder.iterdir()):
        raise RunFolderError(
            f"{folder} already holds files but no {RUN_RECORD} (not a folder of this tool's runs, or from "
            "an older version); pass --overwrite to replace it, or choose another --out"
        )
    folder.mkdir(parents=True, exist_ok=True)
    atomic_write_text(record_path, json.dumps(wanted, indent=2))


@contextlib.contextmanager
def owned_run_folder(
    folder: str | os.PathLike[str],
    config: Mapping,
    dataset: SequenceDataset,
    overwrite: bool = False,
    write_dir: str | os.PathLike[str] | None = None,
) -> Iterator[Path]:
    """`folder_lock` + `claim_run_folder` for a training run: the folder is this run's for the block.

    Args:
        write_dir: where this process writes (`distill.training.worker_write_dir`); a non-chief worker of a
            cluster writes a scratch folder and leaves locking and claiming `folder` to the chief.

    Yields:
        The folder as an absolute path.

    Raises:
        RunFolderError: locked by another run, or holding a run that does not match (see `claim_run_folder`).
    """
    if write_dir is not None and Path(write_dir) != Path(folder):
        yield Path(folder).resolve()
        return
    with folder_lock(folder) as locked:
        claim_run_folder(locked, config, data_fingerprint(dataset), overwrite)
        yield locked
