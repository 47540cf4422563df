"""The committed demo assets (synthetic default export) against the Python LiteRT harness and each other.

Both demos ship the same student_fp32 export (scripts/refresh_demo_assets.sh); their own tests compare the JVM
and browser runtimes with golden.json, this one checks golden.json against `runtime.litert.Recommender`.
"""

import json
from pathlib import Path

import pytest

from runtime.litert import Recommender
from tests.convert.golden_checks import assert_golden_cases_reproduce

REPO_ROOT = Path(__file__).resolve().parents[2]
WEB_MODEL_DIR = REPO_ROOT / "web_demo" / "public" / "model"
ANDROID_ASSETS_DIR = REPO_ROOT / "android_demo" / "app" / "src" / "main" / "assets"
DEMO_DIRS = {"web": WEB_MODEL_DIR, "android": ANDROID_ASSETS_DIR}
SHARED_FILES = ("student_fp32.tflite", "student_fp32.json", "vocab.tsv", "golden.json")
MAX_ASSET_BYTES = 1_000_000


@pytest.mark.parametrize("demo", list(DEMO_DIRS))
def test_golden_cases_match_the_python_harness(demo):
    folder = DEMO_DIRS[demo]
    golden = json.loads((folder / "golden.json").read_text())
    recommender = Recommender(folder / golden["model_file"], expected_dataset="synthetic")
    assert golden["top_k"] == recommender.top_k and len(golden["cases"]) >= 2
    assert_golden_cases_reproduce(recommender, golden, rtol=1e-4)


@pytest.mark.parametrize("name", SHARED_FILES)
def test_both_demos_hold_byte_identical_files(name):
    web, android = (DEMO_DIRS[demo] / name for demo in ("web", "android"))
    assert web.read_bytes() == android.read_bytes(), f"{name} differs: rerun scripts/refresh_demo_assets.sh"


@pytest.mark.parametrize("demo", list(DEMO_DIRS))
def test_assets_stay_small(demo):
    for path in DEMO_DIRS[demo].iterdir():
        assert path.stat().st_size < MAX_ASSET_BYTES, path
