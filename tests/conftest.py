"""Shared fixtures: a tiny seeded synthetic dataset and tiny SASRec configs for the default run."""

from __future__ import annotations

import pytest

import model  # noqa: F401  (selects tf-keras before anything below imports TensorFlow)
from distill.dataset import SequenceDataset, leave_one_out
from distill.synthetic import generate_synthetic
from model.sasrec import SASRecConfig

TINY_ITEMS = 40


def tiny_sasrec_config(n_items: int = TINY_ITEMS, **overrides) -> SASRecConfig:
    """A SASRec config with d = 8, L = 8, one block; STP-TT settings that fit d = 8 (item_table='stp_tt')."""
    values = {
        "n_items": n_items,
        "max_len": 8,
        "hidden_dim": 8,
        "num_blocks": 1,
        "num_heads": 1,
        "dropout": 0.0,
        "tt_rank": 4,
        "stp_factor": 2,
    }
    values.update(overrides)
    return SASRecConfig(**values)


@pytest.fixture(scope="session")
def tiny_dataset() -> SequenceDataset:
    """80 users over 40 items, 5 interest clusters, sequences of 6..14 items, leave-one-out split."""
    sequences = generate_synthetic(
        n_users=80, n_items=TINY_ITEMS, seed=0, n_clusters=5, min_length=6, max_length=14
    )
    return leave_one_out("synthetic-tiny", sequences)
