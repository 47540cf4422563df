"""Which flatbuffers of an export folder load and run under the installed LiteRT / tflite_runtime interpreter.

Run it with the Python of the runtime to check (it imports only numpy and `runtime/`):
    PYTHONPATH=. /path/to/venv/bin/python scripts/tflite_runtime_matrix.py EXPORT_DIR
Prints one JSON object: interpreter, numpy version, and per file "ok" or the loader's error.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

from runtime.litert import Recommender, interpreter_class


def check(path: Path) -> str:
    try:
        recommender = Recommender(path)
        history = np.zeros(recommender.max_len, np.int32)
        history[-1] = 1
        recommender.recommend(history)
        return "ok"
    except Exception as error:  # reported, not raised: the point is to list what fails and why
        return f"{type(error).__name__}: {str(error).splitlines()[0][:200]}"


def main(export_dir: str) -> None:
    interpreter = interpreter_class()
    results = {path.name: check(path) for path in sorted(Path(export_dir).glob("*.tflite"))}
    print(
        json.dumps({"interpreter": f"{interpreter.__module__}", "numpy": np.__version__, "models": results})
    )


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: tflite_runtime_matrix.py EXPORT_DIR")
    main(sys.argv[1])
