"""The fit loop shared by teacher and student: validation ranking, early stopping, checkpoints and resume;
and the distribution strategy it runs under (docs/distributed.md)."""

from __future__ import annotations

import errno
import json
import math
import os
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from distill.pipeline import EpochBatches
from model.keras_setup import keras, tf
from runtime.atomic import OutputWriteError, atomic_write_text, write_error

MONITOR = "NDCG@10"
# What early stopping and the best epoch follow: "all" is validation NDCG@10 over every target (under the
# split's protocol); "all+new" adds NDCG@10 of the new-item targets ranked with the history excluded (what
# `recommend` shows). On session data repeats dominate the first, which levels off epochs before the second
# does (Tmall: level from epoch 2 while new-item HR@20 went on from 0.007 to 0.022; bench/NOTES.md).
MONITORS = ("all", "all+new")
STATE_FILE = "training_state.json"
STRATEGIES = ("default", "mirrored", "multi_worker")


@dataclass(frozen=True)
class TrainConfig:
    """Training settings. `batch_size` is the GLOBAL batch: under a strategy with R replicas in sync each
    replica computes its loss on batch_size / R sequences (see docs/distributed.md)."""

    epochs: int = 20
    batch_size: int = 128
    learning_rate: float = 1e-3
    patience: int = 3
    seed: int = 0
    strategy: str = "default"
    # Every `lr_decay_patience` epochs without a better validation score the learning rate is multiplied by
    # `lr_decay_factor` (0: never). A high rate reaches the plateau fast; a lower one then settles in it.
    lr_decay_patience: int = 0
    lr_decay_factor: float = 0.3
    monitor: str = "all"
    # The largest share of the training time that writing checkpoints and the best model may take (0: write
    # both after every epoch). On data whose epochs take a fraction of a second the writes cost as much as
    # the training; with a share, epochs go unwritten until enough training time has passed
    # (`ValidationCheckpoint`).
    checkpoint_share: float = 0.0
    # Decoupled weight decay (AdamW, Loshchilov & Hutter): every step each weight shrinks by
    # learning_rate x weight_decay, item rows absent from the batch included (0: plain Adam). A regulariser
    # for item tables that memorise: on Tmall the explore teacher's training loss halved while validation
    # peaked.
    weight_decay: float = 0.0

    def __post_init__(self):
        if self.strategy not in STRATEGIES:
            raise ValueError(f"TrainConfig.strategy={self.strategy!r}: choose one of {STRATEGIES}")
        if self.monitor not in MONITORS:
            raise ValueError(f"TrainConfig.monitor={self.monitor!r}: choose one of {MONITORS}")
        if not 0.0 <= self.checkpoint_share < 1.0:
            raise ValueError(
                f"TrainConfig: checkpoint_share={self.checkpoint_share} must be in [0, 1) (0: every epoch)"
            )
        if self.checkpoint_share and self.strategy == "multi_worker":
            # Every worker must take part in every save; a choice made from each worker's own clock is not
            # the same on all of them.
            raise ValueError(
                f"TrainConfig: checkpoint_share={self.checkpoint_share} needs one process; with "
                "strategy='multi_worker' give checkpoint_share=0 (a checkpoint after every epoch)"
            )
        if not (math.isfinite(self.weight_decay) and self.weight_decay >= 0.0):
            raise ValueError(f"TrainConfig: weight_decay={self.weight_decay} must be a number >= 0 (0: off)")
        if self.lr_decay_patience < 0 or not 0.0 < self.lr_decay_factor < 1.0:
            raise ValueError(
                f"TrainConfig: lr_decay_patience={self.lr_decay_patience} must be >= 0 (0: off) and "
                f"lr_decay_factor={self.lr_decay_factor} in (0, 1)"
            )

    def to_dict(self) -> dict:
        return asdict(self)


def monitored_score(report: dict, monitor: str) -> float:
    """The validation score that `monitor` (MONITORS) follows, from an evaluation report; "all+new" on a split
    without new-item targets is "all"."""
    score = report["metrics"][MONITOR]
    if monitor == "all+new":
        score += report.get("metrics_new_excluded", {}).get(MONITOR, 0.0)
    return score


def make_strategy(name: str) -> tf.distribute.Strategy:
    """The tf.distribute strategy of `--strategy`; create it before any model, optimizer or dataset.

    default: the current (one-device) strategy. mirrored: synchronous replicas on this machine, one per GPU,
    or one per logical CPU device when there is no GPU (tests split the CPU with
    `tf.config.set_logical_device_configuration`). multi_worker: `MultiWorkerMirroredStrategy` over the
    cluster in `TF_CONFIG` (every worker runs the same command).

    Raises:
        ValueError: unknown name, or multi_worker without TF_CONFIG.
    """
    if name == "default":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        devices = tf.config.list_logical_devices("GPU") or tf.config.list_logical_devices("CPU")
        return tf.distribute.MirroredStrategy([device.name for device in devices])
    if name == "multi_worker":
        if "TF_CONFIG" not in os.environ:
            raise ValueError(
                "--strategy=multi_worker reads the cluster from the TF_CONFIG environment variable, which is "
                "not set; see docs/distributed.md for the TF_CONFIG of each host"
            )
        return tf.distribute.MultiWorkerMirroredStrategy()
    raise ValueError(f"unknown strategy {name!r}; choose one of {STRATEGIES}")


def is_chief(strategy: tf.distribute.Strategy) -> bool:
    """True except on the non-chief workers of a multi-worker cluster (worker 0 is chief without a chief)."""
    resolver = getattr(strategy, "cluster_resolver", None)
    if not isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy) or resolver is None:
        return True
    if resolver.task_type in (None, "chief"):
        return True
    has_chief = "chief" in resolver.cluster_spec().as_dict()
    return resolver.task_type == "worker" and resolver.task_id == 0 and not has_chief


def worker_write_dir(out_dir: str | Path, strategy: tf.distribute.Strategy) -> Path:
    """Where this process writes: `out_dir` on the chief; a sibling `<out>.workertemp_<id>` on other workers.

    Every worker must run the same saves (they are collective), but only the chief's files are kept (the
    pattern of TensorFlow's multi-worker Keras guide); `remove_worker_dir` deletes the others at the end.
    """
    out_dir = Path(out_dir)
    if is_chief(strategy):
        return out_dir
    return out_dir.parent / f"{out_dir.name}.workertemp_{strategy.cluster_resolver.task_id}"


def remove_worker_dir(out_dir: str | Path, write_dir: str | Path) -> None:
    """Deletes a non-chief worker's scratch folder once training has finished (never the chief's)."""
    if Path(write_dir) != Path(out_dir):
        shutil.rmtree(write_dir, ignore_errors=True)


class ReplicaMeanGradients:
    """Optimizer mixin: the gradients all-reduced across replicas are averaged, not summed.

    A custom `train_step` computes its loss as a mean over the replica's own batch; Keras' default aggregation
    sums the replicas' gradients, which would multiply the step by the replica count (the guide's fix is to
    divide each replica's loss by `num_replicas_in_sync`; dividing the summed gradient is the same). The
    update then follows the mean of the per-replica mean losses, which is the global-batch mean whenever the
    replicas hold equally many supervised positions. With one replica nothing changes.
    """

    def aggregate_gradients(self, grads_and_vars):
        summed = super().aggregate_gradients(grads_and_vars)
        replicas = tf.distribute.get_strategy().num_replicas_in_sync
        if replicas == 1:
            return summed
        return [(_divide(gradient, replicas), variable) for gradient, variable in summed]


def _divide(gradient, divisor: int):
    if gradient is None:
        return None
    if isinstance(gradient, tf.IndexedSlices):
        return tf.IndexedSlices(gradient.values / divisor, gradient.indices, gradient.dense_shape)
    return gradient / divisor


class ReplicaMeanAdam(ReplicaMeanGradients, keras.optimizers.Adam):
    """Adam whose cross-replica gradient is the mean over replicas (see ReplicaMeanGradients)."""


class ReplicaMeanAdamW(ReplicaMeanGradients, keras.optimizers.AdamW):
    """AdamW (decoupled weight decay) with the replicas' mean gradient (see ReplicaMeanGradients)."""


def make_optimizer(
    config: TrainConfig, variables: Sequence[tf.Variable] | None = None
) -> keras.optimizers.Optimizer:
    """The training optimizer; call it inside `strategy.scope()`, after the model's variables exist.

    Args:
        variables: the variables its `apply_gradients` will update, in the train step's order. Given, the
            optimizer creates its slots for them now: slots created during the first step would make
            `tf.function` trace the train step twice (once to create them, once more without), about 3 s
            of CPU per model on 2 cores whatever the data size. None: the slots come with the first step.
    """
    if config.weight_decay:
        optimizer = ReplicaMeanAdamW(config.learning_rate, weight_decay=config.weight_decay)
    else:
        optimizer = ReplicaMeanAdam(config.learning_rate)
    if variables is not None:
        optimizer.build(list(variables))
    return optimizer


def current_learning_rate(optimizer: keras.optimizers.Optimizer) -> float:
    """The rate in force as a float; under a strategy the optimizer holds it in a MirroredVariable, which
    `float()` refuses, so it is read through the backend."""
    return float(keras.backend.get_value(optimizer.learning_rate))


class TrainingDivergedError(RuntimeError):
    """The loss became NaN or infinite; the last good checkpoint is kept."""


class ValidationCheckpoint(keras.callbacks.Callback):
    """After every epoch: validation NDCG@10, best-model export, a resumable checkpoint and early stopping.

    The checkpoint (model + optimizer + epoch) and the small state file (best score, patience counter, epoch
    history) are written only after a finite epoch, so a crash or a NaN never replaces the last good state.

    With `config.checkpoint_share` > 0, an epoch is written only when the last write took at most that share
    of the training time since it (and always the first and the last epoch): an improvement in between is
    kept in memory (the model's weights) and written, as the best model, with the next checkpoint. The best
    model, the checkpoint and the state file so always describe the same epoch; a run killed in between
    resumes from the last written epoch and trains the unwritten ones again (the same batches).
    """

    def __init__(
        self,
        out_dir: Path,
        validate: Callable[[], dict],
        save_best: Callable[[], None],
        config: TrainConfig,
        checkpoint: tf.train.Checkpoint,
        manager: tf.train.CheckpointManager,
        state: dict,
    ):
        super().__init__()
        self.out_dir = out_dir
        self.validate = validate
        self.save_best = save_best
        self.config = config
        self.checkpoint = checkpoint
        self.manager = manager
        self.state = state
        self.unwritten_best: list | None = None  # the best epoch's weights, when not written yet
        self.write_seconds = 0.0  # how long the last write took
        self.since_write = 0.0  # training seconds since it

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
        score = monitored_score(report, self.config.monitor)
        logs[f"val_{MONITOR}"] = report["metrics"][MONITOR]
        logs["val_HR@10"] = report["metrics"]["HR@10"]
        if self.config.monitor != "all":
            logs["val_score"] = score
        learning_rate = current_learning_rate(self.model.optimizer)
        improved = score > self.state["best"]
        stopping = epoch + 1 >= self.config.epochs or (
            not improved and self.state["wait"] + 1 >= self.config.patience
        )
        self.since_write += time.time() - self.epoch_start
        share = self.config.checkpoint_share
        write = stopping or not share or self.write_seconds <= share * self.since_write
        if improved:
            self.state.update(best=score, best_epoch=epoch + 1, wait=0, best_valid=report)
            # Written below with the checkpoint, or kept until the next one.
            self.unwritten_best = None if write else self.model.get_weights()
        else:
            self.state["wait"] += 1
            decay_every = self.config.lr_decay_patience
            if decay_every and self.state["wait"] % decay_every == 0:
                self.state["learning_rate"] = learning_rate * self.config.lr_decay_factor
                self.model.optimizer.learning_rate = self.state["learning_rate"]
                print(
                    f"\nno better validation score ({self.config.monitor}) for {self.state['wait']} epochs: "
                    "learning rate "
                    f"{learning_rate:.3g} -> {self.state['learning_rate']:.3g}"
                )
        seconds = time.time() - self.epoch_start
        history = self.state["history"]
        history.append(
            {
                "epoch": epoch + 1,
                "loss": float(logs["loss"]),
                "loss_terms": {
                    name: float(value) for name, value in logs.items() if not name.startswith("val_")
                },
                f"val_{MONITOR}": report["metrics"][MONITOR],
                "val_score": score,
                "valid": report["metrics"],
                "learning_rate": learning_rate,
                "seconds": seconds,
                "seconds_since_start": (history[-1].get("seconds_since_start", 0.0) if history else 0.0)
                + seconds,
            }
        )
        if write:
            started = time.time()
            if improved:
                self.save_best()
            else:
                self._write_best_kept_in_memory()
            self.checkpoint.epoch.assign(epoch + 1)
            save_checkpoint(self.manager, epoch + 1)
            # Written after the checkpoint: a crash in between leaves a state one epoch behind, and resume
            # then restores the (still kept) checkpoint of the state's epoch, so the two always agree.
            self.state["epoch"] = epoch + 1
            atomic_write_text(self.out_dir / STATE_FILE, json.dumps(self.state, indent=2))
            self.write_seconds, self.since_write = time.time() - started, 0.0
        if self.state["wait"] >= self.config.patience:
            self.model.stop_training = True

    def _write_best_kept_in_memory(self) -> None:
        """`save_best` of the weights kept at an unwritten improvement (the model holds them meanwhile)."""
        if self.unwritten_best is None:
            return
        current = self.model.get_weights()
        self.model.set_weights(self.unwritten_best)
        try:
            self.save_best()
        finally:
            self.model.set_weights(current)
        self.unwritten_best = None


# The errno of TensorFlow's file-writing errors (a full disk is RESOURCE_EXHAUSTED), for the user's message.
_TF_ERRNO = {
    tf.errors.ResourceExhaustedError: errno.ENOSPC,
    tf.errors.PermissionDeniedError: errno.EACCES,
}


def save_checkpoint(manager: tf.train.CheckpointManager, epoch: int) -> None:
    """`manager.save` of `epoch`, with a failed write turned into a message a user can act on.

    Raises:
        runtime.atomic.OutputWriteError: TensorFlow could not write the checkpoint (e.g. the disk is full;
            it raised a `tf.errors.OpError` naming its temporary file). The half-written `ckpt-<epoch>_temp`
            it leaves is removed; the checkpoints of earlier epochs stay, so rerunning resumes from them.
    """
    try:
        manager.save(checkpoint_number=epoch)
    except tf.errors.OpError as error:
        for leftover in Path(manager.directory).glob(f"ckpt-{epoch}_temp*"):
            if leftover.is_dir():
                shutil.rmtree(leftover, ignore_errors=True)
            else:
                leftover.unlink(missing_ok=True)
        raise tf_write_error(f"the checkpoint of epoch {epoch} in {manager.directory}", error) from None


def tf_write_error(target: str | os.PathLike[str], error: tf.errors.OpError) -> OutputWriteError:
    """The `OutputWriteError` for a TensorFlow write of `target` that failed with `error` (its message names
    a temporary file and an op; ours names the target, the reason and the fix)."""
    number = _TF_ERRNO.get(type(error))
    return write_error(target, number, os.strerror(number) if number else error.message.splitlines()[0])


def learning_curve(state: dict) -> dict:
    """The run's learning curve for results files: per epoch the wall seconds since the run began (summed
    over the finished epochs of every process that worked on it, so a resumed run continues its curve), the
    training loss terms and the validation metrics; with `train_seconds` (the same clock at the last epoch)
    and `seconds_per_epoch`."""
    curve = [
        {
            "epoch": entry["epoch"],
            "seconds": entry["seconds_since_start"],
            "loss": entry["loss_terms"],
            "valid": entry["valid"],
        }
        for entry in state["history"]
    ]
    train_seconds = curve[-1]["seconds"] if curve else 0.0
    return {
        "curve": curve,
        "train_seconds": train_seconds,
        "seconds_per_epoch": train_seconds / len(curve) if curve else None,
    }


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
    restore_dir: str | Path | None = None,
) -> dict:
    """Trains `model` (already compiled), resuming from `out_dir/checkpoints` if a checkpoint is there.

    Construction order is the caller's: data -> model built -> compile -> this (restore -> fit). Under a
    strategy, the model and its optimizer must have been created inside `strategy.scope()`.

    Args:
        train_data: `distill.pipeline.EpochBatches`, or a dataset from `distill.pipeline.training_dataset`
            (its `.epoch_batches` is used): epoch e then has the same batch order whether or not the process
            restarted. Any other `tf.data.Dataset` is iterated as is, so its order after a resume is its own.

        restore_dir: where to resume from, when it differs from where this process writes: a non-chief worker
            writes into its scratch `worker_write_dir` but restores the chief's `out_dir`, so a restarted
            cluster resumes every worker from the same epoch (a shared filesystem, as in TF's guide).

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
    restore_dir = Path(restore_dir) if restore_dir is not None else out_dir
    restorer = manager
    if restore_dir != out_dir:
        restorer = tf.train.CheckpointManager(checkpoint, str(restore_dir / "checkpoints"), max_to_keep=2)
    state = {"best": -1.0, "best_epoch": 0, "wait": 0, "history": [], "resumed_from_epoch": 0}
    if restorer.latest_checkpoint:
        state = _restore(checkpoint, restorer, restore_dir / STATE_FILE, state)
        print(f"Resuming from {restorer.directory} at epoch {state['resumed_from_epoch']}")
        if "learning_rate" in state:  # decayed on a plateau (TrainConfig.lr_decay_patience)
            model.optimizer.learning_rate = state["learning_rate"]
    initial_epoch = int(checkpoint.epoch.numpy())
    state.pop("diverged", None)
    if state["wait"] >= config.patience or initial_epoch >= config.epochs:
        print("Training already finished in this directory; nothing to resume.")
        return state
    callbacks = [
        ValidationCheckpoint(out_dir, validate, save_best, config, checkpoint, manager, state),
        keras.callbacks.TensorBoard(log_dir=str(out_dir / "logs"), update_freq="epoch"),
    ]
    batches = (
        train_data if isinstance(train_data, EpochBatches) else getattr(train_data, "epoch_batches", None)
    )
    if batches is not None:
        data, steps_per_epoch = batches.epochs(initial_epoch, config.epochs), batches.steps_per_epoch
    else:
        data, steps_per_epoch = train_data, None
    if isinstance(model.distribute_strategy, tf.distribute.MultiWorkerMirroredStrategy):
        # The batches come from in-memory tensors (no files to shard): every worker builds the same global
        # batches and keeps its slice of each, so epoch order stays a function of (seed, epoch) on all.
        options = tf.data.Options()
        options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
        data = data.with_options(options)
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
