"""The equal-budget rival of a compressed student: a dense-table SASRec with the same parameter count.

A compressed item table only earns its place if it beats what the same bytes buy without compression: a
narrower SASRec whose plain table and backbone together hold as many parameters as the student. Width sets
the coarse size (each unit of width costs a whole table column); the feed-forward width then closes the gap
in steps of about 2 x width per block, so the budget is met within a fraction of a percent.
"""

from __future__ import annotations

import dataclasses

from model.parameters import parameter_report
from model.sasrec import SASRec, SASRecConfig


def count_parameters(config: SASRecConfig) -> int:
    """Deployed parameters of `config` (built, never trained)."""
    return parameter_report(SASRec(config).build_for_inference())["total"]


def dense_config_with_budget(config: SASRecConfig, budget: int) -> SASRecConfig:
    """A dense-table SASRec like `config` (depth, heads, length, readout, loss, repeat bonus) with about
    `budget` parameters: the widest one under the budget, then its feed-forward width grown to meet it.

    Raises:
        ValueError: the budget is below the smallest such model (width = num_heads).
    """
    base = dataclasses.replace(config, item_table="dense", tt_item_factors=(), tt_dim_factors=())
    width, params = None, None
    for candidate in range(config.num_heads, budget + 1, config.num_heads):
        candidate_params = count_parameters(
            dataclasses.replace(base, hidden_dim=candidate, ffn_dim=candidate)
        )
        if candidate_params > budget:
            break
        width, params = candidate, candidate_params
    if width is None:
        raise ValueError(
            f"a parameter budget of {budget:,} is below the smallest dense model of this depth (width "
            f"{config.num_heads}, {candidate_params:,} parameters); compare with a larger student"
        )
    per_ffn_unit = (2 * width + 1) * config.num_blocks
    ffn_dim = width + (round((budget - params) / per_ffn_unit) if per_ffn_unit else 0)
    return dataclasses.replace(base, hidden_dim=width, ffn_dim=ffn_dim)
