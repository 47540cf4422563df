"""Tests of distill.synthetic: determinism, sizes, popularity skew and sequential structure."""

from collections import Counter

import numpy as np
import pytest

from distill.synthetic import generate_synthetic


def test_same_seed_same_data_other_seed_other_data() -> None:
    first = generate_synthetic(n_users=50, n_items=100, seed=1, n_clusters=5)
    assert first == generate_synthetic(n_users=50, n_items=100, seed=1, n_clusters=5)
    assert first != generate_synthetic(n_users=50, n_items=100, seed=2, n_clusters=5)


def test_sizes_and_id_ranges() -> None:
    data = generate_synthetic(n_users=40, n_items=80, seed=0, n_clusters=4, min_length=5, max_length=9)
    assert list(data) == [str(user) for user in range(1, 41)]
    assert all(5 <= len(items) <= 9 for items in data.values())
    assert {int(item) for items in data.values() for item in items} <= set(range(1, 81))


def test_popularity_is_skewed_and_transitions_are_predictable() -> None:
    data = generate_synthetic(n_users=300, n_items=200, seed=0, n_clusters=8)
    counts = Counter(item for items in data.values() for item in items)
    frequencies = np.sort(np.array(list(counts.values())))[::-1]
    assert frequencies[:20].sum() > 3 * frequencies[-20:].sum()  # Zipf-like head vs tail
    # Sequential structure: the most frequent successor of an item is far likelier than a random item.
    followers: dict[str, Counter] = {}
    for items in data.values():
        for current, following in zip(items, items[1:], strict=False):
            followers.setdefault(current, Counter())[following] += 1
    top_share = np.mean(
        [c.most_common(1)[0][1] / sum(c.values()) for c in followers.values() if sum(c.values()) >= 20]
    )
    assert top_share > 0.15


def test_too_small_catalogue_is_refused() -> None:
    with pytest.raises(ValueError, match="too small"):
        generate_synthetic(n_users=5, n_items=10, n_clusters=5)
