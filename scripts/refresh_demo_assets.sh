#!/usr/bin/env bash
# Re-exports the synthetic default (embedded generator, no licensed data) and syncs it into both demos: the
# command that produced the committed web_demo/public/model/ and android_demo/app/src/main/assets/ files. It ends
# with the browser tests, whose screenshot of the page becomes docs/web_demo.png.
#   bash scripts/refresh_demo_assets.sh   # export: 787 s on 2 idle cores (README), 2376 s on 2 shared ones (4460873)
# An existing artifacts/synthetic is moved aside first (training would otherwise resume from its models/).
# Needs the repo's .venv (or PYTHON=...), node >= 20 and Debian's chromium. Afterwards run the other checks:
#   bash android_demo/build_logic.sh
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

"$python" convert/to_tflite.py --out "$export_dir" --on_device_training
"$python" android_demo/sync_assets.py --export_dir "$export_dir"
node web_demo/scripts/copy_model.mjs "$export_dir" "$model" --demo
(cd web_demo && npm ci --no-audit --no-fund && npm test)
cp web_demo/test-output/screenshot.png docs/web_demo.png
echo "refresh_demo_assets.sh: synced $export_dir/$model into android_demo and web_demo and refreshed" \
  "docs/web_demo.png; commit both asset folders and the screenshot"
