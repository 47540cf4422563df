"""The export graph of a SASRec model: fixed-shape `recommend`/`score` signatures, SavedModel, LiteRT.

Conversion goes through a SavedModel (`from_saved_model` with signature keys): converting concrete functions
that capture the Keras model directly gave READ_VARIABLE graphs with wrong outputs in this stack.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path

from convert.ops import strip_tensor_names
from distill.training import tf_write_error
from model.keras_setup import tf
from model.sasrec import PADDING_SCORE, SASRec

SIGNATURES = ("recommend", "score")
# Column 0 of `score`: PADDING_SCORE, or (for full integer quantization) the row's minimum minus one.
PADDING_COLUMNS = ("sentinel", "below_row_minimum")

ConverterSetup = Callable[[tf.lite.TFLiteConverter], None]


def padding_score(history: tf.Tensor) -> tf.Tensor:
    """PADDING_SCORE as float32 [1, 1], computed in int32 from the input so that no converter folds it into a
    float constant: the fp16 variant stores float constants as float16, which would clip -1e9 to -65504.

    history int32 [1, L]; ids are >= 0, so the minimum with 0 is always 0.
    """
    zero = tf.minimum(tf.reduce_min(history, axis=1, keepdims=True), 0)
    return tf.cast(zero + int(PADDING_SCORE), tf.float32)


def catalogue_scores(model: SASRec, history: tf.Tensor, padding_column: str = "sentinel") -> tf.Tensor:
    """Scores [1, n_items + 1]; column 0 (padding) holds PADDING_SCORE, or with "below_row_minimum" the row's
    minimum minus one.

    The padding column is joined by the last float operation. Full integer quantization still gives a
    concatenation one int8 range over all its inputs (the calibrated range propagates back into the scoring
    matmul even when the concatenation itself stays float), so -1e9 there would flatten every real score:
    full_int8 uses "below_row_minimum", a value inside the scores' own range that still ranks last.
    """
    if padding_column not in PADDING_COLUMNS:
        raise ValueError(f"padding_column={padding_column!r}; choose from {PADDING_COLUMNS}")
    scores = model.export_scores(history)
    if padding_column == "sentinel":
        padding = padding_score(history)
    else:
        padding = tf.reduce_min(scores, axis=1, keepdims=True) - 1.0
    return tf.concat([padding, scores], axis=1)


def top_k_excluding_history(scores: tf.Tensor, history: tf.Tensor, top_k: int) -> tuple[tf.Tensor, tf.Tensor]:
    """The best `top_k` items of `scores` that are neither in `history` nor padding, best first.

    Args:
        scores: float32 [1, n_items] raw scores of items 1..n_items (column j is item j + 1).
        history: int32 [1, L] left-padded history.
        top_k: K, at most n_items - L.

    Returns:
        (item_ids int32 [1, K], scores float32 [1, K]).

    No sentinel score is written into a float tensor (full integer quantization would share its int8 range
    with the real scores). Instead the K + L best raw scores are candidates: at most L of them are history
    items, so at least K are not. Their rank plus `candidates` for an excluded one is an int32 key; the K
    smallest keys are the K best allowed candidates, in score order. Ties keep top_k's lower-index-first
    order, as a top_k over masked scores does.
    """
    candidates = top_k + int(history.shape[1])
    top_scores, columns = tf.math.top_k(scores, candidates)
    item_ids = tf.cast(columns, tf.int32) + 1
    in_history = tf.reduce_any(tf.equal(item_ids[:, :, None], history[:, None, :]), axis=2)
    ranks = tf.range(candidates, dtype=tf.int32)[None, :]
    keys = ranks + tf.cast(in_history, tf.int32) * candidates
    _, chosen = tf.math.top_k(-keys, top_k)
    return tf.gather(item_ids, chosen, batch_dims=1), tf.gather(top_scores, chosen, batch_dims=1)


def check_top_k(top_k: int, n_items: int, max_len: int) -> None:
    """Refuses a K the catalogue cannot serve; callers run it before training, the export module again.

    Raises:
        ValueError: top_k outside 1..n_items - max_len (K items must remain after a full history is excluded).
    """
    available = n_items - max_len
    if not 1 <= top_k <= available:
        raise ValueError(
            f"--top_k={top_k} must be in 1..n_items - max_len = {n_items} - {max_len} = {available}, so "
            "that K items remain after a full history is excluded; lower --top_k (or --max_len)"
        )


class ExportModule(tf.Module):
    """The two signatures of docs/artifacts.md around one model, batch 1 and L = config.max_len."""

    def __init__(self, model: SASRec, top_k: int, padding_column: str = "sentinel"):
        super().__init__()
        if padding_column not in PADDING_COLUMNS:
            raise ValueError(f"padding_column={padding_column!r}; choose from {PADDING_COLUMNS}")
        config = model.config
        check_top_k(top_k, config.n_items, config.max_len)
        self.model = model
        self.top_k = top_k
        self.padding_column = padding_column
        spec = tf.TensorSpec([1, config.max_len], tf.int32, name="history")
        self.score = tf.function(self._score, input_signature=[spec])
        self.recommend = tf.function(self._recommend, input_signature=[spec])

    def _score(self, history: tf.Tensor) -> dict[str, tf.Tensor]:
        return {"scores": catalogue_scores(self.model, history, self.padding_column)}

    def _recommend(self, history: tf.Tensor) -> dict[str, tf.Tensor]:
        item_ids, scores = top_k_excluding_history(
            self.model.export_scores(history), history, self.top_k
        )
        return {"item_ids": item_ids, "scores": scores}

    def signatures(self) -> dict[str, tf.types.experimental.ConcreteFunction]:
        return {
            "recommend": self.recommend.get_concrete_function(),
            "score": self.score.get_concrete_function(),
        }


def save_export_module(
    model: SASRec, top_k: int, directory: str | Path, padding_column: str = "sentinel"
) -> Path:
    """Writes the SavedModel with the `recommend` and `score` signatures; returns its folder.

    The SavedModel holds the two signatures and the variables they read, not the Keras model: saved through a
    module that tracks the model, TensorFlow also traced and wrote every layer's own functions, which made
    saving about 2.5x and converting about 1.5-2x slower, for a byte-identical flatbuffer (the main job's
    teacher on a 1,000-line CSV: save 23 -> 9 s, convert 18 -> 9-13 s on a loaded 2-core machine).

    Raises:
        runtime.atomic.OutputWriteError: TensorFlow could not write it (e.g. the disk of `directory`, a
            temporary folder, is full).
    """
    module = ExportModule(model, top_k, padding_column)
    signatures = module.signatures()
    root = tf.Module()
    root.model_variables = list(model.variables)  # what the signatures capture; saved beside them
    try:
        tf.saved_model.save(root, str(directory), signatures=signatures)
    except tf.errors.OpError as error:
        raise tf_write_error(directory, error) from None
    return Path(directory)


def convert_saved_model(saved_model_dir: str | Path, setup: ConverterSetup | None = None) -> bytes:
    """LiteRT flatbuffer bytes of both signatures, tensor names stripped; `setup` sets optimisation options on
    the converter."""
    converter = tf.lite.TFLiteConverter.from_saved_model(
        str(saved_model_dir), signature_keys=list(SIGNATURES)
    )
    if setup is not None:
        setup(converter)
    return strip_tensor_names(converter.convert())


def export_tflite(
    model: SASRec, top_k: int, setup: ConverterSetup | None = None, padding_column: str = "sentinel"
) -> bytes:
    """Model -> flatbuffer bytes in one call, through a temporary SavedModel."""
    with tempfile.TemporaryDirectory(prefix="odrec_saved_model_") as directory:
        return convert_saved_model(save_export_module(model, top_k, directory, padding_column), setup)
