"""SASRec: causal mask, padding invariance, padding column, config/save round trips, training-time losses."""

from __future__ import annotations

import functools

import numpy as np
import pytest

from distill.model_io import ModelFolderError, load_model, save_model
from model.keras_setup import keras, tf
from model.losses import softmax_cross_entropy
from model.sasrec import PADDING_SCORE, SASRec, SASRecConfig
from tests.conftest import tiny_sasrec_config

VARIANTS = [
    pytest.param(table, readout, id=f"{table}-{readout}")
    for table in ("dense", "stp_tt")
    for readout in ("last", "attention")
]


def tiny_model(item_table: str = "dense", readout: str = "last", seed: int = 0, **overrides) -> SASRec:
    keras.utils.set_random_seed(seed)
    config = tiny_sasrec_config(n_items=20, item_table=item_table, readout=readout, num_blocks=2, **overrides)
    return SASRec(config).build_for_inference()


@functools.cache
def shared_model(item_table: str, readout: str) -> SASRec:
    """One model per variant for the tests that only read it (building a model costs about half a second)."""
    return tiny_model(item_table, readout)


@pytest.mark.parametrize("item_table,readout", VARIANTS)
def test_causal_mask_later_items_never_change_earlier_positions(item_table, readout):
    model = shared_model(item_table, readout)
    history = np.array([[3, 7, 1, 9, 4, 12, 5, 8]], dtype=np.int32)
    hidden = model.encode(history).numpy()
    for changed_position in (2, 5, 7):
        changed = history.copy()
        changed[0, changed_position] = 17
        hidden_changed = model.encode(changed).numpy()
        np.testing.assert_allclose(
            hidden_changed[:, :changed_position], hidden[:, :changed_position], rtol=0, atol=1e-6
        )
        # The changed position itself does see the change (the test would pass vacuously otherwise).
        assert not np.allclose(hidden_changed[:, changed_position], hidden[:, changed_position])


@pytest.mark.parametrize("item_table,readout", VARIANTS)
def test_left_padding_does_not_change_the_output(item_table, readout):
    model = shared_model(item_table, readout)
    items = [4, 11, 2, 19, 6]
    padded = np.array([[0, 0, 0, *items]], dtype=np.int32)  # L = max_len = 8
    short = np.array([items], dtype=np.int32)  # L = 5
    np.testing.assert_allclose(
        model.encode(short).numpy()[:, -1], model.encode(padded).numpy()[:, -1], rtol=1e-5, atol=1e-5
    )
    np.testing.assert_allclose(model(short).numpy(), model(padded).numpy(), rtol=1e-5, atol=1e-4)
    # Padded positions are zero.
    np.testing.assert_array_equal(model.encode(padded).numpy()[:, :3], 0.0)


@pytest.mark.parametrize("item_table,readout", VARIANTS)
def test_call_scores_the_final_vector_against_the_table_with_padding_column_masked(item_table, readout):
    model = shared_model(item_table, readout)
    history = np.array([[0, 0, 0, 0, 1, 2, 3, 4], [5, 6, 7, 8, 9, 10, 11, 12]], dtype=np.int32)
    scores = model(history).numpy()
    assert scores.shape == (2, 21)
    assert np.all(scores[:, 0] < PADDING_SCORE / 2)
    vectors = model.final_vector(model.encode(history), history).numpy()
    table = model.item_table.materialize().numpy()
    np.testing.assert_allclose(scores[:, 1:], vectors @ table[1:].T, rtol=1e-4, atol=1e-5)
    assert np.argmax(scores, axis=1).min() >= 1


@pytest.mark.parametrize("item_table,readout", VARIANTS)
def test_config_and_save_load_round_trips_give_identical_outputs(item_table, readout, tmp_path):
    model = tiny_model(item_table, readout, seed=3)
    history = np.array([[0, 0, 0, 1, 2, 3, 4, 5], [9, 8, 7, 6, 5, 4, 3, 20]], dtype=np.int32)
    expected = model(history).numpy()

    clone = SASRec.from_config(model.get_config()).build_for_inference()
    assert clone.config == model.config
    clone.set_weights(model.get_weights())
    np.testing.assert_array_equal(clone(history).numpy(), expected)

    save_model(model, tmp_path)
    loaded = load_model(tmp_path)
    assert loaded.config == model.config
    assert type(loaded.item_table) is type(model.item_table)
    np.testing.assert_array_equal(loaded(history).numpy(), expected)


def test_load_model_names_the_missing_file(tmp_path):
    with pytest.raises(ModelFolderError, match="config.json"):
        load_model(tmp_path)


def test_config_dict_round_trip_keeps_tuples():
    config = tiny_sasrec_config(item_table="stp_tt", tt_item_factors=[7, 6], tt_dim_factors=[4, 2])
    assert config.tt_item_factors == (7, 6)
    assert SASRecConfig.from_dict(config.to_dict()) == config


@pytest.mark.parametrize(
    "overrides,field",
    [
        ({"readout": "mean"}, "readout"),
        ({"item_table": "sparse"}, "item_table"),
        ({"loss": "bpr"}, "loss"),
        ({"negative_sampler": "hard"}, "negative_sampler"),
        ({"num_heads": 3}, "num_heads"),
    ],
)
def test_invalid_config_raises_naming_the_field(overrides, field):
    with pytest.raises(ValueError, match=field):
        tiny_sasrec_config(**overrides)


def test_training_vectors_last_readout_supervises_every_real_position():
    model = shared_model("dense", "last")
    history = np.array([[0, 0, 0, 0, 0, 1, 2, 3]], dtype=np.int32)
    targets = np.array([[0, 0, 0, 0, 0, 2, 3, 4]], dtype=np.int32)
    vectors, labels, histories = model.training_vectors(history, targets, training=False)
    assert histories is None  # nothing reads them without repeat_scores
    np.testing.assert_array_equal(labels.numpy(), [2, 3, 4])
    np.testing.assert_allclose(vectors.numpy(), model.encode(history).numpy()[0, 5:], atol=1e-6)


def test_set_item_counts_popularity_and_uniform():
    counts = np.array([0, 1, 3, 0, 4] + [0] * 16)
    model = tiny_model(negative_sampler="popularity")
    model.set_item_counts(counts)
    q = np.exp(model.log_sampling_prob.numpy())
    assert q[0] < 1e-9
    np.testing.assert_allclose(q[[1, 2, 4]], [1 / 8, 3 / 8, 4 / 8], rtol=1e-4)
    uniform = tiny_model(negative_sampler="uniform")
    uniform.set_item_counts(counts)
    np.testing.assert_allclose(np.exp(uniform.log_sampling_prob.numpy())[1:], 1 / 20, rtol=1e-4)
    negatives = uniform.sample_negatives().numpy()
    assert negatives.shape == (uniform.config.num_negatives,)
    assert negatives.min() >= 1 and negatives.max() <= 20


@pytest.mark.parametrize("loss", ["full", "sampled"])
def test_a_few_train_steps_lower_the_training_loss(loss):
    model = tiny_model(loss=loss, num_negatives=8)
    model.set_item_counts(np.ones(21))
    model.compile(optimizer=keras.optimizers.Adam(0.01))
    history = tf.constant([[0, 0, 1, 2, 3, 4, 5, 6]] * 4, tf.int32)
    targets = tf.constant([[0, 0, 2, 3, 4, 5, 6, 7]] * 4, tf.int32)

    def full_loss() -> float:
        vectors, labels, _ = model.training_vectors(history, targets, training=False)
        return float(softmax_cross_entropy(model.item_scores(vectors), labels))

    before = full_loss()
    for _ in range(4):  # eager steps: tracing model.fit would cost more than the steps
        model.train_step((history, targets))
    assert full_loss() < before


@pytest.mark.parametrize("item_table", ["dense", "stp_tt"])
def test_candidate_scores_are_the_catalogue_scores_of_those_items(item_table):
    model = tiny_model(item_table, repeat_scores=True)
    model.repeat.recency.assign(np.linspace(1.0, 2.0, model.config.max_len, dtype=np.float32))
    history = tf.constant([[0, 0, 0, 3, 5, 3, 9, 2], [0, 0, 0, 0, 0, 0, 7, 1]], tf.int32)
    vectors = model.final_vector(model.encode(history), history)
    candidates = tf.constant([[3, 4, 9, 1], [1, 7, 7, 20]], tf.int32)  # history items, others, a repeat
    expected = tf.gather(model.scores_after(vectors, history), candidates, batch_dims=1)
    np.testing.assert_allclose(model.candidate_scores(vectors, history, candidates), expected, rtol=1e-5)


@pytest.mark.parametrize("item_table", ["dense", "stp_tt"])
@pytest.mark.parametrize("loss", ["full", "sampled"])
def test_materialised_table_rows_give_the_lookups_scores_and_loss_of_the_table(item_table, loss):
    """`table_rows` (the table reconstructed once) stands in for every lookup: same rows, scores, loss."""
    model = tiny_model(item_table, repeat_scores=True, loss=loss, num_negatives=6)
    model.repeat.recency.assign(np.linspace(1.0, 2.0, model.config.max_len, dtype=np.float32))
    table_rows = model.item_table.materialize()
    history = tf.constant([[0, 0, 0, 3, 5, 3, 9, 2], [0, 0, 0, 0, 0, 0, 7, 1]], tf.int32)
    vectors = model.final_vector(model.encode(history), history)
    ids = tf.constant([[3, 4, 9, 1], [1, 7, 7, 20]], tf.int32)
    np.testing.assert_allclose(model.item_rows(ids, table_rows), model.item_table.lookup(ids), atol=1e-6)
    np.testing.assert_allclose(
        model.scores_after(vectors, history, table_rows), model.scores_after(vectors, history), atol=1e-5
    )
    np.testing.assert_allclose(
        model.candidate_scores(vectors, history, ids, table_rows),
        model.candidate_scores(vectors, history, ids),
        atol=1e-5,
    )
    labels, negatives = tf.constant([2, 1]), tf.constant([4, 5, 6, 11, 12, 2])
    np.testing.assert_allclose(
        model.recommendation_loss(vectors, labels, history, table_rows, negatives),
        model.recommendation_loss(vectors, labels, history, negative_ids=negatives),
        rtol=1e-5,
    )
