"""bench.scaling on tiny catalogues: factorisation choice, vocab, no N x d table in the student, the JSON."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from bench.scaling import (
    ScalingConfig,
    build_and_convert,
    run_scaling,
    student_shape,
    table_sizes,
    write_scaling_vocab,
)
from convert.ops import constant_tensor_shapes
from runtime.litert import load_interpreter
from runtime.vocab import read_vocab

TINY = ScalingConfig(
    n_items=(60,),
    teacher_variants=("fp32",),
    student_variants=("fp32", "dynamic_int8"),
    hidden_dim=16,
    max_len=8,
    top_k=5,
    runs=3,
    warmup=1,
)


@pytest.mark.parametrize("n_items", [60, 10**4, 10**5, 10**6, 10**7])
def test_student_shape_covers_the_catalogue_and_is_cheaper_per_item_than_dense(n_items):
    shape = student_shape(n_items, 64)
    assert math.prod(shape.item_factors) >= n_items + 1
    assert math.prod(shape.dim_factors) == 64
    assert len(shape.item_factors) == (2 if n_items <= 10**6 else 3)
    assert shape.tt_rank % shape.stp_factor == 0 and shape.dim_factors[-1] % shape.stp_factor == 0
    # J_K * R / t^2 multiply-adds per item against d for the dense product.
    assert shape.per_item_score_cost == shape.dim_factors[-1] * shape.tt_rank // shape.stp_factor**2 <= 64


def test_student_shape_refuses_a_width_without_the_factorisation():
    with pytest.raises(ValueError, match="hidden_dim=24"):
        student_shape(10**7, 24)


def test_scaling_vocab_is_a_valid_vocab(tmp_path):
    write_scaling_vocab(tmp_path / "vocab.tsv", 7)
    vocab = read_vocab(tmp_path / "vocab.tsv")
    assert vocab.original_ids == tuple(str(item) for item in range(1, 8))


def _element_counts(path) -> set[int]:
    """Element counts of every tensor in the file: stored constants and what the interpreter allocates."""
    stored = {math.prod(shape) for shape in constant_tensor_shapes(path)}
    interpreter = load_interpreter(path)
    return stored | {int(np.prod(detail["shape"])) for detail in interpreter.get_tensor_details()}


def test_student_flatbuffer_holds_no_n_by_d_table_and_teacher_does(tmp_path):
    variants = ["fp32", "dynamic_int8", "full_int8"]
    student = build_and_convert("student", 60, variants, TINY, str(tmp_path / "student"))
    teacher = build_and_convert("teacher", 60, ["fp32"], TINY, str(tmp_path / "teacher"))
    n_by_d = table_sizes("student", 60, TINY)
    assert n_by_d == {61 * 16, 64 * 16}  # 61 rows (items + padding), padded to 8 * 8 by the factorisation
    for variant in variants:
        assert not n_by_d & _element_counts(student["variants"][variant]["file"]), variant
    # The check can see a table: the teacher's dense [61, 16] table is in its file.
    assert 61 * 16 in _element_counts(teacher["variants"]["fp32"]["file"])


def test_run_scaling_writes_json_and_plots(tmp_path):
    report = run_scaling(TINY, tmp_path, command="pytest")
    written = json.loads((tmp_path / "scaling.json").read_text())
    assert written["commit"] and written["machine"]["cores"] and written["command"] == "pytest"
    names = {entry["name"] for entry in written["models"]}
    assert names == {"teacher_fp32_60", "student_fp32_60", "student_dynamic_int8_60"}
    for entry in written["models"]:
        assert {"name", "role", "variant", "n_items", "bytes", "params", "latency_ms", "peak_rss_mb"} <= set(
            entry
        )
        assert {"conversion_seconds", "shapes"} <= set(entry)
        assert entry["bytes"] > 0 and entry["conversion_seconds"] > 0
        assert 0 < entry["latency_ms"]["p50"] <= entry["latency_ms"]["p95"]
        assert entry["holds_n_by_d_tensor"] == (entry["role"] == "teacher")
    student = next(entry for entry in written["models"] if entry["name"] == "student_fp32_60")
    assert student["shapes"]["item_factors"] == [8, 8] and student["shapes"]["num_cores"] == 2
    assert report["teacher_deployability"]["per_variant"]["fp32"]["60"]["within_app_budget"]
    for name in ("scaling-bytes.png", "scaling-latency.png"):
        assert (tmp_path / name).read_bytes().startswith(b"\x89PNG")
