"""Quiet command lines: TensorFlow's, LiteRT's and absl's log chatter leaves stderr; everything else passes.

TensorFlow's C++ runtime writes to file descriptor 2 before any Python logging setting applies (oneDNN and
CUDA notices at import, `W0000 ...` lines from the converter), so the filter sits on the descriptor itself: a
pipe read by a thread that forwards every line that is not chatter. Child processes inherit it. Our own
output (`error: ...` lines, tracebacks, Keras progress bars on stdout) is untouched.
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
import threading
from collections.abc import Iterator, Sequence

# absl/glog C++ and absl Python lines (`I0000 00:00:...` / `W1202 19:29:35.311 ... save_impl.py:68]`) except
# fatal ones, Python logging of TensorFlow and absl, LiteRT's delegate notice, TensorFlow's Python warnings.
CHATTER = re.compile(
    r"^(?:[IWE]\d{4} \d\d:\d\d:\d+\.\d+\s+\d+ \S+:\d+\]"
    r"|WARNING: All log messages before absl::InitializeLog\(\) is called are written to STDERR"
    r"|(?:INFO|WARNING|ERROR):(?:tensorflow|absl|root):"
    r"|INFO: (?:Created TensorFlow Lite|Initialized TensorFlow Lite)"
    r"|fully_quantize: \d+, inference_type: "
    r"|\S*(?:tensorflow|tf_keras|keras|ai_edge_litert|absl)\S*\.py:\d+: \w*Warning:)"
)
# The source line Python prints under a warning it shows: indented; dropped with its warning.
_WARNING = re.compile(r"\.py:\d+: \w*Warning:")


def verbosity_asked(argv: Sequence[str]) -> bool:
    """Whether absl's `--verbosity` (or `-v`) is among the arguments: then nothing is hidden."""
    return any(re.match(r"^--?(?:verbosity|v)(?:=|$)", argument) for argument in argv)


class _LineFilter:
    """Forwards complete lines read from `source` to `target`, leaving out chatter."""

    def __init__(self, source: int, target: int, pattern: re.Pattern[str]):
        self.source, self.target, self.pattern = source, target, pattern
        self.dropping_warning = False

    def keep(self, line: str) -> bool:
        if self.dropping_warning and line.startswith((" ", "\t")):
            return False
        self.dropping_warning = False
        if self.pattern.match(line):
            self.dropping_warning = bool(_WARNING.search(line))
            return False
        return True

    def run(self) -> None:
        pending = b""
        while chunk := os.read(self.source, 1 << 16):
            pending += chunk
            *lines, pending = pending.split(b"\n")
            self._write(lines, end=b"\n")
        if pending:
            self._write([pending], end=b"")

    def _write(self, lines: list[bytes], end: bytes) -> None:
        kept = [line for line in lines if self.keep(line.decode("utf-8", "replace"))]
        if kept:
            os.write(self.target, b"".join(line + end for line in kept))


@contextlib.contextmanager
def quiet_stderr(enabled: bool = True, pattern: re.Pattern[str] = CHATTER) -> Iterator[None]:
    """Filters chatter out of file descriptor 2 for the block (this process and the children it starts).

    Args:
        enabled: False leaves stderr alone (the `--verbosity` case).
        pattern: lines matching it are dropped.
    """
    if not enabled:
        yield
        return
    sys.stderr.flush()
    original = os.dup(2)
    read_end, write_end = os.pipe()
    os.dup2(write_end, 2)
    os.close(write_end)
    pump = threading.Thread(target=_LineFilter(read_end, original, pattern).run, daemon=True)
    pump.start()
    try:
        yield
    finally:
        sys.stderr.flush()
        os.dup2(original, 2)  # closes our copy of the pipe's write end: the pump reads to its end
        pump.join(timeout=5)
        os.close(read_end)
        os.close(original)
