"""The documented tflite-runtime 2.14 matrix: every variant loads and runs.

Per-channel int8 weights (FULLY_CONNECTED version 12) and an int8 DIV do not exist in 2.14; the export uses
one scale per weight tensor and a division-free masked softmax, so this test fails if either comes back.
"""

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

import model  # noqa: F401
from convert.export import save_export_module
from convert.quantize import convert_variant
from model.sasrec import SASRec, SASRecConfig
from runtime.sidecar import write_sidecar
from runtime.vocab import Vocab, write_vocab
from tests.runtime.conftest import sidecar_fields

REPO = Path(__file__).resolve().parents[2]
N_ITEMS, MAX_LEN, TOP_K = 1000, 5, 3


@pytest.mark.slow
def test_tflite_runtime_2_14_loads_what_the_readme_says(tmp_path):
    if shutil.which("python3.11") is None:
        pytest.skip("python3.11 is needed to build the tflite-runtime 2.14 virtualenv")
    # Dynamic-range quantization skips weights under 1024 elements: the FFN must be at least that big.
    config = SASRecConfig(
        n_items=N_ITEMS,
        max_len=MAX_LEN,
        hidden_dim=32,
        ffn_dim=64,
        num_blocks=1,
        item_table="stp_tt",
        tt_rank=8,
        repeat_scores=True,  # its graph adds the repeat bonus (int32 SCATTER_ND, batched GATHER)
    )
    saved = save_export_module(SASRec(config).build_for_inference(), TOP_K, tmp_path / "saved")
    write_vocab(tmp_path / "vocab.tsv", Vocab(tuple(str(i) for i in range(1, N_ITEMS + 1)), ("",) * N_ITEMS))
    calibration = np.tile(np.arange(1, MAX_LEN + 1, dtype=np.int32), (8, 1))
    for variant in ("fp32", "fp16", "dynamic_int8", "full_int8"):
        path = tmp_path / f"student_{variant}.tflite"
        path.write_bytes(convert_variant(saved, variant, calibration).flatbuffer)
        write_sidecar(path, sidecar_fields(variant, N_ITEMS, MAX_LEN, TOP_K))
    completed = subprocess.run(
        ["bash", str(REPO / "scripts/check_tflite_runtime.sh"), str(tmp_path), str(tmp_path / "venv")],
        capture_output=True,
        text=True,
        timeout=900,
    )
    if completed.returncode != 0 and "pip" in completed.stderr:
        pytest.skip(f"could not install tflite-runtime 2.14: {completed.stderr[-300:]}")
    assert completed.returncode == 0, completed.stderr
    matrix = json.loads(completed.stdout.strip().splitlines()[-1])
    assert matrix["interpreter"].startswith("tflite_runtime")
    assert matrix["models"] == {
        f"student_{variant}.tflite": "ok" for variant in ("fp32", "fp16", "dynamic_int8", "full_int8")
    }
