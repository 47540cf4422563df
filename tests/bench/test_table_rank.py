"""bench.table_rank: errors of the student-sized fits of a teacher table, against numpy computations."""

from __future__ import annotations

import numpy as np
import pytest

from bench.table_rank import low_rank_errors, table_rank_report
from model.stp_tt_embedding import reference_table

TABLES = {
    "exact": {"tt_item_factors": (6, 5), "tt_dim_factors": (4, 2), "tt_rank": 8, "stp_factor": 2},
    "small": {"tt_item_factors": (6, 5), "tt_dim_factors": (4, 2), "tt_rank": 2, "stp_factor": 2},
}


def test_low_rank_errors_are_eckart_young():
    table = np.random.default_rng(0).normal(size=(30, 8))
    errors = low_rank_errors(table)
    assert errors[0] == pytest.approx(1.0) and errors[8] == pytest.approx(0.0, abs=1e-12)
    left, singular, right = np.linalg.svd(table, full_matrices=False)
    rank_3 = (left[:, :3] * singular[:3]) @ right[:3]
    assert errors[3] == pytest.approx(np.linalg.norm(table - rank_3) / np.linalg.norm(table))


def test_report_fits_each_table_and_compares_an_equal_budget():
    rng = np.random.default_rng(1)
    # A table that is exactly an STP-TT of the "exact" shape (rank 8, t = 2).
    cores = [rng.normal(size=(6 * 4, 8)), rng.normal(size=(4, 5 * 2 // 2))]
    table = reference_table(cores, 2, (6, 5), (4, 2))
    report = table_rank_report(table, TABLES)
    exact, small = report["tables"]
    assert exact["tt_svd_error"] == pytest.approx(0.0, abs=1e-9)
    assert 0.0 < small["tt_svd_error"] < 1.0
    assert small["params"] == 6 * 4 * 2 + 5 * 2 * 2 // 4
    assert small["low_rank_rank"] == small["params"] // (30 + 8)
    assert small["low_rank_error"] == pytest.approx(low_rank_errors(table)[small["low_rank_rank"]])
    assert small["compression_table"] == pytest.approx(240 / small["params"])
    assert report["low_rank_error_by_rank"]["4"] == pytest.approx(low_rank_errors(table)[4])


def test_the_error_in_an_order_is_the_error_of_the_reordered_table():
    """Items 1..29 of the "exact" table shuffled: no longer exactly a TT in the natural order; in the order
    that undoes the shuffle, exact again."""
    rng = np.random.default_rng(2)
    cores = [rng.normal(size=(6 * 4, 8)), rng.normal(size=(4, 5 * 2 // 2))]
    table = reference_table(cores, 2, (6, 5), (4, 2))
    shuffle = rng.permutation(29) + 1
    shuffled = table[np.concatenate([[0], shuffle])]
    undo = np.argsort(shuffle) + 1  # shuffled row undo[k] holds the exact table's item k + 1
    report = table_rank_report(shuffled, TABLES, {"exact": {"undo": undo, "none": np.arange(1, 30)}})
    exact, small = report["tables"]
    assert exact["tt_svd_error"] > 0.1
    assert exact["tt_svd_error_by_order"]["undo"] == pytest.approx(0.0, abs=1e-9)
    assert exact["tt_svd_error_by_order"]["none"] == pytest.approx(exact["tt_svd_error"])
    assert "tt_svd_error_by_order" not in small
