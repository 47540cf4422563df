"""Reading a file a device is handed (model, sidecar, vocab, test file, state, catalogue update): a regular
file only, read once, and every failure one error that names the file.

A path to a named pipe blocked a CLI forever and one to `/dev/zero` filled the memory; a folder or a dangling
link ended in a traceback. The checks run on the opened file (`fstat`), so the file cannot be swapped between
the check and the read.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path


def read_input_file(path: str | os.PathLike[str], what: str, error: type[Exception], hint: str) -> bytes:
    """The bytes of the regular file `path`.

    Args:
        what: the file's role in messages ("model", "sidecar", "test file", ...).
        error: the exception type to raise (the caller's error family, e.g. `ArtifactError`).
        hint: what the user should do, appended to every message.

    Raises:
        `error`: `path` is missing, a folder, a device, a pipe or a socket, a link to nothing, or unreadable.
    """
    path = Path(path)
    try:
        # O_NONBLOCK: opening a named pipe must not wait for a writer; it is refused below.
        descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except FileNotFoundError:
        raise error(f"{what} {path} does not exist; {hint}") from None
    except OSError as failure:
        raise error(f"cannot read {what} {path} ({failure.strerror}); {hint}") from None
    mode = os.fstat(descriptor).st_mode
    if not stat.S_ISREG(mode):
        os.close(descriptor)
        kind = "a folder" if stat.S_ISDIR(mode) else "not a regular file (a device, a pipe or a socket)"
        raise error(f"{what} {path} is {kind}; {hint}")
    with os.fdopen(descriptor, "rb") as stream:
        try:
            return stream.read()
        except OSError as failure:
            raise error(f"cannot read {what} {path} ({failure.strerror}); {hint}") from None
