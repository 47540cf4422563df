"""An order of the item ids for a tensor-train item table, so that items sharing a core slice are alike.

In the TT layout (model/stp_tt_embedding.py) row r of the table is item r, read as digits (i1, i2[, i3]) of
the item factors: the I2 * I3 rows of a block i1 share the first core's slice, and the rows with the same
trailing digits share the later cores' slices. With ids in the order the data happened to number them, every
block is a random sample of the catalogue and the cores must fit arbitrary neighbours; here the ids are
permuted from item vectors (a teacher's table, or an embedding of co-occurrence) in two stages:

1. Blocks: a balanced hierarchical clustering. The items are split along their principal direction into two
   sets sized to hold the first and second half of the blocks, recursively, until every block holds exactly
   the rows it has (the padding row 0 and the rows past the last item hold none); then balanced k-means
   (sizes held) corrects what a cut along one direction got wrong.
2. Positions and refinement, alternating: fit a tensor train of the given rank to the vectors in the current
   layout (TT-SVD), then, for that fit fixed, reassign the items of every block among the block's rows, and
   the items of every position among the blocks, each by an optimal assignment (Hungarian) of item to row
   by squared error. This is balanced k-means with the TT fit as centroids, one factor at a time; the layout
   with the smallest fitting error is kept.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from scipy.optimize import linear_sum_assignment

from model.stp_tt_embedding import reference_table, stp_tt_svd


def block_capacities(n_items: int, item_factors: Sequence[int]) -> np.ndarray:
    """Items each block i1 holds: its rows within 1..n_items ([I1] int; row 0 is padding, rows past
    n_items are unused padding of the factorisation)."""
    block_rows = math.prod(item_factors[1:])
    starts = np.arange(item_factors[0]) * block_rows
    return np.clip(np.minimum(starts + block_rows, n_items + 1) - np.maximum(starts, 1), 0, None)


def balanced_partition(vectors: np.ndarray, capacities: Sequence[int]) -> list[np.ndarray]:
    """Splits the rows of `vectors` into groups of exactly `capacities` rows, alike within a group.

    Recursive balanced bisection: the rows are ordered along their principal direction and cut where the
    first half of the groups' capacity ends; each side is split the same way. Neighbouring groups are alike
    too (a hierarchy), which costs nothing and keeps the layout readable.

    Args:
        vectors: [n, d] float.
        capacities: group sizes, summing to n (zeros allowed).

    Returns:
        One int array of row indices of `vectors` per group, in order.

    Raises:
        ValueError: the capacities do not sum to n.
    """
    capacities = [int(size) for size in capacities]
    if sum(capacities) != len(vectors):
        raise ValueError(f"capacities sum to {sum(capacities)}, not to the {len(vectors)} rows to place")
    groups: list[np.ndarray] = []
    stack = [(np.arange(len(vectors)), capacities)]
    while stack:  # depth first, right side pushed first: groups come out in order
        rows, sizes = stack.pop()
        if len(sizes) == 1:
            groups.append(rows)
            continue
        half = len(sizes) // 2
        ordered = rows[np.argsort(_principal_projection(vectors[rows]), kind="stable")]
        cut = sum(sizes[:half])
        stack.append((ordered[cut:], sizes[half:]))
        stack.append((ordered[:cut], sizes[:half]))
    return groups


def balanced_kmeans(vectors: np.ndarray, groups: Sequence[np.ndarray], steps: int = 10) -> list[np.ndarray]:
    """Improves a balanced partition (from `balanced_partition`) by k-means with the group sizes held fixed.

    Each step moves every centre to its group's mean, then fills the groups again: items in order of how
    much they lose by missing their nearest centre (regret: second-nearest minus nearest distance) each take
    the nearest group that still has room. Stops when the within-group squared error stops falling.

    Returns:
        The partition with the smallest within-group squared error, group sizes unchanged.
    """
    sizes = np.array([len(group) for group in groups])
    best, best_error = [np.asarray(group) for group in groups], _within_error(vectors, groups)
    occupied = np.flatnonzero(sizes)
    for _ in range(steps):
        centres = np.stack([vectors[best[index]].mean(axis=0) for index in occupied])
        distances = (
            np.sum(vectors**2, axis=1)[:, None] - 2.0 * vectors @ centres.T + np.sum(centres**2, axis=1)
        )
        preference = np.argsort(distances, axis=1, kind="stable")
        ranked = np.take_along_axis(distances, preference, axis=1)
        regret = ranked[:, 1] - ranked[:, 0] if len(occupied) > 1 else np.zeros(len(vectors))
        room = sizes[occupied].copy()
        members: list[list[int]] = [[] for _ in occupied]
        for item in np.argsort(-regret, kind="stable"):
            for choice in preference[item]:
                if room[choice]:
                    room[choice] -= 1
                    members[choice].append(item)
                    break
        candidate = [np.zeros(0, dtype=np.int64) for _ in groups]
        for index, chosen in zip(occupied, members, strict=True):
            candidate[index] = np.asarray(sorted(chosen), dtype=np.int64)
        error = _within_error(vectors, candidate)
        if error >= best_error - 1e-12:
            break
        best, best_error = candidate, error
    return best


def _within_error(vectors: np.ndarray, groups: Sequence[np.ndarray]) -> float:
    return float(sum(np.sum((vectors[g] - vectors[g].mean(axis=0)) ** 2) for g in groups if len(g)))


def _principal_projection(vectors: np.ndarray) -> np.ndarray:
    """Coordinates of the rows along their principal direction ([n]; zeros when they do not vary)."""
    if len(vectors) < 2:
        return np.zeros(len(vectors))
    centred = vectors - vectors.mean(axis=0)
    if not np.any(centred):
        return np.zeros(len(vectors))
    # The leading eigenvector of the d x d scatter matrix: an SVD of the [n, d] rows costs n times more.
    _, eigenvectors = np.linalg.eigh(centred.T @ centred)
    return centred @ eigenvectors[:, -1]


def tt_fit_error(
    vectors: np.ndarray,
    new_to_old: np.ndarray,
    item_factors: Sequence[int],
    dim_factors: Sequence[int],
    tt_rank: int,
    stp_factor: int,
) -> float:
    """Relative Frobenius error of the TT-SVD fit (`stp_tt_svd`) of the table laid out by `new_to_old`.

    Args:
        vectors: [n_items, d] rows of items 1..n_items (row k is item k + 1).
        new_to_old: [n_items] the item (1-based) that takes each internal id 1..n_items.
    """
    table = _layout(vectors, new_to_old)
    fitted = _tt_fit(table, item_factors, dim_factors, tt_rank, stp_factor)
    return float(np.linalg.norm(fitted - table) / np.linalg.norm(table))


def _layout(vectors: np.ndarray, new_to_old: np.ndarray) -> np.ndarray:
    """The table [n_items + 1, d] in the order `new_to_old`, padding row 0 zero."""
    table = np.zeros((len(vectors) + 1, vectors.shape[1]))
    table[1:] = vectors[np.asarray(new_to_old) - 1]
    return table


def _tt_fit(table, item_factors, dim_factors, tt_rank, stp_factor) -> np.ndarray:
    cores = stp_tt_svd(table, item_factors, dim_factors, tt_rank, stp_factor)
    return reference_table(cores, stp_factor, item_factors, dim_factors)[: len(table)]


def tt_item_order(
    vectors: np.ndarray,
    item_factors: Sequence[int],
    dim_factors: Sequence[int],
    tt_rank: int,
    stp_factor: int = 1,
    refine_steps: int = 6,
) -> np.ndarray:
    """A permutation of the item ids under which a tensor train of this shape fits `vectors` closely.

    Args:
        vectors: [n_items, d] float, row k describing item k + 1 (internal ids 1..n_items; 0 is padding).
        item_factors: the table's item factors (I1, ..., IK), prod >= n_items + 1.
        dim_factors: factors of d = vectors.shape[1] (J1, ..., JK) for the fit.
        tt_rank / stp_factor: rank R and STP factor t of the fit (`stp_tt_svd`); t must divide R and J_K.
        refine_steps: alternations of fit and reassignment (0: the balanced clustering alone, positions in
            principal order).

    Returns:
        new_to_old: int64 [n_items], a permutation of 1..n_items: entry k is the item that takes id k + 1.

    Raises:
        ValueError: the factors cannot hold the items, or do not multiply to d.
    """
    vectors = np.asarray(vectors, dtype=np.float64)
    n_items, dim = vectors.shape
    if math.prod(item_factors) < n_items + 1:
        raise ValueError(
            f"item_factors {tuple(item_factors)} hold {math.prod(item_factors)} rows, fewer than the "
            f"{n_items} items plus the padding row"
        )
    if math.prod(dim_factors) != dim:
        raise ValueError(f"dim_factors {tuple(dim_factors)} do not multiply to the vectors' width {dim}")
    block_rows = math.prod(item_factors[1:])
    rows = np.zeros(n_items, dtype=np.int64)  # rows[item index] = the table row (internal id) it takes
    capacities = block_capacities(n_items, item_factors)
    groups = balanced_kmeans(vectors, balanced_partition(vectors, capacities))
    residual = vectors.copy()
    for members in groups:
        if len(members):
            residual[members] -= vectors[members].mean(axis=0)
    # Inside a block, the rows follow the items' residuals along the residuals' common principal direction,
    # so that position p means the same offset from the block's centre in every block.
    projection = _principal_projection(residual)
    for block, members in enumerate(groups):
        free = _free_rows(block, block_rows, n_items)
        rows[members[np.argsort(projection[members], kind="stable")]] = free
    shape = (item_factors, dim_factors, tt_rank, stp_factor)
    fitted, error = _fit_layout(vectors, rows, shape)
    for _ in range(refine_steps):
        candidate = _reassign(vectors, rows, fitted, rows // block_rows)  # within each block
        candidate = _reassign(vectors, candidate, fitted, candidate % block_rows)  # each position
        candidate_fit, candidate_error = _fit_layout(vectors, candidate, shape)
        if candidate_error >= error - 1e-9:
            break
        rows, fitted, error = candidate, candidate_fit, candidate_error
    return _new_to_old(rows)


def _free_rows(block: int, block_rows: int, n_items: int) -> np.ndarray:
    start = block * block_rows
    return np.arange(max(start, 1), min(start + block_rows, n_items + 1))


def _new_to_old(rows: np.ndarray) -> np.ndarray:
    new_to_old = np.empty(len(rows), dtype=np.int64)
    new_to_old[rows - 1] = np.arange(1, len(rows) + 1)
    return new_to_old


def _fit_layout(vectors: np.ndarray, rows: np.ndarray, shape: tuple) -> tuple[np.ndarray, float]:
    """The TT-SVD fit of the layout `rows` and its relative error."""
    table = _layout(vectors, _new_to_old(rows))
    fitted = _tt_fit(table, *shape)
    return fitted, float(np.linalg.norm(fitted - table) / np.linalg.norm(table))


def _reassign(vectors: np.ndarray, rows: np.ndarray, fitted: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """For the fit held fixed, the best assignment of each group's items to the group's own rows."""
    rows = rows.copy()
    by_group = np.argsort(groups, kind="stable")
    boundaries = np.flatnonzero(np.diff(groups[by_group])) + 1
    for members in np.split(by_group, boundaries):
        if len(members) < 2:
            continue
        targets = fitted[rows[members]]  # [m, d]: the fitted rows this group occupies
        cost = (
            np.sum(vectors[members] ** 2, axis=1)[:, None]
            - 2.0 * vectors[members] @ targets.T
            + np.sum(targets**2, axis=1)[None, :]
        )
        members_order, row_order = linear_sum_assignment(cost)
        rows[members[members_order]] = rows[members][row_order]
    return rows
