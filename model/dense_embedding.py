"""Plain dense item table with the same access paths as the STP-TT table (the teacher's table)."""

from __future__ import annotations

from model.keras_setup import keras, tf


@keras.utils.register_keras_serializable(package="odrec")
class DenseEmbedding(keras.layers.Layer):
    """An [num_rows, d] table with `lookup`, `materialize` and `score`, tied between input and output."""

    def __init__(self, num_rows: int, embedding_dim: int, init_stddev: float | None = None, **kwargs):
        super().__init__(**kwargs)
        self.num_rows = num_rows
        self.embedding_dim = embedding_dim
        self.init_stddev = init_stddev if init_stddev is not None else embedding_dim**-0.5

    def build(self, input_shape=None):
        self.table = self.add_weight(
            name="table",
            shape=(self.num_rows, self.embedding_dim),
            initializer=keras.initializers.RandomNormal(stddev=self.init_stddev),
            trainable=True,
        )
        super().build(input_shape)

    def lookup(self, ids: tf.Tensor) -> tf.Tensor:
        return tf.gather(self.table, ids)

    def materialize(self) -> tf.Tensor:
        return tf.convert_to_tensor(self.table)

    def score(self, query: tf.Tensor) -> tf.Tensor:
        """query [batch, d] -> [batch, num_rows]."""
        return tf.matmul(query, self.table, transpose_b=True)

    def score_auto(self, query: tf.Tensor, batch_hint: int) -> tf.Tensor:
        return self.score(query)

    def call(self, ids: tf.Tensor) -> tf.Tensor:
        return self.lookup(ids)

    def parameter_count(self) -> int:
        return self.num_rows * self.embedding_dim

    def get_config(self) -> dict:
        config = super().get_config()
        config.update(num_rows=self.num_rows, embedding_dim=self.embedding_dim, init_stddev=self.init_stddev)
        return config
