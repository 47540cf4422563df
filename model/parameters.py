"""Exact parameter accounting per component of a SASRec model, and compression ratios between two models."""

from __future__ import annotations

import numpy as np

COMPONENTS = ("item_table", "positions", "attention", "ffn", "norms", "readout", "repeat")


def _count(weights) -> int:
    return int(sum(np.prod(weight.shape) for weight in weights))


def parameter_report(model) -> dict[str, int]:
    """Parameters of the deployed model by component, and their total (frozen teachers count too).

    The sampler's log q vector and the loss trackers are training-only state (never exported), not counted.
    """
    blocks = model.blocks
    report = {
        "item_table": _count(model.item_table.weights),
        "positions": _count(model.position_embedding.weights),
        "attention": sum(_count(block.attention.weights) for block in blocks),
        "ffn": sum(
            _count(block.ffn_inner.weights + block.ffn_outer.weights) for block in blocks
        ),
        "norms": _count(model.final_norm.weights)
        + sum(
            _count(block.attention_norm.weights + block.ffn_norm.weights)
            for block in blocks
        ),
        "readout": _count(model.readout.weights) if model.readout is not None else 0,
        "repeat": _count(model.repeat.weights) if model.repeat is not None else 0,
    }
    report["total"] = sum(report[name] for name in COMPONENTS)
    training_state = [model.log_sampling_prob] + [w for metric in model.metrics for w in metric.weights]
    deployed = _count(model.weights) - _count(training_state)
    if report["total"] != deployed:
        raise AssertionError(f"parameter components add up to {report['total']} but the model has {deployed}")
    return report


def compression_ratios(teacher: dict[str, int], student: dict[str, int]) -> dict[str, float]:
    """Teacher / student sizes, item table only and whole model, from two `parameter_report`s."""
    return {
        "compression_table": teacher["item_table"] / student["item_table"],
        "compression_model": teacher["total"] / student["total"],
    }
