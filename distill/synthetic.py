"""Seeded synthetic user sequences with structure a sequence model can learn and popularity cannot.

Items have Zipf-like popularity and belong to latent interest clusters; inside a cluster every item has a few
preferred successors. A user holds 1-3 interests and, at each step, either follows a successor of the current
item (first-order structure: a Markov model beats popularity), jumps to a popular item of one of their
interests (long-range structure: a model reading the whole history beats Markov), or clicks a globally popular
item (noise).

Items carry names from their cluster's topic ("jazz album 17": the 17th jazz album) and shop-style original
ids ("sku-48213") drawn apart from everything else, so a person can judge a recommendation by eye and an id
that crosses between the original and internal id spaces (internal ids are 1..n) is never silently valid.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

DEFAULT_USERS = 2000
DEFAULT_ITEMS = 1000
# Named sizes (users, items) of the benchmark datasets `distill.registry` builds from this generator. The
# default catalogue is small enough that its item table is not the bulk of a d = 32 model (32,032 of the
# teacher's 46,624 parameters); "synthetic-5k" is one where it is (156,800 of 171,392), with twice the users
# so that the median item still has a handful of interactions (issue 17: a table worth compressing).
SIZES = {"synthetic": (DEFAULT_USERS, DEFAULT_ITEMS), "synthetic-5k": (4000, 5000)}
FOLLOW_PROBABILITY = 0.45
JUMP_PROBABILITY = 0.45  # the remaining 0.10 is a globally popular click
SUCCESSOR_WEIGHTS = np.array([0.5, 0.3, 0.2])
ZIPF_EXPONENT = 0.9
# One topic per latent cluster; clusters beyond the list are named "topic <n>".
TOPICS = (
    "jazz album", "rock album", "classical recording", "sci-fi novel", "crime novel", "cookbook",
    "travel guide", "picture book", "board game", "video game", "running shoe", "hiking boot", "rain jacket",
    "coffee blend", "green tea", "olive oil", "dark chocolate", "houseplant", "garden tool", "kitchen knife",
    "yoga mat", "camera lens", "headphones", "desk lamp",
)  # fmt: skip
SKU_PREFIX = "sku-"
# Separate stream for the ids, so naming never changes the interactions drawn from `seed`.
_ID_STREAM = 1


@dataclass(frozen=True)
class SyntheticData:
    """What the generator returns.

    Attributes:
        sequences: user id -> original item ids (e.g. "sku-48213"), oldest first.
        titles: original item id -> name (e.g. "jazz album 17"), for every item of the catalogue.
    """

    sequences: dict[str, list[str]]
    titles: dict[str, str]


def topic_name(cluster: int) -> str:
    """The topic of latent cluster `cluster` (0-based)."""
    return TOPICS[cluster] if cluster < len(TOPICS) else f"topic {cluster + 1}"


def sku_ids(n_items: int, seed: int) -> list[str]:
    """`n_items` distinct original ids "sku-<digits>", all of one width (so text order is numeric order), from
    at least 10x as many numbers as items: an internal id read as an original id is not one of them."""
    width = max(5, len(str(10 * n_items)))
    low = 10 ** (width - 1)
    numbers = np.random.default_rng([seed, _ID_STREAM]).choice(9 * low, size=n_items, replace=False) + low
    return [f"{SKU_PREFIX}{number}" for number in numbers.tolist()]


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
) -> SyntheticData:
    """Generates chronological user sequences and item names; the same arguments always give the same output.

    Args:
        n_users: number of users ("1".."n_users").
        n_items: size of the item catalogue (`sku_ids(n_items, seed)`); rarely clicked items may not appear.
        seed: seed of the numpy Generator.
        n_clusters: number of latent interest clusters.
        min_length / max_length: inclusive bounds of a user's sequence length.

    Returns:
        the sequences (original ids, oldest first) and a name for every item ("<topic> <n>": the n-th item of
        its cluster, counted in catalogue order).

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

    item_ids = sku_ids(n_items, seed)
    titles = {}
    for cluster, members in enumerate(cluster_members):
        for number, item in enumerate(members.tolist(), start=1):
            titles[item_ids[item]] = f"{topic_name(cluster)} {number}"

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
        sequences[str(user + 1)] = [item_ids[item] for item in items]
    return SyntheticData(sequences, titles)
