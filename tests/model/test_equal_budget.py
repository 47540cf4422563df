"""model.equal_budget: the dense rival holds the student's parameter count within 2%."""

import pytest

from model.equal_budget import count_parameters, dense_config_with_budget
from model.sasrec import SASRecConfig


@pytest.mark.parametrize(
    ("n_items", "hidden_dim", "num_blocks", "table"),
    [
        (1000, 32, 2, {"tt_rank": 8, "stp_factor": 2, "tt_item_factors": (32, 32), "tt_dim_factors": (8, 4)}),
        (
            3416,
            64,
            2,
            {"tt_rank": 12, "stp_factor": 2, "tt_item_factors": (59, 58), "tt_dim_factors": (8, 8)},
        ),
        (500, 16, 1, {"tt_rank": 4, "stp_factor": 1}),
    ],
)
def test_the_dense_rival_matches_the_students_budget(n_items, hidden_dim, num_blocks, table):
    student = SASRecConfig(
        n_items=n_items,
        max_len=20,
        hidden_dim=hidden_dim,
        num_blocks=num_blocks,
        item_table="stp_tt",
        **table,
    )
    budget = count_parameters(student)
    rival = dense_config_with_budget(student, budget)
    assert rival.item_table == "dense" and rival.num_blocks == num_blocks and rival.max_len == 20
    assert rival.hidden_dim < hidden_dim  # the same bytes buy a narrower model with a plain table
    assert abs(count_parameters(rival) - budget) <= 0.02 * budget


def test_a_budget_below_the_smallest_model_is_refused():
    config = SASRecConfig(n_items=1000, max_len=20, hidden_dim=16, num_blocks=1)
    with pytest.raises(ValueError, match="below the smallest dense model"):
        dense_config_with_budget(config, 500)
