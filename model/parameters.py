"""Exact parameter accounting per component of a SASRec model, and compression ratios between two models."""

from __future__ import annotations

import numpy as np

COMPONENTS = ("item_table", "positions", "attention", "ffn", "norms", "readout")


def _count(weights) -> int:
    return int(sum(np.prod(weight.shape) for weight in weights))


def parameter_report(model) -> dict[str, int]:
    """Trainable parameters of the deployed model by component, and their total.

    The sampler's log q vector is training-only state (not trainable, not exported) and is not counted.
    """
    blocks = model.blocks
    report = {
        "item_table": _count(model.item_table.trainable_weights),
        "positions": _count(model.position_embedding.trainable_weights),
        "attention": sum(_count(block.attention.trainable_weights) for block in blocks),
        "ffn": sum(
            _count(block.ffn_inner.trainable_weights + block.ffn_outer.trainable_weights) for block in blocks
        ),
        "norms": _count(model.final_norm.trainable_weights)
        + sum(
            _count(block.attention_norm.trainable_weights + block.ffn_norm.trainable_weights)
            for block in blocks
        ),
        "readout": _count(model.readout.trainable_weights) if model.readout is not None else 0,
    }
    report["total"] = sum(report[name] for name in COMPONENTS)
    if report["total"] != _count(model.trainable_weights):
        raise AssertionError(
            f"parameter components add up to {report['total']} "
            f"but the model has {_count(model.trainable_weights)}"
        )
    return report


def compression_ratios(teacher: dict[str, int], student: dict[str, int]) -> dict[str, float]:
    """Teacher / student sizes, item table only and whole model, from two `parameter_report`s."""
    return {
        "compression_table": teacher["item_table"] / student["item_table"],
        "compression_model": teacher["total"] / student["total"],
    }
