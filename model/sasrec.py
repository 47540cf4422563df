"""SASRec next-item model in Keras: the teacher (dense item table) and, with an STP-TT table, the student."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from model.attention import MaskedSoftmaxAttention, causal_mask, unit_variance_padding
from model.dense_embedding import DenseEmbedding
from model.keras_setup import keras, tf
from model.losses import sampled_softmax_losses, softmax_cross_entropy
from model.repeat import RepeatBonus, RepeatExplore, visible_prefixes
from model.stp_tt_embedding import STPTTEmbedding

PADDING_SCORE = -1e9
READOUTS = ("last", "attention")
ITEM_TABLES = ("dense", "stp_tt")
LOSSES = ("full", "sampled")
NEGATIVE_SAMPLERS = ("uniform", "popularity")


@dataclass(frozen=True)
class SASRecConfig:
    """Everything needed to rebuild a model; saved beside every checkpoint and flatbuffer."""

    n_items: int
    max_len: int = 50
    hidden_dim: int = 64
    num_blocks: int = 2
    num_heads: int = 1
    ffn_dim: int | None = None
    dropout: float = 0.2
    readout: str = "last"
    item_table: str = "dense"
    tt_rank: int = 16
    stp_factor: int = 1
    tt_num_cores: int = 2
    tt_item_factors: tuple[int, ...] = field(default_factory=tuple)
    tt_dim_factors: tuple[int, ...] = field(default_factory=tuple)
    loss: str = "full"
    num_negatives: int = 512
    negative_sampler: str = "uniform"
    # Learnt bonus for items already in the history (model.repeat); off reproduces plain SASRec.
    repeat_scores: bool = False
    # With `repeat_scores`: repeat and explore as two distributions under a learnt gate (model.repeat.
    # RepeatExplore) instead of an additive bonus, so that new-item targets train a ranking of the non-history
    # items, the one `recommend` (history excluded) shows.
    explore_path: bool = False

    def __post_init__(self):
        checks = {
            "readout": (self.readout, READOUTS),
            "item_table": (self.item_table, ITEM_TABLES),
            "loss": (self.loss, LOSSES),
            "negative_sampler": (self.negative_sampler, NEGATIVE_SAMPLERS),
        }
        for name, (value, allowed) in checks.items():
            if value not in allowed:
                raise ValueError(f"SASRecConfig.{name}={value!r}: choose one of {allowed}")
        if self.explore_path and not self.repeat_scores:
            raise ValueError("SASRecConfig.explore_path=True needs repeat_scores=True (replaces its bonus)")
        if self.hidden_dim % self.num_heads:
            raise ValueError(f"hidden_dim={self.hidden_dim} must be divisible by num_heads={self.num_heads}")
        object.__setattr__(self, "tt_item_factors", tuple(self.tt_item_factors))
        object.__setattr__(self, "tt_dim_factors", tuple(self.tt_dim_factors))

    @property
    def num_rows(self) -> int:
        """Rows of the item table: items 1..n_items plus padding row 0."""
        return self.n_items + 1

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> SASRecConfig:
        return cls(**values)


@keras.utils.register_keras_serializable(package="odrec")
class TransformerBlock(keras.layers.Layer):
    """Pre-LayerNorm causal self-attention + point-wise GELU feed-forward, padded positions zeroed.

    Padded rows stay out of every attention softmax and LayerNorm statistic that int8 export would have to
    cover (model.attention); real positions compute exactly what plain Keras layers compute.
    """

    def __init__(self, hidden_dim: int, num_heads: int, ffn_dim: int, dropout: float, **kwargs):
        super().__init__(**kwargs)
        self.hidden_dim = hidden_dim
        self.num_heads = num_heads
        self.ffn_dim = ffn_dim
        self.dropout = dropout
        self.attention_norm = keras.layers.LayerNormalization(epsilon=1e-6)
        self.attention = MaskedSoftmaxAttention(num_heads, hidden_dim // num_heads, dropout=dropout)
        self.ffn_norm = keras.layers.LayerNormalization(epsilon=1e-6)
        self.ffn_inner = keras.layers.Dense(ffn_dim, activation="gelu")
        self.ffn_outer = keras.layers.Dense(hidden_dim)
        self.residual_dropout = keras.layers.Dropout(dropout)

    def call(self, hidden: tf.Tensor, attention_mask: tf.Tensor, padding_mask: tf.Tensor, training=False):
        """hidden [batch, L, d]; attention_mask [batch, L, L] bool; padding_mask [batch, L, 1] float."""
        normed = self.attention_norm(unit_variance_padding(hidden, padding_mask))
        attended = self.attention(normed, normed, attention_mask=attention_mask, training=training)
        hidden = hidden + self.residual_dropout(attended, training=training) * padding_mask
        normed = self.ffn_norm(unit_variance_padding(hidden, padding_mask))
        feed_forward = self.ffn_outer(self.ffn_inner(normed))
        hidden = hidden + self.residual_dropout(feed_forward, training=training)
        return hidden * padding_mask

    def get_config(self) -> dict:
        config = super().get_config()
        config.update(
            hidden_dim=self.hidden_dim, num_heads=self.num_heads, ffn_dim=self.ffn_dim, dropout=self.dropout
        )
        return config


@keras.utils.register_keras_serializable(package="odrec")
class AttentionReadout(keras.layers.Layer):
    """OD-Rec's soft-attention readout: z = sum_p mask_p a_p h_p,
    a_p = w2 . sigmoid(W1 tanh(h_p) + W2 mean(h) + b).

    The mean runs over real (unmasked) positions only; there is no softmax over positions, as in the
    reference.
    """

    def __init__(self, hidden_dim: int, **kwargs):
        super().__init__(**kwargs)
        self.hidden_dim = hidden_dim
        self.position_projection = keras.layers.Dense(hidden_dim, use_bias=True)
        self.mean_projection = keras.layers.Dense(hidden_dim, use_bias=False)
        self.weight_projection = keras.layers.Dense(1, use_bias=False)

    def call(self, hidden: tf.Tensor, mask: tf.Tensor) -> tf.Tensor:
        """hidden [batch, L, d], mask [batch, L] (1 = real position) -> [batch, d]."""
        mask = tf.cast(mask, hidden.dtype)[..., None]
        mean = tf.reduce_sum(hidden * mask, axis=1) / tf.maximum(tf.reduce_sum(mask, axis=1), 1.0)
        gate = tf.sigmoid(self.position_projection(tf.tanh(hidden)) + self.mean_projection(mean)[:, None, :])
        weights = self.weight_projection(gate)
        return tf.reduce_sum(weights * hidden * mask, axis=1)

    def get_config(self) -> dict:
        config = super().get_config()
        config.update(hidden_dim=self.hidden_dim)
        return config


def build_item_table(config: SASRecConfig) -> keras.layers.Layer:
    if config.item_table == "dense":
        return DenseEmbedding(config.num_rows, config.hidden_dim, name="item_table")
    return STPTTEmbedding(
        config.num_rows,
        config.hidden_dim,
        tt_rank=config.tt_rank,
        stp_factor=config.stp_factor,
        num_cores=config.tt_num_cores,
        item_factors=config.tt_item_factors or None,
        dim_factors=config.tt_dim_factors or None,
        name="item_table",
    )


def supervised_histories(history: tf.Tensor, supervised: tf.Tensor | None) -> tf.Tensor:
    """Right-aligned history [rows, L] of each supervised position (`supervised` [batch, L] bool), or of the
    whole sequence when `supervised` is None (the attention readout's single row per sequence)."""
    if supervised is None:
        return tf.cast(history, tf.int32)
    return tf.boolean_mask(visible_prefixes(history), supervised)


@keras.utils.register_keras_serializable(package="odrec")
class SASRec(keras.Model):
    """Self-attentive sequential recommender with the item table tied between input and output scoring.

    Input: `history` int32 [batch, L], left-padded with 0, most recent item last.
    `call` returns next-item scores [batch, n_items + 1] (column 0, padding, holds PADDING_SCORE).
    """

    def __init__(self, config: SASRecConfig | dict, **kwargs):
        super().__init__(**kwargs)
        self.config = config if isinstance(config, SASRecConfig) else SASRecConfig.from_dict(config)
        cfg = self.config
        self.item_table = build_item_table(cfg)
        # The table is used through lookup/score, not __call__, so Keras would never build it on its own.
        self.item_table.build(None)
        self.position_embedding = keras.layers.Embedding(
            cfg.max_len, cfg.hidden_dim, name="position_embedding"
        )
        self.embedding_dropout = keras.layers.Dropout(cfg.dropout)
        self.blocks = [
            TransformerBlock(
                cfg.hidden_dim, cfg.num_heads, cfg.ffn_dim or cfg.hidden_dim, cfg.dropout, name=f"block_{i}"
            )
            for i in range(cfg.num_blocks)
        ]
        self.final_norm = keras.layers.LayerNormalization(epsilon=1e-6, name="final_norm")
        self.readout = (
            AttentionReadout(cfg.hidden_dim, name="readout") if cfg.readout == "attention" else None
        )
        self.repeat = None
        if cfg.repeat_scores:
            layer = RepeatExplore if cfg.explore_path else RepeatBonus
            self.repeat = layer(cfg.max_len, name="repeat")
        if self.repeat is not None:
            self.repeat.build(None)
        self.loss_tracker = keras.metrics.Mean(name="loss")
        # log q(item) of the negative sampler; popularity counts are set by `set_item_counts` before training.
        self.log_sampling_prob = self.add_weight(
            name="log_sampling_prob",
            shape=(cfg.num_rows,),
            initializer=keras.initializers.Constant(0.0),
            trainable=False,
        )

    # ----- forward -----
    def encode(self, history: tf.Tensor, training=False, item_rows: tf.Tensor | None = None) -> tf.Tensor:
        """Hidden states [batch, L, d]; padded positions are zero.

        `item_rows` [batch, L, d] replaces the table lookup of `history`: the on-device export
        (convert/on_device.py) reads items added after training from its own variables.
        """
        history = tf.cast(history, tf.int32)
        padding_mask = tf.cast(tf.not_equal(history, 0), tf.float32)[..., None]
        length = tf.shape(history)[1]
        rows = self.item_table.lookup(history) if item_rows is None else item_rows
        items = rows * (self.config.hidden_dim**0.5)
        # Positions count from the right end of the max_len window, so a shorter input reads exactly like the
        # same history left-padded to max_len (identical to tf.range(length) when length == max_len).
        positions = self.position_embedding(tf.range(length) + (self.config.max_len - length))[None, :, :]
        hidden = self.embedding_dropout(items + positions, training=training) * padding_mask
        key_mask = tf.not_equal(history, 0)[:, None, :]
        attention_mask = tf.logical_and(causal_mask(history)[None, :, :], key_mask)
        for block in self.blocks:
            hidden = block(hidden, attention_mask, padding_mask, training=training)
        return self.final_norm(unit_variance_padding(hidden, padding_mask)) * padding_mask

    def final_vector(self, hidden: tf.Tensor, history: tf.Tensor) -> tf.Tensor:
        """Sequence vector [batch, d] that predicts the next item after the whole history."""
        if self.readout is not None:
            return self.readout(hidden, tf.not_equal(history, 0))
        return hidden[:, -1, :]

    def item_rows(self, ids: tf.Tensor, table_rows: tf.Tensor | None = None) -> tf.Tensor:
        """Rows [..., d] of items `ids` [...]: gathered from `table_rows` [n_items + 1, d] (the table already
        reconstructed once, `item_table.materialize()`) when given, else looked up in the table."""
        if table_rows is None:
            return self.item_table.lookup(ids)
        return tf.gather(table_rows, tf.cast(ids, tf.int32))

    def item_scores(self, vectors: tf.Tensor, table_rows: tf.Tensor | None = None) -> tf.Tensor:
        """Scores [rows, n_items + 1] through the table's cheapest exact path (one matmul by `table_rows`, the
        materialised table, when given); padding column masked."""
        if table_rows is None:
            batch_hint = 1 if vectors.shape[0] is None else int(vectors.shape[0])
            scores = self.item_table.score_auto(vectors, batch_hint)
        else:
            scores = tf.matmul(vectors, table_rows, transpose_b=True)
        padding = tf.one_hot(0, self.config.num_rows, on_value=PADDING_SCORE, off_value=0.0)
        return scores + padding[None, :]

    def with_repeat_bonus(self, scores: tf.Tensor, vectors: tf.Tensor, histories: tf.Tensor) -> tf.Tensor:
        """scores [rows, n_items + 1] plus the repeat bonus of each row's right-aligned history [rows, L]
        (with `explore_path`: the log-probabilities of the repeat/explore mixture); unchanged without
        `repeat_scores`."""
        if self.repeat is None:
            return scores
        return self.repeat(scores, vectors, histories)

    def scores_after(
        self, vectors: tf.Tensor, histories: tf.Tensor, table_rows: tf.Tensor | None = None
    ) -> tf.Tensor:
        """Next-item scores [rows, n_items + 1] of vectors [rows, d] read after histories [rows, L]."""
        return self.with_repeat_bonus(self.item_scores(vectors, table_rows), vectors, histories)

    def candidate_scores(
        self,
        vectors: tf.Tensor,
        histories: tf.Tensor | None,
        item_ids: tf.Tensor,
        table_rows: tf.Tensor | None = None,
    ) -> tf.Tensor:
        """Scores [rows, C] of chosen items [rows, C] (with the repeat bonus); nothing catalogue-wide, except
        with `explore_path`, whose explore side is normalised over the whole catalogue."""
        if self.config.explore_path:
            return tf.gather(self.scores_after(vectors, histories, table_rows), item_ids, batch_dims=1)
        scores = tf.einsum("rd,rcd->rc", vectors, self.item_rows(item_ids, table_rows))
        if self.repeat is None:
            return scores
        return scores + self.repeat.at(vectors, histories, item_ids)

    def call(self, history: tf.Tensor, training=False) -> tf.Tensor:
        hidden = self.encode(history, training=training)
        return self.scores_after(self.final_vector(hidden, history), history)

    def export_scores(self, history: tf.Tensor) -> tf.Tensor:
        """Scores [batch, n_items] of the real items 1..n_items after `history`: the head every export runs.

        Always the table's factored `score` (the student's cores stay in the graph, never an N x d table;
        `call` picks the cheapest exact path by FLOPs instead), with the repeat bonus; no padding column, so
        no [n_items + 1] mask constant lands in the flatbuffer (the export adds its own padding column).
        """
        hidden = self.encode(history, training=False)
        vectors = self.final_vector(hidden, history)
        return self.with_repeat_bonus(self.item_table.score(vectors), vectors, history)[:, 1:]

    # ----- training -----
    def training_vectors(self, history: tf.Tensor, targets: tf.Tensor, training: bool):
        """Sequence vectors, labels and the history each vector was read after, for every supervised position.

        With the last-position readout every real position predicts its next item ([rows, d], rows = number of
        non-padding targets); the attention readout reads the whole sequence, so only the final target counts.
        Histories [rows, L] are right-aligned like an inference input; None without `repeat_scores`.
        """
        hidden = self.encode(history, training=training)
        targets = tf.cast(targets, tf.int32)
        if self.readout is None:
            supervised = tf.not_equal(targets, 0)
            return (
                tf.boolean_mask(hidden, supervised),
                tf.boolean_mask(targets, supervised),
                self.supervised_histories(history, supervised),
            )
        return self.final_vector(hidden, history), targets[:, -1], self.supervised_histories(history, None)

    def supervised_histories(self, history: tf.Tensor, supervised: tf.Tensor | None) -> tf.Tensor | None:
        """`supervised_histories` when this model reads them (`repeat_scores`), else None (not computed)."""
        return None if self.repeat is None else supervised_histories(history, supervised)

    def recommendation_loss(
        self,
        vectors: tf.Tensor,
        labels: tf.Tensor,
        histories: tf.Tensor | None,
        table_rows: tf.Tensor | None = None,
        negative_ids: tf.Tensor | None = None,
    ) -> tf.Tensor:
        """Mean next-item loss of vectors [rows, d] with labels [rows]: full or sampled softmax (config.loss).

        `table_rows`: the materialised table [n_items + 1, d], gathered from instead of looking rows up.
        `negative_ids`: the sampled softmax's shared negatives [num_negatives] (drawn here when None).
        """
        if self.config.loss == "full":
            return softmax_cross_entropy(self.scores_after(vectors, histories, table_rows), labels)
        negative_ids = self.sample_negatives() if negative_ids is None else negative_ids
        sampled = (
            vectors,
            labels,
            self.item_rows(labels, table_rows),
            negative_ids,
            self.item_rows(negative_ids, table_rows),
            self.log_sampling_prob,
        )
        if self.config.explore_path:
            # The explore side ranks the label against the negatives outside the row's history.
            explore_losses = sampled_softmax_losses(
                *sampled, excluded_negatives=self.repeat.contains(histories, negative_ids)
            )
            slot_dots = tf.einsum("rd,rld->rl", vectors, self.item_rows(histories, table_rows))
            return self.repeat.negative_log_likelihood(vectors, histories, slot_dots, labels, explore_losses)
        positive_bonus = negative_bonus = None
        if self.repeat is not None:
            positive_bonus = self.repeat.at(vectors, histories, labels[:, None])[:, 0]
            negative_bonus = self.repeat.at(vectors, histories, negative_ids)
        return tf.reduce_mean(
            sampled_softmax_losses(*sampled, positive_bonus=positive_bonus, negative_bonus=negative_bonus)
        )

    def sample_negatives(self) -> tf.Tensor:
        """Shared negatives for sampled softmax, drawn from q (uniform over real items, or popularity)."""
        logits = self.log_sampling_prob + tf.one_hot(
            0, self.config.num_rows, on_value=PADDING_SCORE, off_value=0.0
        )
        return tf.random.categorical(logits[None, :], self.config.num_negatives, dtype=tf.int32)[0]

    def set_item_counts(self, counts) -> None:
        """Sets the negative sampler's log q from training item counts [n_items + 1] (popularity) or uniform.
        """
        counts = tf.cast(tf.convert_to_tensor(counts), tf.float32)
        if self.config.negative_sampler == "uniform":
            counts = tf.ones_like(counts)
        counts = tf.tensor_scatter_nd_update(counts + 1e-6, [[0]], [0.0])
        self.log_sampling_prob.assign(tf.math.log(counts / tf.reduce_sum(counts) + 1e-12))

    def train_step(self, data):
        history, targets = data
        with tf.GradientTape() as tape:
            vectors, labels, histories = self.training_vectors(history, targets, training=True)
            loss = self.recommendation_loss(vectors, labels, histories)
        gradients = tape.gradient(loss, self.trainable_variables)
        self.optimizer.apply_gradients(zip(gradients, self.trainable_variables, strict=True))
        self.loss_tracker.update_state(loss)
        return {"loss": self.loss_tracker.result()}

    def test_step(self, data):
        history, targets = data
        vectors, labels, histories = self.training_vectors(history, targets, training=False)
        self.loss_tracker.update_state(self.recommendation_loss(vectors, labels, histories))
        return {"loss": self.loss_tracker.result()}

    @property
    def metrics(self):
        return [self.loss_tracker]

    def build_for_inference(self) -> SASRec:
        """Creates every variable by running one dummy batch."""
        self(tf.zeros([1, self.config.max_len], tf.int32))
        return self

    def get_config(self) -> dict:
        return {"config": self.config.to_dict()}

    @classmethod
    def from_config(cls, config: dict, custom_objects=None) -> SASRec:
        return cls(SASRecConfig.from_dict(config["config"]))
