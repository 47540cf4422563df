"""Atomic file and folder writes (temporary file or folder beside the target + rename), so a crash or a
failed check never leaves a half-written file or folder.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path


class OutputPathError(ValueError):
    """An output path that is not a regular file (a folder, a device, a pipe): it is never replaced."""


class OutputWriteError(OSError):
    """A file or folder that could not be written (disk full, no permission, a file size limit); the message
    names it and says what to do. The previous file, if any, is unchanged."""


# What to do about a failed write, by errno; anything else gets the generic advice.
_WRITE_ADVICE = {
    errno.ENOSPC: "the disk is full: free space there and run the same command again",
    errno.EDQUOT: "the disk quota is used up: free space there and run the same command again",
    errno.EFBIG: "the file is larger than this process may write (ulimit -f): raise the limit and run again",
    errno.EACCES: "choose a folder you may write to",
    errno.EPERM: "choose a folder you may write to",
    errno.EROFS: "the file system is read-only: choose another folder",
}


def write_error(target: str | os.PathLike[str], error_number: int | None, reason: str) -> OutputWriteError:
    """The `OutputWriteError` for a failed write of `target`: one line naming it, the reason and the fix.

    Args:
        target: the file or folder that was being written.
        error_number: the `errno` of the failure, or None when unknown (e.g. a TensorFlow I/O error).
        reason: what the system said (`strerror`).
    """
    advice = _WRITE_ADVICE.get(error_number, "check the disk and the folder's permissions and run again")
    message = f"cannot write {target} ({reason}); {advice}; files written before are unchanged"
    return OutputWriteError(error_number or errno.EIO, " ".join(message.split()))


def check_output_file(target: str | os.PathLike[str]) -> Path:
    """Returns `target` once it is a regular file or does not exist yet; CLIs call it before their work.

    Raises:
        OutputPathError: `target` is a folder, a device file (e.g. /dev/null), a pipe or a socket; renaming
            over it would replace it (as root, a device node).
    """
    target = Path(target)
    if target.exists() and not target.is_file():
        raise OutputPathError(
            f"{target} exists and is not a regular file (a folder or a device); give a file path to write"
        )
    if not target.exists() and target.is_symlink():
        raise OutputPathError(f"{target} is a dangling symbolic link; give a file path to write")
    return target


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike[str]) -> Iterator[Path]:
    """Yields a temporary path beside `target`; renames it onto `target` only if the block succeeds.

    Raises:
        OutputPathError: `target` exists and is not a regular file (see `check_output_file`).
        OutputWriteError: creating the temporary file, an `OSError` inside the block (the block writes the
            temporary file) or the rename failed, e.g. on a full disk; `target` is unchanged.
    """
    target = check_output_file(target)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        descriptor, temporary_name = tempfile.mkstemp(
            prefix=f".{target.name}.", suffix="".join(target.suffixes), dir=target.parent
        )
        os.close(descriptor)
    except OSError as error:
        raise write_error(target, error.errno, error.strerror or str(error)) from None
    temporary = Path(temporary_name)
    try:
        yield temporary
        os.replace(temporary, target)
    except OutputWriteError:
        raise
    except OSError as error:
        raise write_error(target, error.errno, error.strerror or str(error)) from None
    finally:
        temporary.unlink(missing_ok=True)


def atomic_write_bytes(target: str | os.PathLike[str], data: bytes) -> None:
    """Writes `data` to `target` through a temporary file and a rename (see `atomic_path` for the errors)."""
    with atomic_path(target) as temporary:
        with open(temporary, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())


def atomic_write_text(target: str | os.PathLike[str], text: str) -> None:
    atomic_write_bytes(target, text.encode("utf-8"))


@contextlib.contextmanager
def staged_folder(target: str | os.PathLike[str], carry: tuple[str, ...] = ()) -> Iterator[Path]:
    """Yields an empty temporary sibling of `target`; swaps it in for `target` only if the block succeeds.

    A failed block leaves `target` exactly as it was (the staging folder is deleted). On success see
    `swap_in_folder`.
    """
    target = Path(target)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.staging-", dir=target.parent))
    except OSError as error:
        raise write_error(target, error.errno, error.strerror or str(error)) from None
    try:
        yield staging
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    swap_in_folder(staging, target, carry)


def swap_in_folder(staging: Path, target: Path, carry: tuple[str, ...] = ()) -> None:
    """Replaces `target` by `staging`, moving the entries named in `carry` (e.g. a `models/` folder of
    resumable training) from the old `target` into the new one.

    Every step is a rename within one parent folder, so no reader ever sees a half-written folder at
    `target`. The old folder is renamed aside first and deleted last; should a rename fail, nothing is
    deleted and both folders stay on disk for the error's reader.
    """
    if not target.exists():
        os.replace(staging, target)
        return
    retired = Path(tempfile.mkdtemp(prefix=f".{target.name}.retired-", dir=target.parent)) / target.name
    os.replace(target, retired)
    for name in carry:
        if (retired / name).exists():
            os.replace(retired / name, staging / name)
    os.replace(staging, target)
    shutil.rmtree(retired.parent, ignore_errors=True)
