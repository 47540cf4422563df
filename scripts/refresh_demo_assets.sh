#!/usr/bin/env bash
# Re-exports the synthetic default (embedded generator, no licensed data) and syncs it into both demos: the
# command that produced the committed web_demo/public/model/ and android_demo/app/src/main/assets/ files.
#   bash scripts/refresh_demo_assets.sh            # about 10 minutes on 2 CPU cores
# An existing artifacts/synthetic is moved aside first (training would otherwise resume from its models/).
# Needs the repo's .venv and node >= 20. Afterwards run the demos' checks:
#   bash android_demo/build_logic.sh && (cd web_demo && npm ci && npm test)
#   .venv/bin/python -m pytest tests/convert/test_demo_assets.py
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
export TF_USE_LEGACY_KERAS=1
python="${PYTHON:-$repo/.venv/bin/python}"
export_dir="artifacts/synthetic"
model="student_fp32"

if [[ -e "$export_dir" ]]; then
  previous="$export_dir.previous-$(date +%Y%m%d-%H%M%S)"
  echo "refresh_demo_assets.sh: moving the existing $export_dir to $previous"
  mv "$export_dir" "$previous"
fi

"$python" convert/to_tflite.py --out "$export_dir"
"$python" android_demo/sync_assets.py --export_dir "$export_dir"
node web_demo/scripts/copy_model.mjs "$export_dir" "$model"
echo "refresh_demo_assets.sh: synced $export_dir/$model into android_demo and web_demo; commit both asset folders"
