"""Quantization-aware student: Dense layers wrapped, teacher untouched, a builtin-only qat_int8."""

import numpy as np

import model  # noqa: F401  (tf-keras before TensorFlow)
from convert.export import save_export_module
from convert.ops import builtin_only
from convert.qat import quantization_aware_student
from convert.quantize import convert_variant
from distill.model_io import load_model, save_model
from model.sasrec import SASRec, SASRecConfig
from runtime.litert import interpreter_class

N_ITEMS, MAX_LEN, TOP_K = 24, 5, 3
SEQUENCES = [np.arange(start, start + 8) % N_ITEMS + 1 for start in range(12)]


def test_fine_tunes_the_student_and_converts_to_qat_int8(tmp_path):
    teacher_config = SASRecConfig(n_items=N_ITEMS, max_len=MAX_LEN, hidden_dim=4, num_blocks=1)
    student_config = SASRecConfig(
        n_items=N_ITEMS, max_len=MAX_LEN, hidden_dim=4, num_blocks=1, item_table="stp_tt", tt_rank=2
    )
    save_model(SASRec(teacher_config).build_for_inference(), tmp_path / "teacher")
    save_model(SASRec(student_config).build_for_inference(), tmp_path / "student")
    teacher_before = [weight.copy() for weight in load_model(tmp_path / "teacher").get_weights()]

    student = quantization_aware_student(
        str(tmp_path / "student"), str(tmp_path / "teacher"), SEQUENCES, epochs=1, batch_size=8
    )

    wrapped = [block.ffn_inner for block in student.blocks]
    assert all(type(layer).__name__ == "QuantizeWrapperV2" for layer in wrapped)
    for before, after in zip(teacher_before, load_model(tmp_path / "teacher").get_weights(), strict=True):
        np.testing.assert_array_equal(before, after)
    saved = save_export_module(student, TOP_K, tmp_path / "qat_saved_model")
    conversion = convert_variant(saved, "qat_int8")
    assert builtin_only(conversion.flatbuffer)
    runner = interpreter_class()(model_content=conversion.flatbuffer).get_signature_runner("recommend")
    history = np.array([[0, 0, 3, 4, 5]], np.int32)
    item_ids = runner(history=history)["item_ids"][0]
    assert len(set(item_ids.tolist())) == TOP_K and not set(item_ids.tolist()) & {0, 3, 4, 5}
