"""Distillation losses as pure functions (tensors in, scalar out), each a mean over rows."""

from __future__ import annotations

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
