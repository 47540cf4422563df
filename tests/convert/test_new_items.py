"""New-item vectors: context means from the frozen model, the ridge map, and a vector that ranks its item."""

import numpy as np

import model  # noqa: F401  (tf-keras before TensorFlow)
from convert.new_items import context_means, fit_context_map, new_item_vectors
from model.sasrec import SASRec
from runtime.history import encode_history
from tests.conftest import tiny_sasrec_config

N_ITEMS, MAX_LEN, DIM = 30, 6, 8


def student() -> SASRec:
    config = tiny_sasrec_config(N_ITEMS, max_len=MAX_LEN, item_table="stp_tt")
    return SASRec(config).build_for_inference()


def sequence_vector(keras_model: SASRec, prefix: list[int]) -> np.ndarray:
    history = encode_history(prefix, MAX_LEN)[None]
    return keras_model.final_vector(keras_model.encode(history), history).numpy()[0]


def test_fit_context_map_recovers_an_exact_linear_map():
    rng = np.random.default_rng(0)
    context = rng.normal(size=(200, DIM))
    mapping = rng.normal(size=(DIM, DIM))
    np.testing.assert_allclose(fit_context_map(context, context @ mapping, ridge=0.0), mapping, atol=1e-8)


def test_context_means_average_the_prefix_vectors_and_skip_unknown_ids():
    keras_model = student()
    new_id = N_ITEMS + 1
    sequences = [np.array([3, 5, new_id, 7]), np.array([9, new_id]), np.array([new_id, 4, 2, new_id])]
    means = context_means(keras_model, sequences, [new_id, 7])
    prefixes = [[3, 5], [9], [4, 2]]  # the leading new_id of the last sequence has no context
    vectors = [sequence_vector(keras_model, prefix) for prefix in prefixes]
    np.testing.assert_allclose(means[new_id], np.mean(vectors, axis=0), rtol=1e-5)
    # Item 7 follows [3, 5, new_id]: the unknown id is left out, so its context is [3, 5].
    np.testing.assert_allclose(means[7], vectors[0], rtol=1e-5)


def test_new_item_vector_follows_the_map_fitted_on_trained_items():
    keras_model = student()
    rng = np.random.default_rng(2)
    sequences = [rng.integers(1, N_ITEMS + 3, size=8) for _ in range(60)]
    vectors = new_item_vectors(keras_model, sequences, [N_ITEMS + 1, N_ITEMS + 2])
    trained = sorted({int(i) for s in sequences for i in s if i <= N_ITEMS})
    known = context_means(keras_model, sequences, trained)
    items = sorted(known)
    mapping = fit_context_map(
        np.stack([known[i] for i in items]), keras_model.item_table.lookup(np.array(items)).numpy()
    )
    means = context_means(keras_model, sequences, [N_ITEMS + 1])
    np.testing.assert_allclose(vectors[N_ITEMS + 1], means[N_ITEMS + 1] @ mapping, rtol=1e-5)
    assert set(vectors) == {N_ITEMS + 1, N_ITEMS + 2}
