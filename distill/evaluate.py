"""Full-catalogue evaluation of any scorer (Keras model or baseline) over prefix/target pairs, in batches."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from model.keras_setup import tf
from runtime.history import encode_batch
from runtime.metrics import RankingPass, top_k_items

Scorer = Callable[[Sequence[np.ndarray]], np.ndarray]


def model_scorer(model, max_len: int) -> Scorer:
    """Wraps a Keras model as prefixes -> scores [batch, n_items + 1] (compiled once, any batch size)."""
    predict = tf.function(
        lambda history: model(history, training=False),
        input_signature=[tf.TensorSpec([None, max_len], tf.int32)],
    )
    return lambda prefixes: predict(encode_batch(prefixes, max_len)).numpy()


def model_input(prefix: np.ndarray, max_len: int | None) -> np.ndarray:
    """The part of a prefix a model of input length `max_len` sees (its last max_len items; all if None)."""
    prefix = np.asarray(prefix)
    return prefix if max_len is None else prefix[-max_len:]


def evaluate_scorer(
    scorer: Scorer,
    prefixes: Sequence[np.ndarray],
    targets: np.ndarray,
    head_mask: np.ndarray | None,
    batch_size: int = 256,
    exclude_history: bool = False,
    max_len: int | None = None,
) -> dict:
    """HR/NDCG/MRR@{5,10,20} overall, head and tail, by target kind, and coverage@10
    (see runtime.metrics.RankingPass.report).

    Args:
        scorer: prefixes -> scores `[batch, n_items + 1]`.
        prefixes, targets: the examples (internal ids, oldest first).
        head_mask: bool `[n_items + 1]` or None.
        batch_size: examples per scoring call; memory stays at batch_size x n_items floats.
        exclude_history: rank "metrics" (and head/tail, coverage) with the history excluded; the report then
            also carries `metrics_all_items` (nothing excluded), both from one scoring pass.
        max_len: the model's input length: the scorer sees, and repeat targets and the excluded history are
            defined against, the last max_len items of each prefix (as `recommend` excludes). None: all.
    """
    ranking, top_items = RankingPass(), []
    for start in range(0, len(prefixes), batch_size):
        batch_prefixes = [model_input(prefix, max_len) for prefix in prefixes[start : start + batch_size]]
        batch_targets = targets[start : start + batch_size]
        scores = scorer(batch_prefixes)
        ranking.add(scores, batch_targets, batch_prefixes)
        top_items.append(top_k_items(scores, 10, batch_prefixes if exclude_history else None))
    if not top_items:
        raise ValueError("nothing to evaluate: the split has no examples")
    return ranking.report(targets, head_mask, exclude_history, np.concatenate(top_items))
