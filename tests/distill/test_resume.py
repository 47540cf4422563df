"""Crash safety of training: SIGKILL and rerun gives the uninterrupted result, the epoch order does not depend
on the process, a NaN loss keeps the last good checkpoint, and a failing write never replaces a good file."""

import contextlib
import errno
import json
import os
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from distill import model_io
from distill.pipeline import EpochBatches, training_batches, training_dataset
from distill.teacher import train_teacher
from distill.training import STATE_FILE, TrainConfig, TrainingDivergedError, fit
from model.keras_setup import keras, tf
from model.sasrec import SASRec
from runtime import atomic
from runtime.atomic import OutputWriteError
from tests.conftest import tiny_sasrec_config

REPOSITORY = Path(__file__).resolve().parents[2]
# Metrics of a resumed run may differ from an uninterrupted one by float round-off only (same data order, same
# dropout masks are not guaranteed, so the subprocess test runs with dropout 0); measured difference: 0.0.
RESUME_TOLERANCE = 1e-6
TINY_FLAGS = [
    "--dataset=synthetic",
    "--epochs=3",
    "--patience=5",
    "--hidden_dim=8",
    "--max_len=10",
    "--num_blocks=1",
    "--batch_size=16",
    "--dropout=0.0",
]


def _ranking_results(metrics: dict) -> list[dict]:
    """What a user compares between runs: every model's metrics and the chosen epoch, not the timings."""
    keys = ("name", "metrics", "valid_metrics", "metrics_head", "metrics_tail", "best_epoch", "epochs")
    return [{key: entry.get(key) for key in keys} for entry in metrics["models"]]


def _assert_same_results(resumed: dict, uninterrupted: dict) -> None:
    for got, expected in zip(_ranking_results(resumed), _ranking_results(uninterrupted), strict=True):
        assert (got["name"], got["best_epoch"], got["epochs"]) == (
            expected["name"],
            expected["best_epoch"],
            expected["epochs"],
        )
        for key in ("metrics", "valid_metrics", "metrics_head", "metrics_tail"):
            assert got[key] == pytest.approx(expected[key], abs=RESUME_TOLERANCE), (got["name"], key)


def _environment() -> dict:
    return {**os.environ, "PYTHONUNBUFFERED": "1", "TF_CPP_MIN_LOG_LEVEL": "2", "CUDA_VISIBLE_DEVICES": ""}


def _train_command(out_dir: Path) -> list[str]:
    return [sys.executable, "-m", "distill.train_teacher", *TINY_FLAGS, f"--out={out_dir}"]


@pytest.mark.slow
def test_sigkill_mid_epoch_then_rerun_matches_uninterrupted_run(tmp_path: Path) -> None:
    uninterrupted, interrupted = tmp_path / "uninterrupted", tmp_path / "interrupted"
    log = open(tmp_path / "killed.log", "w")  # noqa: SIM115 (closed below, after the kill)
    process = subprocess.Popen(
        _train_command(interrupted), cwd=REPOSITORY, env=_environment(), stdout=log, stderr=subprocess.STDOUT
    )
    state_path = interrupted / STATE_FILE
    deadline = time.time() + 300
    while not state_path.exists() and process.poll() is None and time.time() < deadline:
        time.sleep(0.05)
    time.sleep(0.3)  # well into epoch 2 (125 steps), before its checkpoint
    process.send_signal(signal.SIGKILL)
    process.wait()
    log.close()
    assert process.returncode == -signal.SIGKILL, (tmp_path / "killed.log").read_text()[-2000:]
    assert json.loads(state_path.read_text())["epoch"] == 1
    assert not (interrupted / "metrics.json").exists()
    assert not list((interrupted / "checkpoints").glob("ckpt-2*")), "killed too late: epoch 2 had finished"

    for out_dir in (interrupted, uninterrupted):
        result = subprocess.run(
            _train_command(out_dir), cwd=REPOSITORY, env=_environment(), capture_output=True, text=True
        )
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
        if out_dir == interrupted:
            assert "Resuming from" in result.stdout and "at epoch 1" in result.stdout
    resumed = json.loads((interrupted / "metrics.json").read_text())
    expected = json.loads((uninterrupted / "metrics.json").read_text())
    _assert_same_results(resumed, expected)


def _train_tiny(dataset, out_dir: Path, epochs: int, dropout: float = 0.0) -> dict:
    config = tiny_sasrec_config(n_items=dataset.n_items, dropout=dropout)
    return train_teacher(
        dataset, config, TrainConfig(epochs=epochs, batch_size=16, patience=5), out_dir, with_baselines=False
    )


def test_stop_after_an_epoch_then_resume_matches_uninterrupted_run(tiny_dataset, tmp_path: Path) -> None:
    """Fast in-process variant of the SIGKILL test: a new model object restarts every RNG and iterator."""
    _train_tiny(tiny_dataset, tmp_path / "resumed", epochs=1)
    resumed = _train_tiny(tiny_dataset, tmp_path / "resumed", epochs=2)
    uninterrupted = _train_tiny(tiny_dataset, tmp_path / "uninterrupted", epochs=2)
    assert json.loads((tmp_path / "resumed" / STATE_FILE).read_text())["resumed_from_epoch"] == 1
    _assert_same_results(resumed, uninterrupted)


def test_learning_curve_has_an_epoch_each_and_a_resumed_run_continues_it(
    tiny_dataset, tmp_path: Path
) -> None:
    first = _train_tiny(tiny_dataset, tmp_path, epochs=1)["models"][-1]
    resumed = _train_tiny(tiny_dataset, tmp_path, epochs=3)["models"][-1]
    curve = resumed["curve"]
    assert [point["epoch"] for point in curve] == [1, 2, 3]
    assert curve[0] == first["curve"][0]  # the resumed run keeps the first process's epoch as it was
    seconds = [point["seconds"] for point in curve]
    assert 0 < seconds[0] < seconds[1] < seconds[2] == resumed["train_seconds"]
    assert resumed["seconds_per_epoch"] == pytest.approx(seconds[2] / 3)
    for point in curve:
        assert point["loss"]["loss"] > 0 and 0.0 <= point["valid"]["NDCG@10"] <= 1.0
    best = curve[resumed["best_epoch"] - 1]["valid"]
    assert best == resumed["valid_metrics"]  # the curve's validation is the one that selected the model


def test_epoch_order_depends_on_seed_and_epoch_only() -> None:
    sequences = [np.array([item, item + 100]) for item in range(1, 40)]
    batches = training_batches(sequences, max_len=1, batch_size=8, seed=3)

    def rows(dataset) -> list[int]:
        return [int(value) for inputs, _ in dataset.as_numpy_iterator() for value in inputs[:, 0]]

    three_epochs = rows(batches.epochs(0, 3))
    per_epoch = [rows(batches.epochs(epoch, epoch + 1)) for epoch in range(3)]
    assert three_epochs == per_epoch[0] + per_epoch[1] + per_epoch[2]
    assert rows(batches.epochs(2, 3)) == per_epoch[2]  # a "restarted process" starting at epoch 2
    assert per_epoch[0] != per_epoch[1] and sorted(per_epoch[0]) == sorted(per_epoch[1]) == list(range(1, 40))
    assert rows(training_batches(sequences, 1, 8, seed=4).epochs(0, 1)) != per_epoch[0]
    assert len(list(batches.epochs(0, 2))) == 2 * batches.steps_per_epoch == 10
    unshuffled = training_batches(sequences, 1, 8, seed=3, shuffle=False)
    assert rows(unshuffled.epochs(1, 2)) == list(range(1, 40))


def test_training_dataset_carries_its_epoch_batches() -> None:
    dataset = training_dataset([np.array([1, 2, 3])], max_len=2, batch_size=4, seed=0)
    assert isinstance(dataset.epoch_batches, EpochBatches)
    np.testing.assert_array_equal(dataset.epoch_batches.inputs, [[1, 2]])


def _compiled_tiny_model(n_items: int, learning_rate) -> SASRec:
    keras.utils.set_random_seed(0)
    model = SASRec(tiny_sasrec_config(n_items=n_items))
    model.build_for_inference()
    model.compile(optimizer=keras.optimizers.Adam(learning_rate))
    return model


def test_nan_loss_stops_with_a_clear_message_and_keeps_the_last_good_checkpoint(
    tiny_dataset, tmp_path: Path
) -> None:
    data = training_batches(tiny_dataset.train_sequences, 8, batch_size=16, seed=0)
    saved = []
    validate = lambda: {"metrics": {"NDCG@10": 0.1, "HR@10": 0.2}}  # noqa: E731
    good = _compiled_tiny_model(tiny_dataset.n_items, 1e-3)
    fit(good, data, validate, lambda: saved.append(1), tmp_path, TrainConfig(epochs=1))
    state_before = (tmp_path / STATE_FILE).read_bytes()
    checkpoint_files = sorted(path.name for path in (tmp_path / "checkpoints").iterdir())

    # A schedule, unlike a float, is not a variable that the restore would reset to the first run's 1e-3.
    exploding = keras.optimizers.schedules.ExponentialDecay(1e30, decay_steps=1, decay_rate=1.0)
    diverging = _compiled_tiny_model(tiny_dataset.n_items, exploding)
    diverged = r"loss became (nan|inf|-inf) in epoch 2; kept the last good checkpoint"
    with pytest.raises(TrainingDivergedError, match=diverged):
        fit(diverging, data, validate, lambda: saved.append(2), tmp_path, TrainConfig(epochs=2))
    assert saved == [1]
    assert (tmp_path / STATE_FILE).read_bytes() == state_before
    assert sorted(path.name for path in (tmp_path / "checkpoints").iterdir()) == checkpoint_files


def test_state_behind_checkpoint_restores_the_checkpoint_of_the_state(tiny_dataset, tmp_path: Path) -> None:
    """A crash between the checkpoint and the state file: resume from the epoch the state describes."""
    data = training_batches(tiny_dataset.train_sequences, 8, batch_size=16, seed=0)
    validate = lambda: {"metrics": {"NDCG@10": 0.1, "HR@10": 0.2}}  # noqa: E731
    config = TrainConfig(epochs=2)
    fit(_compiled_tiny_model(tiny_dataset.n_items, 1e-3), data, validate, lambda: None, tmp_path, config)
    state = json.loads((tmp_path / STATE_FILE).read_text())
    state.update(epoch=1, history=state["history"][:1])
    (tmp_path / STATE_FILE).write_text(json.dumps(state))
    resumed = fit(
        _compiled_tiny_model(tiny_dataset.n_items, 1e-3), data, validate, lambda: None, tmp_path, config
    )
    assert resumed["resumed_from_epoch"] == 1
    assert [entry["epoch"] for entry in resumed["history"]] == [1, 2]


def test_failed_weight_write_keeps_the_previous_model(tiny_dataset, tmp_path: Path, monkeypatch) -> None:
    model = _compiled_tiny_model(tiny_dataset.n_items, 1e-3)
    model_io.save_model(model, tmp_path)
    before = {name: (tmp_path / name).read_bytes() for name in (model_io.WEIGHTS_FILE, model_io.CONFIG_FILE)}

    def disk_full(descriptor: int) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(atomic.os, "fsync", disk_full)
    expected = f"cannot write {tmp_path / model_io.WEIGHTS_FILE} .*disk is full"
    with pytest.raises(OutputWriteError, match=expected):
        model_io.save_model(model, tmp_path)
    monkeypatch.undo()
    assert {name: (tmp_path / name).read_bytes() for name in before} == before
    assert sorted(path.name for path in tmp_path.iterdir()) == sorted(before)  # no temporary file left
    np.testing.assert_array_equal(model_io.load_model(tmp_path).get_weights()[0], model.get_weights()[0])


@contextlib.contextmanager
def _file_size_limit(limit_bytes: int):
    """Every file this process writes stops at `limit_bytes` (EFBIG): a full disk as the OS reports it to
    every writer alike (h5py, TensorFlow, Python), without mounting anything."""
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    handler = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # else the signal kills the process
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit_bytes, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        signal.signal(signal.SIGXFSZ, handler)


def test_weights_that_do_not_fit_on_the_disk_are_an_error_not_a_segfault(tiny_dataset, tmp_path) -> None:
    """Writing HDF5 into a file that hit a full disk segfaulted in h5py's close (issue 20): the weights are
    now built in memory, and only our own write can fail, with an OSError naming the file."""
    model = _compiled_tiny_model(tiny_dataset.n_items, 1e-3)
    model_io.save_model(model, tmp_path)
    before = {path.name: path.read_bytes() for path in tmp_path.iterdir()}
    assert len(before[model_io.WEIGHTS_FILE]) > 8192
    with _file_size_limit(4096):
        expected = f"cannot write {tmp_path / model_io.WEIGHTS_FILE} .*ulimit"
        with pytest.raises(OutputWriteError, match=expected):
            model_io.save_model(model, tmp_path)
    assert {path.name: path.read_bytes() for path in tmp_path.iterdir()} == before
    restored = model_io.load_model(tmp_path)
    for got, expected_weights in zip(restored.get_weights(), model.get_weights(), strict=True):
        np.testing.assert_array_equal(got, expected_weights)


def test_a_checkpoint_the_disk_cannot_hold_keeps_the_last_one_and_resumes(
    tiny_dataset, tmp_path: Path, monkeypatch
) -> None:
    data = training_batches(tiny_dataset.train_sequences, 8, batch_size=16, seed=0)
    validate = lambda: {"metrics": {"NDCG@10": 0.1, "HR@10": 0.2}}  # noqa: E731
    model = _compiled_tiny_model(tiny_dataset.n_items, 1e-3)
    fit(model, data, validate, lambda: None, tmp_path, TrainConfig(epochs=1))
    state_before = (tmp_path / STATE_FILE).read_bytes()
    checkpoints = tmp_path / "checkpoints"
    files_before = {path.name: path.read_bytes() for path in checkpoints.iterdir()}

    def disk_full(self, checkpoint_number=None, **kwargs):
        # What TensorFlow leaves when SaveV2 hits a full disk: a half-written temporary folder, an error.
        temporary = checkpoints / f"ckpt-{checkpoint_number}_temp"
        temporary.mkdir()
        (temporary / "part-00000-of-00001.data-00000-of-00001").write_bytes(b"\0" * 10)
        raise tf.errors.ResourceExhaustedError(None, None, "{{node SaveV2}} x; No space left on device")

    monkeypatch.setattr(tf.train.CheckpointManager, "save", disk_full)
    expected = (
        rf"cannot write the checkpoint of epoch 2 in {checkpoints} \(No space left on device\); the disk"
    )
    with pytest.raises(OutputWriteError, match=expected):
        fit(model, data, validate, lambda: None, tmp_path, TrainConfig(epochs=2))
    monkeypatch.undo()
    assert (tmp_path / STATE_FILE).read_bytes() == state_before
    assert {path.name: path.read_bytes() for path in checkpoints.iterdir()} == files_before
    resumed = fit(model, data, validate, lambda: None, tmp_path, TrainConfig(epochs=2))
    assert resumed["resumed_from_epoch"] == 1 and [entry["epoch"] for entry in resumed["history"]] == [1, 2]


def _limit_files_to_64_kib() -> None:
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (64 * 1024, resource.getrlimit(resource.RLIMIT_FSIZE)[1]))


def test_training_cli_on_a_full_disk_ends_in_one_line(tmp_path: Path) -> None:
    """The command a user runs, with every file it writes limited to 64 KiB (the weights do not fit): one
    `error:` line naming what could not be written and exit 1; no traceback, no crash (it was a segfault)."""
    command = [*_train_command(tmp_path / "teacher"), "--epochs=1", "--batch_size=256"]
    result = subprocess.run(
        command,
        cwd=REPOSITORY,
        env=_environment(),
        capture_output=True,
        text=True,
        preexec_fn=_limit_files_to_64_kib,
    )
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 1, result.stderr[-3000:]
    assert "Traceback" not in result.stderr and "Fatal Python error" not in result.stderr
    assert [line for line in lines if line.startswith("error:")] == lines[-1:]
    assert lines[-1].startswith(f"error: [Errno {errno.EFBIG}] cannot write {tmp_path / 'teacher'}")
    written = [path.name for path in (tmp_path / "teacher").rglob("*")]
    assert not [name for name in written if "_temp" in name or name.startswith(".")], written
