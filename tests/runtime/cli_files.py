"""Hostile files for the runtime CLIs, and a way to run a CLI's `main` many times cheaply.

`run_cli` runs `python -m <module> ARGS` as a fork of a small server process that has imported the runtime
(multiprocessing's forkserver), not of the test process: the child starts in milliseconds, cannot inherit
TensorFlow's threads from the test process (the runtime never imports TensorFlow), and whatever it does (a
traceback, a crash, a hang) stays in its exit status and its captured output, as with a real command.

`Damage` turns a file of an export (model, sidecar, vocab) or a CLI input (test file, state file, catalogue
update) into what a careless or hostile user might hand over: truncated, empty, binary junk, other encodings,
compressed, huge numbers, deep JSON, a folder, a symbolic link to nothing / a folder / a device, a named pipe.
"""

from __future__ import annotations

import gzip
import importlib
import multiprocessing
import os
import re
import shutil
import sys
import tempfile
import traceback
from dataclasses import dataclass
from pathlib import Path

from hypothesis import strategies as st

RUNTIME_CLIS = ("runtime.recommend", "runtime.evaluate", "runtime.bench", "runtime.personalise")
# A CLI that has not finished by then hangs (e.g. it reads a named pipe nobody writes); generous for a loaded
# machine: a healthy call takes well under a second.
TIMEOUT_SECONDS = 60
_SERVER_MODULES = [*RUNTIME_CLIS, "ai_edge_litert.interpreter", __name__]


@dataclass(frozen=True)
class CliResult:
    """What a user sees: the exit status (negative: killed by that signal) and both streams."""

    returncode: int
    stdout: str
    stderr: str


def _main_of(module_name: str, argv: list[str]) -> int:
    """What `python -m module_name *argv` exits with, as the interpreter would: SystemExit's code (a string
    is printed to stderr and gives 1), an uncaught exception's traceback and 1."""
    module = importlib.import_module(module_name)
    try:
        from absl import app

        module.define_flags()
        app.run(module.main, argv=[module_name, *argv])
    except SystemExit as stop:
        if stop.code is None or isinstance(stop.code, int):
            return stop.code or 0
        print(stop.code, file=sys.stderr)
        return 1
    except BaseException:
        traceback.print_exc()
        return 1
    return 0


def _child(module_name: str, argv: list[str], stdout: str, stderr: str) -> None:
    """Runs in the forked child: both streams (Python's and the file descriptors, which LiteRT writes) go to
    the given files; the process then ends with the CLI's status."""
    for descriptor, path in ((1, stdout), (2, stderr)):
        handle = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
        os.dup2(handle, descriptor)
        os.close(handle)
    sys.stdout = open(1, "w", closefd=False)  # noqa: SIM115 (the process ends below)
    sys.stderr = open(2, "w", closefd=False)  # noqa: SIM115
    code = _main_of(module_name, argv)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


_context = None


def run_cli(module_name: str, *argv: str) -> CliResult:
    """`python -m module_name *argv` in a forked child of the runtime server; see the module docstring.

    A child still running after TIMEOUT_SECONDS is killed and reported as returncode -9 with "hung" in
    stderr.
    """
    global _context
    if _context is None:
        _context = multiprocessing.get_context("forkserver")
        _context.set_forkserver_preload(_SERVER_MODULES)
    with tempfile.TemporaryDirectory(prefix="odrec_cli_") as folder:
        stdout, stderr = Path(folder) / "stdout", Path(folder) / "stderr"
        process = _context.Process(target=_child, args=(module_name, list(argv), str(stdout), str(stderr)))
        process.start()
        process.join(TIMEOUT_SECONDS)
        hung = process.is_alive()
        if hung:
            process.kill()
            process.join()
        read = lambda path: path.read_text(errors="replace") if path.exists() else ""  # noqa: E731
        note = f"\nhung: still running after {TIMEOUT_SECONDS} s" if hung else ""
        return CliResult(process.exitcode, read(stdout), read(stderr) + note)


def assert_one_line_outcome(result: CliResult, expected_stdout: str | None, culprit: str | None) -> None:
    """The rule for every hostile input: exit 0 with the intact export's answer (nothing silently wrong), or
    exit 1 with one `error:` line, the last, naming `culprit` (the damaged file) when given; never a
    traceback, a crash, a hang or another status.

    Args:
        expected_stdout: the output of the same command on intact files, with timings masked
            (`mask_timings`); None where the output is not deterministic (benchmarks).
    """
    described = f"exit {result.returncode}\nstdout: {result.stdout[-1500:]}\nstderr: {result.stderr[-3000:]}"
    assert result.returncode in (0, 1), described
    assert "Traceback" not in result.stderr and "Fatal Python error" not in result.stderr, described
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    if result.returncode == 0:
        assert not errors, described
        if expected_stdout is not None:
            assert mask_timings(result.stdout) == expected_stdout, described
        return
    assert len(errors) == 1 and result.stderr.rstrip().splitlines()[-1] == errors[0], described
    if culprit is not None:
        assert culprit in errors[0], f"the error does not name {culprit}: {described}"


def mask_timings(text: str) -> str:
    """Output with its measured times (`0.123 ms`) replaced, so two runs compare equal."""
    return re.sub(r"\d+(\.\d+)? ms", "<t> ms", text)


DAMAGE_KINDS = (
    "missing",
    "empty",
    "truncated",
    "junk",
    "flipped_byte",
    "appended_junk",
    "gzip",
    "utf16",
    "byte_order_mark",
    "crlf",
    "huge_numbers",
    "deep_json",
    "folder",
    "dangling_symlink",
    "symlink_to_folder",
    "symlink_to_device",
    "named_pipe",
)
# What digit runs become under "huge_numbers": past Python's 4300-digit int() limit, past a float, past int64,
# negative, zero.
HUGE_NUMBERS = (b"9" * 5000, b"1e400", b"18446744073709551617", b"-1", b"0")


@dataclass(frozen=True)
class Damage:
    """One way to ruin one file; `fraction` picks a cut or a byte, `junk` is random bytes, `choice` picks
    among HUGE_NUMBERS or the devices."""

    kind: str
    fraction: float = 0.5
    junk: bytes = b"\x00"
    choice: int = 0

    def apply(self, path: Path) -> None:
        """Replaces `path` (a regular file) by its damaged form."""
        content = path.read_bytes()
        damaged = self._content(content)
        path.unlink()
        if damaged is not None:
            path.write_bytes(damaged)
        elif self.kind == "folder":
            path.mkdir()
            (path / "inside").write_bytes(content)
        elif self.kind == "dangling_symlink":
            path.symlink_to(path.with_name(path.name + ".gone"))
        elif self.kind == "symlink_to_folder":
            path.symlink_to(path.parent)
        elif self.kind == "symlink_to_device":
            path.symlink_to(("/dev/zero", "/dev/null", "/dev/urandom")[self.choice % 3])
        elif self.kind == "named_pipe":
            os.mkfifo(path)

    def _content(self, content: bytes) -> bytes | None:
        """The damaged bytes, or None when the damage is not a regular file (or no file)."""
        position = min(int(self.fraction * len(content)), max(len(content) - 1, 0))
        if self.kind == "empty":
            return b""
        if self.kind == "truncated":
            return content[:position]
        if self.kind == "junk":
            return self.junk
        if self.kind == "flipped_byte":
            return content[:position] + bytes([content[position] ^ 0xFF]) + content[position + 1 :]
        if self.kind == "appended_junk":
            return content + self.junk
        if self.kind == "gzip":
            return gzip.compress(content)
        if self.kind == "utf16":
            return content.decode("utf-8", errors="replace").encode("utf-16")
        if self.kind == "byte_order_mark":
            return b"\xef\xbb\xbf" + content
        if self.kind == "crlf":
            return content.replace(b"\n", b"\r\n")
        if self.kind == "huge_numbers":
            return re.sub(rb"\d+", HUGE_NUMBERS[self.choice % len(HUGE_NUMBERS)], content)
        if self.kind == "deep_json":
            return b"[" * 100_000 + b"]" * 100_000
        return None


def damages() -> st.SearchStrategy[Damage]:
    return st.builds(
        Damage,
        kind=st.sampled_from(DAMAGE_KINDS),
        fraction=st.floats(0.0, 1.0),
        junk=st.binary(min_size=1, max_size=64),
        choice=st.integers(0, 20),
    )


def damaged_copy(folder: Path, into: Path, damaged: dict[str, Damage]) -> Path:
    """A copy of `folder` in `into` with each named file damaged; returns the copy."""
    copy = into / folder.name
    shutil.copytree(folder, copy)
    for name, damage in damaged.items():
        damage.apply(copy / name)
    return copy
