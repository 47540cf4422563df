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


def latest_slot_of_columns(histories: tf.Tensor, num_columns: tf.Tensor, same_item: tf.Tensor) -> tf.Tensor:
    """int32 [rows, num_columns]: for each catalogue column, 1 + the slot of that item's latest occurrence in
    the row's right-aligned history [rows, L], 0 when the item is not in it.

    An int32 scatter (exact under every quantization) of slot numbers that are unique per row: only each
    item's latest slot writes, so no two updates of a row land on one column. `same_item` [rows, L, L] is
    histories[:, :, None] == histories[:, None, :], which every caller has already computed.
    """
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
    return tf.scatter_nd(indices, tf.reshape(slot_numbers, [-1]), tf.stack([shape[0], num_columns]))


class HistorySlotLayer(keras.layers.Layer):
    """What both repeat scorings learn: a weight per history slot (recency) and a gate read from the query.

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

    def get_config(self) -> dict:
        config = super().get_config()
        config.update(max_len=self.max_len)
        return config


@keras.utils.register_keras_serializable(package="odrec")
class RepeatBonus(HistorySlotLayer):
    """Per-slot bonus weights and their scatter into catalogue scores."""

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
        slot_of_column = latest_slot_of_columns(histories, tf.shape(scores)[1], same_item)
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


@keras.utils.register_keras_serializable(package="odrec")
class RepeatExplore(HistorySlotLayer):
    """Repeat and explore as two distributions mixed by a learnt gate (RepeatNet, Ren et al., AAAI 2019).

    p(i) = g * p_repeat(i) + (1 - g) * p_explore(i), g = sigmoid(gate(query)). p_repeat lives on the history:
    a softmax over its slots of `dot_scale * query . item + recency[slot]`, an item's slots summed. p_explore
    lives on everything else: the softmax of the model's dot scores with the history left out. So a new-item
    target trains the explore side with the history masked out, and a repeat target never pushes the history
    into it: the ranking the `recommend` path shows (history excluded) is the explore softmax alone.
    Scores are log p, so softmax(scores) = p and every loss and KD written for logits applies unchanged.
    Parameters: L + d + 2. A row with an empty history explores only.
    """

    def build(self, input_shape=None):
        super().build(input_shape)
        self.dot_scale = self.add_weight(name="dot_scale", shape=(), initializer="ones")

    def gate_log_probs(self, queries: tf.Tensor, histories: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        """(log g, log (1 - g)), each [rows, 1]; an empty history gives g = 0 (log g very negative)."""
        has_history = tf.reduce_any(tf.not_equal(histories, 0), axis=1, keepdims=True)
        logit = tf.where(has_history, self.gate(queries), -1e4)
        return tf.math.log_sigmoid(logit), tf.math.log_sigmoid(-logit)

    def repeat_log_probs(self, slot_dots: tf.Tensor, histories: tf.Tensor, same_item: tf.Tensor) -> tf.Tensor:
        """log p_repeat of each slot's item [rows, L] (all its slots summed) from query . item per slot."""
        real = tf.not_equal(histories, 0)
        logits = self.dot_scale * slot_dots + self.recency[None, :]
        logits = tf.where(real, logits, -1e4)
        slot_log_probs = logits - tf.reduce_logsumexp(logits, axis=1, keepdims=True)
        return tf.reduce_logsumexp(tf.where(same_item, slot_log_probs[:, None, :], -1e4), axis=2)

    def call(self, scores: tf.Tensor, queries: tf.Tensor, histories: tf.Tensor) -> tf.Tensor:
        """log p [rows, columns] from dot scores [rows, columns] (column 0, padding, is never ranked).

        The explore side masks by multiplication (no large constant in its tensors); the repeat side still
        masks padding slots with -1e4 ([rows, L] tensors), which full integer quantization would have to
        cover. Only fp32 export parity is tested (tests/convert/test_export.py); full_int8 here is unmeasured.
        """
        histories = tf.cast(histories, tf.int32)
        same_item = tf.equal(histories[:, :, None], histories[:, None, :])
        columns = tf.shape(scores)[1]
        slot_of_column = latest_slot_of_columns(histories, columns, same_item)
        in_history = slot_of_column > 0
        explorable = tf.logical_and(tf.logical_not(in_history), tf.not_equal(tf.range(columns), 0)[None, :])
        highest = tf.reduce_max(scores, axis=1, keepdims=True)
        weights = tf.exp(scores - highest) * tf.cast(explorable, scores.dtype)
        mass = tf.reduce_sum(weights, axis=1, keepdims=True)
        log_gate, log_explore_gate = self.gate_log_probs(queries, histories)
        explore = scores - highest - tf.math.log(mass) + log_explore_gate
        slot_dots = tf.gather(scores, histories, batch_dims=1)
        repeat_by_slot = log_gate + self.repeat_log_probs(slot_dots, histories, same_item)
        repeat_by_slot = tf.concat([tf.zeros_like(repeat_by_slot[:, :1]), repeat_by_slot], axis=1)
        return tf.where(in_history, tf.gather(repeat_by_slot, slot_of_column, batch_dims=1), explore)

    def contains(self, histories: tf.Tensor, item_ids: tf.Tensor) -> tf.Tensor:
        """bool [rows, C]: item_ids [C] (shared) that sit in each row's history [rows, L]."""
        histories = tf.cast(histories, tf.int32)
        real = tf.not_equal(histories, 0)
        rows = tf.cast(tf.where(real)[:, 0], tf.int32)
        matches = tf.equal(tf.boolean_mask(histories, real)[:, None], tf.cast(item_ids, tf.int32)[None, :])
        found = tf.math.unsorted_segment_max(tf.cast(matches, tf.float32), rows, tf.shape(histories)[0])
        return found > 0.5

    def negative_log_likelihood(
        self,
        queries: tf.Tensor,
        histories: tf.Tensor,
        slot_dots: tf.Tensor,
        labels: tf.Tensor,
        explore_losses: tf.Tensor,
    ) -> tf.Tensor:
        """Mean -log p(label) given -log p_explore(label) per row (e.g. a sampled softmax over non-history
        items); a label in the history is scored by the repeat side, any other by the explore side."""
        histories = tf.cast(histories, tf.int32)
        same_item = tf.equal(histories[:, :, None], histories[:, None, :])
        is_label = tf.equal(histories, tf.cast(labels, tf.int32)[:, None])
        repeat = self.repeat_log_probs(slot_dots, histories, same_item)
        label_repeat = tf.reduce_max(tf.where(is_label, repeat, -1e4), axis=1)
        log_gate, log_explore_gate = self.gate_log_probs(queries, histories)
        repeated = tf.reduce_any(is_label, axis=1)
        losses = tf.where(repeated, -(log_gate[:, 0] + label_repeat), explore_losses - log_explore_gate[:, 0])
        return tf.reduce_mean(losses)
