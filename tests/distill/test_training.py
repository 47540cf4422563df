"""The shared fit loop: resume from the saved epoch, early stopping, a NaN keeps the last good checkpoint."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest

from distill.pipeline import training_dataset
from distill.training import (
    MONITORS,
    STATE_FILE,
    TrainConfig,
    TrainingDivergedError,
    fit,
    make_optimizer,
    monitored_score,
)
from model.keras_setup import keras, tf
from model.sasrec import SASRec
from tests.conftest import tiny_sasrec_config


class LinearModel(keras.Model):
    """y = w * x with a squared loss: two steps per epoch, nothing to trace worth the name."""

    def __init__(self):
        super().__init__()
        self.weight = self.add_weight(name="weight", shape=(), initializer="zeros")
        self.loss_tracker = keras.metrics.Mean(name="loss")

    def train_step(self, data):
        inputs, targets = data
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean((self.weight * inputs - targets) ** 2)
        self.optimizer.apply_gradients([(tape.gradient(loss, self.weight), self.weight)])
        self.loss_tracker.update_state(loss)
        return {"loss": self.loss_tracker.result()}

    @property
    def metrics(self):
        return [self.loss_tracker]


def linear_model() -> LinearModel:
    model = LinearModel()
    model.compile(optimizer=keras.optimizers.SGD(0.01), run_eagerly=True)
    return model


def linear_data(poisoned: bool = False) -> tf.data.Dataset:
    inputs = np.array([1.0, 2.0, 3.0, 4.0], dtype=np.float32)
    if poisoned:
        inputs[3] = np.nan
    return tf.data.Dataset.from_tensor_slices((inputs, 2 * inputs)).batch(2)


class FakeValidation:
    """Returns the given NDCG@10 scores in turn and counts calls; save_best counts too."""

    def __init__(self, scores):
        self.scores = list(scores)
        self.calls = 0
        self.saves = 0

    def validate(self) -> dict:
        score = self.scores[self.calls]
        self.calls += 1
        return {"metrics": {"NDCG@10": score, "HR@10": 2 * score}}

    def save_best(self) -> None:
        self.saves += 1


@pytest.mark.parametrize(
    "scores,patience,epochs,stopped_after,best_epoch,saves",
    [
        ([0.5, 0.4, 0.45, 0.3, 0.9, 0.9], 3, 10, 4, 1, 1),
        ([0.1, 0.2, 0.2, 0.3, 0.3, 0.3, 0.9], 2, 10, 6, 4, 3),
        ([0.1, 0.2, 0.3], 1, 3, 3, 3, 3),  # improves every epoch: runs all epochs
    ],
)
def test_early_stopping_after_patience_epochs_without_improvement(
    scores, patience, epochs, stopped_after, best_epoch, saves, tmp_path
):
    validation = FakeValidation(scores)
    config = TrainConfig(epochs=epochs, patience=patience)
    state = fit(linear_model(), linear_data(), validation.validate, validation.save_best, tmp_path, config)
    assert [entry["epoch"] for entry in state["history"]] == list(range(1, stopped_after + 1))
    assert validation.calls == stopped_after
    assert state["best_epoch"] == best_epoch
    assert state["best"] == pytest.approx(max(scores[:stopped_after]))
    assert validation.saves == saves
    assert json.loads((tmp_path / STATE_FILE).read_text())["best_epoch"] == best_epoch


def test_all_plus_new_monitor_picks_the_epoch_where_new_item_targets_rank_best(tmp_path):
    """Overall NDCG@10 levels off while new-item NDCG@10 (history excluded) still rises: "all" keeps epoch 1,
    "all+new" follows the sum and keeps the third epoch as the best."""
    overall, new_items = [0.30, 0.30, 0.30, 0.29, 0.29], [0.01, 0.02, 0.04, 0.01, 0.01]
    reports = [
        {"metrics": {"NDCG@10": a, "HR@10": a}, "metrics_new_excluded": {"NDCG@10": b}}
        for a, b in zip(overall, new_items, strict=True)
    ]
    best_epochs = {}
    for monitor in MONITORS:
        validate = iter(reports).__next__
        config = TrainConfig(epochs=5, patience=2, monitor=monitor)
        state = fit(linear_model(), linear_data(), validate, lambda: None, tmp_path / monitor, config)
        best_epochs[monitor] = state["best_epoch"]
        assert [entry["val_NDCG@10"] for entry in state["history"]] == overall[: len(state["history"])]
    assert best_epochs == {"all": 1, "all+new": 3}
    assert state["best"] == pytest.approx(0.34) and state["history"][2]["val_score"] == pytest.approx(0.34)


def test_monitored_score_without_new_item_targets_is_the_overall_score():
    assert monitored_score({"metrics": {"NDCG@10": 0.2}, "metrics_new_excluded": {}}, "all+new") == 0.2
    with pytest.raises(ValueError, match="monitor='new'.*all\\+new"):
        TrainConfig(monitor="new")


def test_resume_continues_from_the_saved_epoch(tmp_path):
    sequences = [np.array([1, 2, 3, 4, 5]), np.array([6, 7, 8, 9]), np.array([3, 5, 7, 9, 11, 13])]
    data = training_dataset(sequences, max_len=8, batch_size=2, seed=0)  # 2 steps per epoch

    def compiled_model(seed: int) -> SASRec:
        keras.utils.set_random_seed(seed)
        model = SASRec(tiny_sasrec_config(n_items=15)).build_for_inference()
        model.compile(optimizer=keras.optimizers.Adam(1e-3), run_eagerly=True)
        return model

    first = FakeValidation([0.1])
    state = fit(compiled_model(0), data, first.validate, first.save_best, tmp_path, TrainConfig(epochs=1))
    assert [entry["epoch"] for entry in state["history"]] == [1]
    assert state["resumed_from_epoch"] == 0

    second = FakeValidation([0.2])
    resumed = compiled_model(1)
    state = fit(resumed, data, second.validate, second.save_best, tmp_path, TrainConfig(epochs=2))
    assert state["resumed_from_epoch"] == 1
    assert second.calls == 1, "the resumed run trained more than epoch 2"
    assert [entry["epoch"] for entry in state["history"]] == [1, 2]
    assert state["best_epoch"] == 2
    # The optimizer state came back with the weights: 2 steps of epoch 1 plus 2 of epoch 2.
    assert int(resumed.optimizer.iterations.numpy()) == 4

    third = FakeValidation([])
    state = fit(compiled_model(2), data, third.validate, third.save_best, tmp_path, TrainConfig(epochs=2))
    assert third.calls == 0
    assert [entry["epoch"] for entry in state["history"]] == [1, 2]


def test_nan_loss_raises_and_keeps_the_last_good_checkpoint(tmp_path):
    validation = FakeValidation([0.1, 0.2, 0.3])
    model = linear_model()
    fit(model, linear_data(), validation.validate, validation.save_best, tmp_path, TrainConfig(epochs=1))
    good_weight = float(model.weight.numpy())
    assert good_weight != 0.0

    poisoned, config = linear_data(poisoned=True), TrainConfig(epochs=3)
    with pytest.raises(TrainingDivergedError, match="epoch 2"):
        fit(model, poisoned, validation.validate, validation.save_best, tmp_path, config)
    assert not np.isfinite(model.weight.numpy())
    assert validation.calls == 1, "a diverged epoch must not be validated"

    fresh = linear_model()
    checkpoint = tf.train.Checkpoint(model=fresh, epoch=tf.Variable(0, dtype=tf.int64))
    latest = tf.train.latest_checkpoint(str(tmp_path / "checkpoints"))
    checkpoint.restore(latest).expect_partial()
    assert int(checkpoint.epoch.numpy()) == 1
    assert float(fresh.weight.numpy()) == good_weight
    state = json.loads((tmp_path / STATE_FILE).read_text())
    assert [entry["epoch"] for entry in state["history"]] == [1]

    # Rerunning with good data resumes from that checkpoint.
    resumed = linear_model()
    config = TrainConfig(epochs=2)
    state = fit(resumed, linear_data(), validation.validate, validation.save_best, tmp_path, config)
    assert state["resumed_from_epoch"] == 1
    assert [entry["epoch"] for entry in state["history"]] == [1, 2]
    assert np.isfinite(resumed.weight.numpy())


def test_learning_rate_decays_on_a_plateau_and_survives_a_resume(tmp_path):
    """Every 2 epochs without a better score the rate is multiplied by 0.5; an improvement restarts the count;
    a resumed run continues with the decayed rate, not the configured one."""
    config = TrainConfig(epochs=5, patience=10, learning_rate=0.01, lr_decay_patience=2, lr_decay_factor=0.5)
    first = FakeValidation([0.5, 0.4, 0.4, 0.6, 0.5])
    model = linear_model()
    state = fit(model, linear_data(), first.validate, first.save_best, tmp_path, config)
    rates = [entry["learning_rate"] for entry in state["history"]]
    assert rates == pytest.approx([0.01, 0.01, 0.01, 0.005, 0.005])
    assert float(model.optimizer.learning_rate) == pytest.approx(0.005)

    second = FakeValidation([0.5, 0.5])
    resumed = linear_model()  # compiled at 0.01
    longer = replace(config, epochs=7)
    state = fit(resumed, linear_data(), second.validate, second.save_best, tmp_path, longer)
    # Epoch 6 runs at the resumed 0.005 and is the 2nd epoch after the best (epoch 4): 0.0025 from epoch 7.
    assert [entry["learning_rate"] for entry in state["history"]][5:] == pytest.approx([0.005, 0.0025])


def test_weight_decay_shrinks_every_weight_each_step_beside_the_adam_update():
    """AdamW's decoupled decay: a weight whose gradient is zero (an item row absent from the batch) still
    shrinks by learning_rate x weight_decay per step; without decay it does not move."""
    for decay, expected in ((0.0, 2.0), (0.1, 2.0 * (1 - 0.01 * 0.1))):
        weights = tf.Variable([2.0, 2.0])
        optimizer = make_optimizer(TrainConfig(learning_rate=0.01, weight_decay=decay), [weights])
        optimizer.apply_gradients([(tf.constant([0.0, 1.0]), weights)])
        assert weights.numpy()[0] == pytest.approx(expected, rel=1e-6)
        assert weights.numpy()[1] == pytest.approx(expected - 0.01, rel=1e-4)  # Adam's first step: lr x sign


def test_a_sasrec_step_with_weight_decay_is_the_adam_step_less_the_decay_of_every_weight():
    """Decoupled decay through the model's own train step (embedding gradients are sparse): after one step
    the weights differ from plain Adam's by learning_rate x weight_decay x the weights before, item rows
    included."""
    history = np.array([[0, 0, 0, 0, 0, 1, 2, 3]] * 2, dtype=np.int32)
    targets = np.array([[0, 0, 0, 0, 0, 2, 3, 4]] * 2, dtype=np.int32)
    stepped = []
    for decay in (0.0, 0.5):
        tf.keras.utils.set_random_seed(0)
        model = SASRec(tiny_sasrec_config(n_items=15)).build_for_inference()
        model.compile(optimizer=make_optimizer(TrainConfig(weight_decay=decay), model.trainable_variables))
        before = [variable.numpy() for variable in model.trainable_variables]
        model.train_on_batch(history, targets)
        stepped.append([variable.numpy() for variable in model.trainable_variables])
    for old, plain, decayed in zip(before, *stepped, strict=True):
        np.testing.assert_allclose(decayed, plain - 1e-3 * 0.5 * old, atol=1e-6)


def test_bad_weight_decays_are_refused():
    for decay in (-0.1, float("nan")):
        with pytest.raises(ValueError, match=f"weight_decay={decay}"):
            TrainConfig(weight_decay=decay)


def test_bad_decay_settings_are_refused():
    with pytest.raises(ValueError, match="lr_decay_factor=1.5"):
        TrainConfig(lr_decay_patience=2, lr_decay_factor=1.5)
    with pytest.raises(ValueError, match="lr_decay_patience=-1"):
        TrainConfig(lr_decay_patience=-1)


def test_with_a_checkpoint_share_the_best_epoch_is_written_with_the_next_checkpoint(tmp_path):
    """A share far below the cost of a write: only the first and the last epoch are written. The best epoch
    in between (2) is written then, with the weights it had, and the model keeps its last weights."""
    model = linear_model()
    weights, saved, state_epochs = [], [], []

    class Recording(FakeValidation):
        def validate(self) -> dict:
            weights.append(float(model.weight.numpy()))
            state_file = tmp_path / STATE_FILE
            state_epochs.append(json.loads(state_file.read_text())["epoch"] if state_file.exists() else 0)
            return super().validate()

        def save_best(self) -> None:
            saved.append(float(model.weight.numpy()))
            super().save_best()

    validation = Recording([0.1, 0.5, 0.2, 0.3])
    config = TrainConfig(epochs=4, patience=10, checkpoint_share=1e-9)
    state = fit(model, linear_data(), validation.validate, validation.save_best, tmp_path, config)
    assert len(set(weights)) == 4, "every epoch changed the weight"
    assert saved == [weights[0], weights[1]]
    assert float(model.weight.numpy()) == weights[3]
    assert state_epochs == [0, 1, 1, 1], "epochs 2 and 3 were not written"
    written = json.loads((tmp_path / STATE_FILE).read_text())
    assert (written["epoch"], written["best_epoch"], state["best_epoch"]) == (4, 2, 2)
    assert sorted(path.name for path in (tmp_path / "checkpoints").glob("*.index")) == [
        "ckpt-1.index",
        "ckpt-4.index",
    ]


def test_bad_checkpoint_shares_are_refused():
    with pytest.raises(ValueError, match="checkpoint_share=1.0"):
        TrainConfig(checkpoint_share=1.0)
    with pytest.raises(ValueError, match="checkpoint_share=0.1 needs one process"):
        TrainConfig(checkpoint_share=0.1, strategy="multi_worker")
