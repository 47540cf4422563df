"""Recommendation losses against numpy and hand-computed values."""

from __future__ import annotations

import math

import numpy as np
import pytest

from model.keras_setup import tf
from model.losses import sampled_softmax_losses, softmax_cross_entropy


def numpy_cross_entropy(logits: np.ndarray, labels: np.ndarray) -> float:
    logits = np.asarray(logits, dtype=np.float64)
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    return float(-log_probs[np.arange(len(labels)), labels].mean())


def _mean_sampled_loss(queries, labels, table, negative_ids, log_q) -> tf.Tensor:
    """The batch mean of `sampled_softmax_losses` with the rows of `table` for the labels and negatives."""
    return tf.reduce_mean(
        sampled_softmax_losses(
            tf.constant(queries),
            tf.constant(labels),
            tf.constant(table[labels]),
            tf.constant(negative_ids),
            tf.constant(table[negative_ids]),
            tf.constant(log_q),
        )
    )


def test_softmax_cross_entropy_hand_computed():
    # Row 0: p(label 2) = 3 / 5 -> ln(5/3) = 0.510826; row 1: uniform over 3 -> ln 3 = 1.098612.
    scores = tf.constant([[0.0, 0.0, math.log(3.0)], [1.0, 1.0, 1.0]])
    loss = softmax_cross_entropy(scores, tf.constant([2, 0]))
    assert float(loss) == pytest.approx((0.510826 + 1.098612) / 2, abs=1e-5)


def test_softmax_cross_entropy_matches_numpy_with_padding_column():
    rng = np.random.default_rng(0)
    scores = rng.normal(size=(5, 9)).astype(np.float32)
    scores[:, 0] = -1e9
    labels = rng.integers(1, 9, size=5)
    expected = numpy_cross_entropy(scores, labels)
    assert float(softmax_cross_entropy(tf.constant(scores), tf.constant(labels))) == pytest.approx(
        expected, rel=1e-5
    )


def test_sampled_softmax_hand_computed_with_accidental_hit():
    # Zero queries and uniform q: every logit is -log q, so row 0 (label 1, negatives 2, 3, 4) is uniform over
    # 4 logits -> ln 4; row 1 (label 3) has an accidental hit on 3, leaving 3 logits -> ln 3.
    n_rows = 6
    log_q = np.full(n_rows, math.log(1 / 5), dtype=np.float32)
    loss = tf.reduce_mean(
        sampled_softmax_losses(
            queries=tf.zeros([2, 2]),
            labels=tf.constant([1, 3]),
            positive_rows=tf.zeros([2, 2]),
            negative_ids=tf.constant([2, 3, 4]),
            negative_rows=tf.zeros([3, 2]),
            log_sampling_prob=tf.constant(log_q),
        )
    )
    assert float(loss) == pytest.approx((math.log(4) + math.log(3)) / 2, abs=1e-5)


def test_sampled_softmax_matches_numpy():
    rng = np.random.default_rng(1)
    n_items, dim = 12, 4
    table = rng.normal(size=(n_items + 1, dim)).astype(np.float32)
    queries = rng.normal(size=(3, dim)).astype(np.float32)
    labels = np.array([1, 5, 7])
    negative_ids = np.array([5, 2, 9, 11])  # 5 is an accidental hit for row 1
    counts = rng.integers(1, 10, size=n_items + 1).astype(np.float64)
    log_q = np.log(counts / counts.sum()).astype(np.float32)

    expected_rows = []
    for row in range(3):
        positive = queries[row] @ table[labels[row]] - log_q[labels[row]]
        negatives = [queries[row] @ table[item] - log_q[item] for item in negative_ids if item != labels[row]]
        logits = np.array([positive, *negatives], dtype=np.float64)
        expected_rows.append(np.log(np.exp(logits - logits.max()).sum()) + logits.max() - positive)

    loss = _mean_sampled_loss(queries, labels, table, negative_ids, log_q)
    assert float(loss) == pytest.approx(float(np.mean(expected_rows)), rel=1e-5)


def test_sampled_softmax_with_all_items_as_negatives_equals_full_softmax_under_uniform_q():
    # With every other real item sampled once and uniform q, the logQ shift cancels: the sampled loss is the
    # full softmax over real items.
    rng = np.random.default_rng(2)
    n_items, dim = 6, 3
    table = rng.normal(size=(n_items + 1, dim)).astype(np.float32)
    queries = rng.normal(size=(2, dim)).astype(np.float32)
    labels = np.array([2, 6])
    negative_ids = np.arange(1, n_items + 1)
    log_q = np.full(n_items + 1, -math.log(n_items), dtype=np.float32)
    loss = _mean_sampled_loss(queries, labels, table, negative_ids, log_q)
    expected = numpy_cross_entropy(queries @ table[1:].T, labels - 1)
    assert float(loss) == pytest.approx(expected, rel=1e-5)
