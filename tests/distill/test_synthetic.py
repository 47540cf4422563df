"""Tests of distill.synthetic: determinism, sizes, ids and names, popularity skew and sequential structure."""

import re
from collections import Counter

import numpy as np
import pytest

from distill.dataset import leave_one_out
from distill.synthetic import TOPICS, generate_synthetic, sku_ids, topic_name


def test_same_seed_same_data_other_seed_other_data() -> None:
    first = generate_synthetic(n_users=50, n_items=100, seed=1, n_clusters=5)
    assert first == generate_synthetic(n_users=50, n_items=100, seed=1, n_clusters=5)
    other = generate_synthetic(n_users=50, n_items=100, seed=2, n_clusters=5)
    assert first.sequences != other.sequences and first.titles != other.titles


def test_sizes_ids_and_names() -> None:
    data = generate_synthetic(n_users=40, n_items=80, seed=0, n_clusters=4, min_length=5, max_length=9)
    assert list(data.sequences) == [str(user) for user in range(1, 41)]
    assert all(5 <= len(items) <= 9 for items in data.sequences.values())
    assert len(data.titles) == 80 and len(set(data.titles.values())) == 80
    assert {item for items in data.sequences.values() for item in items} <= set(data.titles)
    assert all(re.fullmatch(r"sku-\d{5}", item) for item in data.titles)
    # Every cluster is one topic, numbered 1..size in catalogue order.
    assert sorted(data.titles.values()) == sorted(
        f"{TOPICS[cluster]} {number}" for cluster in range(4) for number in range(1, 21)
    )


def test_original_ids_never_equal_internal_ids() -> None:
    """An internal id shown as an original id (or the reverse) is never a valid id of the other space."""
    generated = generate_synthetic(n_users=60, n_items=100, seed=3, n_clusters=5)
    vocab = leave_one_out("synthetic", generated.sequences, generated.titles).vocab
    internal_as_text = {str(internal) for internal in range(vocab.n_items + 1)}
    assert not internal_as_text & set(vocab.original_ids)
    assert not internal_as_text & {original.removeprefix("sku-") for original in vocab.original_ids}
    assert all(vocab.title(internal) == generated.titles[vocab.original_id(internal)] for internal in (1, 50))


def test_names_do_not_change_the_interactions() -> None:
    """The ids come from their own random stream: the latent items clicked are those the generator drew before
    it named them (these two users were printed by the unnamed generator at 5ba3d91)."""
    data = generate_synthetic(n_users=30, n_items=60, seed=4, n_clusters=3, min_length=5, max_length=8)
    latent = {original: str(index) for index, original in enumerate(sku_ids(60, seed=4), start=1)}
    assert [latent[item] for item in data.sequences["1"]] == ["57", "58", "57", "10", "26"]
    assert [latent[item] for item in data.sequences["2"]] == ["14", "17", "60", "1", "21", "42", "17", "17"]


def test_topics_follow_the_clusters() -> None:
    """Consecutive clicks share a topic far more often than chance: names say why an item is recommended."""
    data = generate_synthetic(n_users=200, n_items=200, seed=0, n_clusters=8)

    def topic(item: str) -> str:
        return data.titles[item].rsplit(" ", 1)[0]

    pairs = [(a, b) for items in data.sequences.values() for a, b in zip(items, items[1:], strict=False)]
    same_topic = np.mean([topic(a) == topic(b) for a, b in pairs])
    assert same_topic > 0.6, same_topic  # chance is about 1/8
    assert topic_name(len(TOPICS)) == f"topic {len(TOPICS) + 1}"


def test_popularity_is_skewed_and_transitions_are_predictable() -> None:
    data = generate_synthetic(n_users=300, n_items=200, seed=0, n_clusters=8).sequences
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
