"""The main job: from a dataset to LiteRT flatbuffers a phone, a browser or a board runs.

    python convert/to_tflite.py                                   # synthetic data: trains both, then exports
    python convert/to_tflite.py --data log.csv --format csv       # your own file (settings read off the data)
    python convert/to_tflite.py --dataset ml-1m --teacher T --student S --out artifacts/ml-1m

Without --teacher/--student the teacher and the student are trained first into <out>/models/
(`convert.default_run`); the folder layout is docs/artifacts.md. TensorFlow's log chatter is hidden unless
--verbosity is given. This file is only the command line: flags are `convert.export_flags`.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from absl import app, flags

REPO_ROOT = Path(__file__).resolve().parents[1]


def rerun_as_module() -> None:
    """`python convert/to_tflite.py` puts convert/ first on the import path, not the repository: run the same
    command as `python -m convert.to_tflite` with the repository on PYTHONPATH instead (same process id)."""
    path = os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")]))
    os.execve(
        sys.executable,
        [sys.executable, "-m", "convert.to_tflite", *sys.argv[1:]],
        {**os.environ, "PYTHONPATH": path},
    )


def main() -> None:
    # The repository's modules are imported here: run as a file, this one first re-runs as a module (above).
    from runtime.quiet import quiet_stderr, verbosity_asked

    with quiet_stderr(enabled=not verbosity_asked(sys.argv[1:])):
        # Imported inside the filter: TensorFlow writes its notices to stderr while it loads.
        from convert import export_flags
        from distill.cli_flags import errors_as_one_line

        export_flags.define_flags()

        def run(argv: list[str]) -> None:
            if len(argv) > 1:
                raise app.UsageError(f"unexpected arguments: {argv[1:]}")
            with errors_as_one_line():
                export_flags.main_job(flags.FLAGS)

        app.run(run)


if __name__ == "__main__":
    if not __package__:
        rerun_as_module()
    main()
