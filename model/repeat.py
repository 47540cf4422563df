"""Repeat-aware scoring: a learnt bonus for the items already in the history.

In session data a large share of next items were already seen (on Tmall the recent-items baseline beats a
plain SASRec: bench/results/tmall-teacher.json). A dot product with one sequence vector can point at one or
two history items, not at all of them by recency. The bonus adds, for each history slot s (counted from the
most recent item), `recency[s] + gate(query)` to the score of the item in that slot; an item seen twice gets
both slots' bonuses. Parameters: L + d + 1. All of it starts at zero, so training starts from the plain
model. Applying it costs an L x L comparison, an int32 scatter and a gather over the catalogue (builtin ops in
LiteRT; the scatter is int32, so full integer quantization cannot distort it): no N x L one-hot.
"""

from __future__ import annotations

from model.attention import causal_mask
from model.keras_setup import keras, tf


def visible_prefixes(history: tf.Tensor) -> tf.Tensor:
    """For every position p, the items up to p, right-aligned like an inference input: int32 [batch, L, L].

    Row p of example b is what the model would be given to predict the item after position p: slot L - 1 holds
    item p, slot L - 1 - k holds item p - k, and the slots before item 0 hold padding (0).
    """
    history = tf.cast(history, tf.int32)
    length = tf.shape(history)[1]
    positions = tf.range(length)[:, None]
    slots = tf.range(length)[None, :]
    source = slots - (length - 1 - positions)
    gathered = tf.gather(history, tf.maximum(source, 0), axis=1)
    return tf.where(source[None, :, :] >= 0, gathered, tf.zeros_like(gathered))


@keras.utils.register_keras_serializable(package="odrec")
class RepeatBonus(keras.layers.Layer):
    """Per-slot bonus weights and their scatter into catalogue scores.

    Args:
        max_len: L, the number of history slots (one recency weight each).
    """

    def __init__(self, max_len: int, **kwargs):
        super().__init__(**kwargs)
        self.max_len = max_len
        self.gate = keras.layers.Dense(1, kernel_initializer="zeros", name="gate")

    def build(self, input_shape=None):
        self.recency = self.add_weight(name="recency", shape=(self.max_len,), initializer="zeros")
        super().build(input_shape)

    def slot_weights(self, queries: tf.Tensor, histories: tf.Tensor) -> tf.Tensor:
        """queries [rows, d], right-aligned histories [rows, L] -> bonus per slot [rows, L], 0 on padding."""
        # Broadcast before adding: the converter folds `x + 0` to x, which with an all-zero (untrained)
        # recency vector would drop the broadcast and fail the conversion.
        gate = tf.broadcast_to(self.gate(queries), tf.shape(histories))
        weights = gate + self.recency[None, :]
        return weights * tf.cast(tf.not_equal(histories, 0), weights.dtype)

    def call(self, scores: tf.Tensor, queries: tf.Tensor, histories: tf.Tensor) -> tf.Tensor:
        """scores [rows, n_items + 1] plus, at each history item's column, the bonus of all its slots.

        The float bonus is never scattered: LiteRT's int8 SCATTER_ND fills untouched entries with 0 instead of
        the zero point and sums duplicate updates in the quantized domain, which shifted every unseen item
        and scrambled repeats under full integer quantization. Instead each item's latest slot carries the
        item's total bonus, an int32 scatter (exact) maps every column to that slot (0: none), and a gather
        reads the bonus per column.
        """
        histories = tf.cast(histories, tf.int32)
        weights = self.slot_weights(queries, histories)
        same_item = tf.equal(histories[:, :, None], histories[:, None, :])  # [rows, L, L]
        totals = tf.reduce_sum(tf.cast(same_item, weights.dtype) * weights[:, None, :], axis=2)
        shape = tf.shape(histories, out_type=tf.int32)
        length = shape[1]
        later = tf.logical_not(causal_mask(histories))  # [L, L]: slot j after slot i (computed, not stored)
        latest = tf.logical_and(
            tf.logical_not(tf.reduce_any(tf.logical_and(same_item, later[None]), axis=2)),
            tf.not_equal(histories, 0),
        )
        slot_numbers = tf.where(latest, tf.broadcast_to(tf.range(1, length + 1), shape), 0)
        rows = tf.broadcast_to(tf.range(shape[0])[:, None], shape)
        indices = tf.stack([tf.reshape(rows, [-1]), tf.reshape(histories, [-1])], axis=1)
        slot_of_column = tf.scatter_nd(indices, tf.reshape(slot_numbers, [-1]), tf.shape(scores))
        bonus_by_slot = tf.concat([tf.zeros_like(totals[:, :1]), totals], axis=1)  # [rows, L + 1]
        return scores + tf.gather(bonus_by_slot, slot_of_column, batch_dims=1)

    def at(self, queries: tf.Tensor, histories: tf.Tensor, item_ids: tf.Tensor) -> tf.Tensor:
        """The bonus of given items only: item_ids [rows, C] or [C] (shared) -> [rows, C]."""
        histories = tf.cast(histories, tf.int32)
        item_ids = tf.cast(item_ids, tf.int32)
        weights = self.slot_weights(queries, histories)
        # Only the real slots (a few per row in session data) are compared with the candidates.
        real = tf.not_equal(histories, 0)
        rows = tf.cast(tf.where(real)[:, 0], tf.int32)
        candidates = item_ids[None, :] if item_ids.shape.rank == 1 else tf.gather(item_ids, rows)
        matches = tf.equal(tf.boolean_mask(histories, real)[:, None], candidates)
        contributions = tf.boolean_mask(weights, real)[:, None] * tf.cast(matches, weights.dtype)
        return tf.math.unsorted_segment_sum(contributions, rows, num_segments=tf.shape(histories)[0])

    def get_config(self) -> dict:
        config = super().get_config()
        config.update(max_len=self.max_len)
        return config
