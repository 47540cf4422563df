"""Distillation losses against hand-computed values and small numpy computations."""

from __future__ import annotations

import math

import numpy as np
import pytest

import model  # noqa: F401  (tf-keras before TensorFlow)
from distill.losses import info_nce, soft_target_kd
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
