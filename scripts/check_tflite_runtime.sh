#!/usr/bin/env bash
# Loads every flatbuffer of an export folder with tflite-runtime 2.14 (the wheel older edge boards have), in its
# own virtualenv (it needs numpy < 2), and prints which variants load.
#   bash scripts/check_tflite_runtime.sh artifacts/synthetic [VENV_DIR]
set -euo pipefail
export_dir="$1"
venv="${2:-${TMPDIR:-/tmp}/odrec-tflite-runtime-2.14}"
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if [ ! -x "$venv/bin/python" ]; then
  python3.11 -m venv "$venv"
  "$venv/bin/pip" install -q "tflite-runtime==2.14.0" "numpy<2" "absl-py~=1.4"
fi
PYTHONPATH="$repo" "$venv/bin/python" "$repo/scripts/tflite_runtime_matrix.py" "$export_dir"
