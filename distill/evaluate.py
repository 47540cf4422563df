"""Full-catalogue evaluation of any scorer (Keras model or baseline) over prefix/target pairs, in batches."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from model.keras_setup import tf
from runtime.history import encode_batch
from runtime.metrics import evaluation_report, ranking_metrics, target_ranks, top_k_items

Scorer = Callable[[Sequence[np.ndarray]], np.ndarray]


def model_scorer(model, max_len: int) -> Scorer:
    """Wraps a Keras model as prefixes -> scores [batch, n_items + 1] (compiled once, any batch size)."""
    predict = tf.function(
        lambda history: model(history, training=False),
        input_signature=[tf.TensorSpec([None, max_len], tf.int32)],
    )
    return lambda prefixes: predict(encode_batch(prefixes, max_len)).numpy()


def evaluate_scorer(
    scorer: Scorer,
    prefixes: Sequence[np.ndarray],
    targets: np.ndarray,
    head_mask: np.ndarray | None,
    batch_size: int = 256,
    exclude_history: bool = False,
) -> dict:
    """HR/NDCG/MRR@{5,10,20} overall, head and tail, and coverage@10 (see runtime.metrics.evaluation_report).

    With `exclude_history` the report also carries `metrics_all_items`, the overall metrics of the same scores
    with nothing excluded, so both protocols come from one scoring pass. Batches keep memory at
    batch_size x n_items floats, so 40k-item catalogues evaluate in a few hundred MB.
    """
    ranks, all_item_ranks, top_items = [], [], []
    for start in range(0, len(prefixes), batch_size):
        batch_prefixes = prefixes[start : start + batch_size]
        batch_targets = targets[start : start + batch_size]
        scores = scorer(batch_prefixes)
        histories = batch_prefixes if exclude_history else None
        ranks.append(target_ranks(scores, batch_targets, histories))
        if exclude_history:
            all_item_ranks.append(target_ranks(scores, batch_targets, None))
        top_items.append(top_k_items(scores, 10, histories))
    if not ranks:
        raise ValueError("nothing to evaluate: the split has no examples")
    report = evaluation_report(np.concatenate(ranks), targets, head_mask, np.concatenate(top_items))
    report["exclude_history"] = exclude_history
    if exclude_history:
        report["metrics_all_items"] = ranking_metrics(np.concatenate(all_item_ranks))
    return report
