"""Numerical agreement of a flatbuffer with the Keras model it came from, on real histories."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from model.keras_setup import tf
from model.sasrec import SASRec
from runtime.history import encode_batch
from runtime.litert import Recommender
from runtime.metrics import top_k_items

AGREEMENT_K = 10
BATCH_SIZE = 256


def keras_scores(model: SASRec, histories: np.ndarray) -> np.ndarray:
    """The Keras model's own scores float32 [n, n_items + 1] for encoded histories int32 [n, L]."""
    spec = tf.TensorSpec([None, histories.shape[1]], tf.int32)
    predict = tf.function(lambda history: model(history, training=False), input_signature=[spec])
    batches = [histories[start : start + BATCH_SIZE] for start in range(0, len(histories), BATCH_SIZE)]
    return np.concatenate([predict(tf.constant(batch)).numpy() for batch in batches])


def litert_scores(recommender: Recommender, histories: np.ndarray) -> np.ndarray:
    """Scores float32 [n, n_items + 1] from the flatbuffer's `score` signature, one history at a time."""
    return np.stack([recommender.score(history) for history in histories])


def parity_histories(prefixes: Sequence[np.ndarray], max_len: int, count: int) -> np.ndarray:
    """The first `count` test prefixes, encoded int32 [count, L] (all when count <= 0)."""
    chosen = prefixes if count <= 0 else prefixes[:count]
    return encode_batch([np.asarray(prefix).tolist() for prefix in chosen], max_len)


def compare_scores(reference: np.ndarray, candidate: np.ndarray, histories: np.ndarray) -> dict[str, float]:
    """Max relative error and top-10 agreement of `candidate` against `reference`, both [n, n_items + 1].

    The relative error of a row is max |candidate - reference| over real items divided by max |reference| over
    real items (per-element ratios explode at scores near zero); the padding column is left out. Agreement is
    the mean overlap of the top-10 lists with the history excluded, as `recommend` shows them.
    """
    difference = np.abs(candidate[:, 1:].astype(np.float64) - reference[:, 1:])
    scale = np.maximum(np.abs(reference[:, 1:]).max(axis=1), np.finfo(np.float32).tiny)
    k = min(AGREEMENT_K, reference.shape[1] - 1)
    reference_top = top_k_items(reference, k, list(histories))
    candidate_top = top_k_items(candidate, k, list(histories))
    overlap = [len(set(a) & set(b)) / k for a, b in zip(reference_top, candidate_top, strict=True)]
    return {
        "max_rel_err": float((difference.max(axis=1) / scale).max()),
        f"top{AGREEMENT_K}_agreement": float(np.mean(overlap)),
    }
