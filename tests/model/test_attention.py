"""The int8-friendly attention masking and LayerNorm inputs against the plain Keras computation."""

import numpy as np

from model.attention import (
    HIDDEN_LOGIT_GAP,
    MaskedSoftmaxAttention,
    masked_softmax,
    unit_variance_padding,
)
from model.keras_setup import keras, tf

HIDDEN_WEIGHT_BOUND = np.exp(-HIDDEN_LOGIT_GAP) * (1 + 1e-5)  # e^-20, plus float32 rounding of exp


def test_masked_softmax_matches_softmax_over_visible_entries():
    rng = np.random.default_rng(0)
    logits = rng.normal(scale=30.0, size=(4, 7)).astype(np.float32)
    mask = rng.random((4, 7)) < 0.6
    mask[:, 0] = True
    mask[3] = False
    weights = masked_softmax(tf.constant(logits), tf.constant(mask)).numpy()
    for row in range(3):
        visible = logits[row][mask[row]]
        expected = np.exp(visible - visible.max()) / np.exp(visible - visible.max()).sum()
        np.testing.assert_allclose(weights[row][mask[row]], expected, rtol=1e-6, atol=1e-7)
        assert np.all(weights[row][~mask[row]] <= HIDDEN_WEIGHT_BOUND)
    np.testing.assert_allclose(weights[3], 1 / 7, rtol=1e-6)  # nothing visible: uniform, as in Keras


def test_masked_softmax_input_stays_bounded_whatever_the_hidden_logits():
    logits = tf.constant([[1.0, 2.0, 1e30, -1e30]])
    weights = masked_softmax(logits, tf.constant([[True, True, False, False]])).numpy()
    np.testing.assert_allclose(weights[0, :2], [1 / (1 + np.e), np.e / (1 + np.e)], rtol=1e-6)
    assert np.all(weights[0, 2:] <= HIDDEN_WEIGHT_BOUND)


def test_masked_softmax_gradient_matches_softmax():
    logits = tf.constant([[0.3, -1.2, 2.0, 0.7]])
    mask = tf.constant([[True, True, True, False]])
    probe = tf.constant([[1.0, -2.0, 0.5, 3.0]])
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(logits)
        ours = tf.reduce_sum(masked_softmax(logits, mask) * probe)
        reference = tf.reduce_sum(tf.nn.softmax(logits[:, :3]) * probe[:, :3])
    np.testing.assert_allclose(
        tape.gradient(ours, logits).numpy()[:, :3], tape.gradient(reference, logits).numpy()[:, :3], atol=1e-6
    )
    assert tape.gradient(ours, logits).numpy()[0, 3] == 0.0


def test_masked_softmax_attention_matches_keras():
    rng = np.random.default_rng(1)
    inputs = tf.constant(rng.normal(size=(2, 5, 8)).astype(np.float32))
    causal = np.tril(np.ones((5, 5), bool))
    mask = np.broadcast_to(causal, (2, 5, 5)).copy()
    mask[1, :, :2] = False  # two padded keys; query rows 0 and 1 of sequence 1 then see nothing
    keras_attention = keras.layers.MultiHeadAttention(2, 4)
    ours = MaskedSoftmaxAttention(2, 4)
    expected = keras_attention(inputs, inputs, attention_mask=mask).numpy()
    ours(inputs, inputs, attention_mask=mask)
    ours.set_weights(keras_attention.get_weights())
    actual = ours(inputs, inputs, attention_mask=mask).numpy()
    np.testing.assert_allclose(actual, expected, rtol=1e-5, atol=1e-6)


def test_unit_variance_padding_leaves_real_rows_and_layer_norm_of_them_unchanged():
    rng = np.random.default_rng(2)
    rows = rng.normal(size=(3, 4, 6)).astype(np.float32)
    padding_mask = np.ones((3, 4, 1), np.float32)
    padding_mask[1, :2] = 0.0
    rows *= padding_mask
    filled = unit_variance_padding(tf.constant(rows), tf.constant(padding_mask)).numpy()
    np.testing.assert_array_equal(filled[padding_mask[..., 0] == 1], rows[padding_mask[..., 0] == 1])
    np.testing.assert_array_equal(filled[1, :2], [[1, -1, 1, -1, 1, -1]] * 2)
    norm = keras.layers.LayerNormalization(epsilon=1e-6)
    normed_filled, normed_plain = norm(filled).numpy(), norm(rows).numpy()
    np.testing.assert_allclose(normed_filled * padding_mask, normed_plain * padding_mask, atol=1e-6)
