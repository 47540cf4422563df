"""Attention masking and LayerNorm inputs whose intermediates stay in the range of real activations.

Full-integer (int8) export gives every tensor one scale. Keras' masked softmax adds -1e9 to hidden logits,
and LayerNorm on an all-zero padded row computes rsqrt(eps) = 1000: either range swamps the real values,
leaving them a handful of int8 steps. What is here keeps the same weights and, on real positions, the same
outputs.
"""

from __future__ import annotations

import math

from model.keras_setup import keras, tf

# Hidden entries sit this far below the best visible logit: weight <= e^-20 = 2e-9 each, and the softmax input
# spans only [-(20 + spread of the visible logits), 0] instead of reaching -1e9.
HIDDEN_LOGIT_GAP = 20.0


def masked_softmax(logits: tf.Tensor, mask: tf.Tensor) -> tf.Tensor:
    """Softmax over the last axis restricted to `mask` (True = visible), with a bounded input.

    Visible logits are shifted so the best is 0 and hidden ones set to -HIDDEN_LOGIT_GAP, then one softmax:
    hidden entries get at most 2e-9 each, a row with nothing visible gets uniform weights (as in Keras), and
    the graph has a plain SOFTMAX (no division, which int8 kernels of older runtimes lack).
    """
    mask = tf.cast(mask, logits.dtype)
    floor = tf.reduce_min(logits, axis=-1, keepdims=True)
    # The largest visible logit (hidden entries replaced by the row minimum); softmax is shift-invariant.
    peak = tf.stop_gradient(tf.reduce_max(logits * mask + floor * (1.0 - mask), axis=-1, keepdims=True))
    return tf.nn.softmax((logits - peak) * mask - (1.0 - mask) * HIDDEN_LOGIT_GAP, axis=-1)


@keras.utils.register_keras_serializable(package="odrec")
class MaskedSoftmaxAttention(keras.layers.MultiHeadAttention):
    """MultiHeadAttention with `masked_softmax`: same weights and (within 1e-7) the same outputs."""

    def _compute_attention(self, query, key, value, attention_mask=None, training=None):
        # The override point Keras documents for custom attention; the projections stay Keras'.
        query = tf.multiply(query, 1.0 / math.sqrt(float(self._key_dim)))
        logits = tf.einsum(self._dot_product_equation, key, query)  # [batch, heads, queries, keys]
        if attention_mask is None:
            weights = tf.nn.softmax(logits, axis=-1)
        else:
            weights = masked_softmax(logits, tf.expand_dims(attention_mask, axis=-3))
        dropped = self._dropout_layer(weights, training=training)
        return tf.einsum(self._combine_equation, dropped, value), weights


def unit_variance_padding(hidden: tf.Tensor, padding_mask: tf.Tensor) -> tf.Tensor:
    """`hidden` with its zeroed padded rows set to +1, -1, +1, ... before a LayerNorm.

    A zero row has variance 0, so LayerNorm computes rsqrt(eps) = 1000 there; a unit-variance row keeps that
    intermediate near the real rows' range. Padded rows are masked after every LayerNorm, so real positions
    are unchanged. hidden [..., d], padding_mask [..., 1] (1 = real position).
    """
    width = hidden.shape[-1]
    alternating = tf.constant([1.0 if index % 2 == 0 else -1.0 for index in range(width)], hidden.dtype)
    return hidden + (1.0 - padding_mask) * alternating


def causal_mask(history: tf.Tensor) -> tf.Tensor:
    """bool [L, L], True where key position j <= query position i.

    Built from the input's values (ids are >= 0, so min(id, 0) is 0): a mask from the static shape alone is
    folded by the LiteRT converter into an L x L constant (40 kB at L = 200); this one is computed on device.
    """
    positions = tf.range(tf.shape(history)[1]) + tf.minimum(tf.cast(history[0], tf.int32), 0)
    return positions[:, None] >= positions[None, :]
