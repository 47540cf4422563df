"""Repeat-aware scoring: right-aligned prefixes, the bonus against numpy, training with it, SASRec with it."""

from __future__ import annotations

import numpy as np
import pytest

from distill.model_io import load_model, save_model
from model.keras_setup import keras, tf
from model.losses import sampled_softmax_losses, softmax_cross_entropy
from model.parameters import parameter_report
from model.repeat import RepeatBonus, RepeatExplore, visible_prefixes
from model.sasrec import SASRec, SASRecConfig
from tests.conftest import tiny_sasrec_config


def test_visible_prefixes_right_align_each_position():
    history = np.array([[0, 0, 5, 6, 7]], dtype=np.int32)
    expected = [
        [0, 0, 0, 0, 0],
        [0, 0, 0, 0, 0],
        [0, 0, 0, 0, 5],
        [0, 0, 0, 5, 6],
        [0, 0, 5, 6, 7],
    ]
    np.testing.assert_array_equal(visible_prefixes(history).numpy()[0], expected)


def randomised(layer: RepeatBonus | RepeatExplore, dim: int, seed: int) -> RepeatBonus | RepeatExplore:
    """The layer built, with random recency weights and gate."""
    layer.build(None)
    rng = np.random.default_rng(seed)
    layer.recency.assign(rng.normal(size=layer.max_len).astype(np.float32))
    layer.gate(tf.zeros([1, dim]))
    layer.gate.set_weights([rng.normal(size=(dim, 1)).astype(np.float32), np.array([0.3], np.float32)])
    return layer


def random_bonus(max_len: int, dim: int, seed: int) -> RepeatBonus:
    return randomised(RepeatBonus(max_len), dim, seed)


def numpy_bonus(layer: RepeatBonus, queries: np.ndarray, histories: np.ndarray, num_rows: int) -> np.ndarray:
    kernel, bias = layer.gate.get_weights()
    recency = layer.recency.numpy()
    bonus = np.zeros((len(histories), num_rows), np.float32)
    for row, history in enumerate(histories):
        gate = float(queries[row] @ kernel[:, 0] + bias[0])
        for slot, item in enumerate(history):
            if item:
                bonus[row, item] += recency[slot] + gate
    return bonus


def test_bonus_matches_numpy_and_sums_repeated_items():
    layer = random_bonus(max_len=5, dim=4, seed=1)
    queries = np.random.default_rng(2).normal(size=(3, 4)).astype(np.float32)
    histories = np.array([[0, 0, 3, 3, 9], [1, 2, 3, 4, 5], [0, 0, 0, 0, 0]], dtype=np.int32)
    scores = np.random.default_rng(3).normal(size=(3, 12)).astype(np.float32)
    got = layer(tf.constant(scores), tf.constant(queries), tf.constant(histories)).numpy()
    expected_bonus = numpy_bonus(layer, queries, histories, 12)
    np.testing.assert_allclose(got, scores + expected_bonus, rtol=1e-5, atol=1e-5)
    assert expected_bonus[0, 3] != 0  # item 3 sits in two slots
    assert expected_bonus[2].sum() == 0  # an all-padding row is untouched
    candidates = np.array([3, 9, 7, 0], dtype=np.int32)
    np.testing.assert_allclose(
        layer.at(queries, histories, candidates).numpy(), expected_bonus[:, candidates], rtol=1e-5, atol=1e-5
    )


def repeat_model(**overrides) -> SASRec:
    keras.utils.set_random_seed(0)
    return SASRec(tiny_sasrec_config(n_items=20, repeat_scores=True, **overrides)).build_for_inference()


@pytest.mark.parametrize("item_table", ["dense", "stp_tt"])
def test_call_adds_the_bonus_of_the_final_history(item_table):
    model = repeat_model(item_table=item_table)
    model.repeat.recency.assign(np.linspace(-1.0, 2.0, 8).astype(np.float32))
    history = np.array([[0, 0, 4, 11, 4, 2, 19, 6]], dtype=np.int32)
    vectors = model.final_vector(model.encode(history), history)
    plain = model.item_scores(vectors).numpy()
    expected = plain + numpy_bonus(model.repeat, vectors.numpy(), history, model.config.num_rows)
    np.testing.assert_allclose(model(history).numpy(), expected, rtol=1e-5, atol=1e-4)
    assert not np.allclose(model(history).numpy()[:, 1:], plain[:, 1:])


def test_training_rows_carry_the_prefix_they_were_read_after():
    model = repeat_model()
    history = np.array([[0, 0, 0, 0, 0, 1, 2, 3]], dtype=np.int32)
    targets = np.array([[0, 0, 0, 0, 0, 2, 3, 1]], dtype=np.int32)
    _, labels, histories = model.training_vectors(history, targets, training=False)
    np.testing.assert_array_equal(labels.numpy(), [2, 3, 1])
    np.testing.assert_array_equal(histories.numpy()[:, -3:], [[0, 0, 1], [0, 1, 2], [1, 2, 3]])
    assert not histories.numpy()[:, :-3].any()


@pytest.mark.parametrize("loss", ["full", "sampled"])
def test_training_learns_to_boost_repeats(loss):
    """Every target is the item two steps back: only the bonus (recency slot L - 2) can say that cheaply."""
    model = repeat_model(loss=loss, num_negatives=10)
    model.set_item_counts(np.ones(21))
    model.compile(optimizer=keras.optimizers.Adam(0.05))
    rng = np.random.default_rng(0)
    items = rng.integers(1, 21, size=(16, 9)).astype(np.int32)
    history = items[:, 1:].copy()
    targets = np.concatenate([history[:, 1:], history[:, -2:-1]], axis=1)  # shape [16, 8]
    targets[:, :-1] = 0  # supervise the final position only
    for _ in range(30):
        model.train_step((tf.constant(history), tf.constant(targets)))
    recency = model.repeat.recency.numpy()
    assert recency[-2] > 0.5 and recency[-2] > recency[-1]
    vectors, labels, histories = model.training_vectors(history, targets, training=False)
    with_bonus = model.scores_after(vectors, histories)
    assert float(softmax_cross_entropy(with_bonus, labels)) < float(
        softmax_cross_entropy(model.item_scores(vectors), labels)
    )


def test_sampled_loss_adds_the_bonus_to_both_sides():
    queries = tf.constant([[1.0, 0.0]])
    rows = tf.constant([[1.0, 0.0]])
    negative_rows = tf.constant([[0.0, 1.0], [1.0, 1.0]])
    log_q = tf.zeros([5])
    args = (queries, tf.constant([1]), rows, tf.constant([2, 3]), negative_rows, log_q)
    with_bonus = sampled_softmax_losses(
        *args, positive_bonus=tf.constant([2.0]), negative_bonus=tf.constant([[0.5, -1.0]])
    )[0]
    logits = np.array([1.0 + 2.0, 0.0 + 0.5, 1.0 - 1.0])
    expected = -logits[0] + np.log(np.exp(logits).sum())
    assert float(with_bonus) == pytest.approx(expected, rel=1e-5)


def test_repeat_model_saves_loads_and_counts_its_parameters(tmp_path):
    model = repeat_model()
    model.repeat.recency.assign(np.arange(8, dtype=np.float32))
    report = parameter_report(model)
    assert report["repeat"] == 8 + 8 + 1  # recency per slot, gate kernel d, gate bias
    save_model(model, tmp_path)
    loaded = load_model(tmp_path)
    history = np.array([[0, 3, 5, 3, 9, 1, 2, 3]], dtype=np.int32)
    np.testing.assert_allclose(loaded(history).numpy(), model(history).numpy(), rtol=1e-6, atol=1e-6)


def random_explore(max_len: int, dim: int, seed: int) -> RepeatExplore:
    layer = randomised(RepeatExplore(max_len), dim, seed)
    layer.dot_scale.assign(0.7)
    return layer


def numpy_mixture(layer: RepeatExplore, scores: np.ndarray, queries: np.ndarray, histories: np.ndarray):
    """log p of the repeat/explore mixture, written out item by item (column 0 is never ranked)."""
    kernel, bias = layer.gate.get_weights()
    recency, scale = layer.recency.numpy(), float(layer.dot_scale.numpy())
    log_p = np.full(scores.shape, -np.inf)
    for row, history in enumerate(histories):
        seen = {int(item) for item in history if item}
        gate = 1 / (1 + np.exp(-(queries[row] @ kernel[:, 0] + bias[0]))) if seen else 0.0
        slots = [slot for slot, item in enumerate(history) if item]
        slot_logits = np.array([scale * scores[row, history[slot]] + recency[slot] for slot in slots])
        slot_p = np.exp(slot_logits - slot_logits.max()) if slots else np.zeros(0)
        slot_p = slot_p / slot_p.sum() if slots else slot_p
        others = [item for item in range(1, scores.shape[1]) if item not in seen]
        explore = np.exp(scores[row, others] - scores[row, others].max())
        explore /= explore.sum()
        for item, p in zip(others, explore, strict=True):
            log_p[row, item] = np.log((1 - gate) * p)
        for item in seen:
            repeat = sum(p for slot, p in zip(slots, slot_p, strict=True) if history[slot] == item)
            log_p[row, item] = np.log(gate * repeat)
    return log_p


def test_explore_mixture_matches_numpy_and_is_a_distribution():
    layer = random_explore(max_len=5, dim=4, seed=1)
    queries = np.random.default_rng(2).normal(size=(3, 4)).astype(np.float32)
    histories = np.array([[0, 0, 3, 3, 9], [1, 2, 3, 4, 5], [0, 0, 0, 0, 0]], dtype=np.int32)
    scores = np.random.default_rng(3).normal(size=(3, 12)).astype(np.float32)
    got = layer(tf.constant(scores), tf.constant(queries), tf.constant(histories)).numpy()
    expected = numpy_mixture(layer, scores, queries, histories)
    np.testing.assert_allclose(got[:, 1:], expected[:, 1:], rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(np.exp(got[:, 1:]).sum(axis=1), 1.0, rtol=1e-5)
    # With the history excluded (the `recommend` path) the order is the dot scores' order.
    others = [item for item in range(1, 12) if item not in (3, 9)]
    assert np.argsort(-got[0, others]).tolist() == np.argsort(-scores[0, others]).tolist()


def test_explore_likelihood_from_exact_explore_losses_equals_the_full_softmax_loss():
    """The decomposition the sampled loss uses gives, with the exact explore softmax, the full CE of log p."""
    layer = random_explore(max_len=5, dim=4, seed=4)
    rng = np.random.default_rng(5)
    queries = rng.normal(size=(3, 4)).astype(np.float32)
    histories = np.array([[0, 0, 3, 3, 9], [1, 2, 3, 4, 5], [0, 0, 0, 0, 7]], dtype=np.int32)
    scores = rng.normal(size=(3, 12)).astype(np.float32)
    scores[:, 0] = -1e9  # the padding column as SASRec.item_scores gives it
    labels = np.array([3, 8, 11], dtype=np.int32)  # a repeat, two new items
    log_p = layer(tf.constant(scores), tf.constant(queries), tf.constant(histories))
    explore_losses = []
    for row, history in enumerate(histories):
        others = [item for item in range(1, 12) if item not in set(history)]
        logits = scores[row, others]
        normaliser = np.log(np.exp(logits - logits.max()).sum()) + logits.max()
        explore_losses.append(normaliser - scores[row, labels[row]] if labels[row] in others else 0.0)
    slot_dots = np.take_along_axis(scores, histories, axis=1)
    nll = layer.negative_log_likelihood(
        tf.constant(queries),
        tf.constant(histories),
        tf.constant(slot_dots),
        tf.constant(labels),
        tf.constant(explore_losses, tf.float32),
    )
    assert float(nll) == pytest.approx(float(softmax_cross_entropy(log_p, labels)), rel=1e-5)


def test_sampled_loss_drops_excluded_negatives():
    queries = tf.constant([[1.0, 0.0], [1.0, 0.0]])
    rows = tf.constant([[1.0, 0.0], [1.0, 0.0]])
    negative_rows = tf.constant([[0.0, 1.0], [1.0, 1.0]])
    args = (queries, tf.constant([1, 1]), rows, tf.constant([2, 3]), negative_rows, tf.zeros([5]))
    losses = sampled_softmax_losses(*args, excluded_negatives=tf.constant([[False, True], [False, False]]))
    np.testing.assert_allclose(
        losses.numpy(),
        [-1.0 + np.log(np.exp([1.0, 0.0]).sum()), -1.0 + np.log(np.exp([1.0, 0.0, 1.0]).sum())],
        rtol=1e-5,
    )


def test_explore_path_needs_the_repeat_side():
    with pytest.raises(ValueError, match="explore_path=True needs repeat_scores=True"):
        SASRecConfig(n_items=5, explore_path=True)


@pytest.mark.parametrize("loss", ["full", "sampled"])
def test_explore_model_learns_repeats_and_new_items_apart(loss, tmp_path):
    """Half the targets repeat the item two steps back, half are item (last + 1): the gate, the recency of
    slot L - 2 and the explore side each have something to learn, and the model saves and loads."""
    model = repeat_model(loss=loss, num_negatives=10, explore_path=True)
    model.set_item_counts(np.ones(21))
    model.compile(optimizer=keras.optimizers.Adam(0.05))
    rng = np.random.default_rng(0)
    history = rng.integers(1, 20, size=(32, 8)).astype(np.int32)
    targets = np.zeros_like(history)
    targets[:16, -1] = history[:16, -2]
    targets[16:, -1] = history[16:, -1] + 1
    before = None
    for _ in range(40):
        loss_value = float(model.train_step((tf.constant(history), tf.constant(targets)))["loss"])
        before = loss_value if before is None else before
    assert loss_value < 0.7 * before
    assert model.repeat.recency.numpy()[-2] > model.repeat.recency.numpy()[-1]
    scores = model(history).numpy()
    np.testing.assert_allclose(np.exp(scores[:, 1:]).sum(axis=1), 1.0, rtol=1e-4)
    save_model(model, tmp_path)
    np.testing.assert_allclose(load_model(tmp_path)(history).numpy(), scores, rtol=1e-5, atol=1e-5)
