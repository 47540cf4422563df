"""Vectors for items the student never trained on, from the sessions they appear in (no retraining).

An item's trained row is what its preceding contexts' sequence vectors should score highly, so the mean
sequence vector of the contexts an item follows predicts its row. A ridge map from those context means to the
rows of the trained items calibrates scale and direction; applied to a new item's context mean, it gives the
vector that `set_items` writes on the device (convert/on_device.py).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from model.sasrec import SASRec
from runtime.history import encode_batch


def sequence_vectors(model: SASRec, histories: np.ndarray, batch_size: int = 256) -> np.ndarray:
    """The frozen model's sequence vectors [rows, d] of left-padded histories [rows, L]."""
    chunks = []
    for start in range(0, len(histories), batch_size):
        batch = histories[start : start + batch_size]
        chunks.append(model.final_vector(model.encode(batch, training=False), batch).numpy())
    return np.concatenate(chunks) if chunks else np.zeros((0, model.config.hidden_dim), np.float32)


def context_means(
    model: SASRec, sequences: Sequence[np.ndarray], item_ids: Sequence[int], max_contexts: int = 200
) -> dict[int, np.ndarray]:
    """Mean sequence vector [d] of the prefixes that precede each of `item_ids` (its first `max_contexts`
    occurrences after position 0); items never preceded by anything are left out.

    Ids the model does not know (> n_items: other new items) are left out of a prefix.
    """
    wanted = {int(item): [] for item in item_ids}
    for sequence in sequences:
        for position in range(1, len(sequence)):
            contexts = wanted.get(int(sequence[position]))
            if contexts is not None and len(contexts) < max_contexts:
                prefix = sequence[:position][sequence[:position] <= model.config.n_items]
                if prefix.size:
                    contexts.append(prefix)
    means = {}
    for item, prefixes in wanted.items():
        if prefixes:
            histories = encode_batch(prefixes, model.config.max_len)
            means[item] = sequence_vectors(model, histories).mean(axis=0)
    return means


def fit_context_map(context: np.ndarray, rows: np.ndarray, ridge: float = 1e-2) -> np.ndarray:
    """The ridge map M [d, d] minimising |context M - rows|^2 + ridge |M|^2 (both [items, d])."""
    dim = context.shape[1]
    gram = context.T @ context + ridge * len(context) * np.eye(dim)
    return np.linalg.solve(gram, context.T @ rows)


def new_item_vectors(
    model: SASRec,
    sequences: Sequence[np.ndarray],
    new_ids: Sequence[int],
    calibration_items: int = 500,
    seed: int = 0,
) -> dict[int, np.ndarray]:
    """Vectors [d] for `new_ids` (ids above the model's n_items, as they appear in `sequences`).

    The map is fitted on up to `calibration_items` trained items (random, seeded) that appear in `sequences`.

    Raises:
        ValueError: no trained item has a context in `sequences` to fit the map on.
    """
    n_items = model.config.n_items
    trained = sorted({int(item) for sequence in sequences for item in sequence if 1 <= item <= n_items})
    rng = np.random.default_rng(seed)
    chosen = rng.permutation(trained)[:calibration_items].tolist()
    known = context_means(model, sequences, chosen)
    if not known:
        raise ValueError(
            "no trained item follows a context in the given sequences; pass the sessions to learn from"
        )
    items = sorted(known)
    context = np.stack([known[item] for item in items])
    rows = model.item_table.lookup(np.array(items, np.int32)).numpy()
    mapping = fit_context_map(context, rows)
    return {item: mean @ mapping for item, mean in context_means(model, sequences, new_ids).items()}
