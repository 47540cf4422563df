"""Distillation losses as pure functions (tensors in, scalar out), each a mean over rows."""

from __future__ import annotations

from typing import NamedTuple

from model.keras_setup import tf


def soft_target_kd(teacher_scores: tf.Tensor, student_scores: tf.Tensor, temperature: float) -> tf.Tensor:
    """KL(p_teacher || p_student) over the catalogue at `temperature`, scaled by T^2, mean over rows.

    The T^2 factor keeps the gradient scale of the soft term independent of the temperature (Hinton et al.).

    Args:
        teacher_scores / student_scores: [rows, n_items + 1] logits (padding column very negative in both).
    """
    teacher_log_probs = tf.nn.log_softmax(teacher_scores / temperature, axis=-1)
    student_log_probs = tf.nn.log_softmax(student_scores / temperature, axis=-1)
    kl = tf.reduce_sum(tf.exp(teacher_log_probs) * (teacher_log_probs - student_log_probs), axis=-1)
    return tf.reduce_mean(kl) * temperature**2


def info_nce(student_views: tf.Tensor, teacher_views: tf.Tensor, temperature: float) -> tf.Tensor:
    """InfoNCE with in-batch negatives: row i of each side is the positive pair, other rows the negatives.

    Args:
        student_views / teacher_views: [rows, d]; L2-normalised here.
    """
    student_views = tf.math.l2_normalize(student_views, axis=-1)
    teacher_views = tf.math.l2_normalize(teacher_views, axis=-1)
    logits = tf.matmul(student_views, teacher_views, transpose_b=True) / temperature
    labels = tf.range(tf.shape(logits)[0])
    return tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits))


class TeacherTopK(NamedTuple):
    """What KD over the teacher's top k needs from the teacher, per row, at one temperature: the log
    probabilities of its top-k items, their ids and the log probability of everything else (the tail bucket).
    Deterministic for a frozen teacher, so it can be computed once and cached (distill.teacher_cache)."""

    log_probs: tf.Tensor  # [rows, k]
    items: tf.Tensor  # [rows, k] int32
    tail_log_prob: tf.Tensor  # [rows]


def _tail_log_prob(logits: tf.Tensor, norm: tf.Tensor, top_items: tf.Tensor) -> tf.Tensor:
    """log of the probability mass outside `top_items` [rows, k], as log-sum-exp over the other columns
    (stable even when the tail is tiny); an empty tail gives a finite, hugely negative value: p = 0, no NaN
    gradient."""
    rows, top_k = tf.shape(logits)[0], tf.shape(top_items)[1]
    row_index = tf.repeat(tf.range(rows), top_k)
    in_top = tf.scatter_nd(
        tf.stack([row_index, tf.reshape(top_items, [-1])], axis=1),
        tf.ones([rows * top_k], tf.bool),
        tf.shape(logits),
    )
    excluded = tf.fill(tf.shape(logits), -1e30)
    return tf.reduce_logsumexp(tf.where(in_top, excluded, logits), axis=-1) - norm


def teacher_top_k(teacher_scores: tf.Tensor, temperature: float, top_k: int) -> TeacherTopK:
    """The teacher's side of `top_k_kd`: its top-k log probabilities at `temperature`, items and tail.

    Raises:
        ValueError: top_k outside 1..n_items + 1.
    """
    columns = teacher_scores.shape[-1]
    if top_k < 1 or (columns is not None and top_k > columns):
        raise ValueError(f"top_k={top_k} must be in 1..{columns} (the score columns); lower --kd_top_k")
    logits = teacher_scores / temperature
    norm = tf.reduce_logsumexp(logits, axis=-1)
    top, items = tf.math.top_k(logits, top_k)
    return TeacherTopK(top - norm[:, None], items, _tail_log_prob(logits, norm, items))


def top_k_kd_from(teacher: TeacherTopK, student_scores: tf.Tensor, temperature: float) -> tf.Tensor:
    """`top_k_kd` given the teacher's side (live or cached): KL over the top-k items and the tail bucket."""
    student_logits = student_scores / temperature
    student_norm = tf.reduce_logsumexp(student_logits, axis=-1)
    student_top = tf.gather(student_logits, teacher.items, batch_dims=1) - student_norm[:, None]
    student_tail = _tail_log_prob(student_logits, student_norm, teacher.items)
    kl_top = tf.reduce_sum(tf.exp(teacher.log_probs) * (teacher.log_probs - student_top), axis=-1)
    # 0 * (log 0 - log q) is 0 when the teacher's tail is empty.
    kl_tail = tf.math.multiply_no_nan(
        teacher.tail_log_prob - student_tail, tf.exp(teacher.tail_log_prob)
    )
    return tf.reduce_mean(kl_top + kl_tail) * temperature**2


def top_k_kd(
    teacher_scores: tf.Tensor, student_scores: tf.Tensor, temperature: float, top_k: int
) -> tf.Tensor:
    """KL(p_teacher || p_student) over the teacher's top-k items plus one tail bucket, scaled by T^2, mean
    over rows: the KD of `soft_target_kd` for large catalogues, where the full distribution is mostly tail.

    Per row, the k items of highest teacher score keep their own probabilities; every other item is pooled
    into a tail bucket holding its summed probability, in both distributions. With k = n_items + 1 (or
    n_items: the tail is then one item) this is `soft_target_kd` exactly.

    Args:
        teacher_scores / student_scores: [rows, n_items + 1] logits (padding column very negative in both).
        top_k: k, 1 <= k <= n_items + 1.

    Raises:
        ValueError: top_k outside 1..n_items + 1.
    """
    return top_k_kd_from(teacher_top_k(teacher_scores, temperature, top_k), student_scores, temperature)
