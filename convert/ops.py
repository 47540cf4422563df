"""The operators inside a LiteRT flatbuffer, read from its schema (the real operator codes, not a guess).

A device build ships only builtin kernels; a custom or Flex (SELECT_TF_OPS) operator would fail to load there,
so every exported variant is checked with `builtin_only`.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import NamedTuple

import flatbuffers
import numpy as np
from ai_edge_litert import schema_py_generated as schema

_BUILTIN_NAMES = {
    value: name for name, value in vars(schema.BuiltinOperator).items() if not name.startswith("_")
}


def _read(model: bytes | str | Path) -> schema.ModelT:
    data = model if isinstance(model, bytes | bytearray) else Path(model).read_bytes()
    return schema.ModelT.InitFromObj(schema.Model.GetRootAsModel(data, 0))


def strip_tensor_names(model: bytes) -> bytes:
    """The flatbuffer without tensor names: the TF op paths of every intermediate tensor, a tenth of a student
    file, which no runtime reads (signatures keep their own input and output names)."""
    flatbuffer = _read(model)
    for subgraph in flatbuffer.subgraphs or []:
        for tensor in subgraph.tensors or []:
            tensor.name = None
    builder = flatbuffers.Builder(len(model))
    builder.Finish(flatbuffer.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


def tensor_names(model: bytes | str | Path) -> list[str]:
    """Names of every tensor in every subgraph (empty strings once stripped)."""
    return [
        (tensor.name or b"").decode()
        for subgraph in _read(model).subgraphs or []
        for tensor in subgraph.tensors or []
    ]


def _operator_name(code: schema.OperatorCodeT) -> str:
    # Codes above 127 live in `builtinCode`; older files keep small codes in `deprecatedBuiltinCode` only.
    value = max(code.builtinCode, code.deprecatedBuiltinCode)
    if value == schema.BuiltinOperator.CUSTOM:
        custom = code.customCode.decode() if isinstance(code.customCode, bytes) else str(code.customCode)
        return f"CUSTOM:{custom}"
    return _BUILTIN_NAMES.get(value, f"UNKNOWN:{value}")


def operator_counts(model: bytes | str | Path) -> dict[str, int]:
    """How often each operator occurs over all subgraphs, e.g. {"FULLY_CONNECTED": 6, "TOPK_V2": 1}.

    Custom operators appear as "CUSTOM:<name>" (Flex ops as "CUSTOM:Flex...").
    """
    # Read through the schema's accessors, not `_read`: unpacking the whole file (buffers included) into
    # Python objects cost about ten times as much, twice per exported variant.
    data = model if isinstance(model, bytes | bytearray) else Path(model).read_bytes()
    root = schema.Model.GetRootAsModel(data, 0)
    codes = (root.OperatorCodes(index) for index in range(root.OperatorCodesLength()))
    names = [_operator_name(schema.OperatorCodeT.InitFromObj(code)) for code in codes]
    subgraphs = (root.Subgraphs(index) for index in range(root.SubgraphsLength()))
    counts = Counter(
        names[subgraph.Operators(index).OpcodeIndex()]
        for subgraph in subgraphs
        for index in range(subgraph.OperatorsLength())
    )
    return dict(sorted(counts.items()))


def non_builtin_operators(model: bytes | str | Path | dict[str, int]) -> list[str]:
    """Custom and Flex operators (empty for a model every LiteRT build can run); `model` may be its
    `operator_counts` already."""
    counts = model if isinstance(model, dict) else operator_counts(model)
    return [name for name in counts if ":" in name]


def builtin_only(model: bytes | str | Path) -> bool:
    return not non_builtin_operators(model)


class ConstantTensor(NamedTuple):
    buffer: int
    shape: tuple[int, ...]
    dtype: str  # the schema's TensorType name, e.g. "FLOAT32", "INT8"


_TENSOR_TYPES = {value: name for name, value in vars(schema.TensorType).items() if not name.startswith("_")}


def constant_tensors(model: bytes | str | Path) -> list[ConstantTensor]:
    """The tensors whose values are stored in the file (weights and folded constants), with their buffer.

    Tensors of several signatures (or ops) that share stored bytes name the same buffer.
    """
    flatbuffer = _read(model)
    buffers = flatbuffer.buffers or []
    tensors = []
    for subgraph in flatbuffer.subgraphs or []:
        for tensor in subgraph.tensors or []:
            buffer = buffers[tensor.buffer] if tensor.buffer < len(buffers) else None
            # Small buffers hold their bytes inline; large ones (> 2 GB files) point outside with offset/size.
            if buffer is not None and (buffer.data is not None and len(buffer.data) or buffer.size):
                shape = tensor.shape if tensor.shape is not None else np.zeros(0, np.int32)
                dtype = _TENSOR_TYPES.get(tensor.type, f"UNKNOWN:{tensor.type}")
                tensors.append(ConstantTensor(tensor.buffer, tuple(int(dim) for dim in shape), dtype))
    return tensors


def constant_tensor_shapes(model: bytes | str | Path) -> list[tuple[int, ...]]:
    """Shapes of the tensors whose values are stored in the file (weights and folded constants)."""
    return [tensor.shape for tensor in constant_tensors(model)]
