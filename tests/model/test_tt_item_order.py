"""The item order for a tensor-train index: a valid permutation, balanced blocks, and a closer TT fit."""

from __future__ import annotations

import numpy as np
import pytest

from model.tt_item_order import (
    balanced_kmeans,
    balanced_partition,
    block_capacities,
    tt_fit_error,
    tt_item_order,
)

# 15 x 16 rows: items 1..239 fill them exactly (row 0 is padding). d = 8 = 4 x 2, R = 4 and t = 2.
ITEM_FACTORS, DIM_FACTORS, RANK, STP = (15, 16), (4, 2), 4, 2


def planted_clusters(n_clusters: int, size: int, dim: int, noise: float, seed: int) -> tuple[np.ndarray, ...]:
    """`n_clusters` clusters of `size` items around random centres, in a random item order; the labels."""
    rng = np.random.default_rng(seed)
    labels = rng.permutation(np.repeat(np.arange(n_clusters), size))
    centres = rng.normal(size=(n_clusters, dim))
    return centres[labels] + noise * rng.normal(size=(len(labels), dim)), labels


def test_block_capacities_leave_out_the_padding_row_and_the_unused_tail():
    # 10 items in 4 x 4 rows: block 0 holds rows 1..3, block 1 rows 4..7, block 2 rows 8..10, block 3 none.
    assert block_capacities(10, (4, 4)).tolist() == [3, 4, 3, 0]
    assert block_capacities(15, (4, 4)).tolist() == [3, 4, 4, 4]


def test_balanced_partition_meets_every_capacity_and_keeps_clusters_whole():
    vectors, labels = planted_clusters(n_clusters=6, size=5, dim=4, noise=0.05, seed=0)
    groups = balanced_partition(vectors, [5] * 6)
    assert [len(group) for group in groups] == [5] * 6
    assert sorted(np.concatenate(groups).tolist()) == list(range(30))
    assert all(len(set(labels[group])) == 1 for group in groups)
    uneven = balanced_partition(vectors, [0, 7, 3, 20])
    assert [len(group) for group in uneven] == [0, 7, 3, 20]
    # Balanced k-means repairs a partition that ignores the clusters (cut along random directions): sizes
    # kept, every group one cluster again.
    random_cut = balanced_partition(np.random.default_rng(5).normal(size=(30, 2)), [5] * 6)
    assert sum(len(set(labels[group])) for group in random_cut) > 6
    repaired = balanced_kmeans(vectors, random_cut)
    assert [len(group) for group in repaired] == [5] * 6
    assert all(len(set(labels[group])) == 1 for group in repaired)
    with pytest.raises(ValueError, match="capacities sum to 29"):
        balanced_partition(vectors, [29])


def block_purity(labels: np.ndarray, new_to_old: np.ndarray, block_rows: int) -> float:
    """Share of the items that belong to the most common cluster of their block."""
    block_of_id = np.arange(1, len(new_to_old) + 1) // block_rows
    blocks = [labels[new_to_old[block_of_id == block] - 1] for block in np.unique(block_of_id)]
    return sum(np.bincount(members).max() for members in blocks) / len(new_to_old)


@pytest.mark.parametrize("n_items", [239, 200])
def test_the_order_is_a_permutation_and_blocks_hold_clusters(n_items):
    vectors, labels = planted_clusters(n_clusters=15, size=16, dim=8, noise=0.05, seed=1)
    vectors, labels = vectors[:n_items], labels[:n_items]
    new_to_old = tt_item_order(vectors, ITEM_FACTORS, DIM_FACTORS, RANK, STP)
    assert sorted(new_to_old.tolist()) == list(range(1, n_items + 1))
    natural = np.arange(1, n_items + 1)
    assert block_purity(labels, natural, 16) < 0.3
    # 239 items: 15 clusters of 16 (one of 15) in 15 blocks of 16 rows (block 0: 15, row 0 is padding), so
    # blocks can hold whole clusters; 200 items fill 12.5 blocks with truncated clusters, so they cannot.
    assert block_purity(labels, new_to_old, 16) > (0.95 if n_items == 239 else 0.7)


def test_the_tt_fit_is_closer_in_the_learnt_order_than_in_the_natural_one():
    """Clusters planted in a shuffled catalogue: the natural ids mix them in every block, the learnt order
    puts each in its own block, and the TT-SVD fit of the same size gets much closer."""
    vectors, _ = planted_clusters(n_clusters=15, size=16, dim=8, noise=0.3, seed=2)
    vectors = vectors[:239]
    natural = np.arange(1, 240)
    learnt = tt_item_order(vectors, ITEM_FACTORS, DIM_FACTORS, RANK, STP)
    clustered_only = tt_item_order(vectors, ITEM_FACTORS, DIM_FACTORS, RANK, STP, refine_steps=0)
    shape = (ITEM_FACTORS, DIM_FACTORS, RANK, STP)
    natural_error, learnt_error = (
        tt_fit_error(vectors, natural, *shape),
        tt_fit_error(vectors, learnt, *shape),
    )
    assert natural_error > 0.8
    assert learnt_error < 0.5 * natural_error
    # The refinement never ends worse than the clustering it starts from.
    assert learnt_error <= tt_fit_error(vectors, clustered_only, *shape) + 1e-9


def test_three_cores_and_wrong_shapes():
    vectors, _ = planted_clusters(n_clusters=4, size=15, dim=8, noise=0.1, seed=3)
    new_to_old = tt_item_order(vectors, (4, 4, 4), (2, 2, 2), 4, 2)
    assert sorted(new_to_old.tolist()) == list(range(1, 61))
    with pytest.raises(ValueError, match="fewer than the 60 items"):
        tt_item_order(vectors, (6, 10), (4, 2), 4, 2)
    with pytest.raises(ValueError, match="do not multiply to the vectors' width 8"):
        tt_item_order(vectors, (8, 8), (4, 4), 4, 2)
