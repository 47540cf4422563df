"""Operator listing from the flatbuffer schema, and detection of custom/Flex operators."""

import flatbuffers
import pytest
from ai_edge_litert import schema_py_generated as schema

import model  # noqa: F401
from convert.export import export_tflite
from convert.ops import builtin_only, non_builtin_operators, operator_counts
from model.sasrec import SASRec, SASRecConfig


@pytest.fixture(scope="module")
def flatbuffer() -> bytes:
    config = SASRecConfig(n_items=20, max_len=4, hidden_dim=4, num_blocks=1, item_table="stp_tt", tt_rank=2)
    return export_tflite(SASRec(config).build_for_inference(), 3)


def with_flex_operator(flatbuffer: bytes) -> bytes:
    """The same model with its first operator code turned into a Flex custom op (what SELECT_TF_OPS emits)."""
    model_object = schema.ModelT.InitFromObj(schema.Model.GetRootAsModel(flatbuffer, 0))
    code = model_object.operatorCodes[0]
    code.builtinCode = code.deprecatedBuiltinCode = schema.BuiltinOperator.CUSTOM
    code.customCode = "FlexEinsum"
    builder = flatbuffers.Builder(1024)
    builder.Finish(model_object.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


def test_lists_the_operators_of_the_export_graph(flatbuffer):
    counts = operator_counts(flatbuffer)
    # recommend: top-K + L raw candidates, then the K best not in the history (an int32 key, no float mask).
    assert counts["TOPK_V2"] == 2 and counts["EQUAL"] >= 1
    assert counts["FULLY_CONNECTED"] > 0
    assert builtin_only(flatbuffer) and non_builtin_operators(flatbuffer) == []


def test_flags_a_flex_operator(flatbuffer):
    patched = with_flex_operator(flatbuffer)
    assert non_builtin_operators(patched) == ["CUSTOM:FlexEinsum"]
    assert not builtin_only(patched)


def test_reads_a_file_path(flatbuffer, tmp_path):
    path = tmp_path / "model.tflite"
    path.write_bytes(flatbuffer)
    assert operator_counts(path) == operator_counts(flatbuffer)
