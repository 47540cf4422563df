"""The committed demo assets (synthetic default export) against the Python LiteRT harness and each other.

Both demos ship the same student_fp32 export (scripts/refresh_demo_assets.sh); their own tests compare the JVM
and browser runtimes with golden.json, this one checks golden.json against `runtime.litert.Recommender`.
"""

import json
from pathlib import Path

import pytest

from runtime.litert import Recommender
from runtime.vocab import read_vocab
from tests.convert.golden_checks import assert_golden_cases_reproduce, assert_golden_training_replays

REPO_ROOT = Path(__file__).resolve().parents[2]
WEB_MODEL_DIR = REPO_ROOT / "web_demo" / "public" / "model"
ANDROID_ASSETS_DIR = REPO_ROOT / "android_demo" / "app" / "src" / "main" / "assets"
DEMO_DIRS = {"web": WEB_MODEL_DIR, "android": ANDROID_ASSETS_DIR}
SHARED_FILES = (
    "student_fp32.tflite",
    "student_fp32.json",
    "vocab.tsv",
    "golden.json",
    "student_fp32_on_device.tflite",
    "student_fp32_on_device.json",
    "golden_on_device.json",
)
MAX_ASSET_BYTES = 1_000_000


@pytest.mark.parametrize("demo", list(DEMO_DIRS))
def test_golden_cases_match_the_python_harness(demo):
    folder = DEMO_DIRS[demo]
    golden = json.loads((folder / "golden.json").read_text())
    recommender = Recommender(folder / golden["model_file"], expected_dataset="synthetic")
    assert golden["top_k"] == recommender.top_k and len(golden["cases"]) >= 2
    assert_golden_cases_reproduce(recommender, golden, rtol=1e-4)


@pytest.mark.parametrize("demo", list(DEMO_DIRS))
def test_golden_training_sequence_replays_in_the_python_harness(demo, tmp_path):
    """The demos' on-device export: Python's LiteRT replays golden_on_device.json (losses, state, top 10), and
    the training changed the top 10 the browser test compares."""
    assert_golden_training_replays(DEMO_DIRS[demo], tmp_path / "state.json", rtol=1e-5)
    golden = json.loads((DEMO_DIRS[demo] / "golden_on_device.json").read_text())
    assert golden["after"]["item_ids"] != golden["before"]["item_ids"]
    assert golden["first_item_after"]["item_ids"] != golden["first_item_before"]["item_ids"]


def test_demo_items_have_names_and_ids_apart_from_internal_ids():
    """A consumer that shows an internal id as an original id (or looks one up as the other) cannot pass the
    golden tests: no original id, nor its digits, is an internal id, and every item has a name to show."""
    vocab = read_vocab(WEB_MODEL_DIR / "vocab.tsv")
    internal_as_text = {str(internal) for internal in range(vocab.n_items + 1)}
    assert not internal_as_text & set(vocab.original_ids)
    assert not internal_as_text & {original.removeprefix("sku-") for original in vocab.original_ids}
    assert all(title.strip() for title in vocab.titles)


def test_golden_holds_a_history_whose_older_items_only_app_code_can_exclude():
    golden = json.loads((WEB_MODEL_DIR / "golden.json").read_text())
    max_len = json.loads((WEB_MODEL_DIR / "student_fp32.json").read_text())["max_len"]
    long_cases = [case for case in golden["cases"] if len(case["history_original_ids"]) > max_len]
    assert long_cases
    for case in long_cases:
        older = set(case["history_original_ids"][:-max_len]) - set(case["history_original_ids"][-max_len:])
        assert older & set(case["original_ids"]), "recommend alone would show an older history item"
        assert not older & set(case["history_excluded"]["original_ids"])
        assert case["history_excluded"]["signature"] == "score"


@pytest.mark.parametrize("name", SHARED_FILES)
def test_both_demos_hold_byte_identical_files(name):
    web, android = (DEMO_DIRS[demo] / name for demo in ("web", "android"))
    assert web.read_bytes() == android.read_bytes(), f"{name} differs: rerun scripts/refresh_demo_assets.sh"


@pytest.mark.parametrize("demo", list(DEMO_DIRS))
def test_assets_stay_small(demo):
    for path in DEMO_DIRS[demo].iterdir():
        assert path.stat().st_size < MAX_ASSET_BYTES, path
