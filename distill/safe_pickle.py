"""Loads pickles holding only builtin containers and scalars, refusing every global (no code can run)."""

from __future__ import annotations

import pickle
import zlib
from typing import BinaryIO, NoReturn

from distill.loaders import DataFormatError, PathLike, open_binary


class UnsafePickleError(DataFormatError):
    """A pickle that asks for a global (class or function); loading it could run arbitrary code."""


class _RefusingUnpickler(pickle.Unpickler):
    """Unpickler whose `find_class` refuses everything, so only dict/list/tuple/int/str/... can be built."""

    def __init__(self, stream: BinaryIO, path: PathLike) -> None:
        super().__init__(stream)
        self._path = path

    def find_class(self, module: str, name: str) -> NoReturn:
        raise UnsafePickleError(
            f"{self._path}: the pickle asks for the global {module}.{name}; refusing to load it because that "
            "could run code. Use the text version of the data, or convert the pickle where you trust it"
        )


def load_pickle(path: PathLike) -> object:
    """Unpickles `path` (plain or gzip) allowing builtin containers and scalars only.

    Raises:
        UnsafePickleError: the pickle references any global.
        DataFormatError: the file is not a complete pickle.
        FileNotFoundError: `path` does not exist.
    """
    try:
        with open_binary(path) as stream:
            return _RefusingUnpickler(stream, path).load()
    except (DataFormatError, FileNotFoundError):
        raise
    except (
        pickle.UnpicklingError,
        EOFError,
        OSError,
        zlib.error,
        ValueError,
        TypeError,
        IndexError,
        KeyError,
        AttributeError,
        MemoryError,
        OverflowError,  # e.g. a FRAME opcode announcing more than 2**63 bytes
        RecursionError,
    ) as error:
        raise DataFormatError(f"{path}: not a readable pickle ({type(error).__name__}: {error})") from error
