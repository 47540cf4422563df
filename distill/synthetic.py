"""Seeded synthetic user sequences with structure a sequence model can learn and popularity cannot.

Items have Zipf-like popularity and belong to latent interest clusters; inside a cluster every item has a few
preferred successors. A user holds 1-3 interests and, at each step, either follows a successor of the current
item (first-order structure: a Markov model beats popularity), jumps to a popular item of one of their
interests (long-range structure: a model reading the whole history beats Markov), or clicks a globally popular
item (noise).
"""

from __future__ import annotations

import numpy as np

DEFAULT_USERS = 2000
DEFAULT_ITEMS = 1000
FOLLOW_PROBABILITY = 0.45
JUMP_PROBABILITY = 0.45  # the remaining 0.10 is a globally popular click
SUCCESSOR_WEIGHTS = np.array([0.5, 0.3, 0.2])
ZIPF_EXPONENT = 0.9


def _cumulative(weights: np.ndarray) -> np.ndarray:
    cumulative = np.cumsum(weights, dtype=np.float64)
    return cumulative / cumulative[-1]


def _draw(rng: np.random.Generator, cumulative: np.ndarray) -> int:
    # searchsorted on a cumulative table is ~10x faster than rng.choice(p=...) per draw.
    return int(min(np.searchsorted(cumulative, rng.random(), side="right"), len(cumulative) - 1))


def generate_synthetic(
    n_users: int = DEFAULT_USERS,
    n_items: int = DEFAULT_ITEMS,
    seed: int = 0,
    n_clusters: int = 20,
    min_length: int = 10,
    max_length: int = 50,
) -> dict[str, list[str]]:
    """Generates chronological user sequences; the same arguments always give the same output.

    Args:
        n_users: number of users ("1".."n_users").
        n_items: size of the item catalogue ("1".."n_items"); rarely clicked items may not appear.
        seed: seed of the numpy Generator.
        n_clusters: number of latent interest clusters.
        min_length / max_length: inclusive bounds of a user's sequence length.

    Returns:
        user id -> original item ids (strings), oldest first.

    Raises:
        ValueError: for sizes that cannot produce a catalogue with successors in every cluster.
    """
    successors_per_item = len(SUCCESSOR_WEIGHTS)
    if n_items < n_clusters * (successors_per_item + 1):
        raise ValueError(
            f"n_items={n_items} is too small for n_clusters={n_clusters}: each cluster needs at least "
            f"{successors_per_item + 1} items; lower n_clusters or raise n_items"
        )
    if not 2 <= min_length <= max_length or n_users < 1:
        raise ValueError(
            f"need n_users >= 1 and 2 <= min_length <= max_length, got {n_users}, {min_length}, {max_length}"
        )
    rng = np.random.default_rng(seed)
    # Popularity rank is a random permutation so that item "1" is not automatically the most popular.
    popularity = 1.0 / (rng.permutation(n_items) + 1.0) ** ZIPF_EXPONENT
    # Balanced random clusters: shuffle the items, then deal them out.
    cluster_of_item = np.empty(n_items, dtype=np.int64)
    cluster_of_item[rng.permutation(n_items)] = np.arange(n_items) % n_clusters
    cluster_members = [np.flatnonzero(cluster_of_item == cluster) for cluster in range(n_clusters)]
    cluster_cumulative = [_cumulative(popularity[members]) for members in cluster_members]
    cluster_weights = np.array([popularity[members].sum() for members in cluster_members])
    global_cumulative = _cumulative(popularity)
    successor_cumulative = _cumulative(SUCCESSOR_WEIGHTS)

    successors = np.empty((n_items, successors_per_item), dtype=np.int64)
    for item in range(n_items):
        members = cluster_members[cluster_of_item[item]]
        candidates = members[members != item]
        weights = popularity[candidates] / popularity[candidates].sum()
        successors[item] = rng.choice(candidates, size=successors_per_item, replace=False, p=weights)

    sequences: dict[str, list[str]] = {}
    for user in range(n_users):
        n_interests = int(rng.integers(1, 4))
        interests = rng.choice(
            n_clusters, size=n_interests, replace=False, p=cluster_weights / cluster_weights.sum()
        )
        interest_cumulative = _cumulative(rng.dirichlet(np.ones(n_interests)))

        def interest_item() -> int:
            # A click inside one of this user's interests, by popularity within that cluster.
            cluster = int(interests[_draw(rng, interest_cumulative)])  # noqa: B023 (called in this iteration only)
            return int(cluster_members[cluster][_draw(rng, cluster_cumulative[cluster])])

        length = int(rng.integers(min_length, max_length + 1))
        items = [interest_item()]
        while len(items) < length:
            step = rng.random()
            if step < FOLLOW_PROBABILITY:
                items.append(int(successors[items[-1], _draw(rng, successor_cumulative)]))
            elif step < FOLLOW_PROBABILITY + JUMP_PROBABILITY:
                items.append(interest_item())
            else:
                items.append(_draw(rng, global_cumulative))
        sequences[str(user + 1)] = [str(item + 1) for item in items]
    return sequences
