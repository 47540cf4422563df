"""New-item vectors: context means from the frozen model, the ridge map, and a vector that ranks its item."""

import numpy as np

import model  # noqa: F401  (tf-keras before TensorFlow)
from convert.new_items import context_means, new_item_vectors
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


def test_context_means_average_the_prefix_vectors_and_skip_unknown_ids():
    keras_model = student()
    new_id = N_ITEMS + 1
    sequences = [np.array([3, 5, new_id, 7]), np.array([9, new_id]), np.array([new_id, 4, 2, new_id])]
    means = context_means(keras_model, sequences, [new_id, 7])
    prefixes = [[3, 5], [9], [4, 2]]  # the leading new_id of the last sequence has no context
    vectors = [sequence_vector(keras_model, prefix) for prefix in prefixes]
    # One batched pass against one call per prefix: float32 sums in another order (atol for entries near 0).
    np.testing.assert_allclose(means[new_id], np.mean(vectors, axis=0), rtol=1e-5, atol=1e-6)
    # Item 7 follows [3, 5, new_id]: the unknown id is left out, so its context is [3, 5].
    np.testing.assert_allclose(means[7], vectors[0], rtol=1e-5)


def test_new_item_vector_is_the_context_direction_at_a_typical_row_length():
    keras_model = student()
    rng = np.random.default_rng(2)
    sequences = [rng.integers(1, N_ITEMS + 3, size=8) for _ in range(60)]
    vectors = new_item_vectors(keras_model, sequences, [N_ITEMS + 1, N_ITEMS + 2])
    assert set(vectors) == {N_ITEMS + 1, N_ITEMS + 2}
    mean = context_means(keras_model, sequences, [N_ITEMS + 1])[N_ITEMS + 1]
    rows = keras_model.item_table.lookup(np.arange(1, N_ITEMS + 1)).numpy()
    length = np.median(np.linalg.norm(rows, axis=1))  # every trained item appears in 60 random sequences
    np.testing.assert_allclose(vectors[N_ITEMS + 1], mean / np.linalg.norm(mean) * length, rtol=1e-5)


def test_a_new_item_vector_ranks_its_item_first_after_its_only_context():
    """An item that always follows one context: its vector points where that context's scores are highest."""
    keras_model = student()
    new_id = N_ITEMS + 1
    sequences = [np.array([4, 8, new_id]), np.array([4, 8, new_id, 2]), np.arange(1, N_ITEMS + 1)]
    vector = new_item_vectors(keras_model, sequences, [new_id])[new_id]
    context = sequence_vector(keras_model, [4, 8])
    rows = keras_model.item_table.lookup(np.arange(1, N_ITEMS + 1)).numpy()
    rows *= np.median(np.linalg.norm(rows, axis=1)) / np.linalg.norm(rows, axis=1, keepdims=True)
    assert context @ vector >= (rows @ context).max() - 1e-5
