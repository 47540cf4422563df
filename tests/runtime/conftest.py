"""A tiny real LiteRT export (model, sidecar, vocab) built once per session, plus its numpy oracle.

The model is a position-weighted bag of item embeddings scored against the same table: small enough to
recompute exactly in numpy, real enough to run `recommend` (in-graph exclusion + top-K) and `score` in LiteRT.
"""

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from runtime.sidecar import VOCAB_FILE, contract_fields, write_sidecar
from runtime.vocab import Vocab, write_vocab

N_ITEMS = 12
MAX_LEN = 4
TOP_K = 3
EMBEDDING_DIM = 4
PADDING_SCORE = -1e9
MODEL_FILE = "student_fp32.tflite"


@dataclass(frozen=True)
class TinyModel:
    """The weights of the tiny model and the numpy computation the flatbuffer must reproduce."""

    item_embeddings: np.ndarray  # [n_items + 1, dim], row 0 (padding) is zero
    position_weights: np.ndarray  # [max_len]

    def scores(self, history: np.ndarray) -> np.ndarray:
        """float32 `[n_items + 1]` for an encoded `[max_len]` history; column 0 = padding score."""
        user = (self.item_embeddings[history] * self.position_weights[:, None]).sum(axis=0)
        scores = self.item_embeddings @ user
        scores[0] = PADDING_SCORE
        return scores.astype(np.float32)

    def recommend(self, history: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Top-K ids and scores with the history items and padding excluded."""
        scores = self.scores(history).astype(np.float64)
        scores[0] = -np.inf
        scores[history] = -np.inf
        item_ids = np.argsort(-scores, kind="stable")[:TOP_K]
        return item_ids, scores[item_ids]


def original_id(internal_id: int) -> str:
    """Original ids deliberately unlike internal ids, so a test notices a missed mapping."""
    return f"sku-{internal_id * 7}"


def tiny_vocab(n_items: int = N_ITEMS, prefix: str = "") -> Vocab:
    return Vocab(
        tuple(prefix + original_id(i) for i in range(1, n_items + 1)),
        tuple(f"Title {i}" for i in range(1, n_items + 1)),
    )


def sidecar_fields(
    variant: str = "fp32", n_items: int = N_ITEMS, max_len: int = MAX_LEN, top_k: int = TOP_K
) -> dict:
    """The contract fields of a tiny student's sidecar; hashes come from write_sidecar."""
    return contract_fields("student", variant, "tiny", n_items, max_len, top_k, VOCAB_FILE)


def _convert(model: TinyModel, directory: Path) -> bytes:
    """SavedModel with named signatures -> flatbuffer (from_saved_model keeps the signature names)."""
    os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf

    history_spec = tf.TensorSpec([1, MAX_LEN], tf.int32, name="history")

    class Tiny(tf.Module):
        def __init__(self) -> None:
            super().__init__()
            self.item_embeddings = tf.constant(model.item_embeddings)
            self.position_weights = tf.constant(model.position_weights)

        def _scores(self, history: tf.Tensor) -> tf.Tensor:
            weighted = tf.gather(self.item_embeddings, history) * self.position_weights[None, :, None]
            scores = tf.matmul(tf.reduce_sum(weighted, axis=1), self.item_embeddings, transpose_b=True)
            is_padding = tf.one_hot(0, N_ITEMS + 1, on_value=True, off_value=False)[None, :]
            return tf.where(is_padding, tf.constant(PADDING_SCORE, tf.float32), scores)

        @tf.function(input_signature=[history_spec])
        def score(self, history: tf.Tensor) -> dict[str, tf.Tensor]:
            return {"scores": self._scores(history)}

        @tf.function(input_signature=[history_spec])
        def recommend(self, history: tf.Tensor) -> dict[str, tf.Tensor]:
            # Padding (id 0) is always in the scatter indices of a padded history, and is forced anyway.
            indices = tf.concat([tf.reshape(history, [-1, 1]), [[0]]], axis=0)
            excluded = tf.scatter_nd(indices, tf.ones([MAX_LEN + 1]), [N_ITEMS + 1])[None, :] > 0
            masked = tf.where(excluded, tf.constant(-3e38, tf.float32), self._scores(history))
            scores, item_ids = tf.math.top_k(masked, TOP_K)
            return {"item_ids": tf.cast(item_ids, tf.int32), "scores": scores}

    module = Tiny()
    saved_model_dir = directory / "saved_model"
    signatures = {"recommend": module.recommend, "score": module.score}
    tf.saved_model.save(module, str(saved_model_dir), signatures=signatures)
    converter = tf.lite.TFLiteConverter.from_saved_model(str(saved_model_dir), signature_keys=[*signatures])
    return converter.convert()


@pytest.fixture(scope="session")
def tiny_model() -> TinyModel:
    rng = np.random.default_rng(7)
    item_embeddings = rng.normal(size=(N_ITEMS + 1, EMBEDDING_DIM)).astype(np.float32)
    item_embeddings[0] = 0.0
    return TinyModel(item_embeddings, rng.uniform(0.5, 1.5, size=MAX_LEN).astype(np.float32))


@pytest.fixture(scope="session")
def session_export(tiny_model: TinyModel, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A read-only export folder shared by the session; tests that tamper use `export_dir`."""
    build_dir = tmp_path_factory.mktemp("tiny_build")
    flatbuffer = _convert(tiny_model, build_dir)
    export = tmp_path_factory.mktemp("tiny_export")
    (export / MODEL_FILE).write_bytes(flatbuffer)
    write_vocab(export / VOCAB_FILE, tiny_vocab())
    write_sidecar(export / MODEL_FILE, sidecar_fields())
    return export


@pytest.fixture
def export_dir(session_export: Path, tmp_path: Path) -> Path:
    """A private copy of the export that a test may corrupt."""
    copy = tmp_path / "export"
    shutil.copytree(session_export, copy)
    return copy


@pytest.fixture(scope="session")
def model_path(session_export: Path) -> Path:
    return session_export / MODEL_FILE
