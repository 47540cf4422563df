"""The export graph of a SASRec model: fixed-shape `recommend`/`score` signatures, SavedModel, LiteRT.

Conversion goes through a SavedModel (`from_saved_model` with signature keys): converting concrete functions
that capture the Keras model directly gave READ_VARIABLE graphs with wrong outputs in this stack.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path

from model.keras_setup import tf
from model.sasrec import PADDING_SCORE, SASRec

SIGNATURES = ("recommend", "score")

ConverterSetup = Callable[[tf.lite.TFLiteConverter], None]


def padding_score(history: tf.Tensor) -> tf.Tensor:
    """PADDING_SCORE as float32 [1, 1], computed in int32 from the input so that no converter folds it into a
    float constant: the fp16 variant stores float constants as float16, which would clip -1e9 to -65504.

    history int32 [1, L]; ids are >= 0, so the minimum with 0 is always 0.
    """
    zero = tf.minimum(tf.reduce_min(history, axis=1, keepdims=True), 0)
    return tf.cast(zero + int(PADDING_SCORE), tf.float32)


def catalogue_scores(model: SASRec, history: tf.Tensor) -> tf.Tensor:
    """Scores [1, n_items + 1] through `item_table.score`; column 0 (padding) holds exactly PADDING_SCORE.

    `item_table.score` is the factored STP-TT contraction for the student (the cores stay in the graph, never
    an N x d table) and the dense matmul for the teacher; `SASRec.call` would pick by FLOPs instead.
    """
    hidden = model.encode(history, training=False)
    scores = model.item_table.score(model.final_vector(hidden, history))
    is_padding = tf.one_hot(0, model.config.num_rows, on_value=True, off_value=False)[None, :]
    return tf.where(is_padding, padding_score(history), scores)


def exclusion_mask(history: tf.Tensor, num_rows: int) -> tf.Tensor:
    """bool [1, num_rows]: True for every id in the history and for the padding id 0.

    history int32 [1, L]. A scatter of ones (duplicates add up) keeps this to builtin SCATTER_ND + GREATER.
    """
    indices = tf.concat([tf.reshape(history, [-1, 1]), tf.zeros([1, 1], tf.int32)], axis=0)
    counts = tf.scatter_nd(indices, tf.ones([tf.size(history) + 1], tf.float32), [num_rows])
    return (counts > 0.0)[None, :]


class ExportModule(tf.Module):
    """The two signatures of docs/artifacts.md around one model, batch 1 and L = config.max_len."""

    def __init__(self, model: SASRec, top_k: int):
        super().__init__()
        config = model.config
        available = config.n_items - config.max_len
        if not 1 <= top_k <= available:
            raise ValueError(
                f"top_k={top_k} must be in 1..n_items - max_len = {available}, so that K items remain after "
                "a full history is excluded; lower --top_k"
            )
        self.model = model
        self.top_k = top_k
        spec = tf.TensorSpec([1, config.max_len], tf.int32, name="history")
        self.score = tf.function(self._score, input_signature=[spec])
        self.recommend = tf.function(self._recommend, input_signature=[spec])

    def _score(self, history: tf.Tensor) -> dict[str, tf.Tensor]:
        return {"scores": catalogue_scores(self.model, history)}

    def _recommend(self, history: tf.Tensor) -> dict[str, tf.Tensor]:
        scores = catalogue_scores(self.model, history)
        excluded = exclusion_mask(history, self.model.config.num_rows)
        # Excluded items share the padding score: K <= n_items - L leaves K real candidates above it.
        masked = tf.where(excluded, padding_score(history), scores)
        top_scores, item_ids = tf.math.top_k(masked, self.top_k)
        return {"item_ids": tf.cast(item_ids, tf.int32), "scores": top_scores}

    def signatures(self) -> dict[str, tf.types.experimental.ConcreteFunction]:
        return {
            "recommend": self.recommend.get_concrete_function(),
            "score": self.score.get_concrete_function(),
        }


def save_export_module(model: SASRec, top_k: int, directory: str | Path) -> Path:
    """Writes the SavedModel with the `recommend` and `score` signatures; returns its folder."""
    module = ExportModule(model, top_k)
    tf.saved_model.save(module, str(directory), signatures=module.signatures())
    return Path(directory)


def convert_saved_model(saved_model_dir: str | Path, setup: ConverterSetup | None = None) -> bytes:
    """LiteRT flatbuffer bytes of both signatures; `setup` sets optimisation options on the converter."""
    converter = tf.lite.TFLiteConverter.from_saved_model(
        str(saved_model_dir), signature_keys=list(SIGNATURES)
    )
    if setup is not None:
        setup(converter)
    return converter.convert()


def export_tflite(model: SASRec, top_k: int, setup: ConverterSetup | None = None) -> bytes:
    """Model -> flatbuffer bytes in one call, through a temporary SavedModel."""
    with tempfile.TemporaryDirectory(prefix="odrec_saved_model_") as directory:
        return convert_saved_model(save_export_module(model, top_k, directory), setup)
