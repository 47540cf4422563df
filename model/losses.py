"""Recommendation losses of the SASRec models as pure functions (tensors in, scalar out)."""

from __future__ import annotations

from model.keras_setup import tf


def softmax_cross_entropy(scores: tf.Tensor, labels: tf.Tensor) -> tf.Tensor:
    """Mean full-catalogue softmax cross-entropy.

    Args:
        scores: [rows, n_items + 1] logits (the padding column should already be very negative).
        labels: [rows] int target ids.
    """
    losses = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=tf.cast(labels, tf.int32), logits=scores)
    return tf.reduce_mean(losses)


def sampled_softmax_losses(
    queries: tf.Tensor,
    labels: tf.Tensor,
    positive_rows: tf.Tensor,
    negative_ids: tf.Tensor,
    negative_rows: tf.Tensor,
    log_sampling_prob: tf.Tensor,
    positive_bonus: tf.Tensor | None = None,
    negative_bonus: tf.Tensor | None = None,
    excluded_negatives: tf.Tensor | None = None,
) -> tf.Tensor:
    """Sampled-softmax cross-entropy per row [rows], with logQ correction and accidental-hit removal.

    The negatives are shared by all rows of the batch; subtracting log q(item) from every logit makes the
    sampled softmax an unbiased stand-in for the full one whatever the sampling distribution (uniform or
    popularity).

    Args:
        queries: [rows, d] sequence vectors.
        labels: [rows] target ids.
        positive_rows: [rows, d] item vectors of the targets.
        negative_ids: [num_negatives] sampled ids.
        negative_rows: [num_negatives, d] their item vectors.
        log_sampling_prob: [n_items + 1] log q(item) of the sampler.
        positive_bonus, negative_bonus: optional [rows] and [rows, num_negatives] additions to the model's
            logits (the repeat bonus), applied before the correction.
        excluded_negatives: optional bool [rows, num_negatives], True for negatives that row must not rank
            against (e.g. its history, for a distribution over the other items).
    """
    labels = tf.cast(labels, tf.int32)
    positive_logits = tf.reduce_sum(queries * positive_rows, axis=-1) - tf.gather(log_sampling_prob, labels)
    negative_logits = (
        tf.matmul(queries, negative_rows, transpose_b=True)
        - tf.gather(log_sampling_prob, negative_ids)[None, :]
    )
    if positive_bonus is not None:
        positive_logits += positive_bonus
        negative_logits += negative_bonus
    dropped = tf.equal(labels[:, None], tf.cast(negative_ids, tf.int32)[None, :])
    if excluded_negatives is not None:
        dropped = tf.logical_or(dropped, excluded_negatives)
    negative_logits = tf.where(dropped, tf.fill(tf.shape(negative_logits), -1e9), negative_logits)
    logits = tf.concat([positive_logits[:, None], negative_logits], axis=1)
    return tf.nn.sparse_softmax_cross_entropy_with_logits(tf.zeros_like(labels), logits)
