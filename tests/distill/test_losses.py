"""Distillation losses against hand-computed values and small numpy computations."""

from __future__ import annotations

import math

import numpy as np
import pytest

import model  # noqa: F401  (tf-keras before TensorFlow)
from distill.losses import info_nce, soft_target_kd, top_k_kd
from model.keras_setup import tf

# Teacher logits [0, ln 3] give p = [1/4, 3/4]; student logits [0, 0] give q = [1/2, 1/2]:
# KL(p || q) = 1/4 ln(1/2) + 3/4 ln(3/2) = -0.1732868 + 0.3040988 = 0.1308120.
KL_EXAMPLE = 0.1308120


def test_soft_target_kd_hand_computed():
    teacher = tf.constant([[0.0, math.log(3.0)]])
    student = tf.constant([[0.0, 0.0]])
    assert float(soft_target_kd(teacher, student, temperature=1.0)) == pytest.approx(KL_EXAMPLE, abs=1e-6)


def test_soft_target_kd_scales_by_temperature_squared():
    # At T = 2 the logits are halved: doubled teacher logits give back p = [1/4, 3/4]; T^2 = 4.
    teacher = tf.constant([[0.0, 2 * math.log(3.0)]])
    student = tf.constant([[0.0, 0.0]])
    assert float(soft_target_kd(teacher, student, temperature=2.0)) == pytest.approx(4 * KL_EXAMPLE, abs=1e-5)


def test_soft_target_kd_is_a_mean_over_rows_and_zero_for_equal_distributions():
    teacher = tf.constant([[0.0, math.log(3.0)], [1.0, 2.0]])
    student = tf.constant([[0.0, 0.0], [5.0, 6.0]])  # row 1: same distribution (shifted logits), KL 0
    assert float(soft_target_kd(teacher, student, temperature=1.0)) == pytest.approx(KL_EXAMPLE / 2, abs=1e-6)


def test_soft_target_kd_ignores_the_masked_padding_column():
    teacher = tf.constant([[-1e9, 0.0, math.log(3.0)]])
    student = tf.constant([[-1e9, 0.0, 0.0]])
    assert float(soft_target_kd(teacher, student, temperature=1.0)) == pytest.approx(KL_EXAMPLE, abs=1e-6)


@pytest.mark.parametrize("temperature", [0.5, 1.0, 3.0])
def test_soft_target_kd_matches_numpy(temperature):
    rng = np.random.default_rng(0)
    teacher = rng.normal(size=(4, 7))
    student = rng.normal(size=(4, 7))

    def log_softmax(logits):
        logits = logits / temperature
        return logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))

    p = np.exp(log_softmax(teacher))
    expected = np.mean(np.sum(p * (log_softmax(teacher) - log_softmax(student)), axis=1)) * temperature**2
    actual = soft_target_kd(tf.constant(teacher, tf.float32), tf.constant(student, tf.float32), temperature)
    assert float(actual) == pytest.approx(expected, rel=1e-5)


def test_info_nce_hand_computed_and_normalised():
    # After L2 normalisation both sides are the identity; at tau = 0.5 the logits are [[2, 0], [0, 2]]:
    # each row's loss is ln(1 + e^-2) = 0.1269280.
    student = tf.constant([[1.0, 0.0], [0.0, 1.0]])
    teacher = tf.constant([[2.0, 0.0], [0.0, 3.0]])
    assert float(info_nce(student, teacher, temperature=0.5)) == pytest.approx(0.1269280, abs=1e-6)


def test_info_nce_single_row_is_zero():
    assert float(info_nce(tf.constant([[1.0, 2.0]]), tf.constant([[3.0, -1.0]]), 0.2)) == pytest.approx(0.0)


def test_info_nce_matches_numpy():
    rng = np.random.default_rng(1)
    student = rng.normal(size=(5, 4))
    teacher = rng.normal(size=(5, 4))
    tau = 0.2
    s = student / np.linalg.norm(student, axis=1, keepdims=True)
    t = teacher / np.linalg.norm(teacher, axis=1, keepdims=True)
    logits = s @ t.T / tau
    log_probs = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
    expected = -np.mean(np.diag(log_probs))
    actual = info_nce(tf.constant(student, tf.float32), tf.constant(teacher, tf.float32), tau)
    assert float(actual) == pytest.approx(expected, rel=1e-5)


# Teacher logits [0, ln 2, ln 5] give p = [1/8, 2/8, 5/8]; top-1 keeps item 2 (5/8), the tail holds 3/8. The
# student's equal logits give q = 1/3 each, so Q = [1/3, 2/3]:
# KL = 5/8 ln((5/8)/(1/3)) + 3/8 ln((3/8)/(2/3)) = 0.3928804 - 0.2157616 = 0.1771189.
TOP_1_KL_EXAMPLE = 0.1771189


def test_top_k_kd_hand_computed():
    teacher = tf.constant([[0.0, math.log(2.0), math.log(5.0)]])
    student = tf.constant([[0.0, 0.0, 0.0]])
    assert float(top_k_kd(teacher, student, 1.0, top_k=1)) == pytest.approx(TOP_1_KL_EXAMPLE, abs=1e-6)


def _numpy_top_k_kd(teacher, student, temperature, top_k):
    """Independent loop: softmax, pick the teacher's top-k per row, pool the rest into one bucket, KL."""
    values = []
    for teacher_row, student_row in zip(teacher / temperature, student / temperature, strict=True):
        p = np.exp(teacher_row - teacher_row.max())
        p /= p.sum()
        q = np.exp(student_row - student_row.max())
        q /= q.sum()
        top = np.argsort(-teacher_row, kind="stable")[:top_k]
        rest = np.setdiff1d(np.arange(len(p)), top)
        buckets_p = np.append(p[top], p[rest].sum())
        buckets_q = np.append(q[top], q[rest].sum())
        kept = buckets_p > 0
        values.append(np.sum(buckets_p[kept] * np.log(buckets_p[kept] / buckets_q[kept])))
    return np.mean(values) * temperature**2


@pytest.mark.parametrize("top_k", [1, 3, 6, 8])
@pytest.mark.parametrize("temperature", [0.5, 2.0])
def test_top_k_kd_matches_numpy(top_k, temperature):
    rng = np.random.default_rng(2)
    teacher = rng.normal(size=(5, 8)) * 2.0
    student = rng.normal(size=(5, 8))
    expected = _numpy_top_k_kd(teacher, student, temperature, top_k)
    actual = top_k_kd(tf.constant(teacher, tf.float32), tf.constant(student, tf.float32), temperature, top_k)
    assert float(actual) == pytest.approx(expected, rel=1e-5)


def test_top_k_kd_with_every_item_kept_is_the_full_kd_and_has_finite_gradients():
    rng = np.random.default_rng(3)
    teacher = tf.constant(rng.normal(size=(3, 6)), tf.float32)
    student = tf.Variable(rng.normal(size=(3, 6)), dtype=tf.float32)
    full = float(soft_target_kd(teacher, student, 1.0))
    for top_k in (5, 6):  # a one-item tail, and an empty tail
        with tf.GradientTape() as tape:
            loss = top_k_kd(teacher, student, 1.0, top_k)
        assert float(loss) == pytest.approx(full, rel=1e-5)
        assert np.isfinite(tape.gradient(loss, student).numpy()).all()


def test_top_k_kd_refuses_k_outside_the_catalogue():
    scores = tf.zeros([1, 4])
    with pytest.raises(ValueError, match="top_k=5"):
        top_k_kd(scores, scores, 1.0, top_k=5)
