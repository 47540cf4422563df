"""Where a number came from: the git commit, the machine and the command line (stdlib only)."""

from __future__ import annotations

import os
import platform
import shlex
import subprocess
import sys
from pathlib import Path


def git_commit(directory: str | Path | None = None) -> str:
    """Full sha of HEAD, with "-dirty" when tracked files differ from it; "unknown" outside a git checkout."""
    directory = Path(directory or Path(__file__).resolve().parent)
    try:
        sha = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=directory, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=directory,
            capture_output=True,
            text=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return sha + ("-dirty" if dirty else "")


def machine_info() -> dict:
    """CPU model, cores, memory and accelerator of this machine."""
    cpu = platform.processor() or platform.machine()
    memory_gb = None
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                memory_gb = round(int(line.split()[1]) / 1024**2, 1)
                break
    except OSError:
        pass
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gb": memory_gb,
        "accelerator": "none",
        "os": platform.platform(),
        "python": platform.python_version(),
    }


def command_line() -> str:
    """The exact command that is running, as it could be typed again (`python -m module ...` kept as such)."""
    spec = getattr(sys.modules.get("__main__"), "__spec__", None)
    program = ["python", "-m", spec.name] if spec is not None else ["python", os.path.relpath(sys.argv[0])]
    return shlex.join(program + sys.argv[1:])


def run_record() -> dict:
    """What every results file carries so that its numbers can be re-run: commit, machine and command."""
    return {"commit": git_commit(), "machine": machine_info(), "command": command_line()}
