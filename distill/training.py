"""The fit loop shared by teacher and student: validation ranking, early stopping, checkpoints and resume."""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from distill.pipeline import EpochBatches
from model.keras_setup import keras, tf
from runtime.atomic import atomic_write_text

MONITOR = "NDCG@10"
STATE_FILE = "training_state.json"


@dataclass(frozen=True)
class TrainConfig:
    epochs: int = 20
    batch_size: int = 128
    learning_rate: float = 1e-3
    patience: int = 3
    seed: int = 0

    def to_dict(self) -> dict:
        return asdict(self)


class TrainingDivergedError(RuntimeError):
    """The loss became NaN or infinite; the last good checkpoint is kept."""


class ValidationCheckpoint(keras.callbacks.Callback):
    """After every epoch: validation NDCG@10, best-model export, a resumable checkpoint and early stopping.

    The checkpoint (model + optimizer + epoch) and the small state file (best score, patience counter, epoch
    history) are written only after a finite epoch, so a crash or a NaN never replaces the last good state.
    """

    def __init__(
        self,
        out_dir: Path,
        validate: Callable[[], dict],
        save_best: Callable[[], None],
        patience: int,
        checkpoint: tf.train.Checkpoint,
        manager: tf.train.CheckpointManager,
        state: dict,
    ):
        super().__init__()
        self.out_dir = out_dir
        self.validate = validate
        self.save_best = save_best
        self.patience = patience
        self.checkpoint = checkpoint
        self.manager = manager
        self.state = state

    def on_train_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(float(loss)):
            self.model.stop_training = True
            self.state["diverged"] = True

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch_start = time.time()

    def on_epoch_end(self, epoch, logs=None):
        logs = logs if logs is not None else {}
        if self.state.get("diverged") or not math.isfinite(float(logs.get("loss", 0.0))):
            raise TrainingDivergedError(
                f"loss became {logs.get('loss')} in epoch {epoch + 1}; kept the last good checkpoint in "
                f"{self.manager.directory}. Lower --learning_rate or check the data, then rerun to resume."
            )
        report = self.validate()
        score = report["metrics"][MONITOR]
        logs[f"val_{MONITOR}"] = score
        logs["val_HR@10"] = report["metrics"]["HR@10"]
        improved = score > self.state["best"]
        if improved:
            self.state.update(best=score, best_epoch=epoch + 1, wait=0, best_valid=report)
            self.save_best()
        else:
            self.state["wait"] += 1
        self.state["history"].append(
            {
                "epoch": epoch + 1,
                "loss": float(logs["loss"]),
                f"val_{MONITOR}": score,
                "seconds": time.time() - self.epoch_start,
            }
        )
        self.checkpoint.epoch.assign(epoch + 1)
        self.manager.save(checkpoint_number=epoch + 1)
        # Written after the checkpoint: a crash in between leaves a state one epoch behind, and resume then
        # restores the (still kept) checkpoint of the state's epoch, so the two always agree.
        self.state["epoch"] = epoch + 1
        atomic_write_text(self.out_dir / STATE_FILE, json.dumps(self.state, indent=2))
        if self.state["wait"] >= self.patience:
            self.model.stop_training = True


def _restore(
    checkpoint: tf.train.Checkpoint, manager: tf.train.CheckpointManager, state_path: Path, state: dict
) -> dict:
    """Restores the checkpoint that matches the saved state (the newest one when there is no state file)."""
    if not state_path.exists():
        checkpoint.restore(manager.latest_checkpoint)
        state["resumed_from_epoch"] = int(checkpoint.epoch.numpy())
        return state
    state = json.loads(state_path.read_text())
    epoch = int(state.get("epoch", len(state["history"])))
    matching = [path for path in manager.checkpoints if path.rsplit("-", 1)[-1] == str(epoch)]
    if not matching:
        raise RuntimeError(
            f"{state_path} records epoch {epoch} but {manager.directory} holds {manager.checkpoints}; the "
            "folder was edited by hand or two runs wrote to it: delete it to start again"
        )
    checkpoint.restore(matching[0])
    state["resumed_from_epoch"] = epoch
    return state


def fit(
    model: keras.Model,
    train_data: tf.data.Dataset | EpochBatches,
    validate: Callable[[], dict],
    save_best: Callable[[], None],
    out_dir: str | Path,
    config: TrainConfig,
) -> dict:
    """Trains `model` (already compiled), resuming from `out_dir/checkpoints` if a checkpoint is there.

    Construction order is the caller's: data -> model built -> compile -> this (restore -> fit).

    Args:
        train_data: `distill.pipeline.EpochBatches`, or a dataset from `distill.pipeline.training_dataset`
            (its `.epoch_batches` is used): epoch e then has the same batch order whether or not the process
            restarted. Any other `tf.data.Dataset` is iterated as is, so its order after a resume is its own.

    Returns:
        The training state: best validation score and epoch, per-epoch history, seconds.

    Raises:
        TrainingDivergedError: the loss became NaN or infinite; the last good checkpoint is kept.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    checkpoint = tf.train.Checkpoint(
        model=model, optimizer=model.optimizer, epoch=tf.Variable(0, dtype=tf.int64)
    )
    manager = tf.train.CheckpointManager(checkpoint, str(out_dir / "checkpoints"), max_to_keep=2)
    state = {"best": -1.0, "best_epoch": 0, "wait": 0, "history": [], "resumed_from_epoch": 0}
    if manager.latest_checkpoint:
        state = _restore(checkpoint, manager, out_dir / STATE_FILE, state)
        print(f"Resuming from {manager.directory} at epoch {state['resumed_from_epoch']}")
    initial_epoch = int(checkpoint.epoch.numpy())
    state.pop("diverged", None)
    if state["wait"] >= config.patience or initial_epoch >= config.epochs:
        print("Training already finished in this directory; nothing to resume.")
        return state
    callbacks = [
        ValidationCheckpoint(out_dir, validate, save_best, config.patience, checkpoint, manager, state),
        keras.callbacks.TensorBoard(log_dir=str(out_dir / "logs"), update_freq="epoch"),
    ]
    batches = (
        train_data if isinstance(train_data, EpochBatches) else getattr(train_data, "epoch_batches", None)
    )
    if batches is not None:
        data, steps_per_epoch = batches.epochs(initial_epoch, config.epochs), batches.steps_per_epoch
    else:
        data, steps_per_epoch = train_data, None
    start = time.time()
    model.fit(
        data,
        epochs=config.epochs,
        initial_epoch=initial_epoch,
        steps_per_epoch=steps_per_epoch,
        callbacks=callbacks,
        verbose=1,
    )
    state["seconds"] = state.get("seconds", 0.0) + time.time() - start
    atomic_write_text(out_dir / STATE_FILE, json.dumps(state, indent=2))
    return state
