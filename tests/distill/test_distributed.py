"""--strategy: mirrored replicas and a real 2-process multi-worker cluster follow the one-device run.

Everything single-device training does is exercised under both strategies against one reference run on
one device: learning-rate decay on a validation plateau, resume after the process (or the whole cluster) is
killed, and the student's distillation from a warm start. Strategies need a fresh TensorFlow runtime
(logical devices, TF_CONFIG), so the training runs happen in subprocesses that run this file as a script
(`python tests/distill/test_distributed.py MODE OUT [ARGS]`).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]
# Mirrored on 2 logical CPUs against one device, Adam, dropout 0, same batches: only the order of float sums
# differs (the all-reduce adds the two half-batch gradients). Measured after 2 epochs (8 steps): losses within
# 4.8e-7 (absolute, on a loss of 4.3), weights within 2e-6; the tolerances leave room for other CPUs.
LOSS_RTOL = 1e-4
WEIGHT_ATOL = 1e-4
SGD_ATOL = 1e-6
TRAIN_USERS, TRAIN_BATCH = 64, 16
# Long enough that a kill on seeing the first epoch's state file lands mid-run (three more epochs of 4 steps,
# validation and checkpoint each, take far longer than the 50 ms between polls), short enough for CI.
TEACHER_EPOCHS = 4
LEARNING_RATE, DECAY_FACTOR = 1e-3, 0.5
PROCESS_TIMEOUT = 300


# ----- subprocess side -----
def _tiny_dataset():
    from distill.dataset import leave_one_out
    from distill.synthetic import generate_synthetic

    # Every sequence is longer than max_len + 2 (valid and test items removed), so every position of every
    # training row is supervised: both replicas hold equally many, and the mean of the two per-replica means
    # is the global-batch mean exactly.
    sequences = generate_synthetic(
        n_users=TRAIN_USERS, n_items=40, seed=0, n_clusters=5, min_length=12, max_length=14
    ).sequences
    return leave_one_out("synthetic-tiny", sequences)


def _tiny_config(n_items: int):
    from model.sasrec import SASRecConfig

    return SASRecConfig(n_items=n_items, max_len=8, hidden_dim=8, num_blocks=1, dropout=0.0)


def _variables(model) -> list:
    """The model's variables without its loss tracker (a metric sums over replicas, so it differs)."""
    tracked = {id(weight) for metric in model.metrics for weight in metric.weights}
    return [weight for weight in model.weights if id(weight) not in tracked]


def _weights(model) -> list[np.ndarray]:
    return [variable.numpy() for variable in _variables(model)]


def _validate_on_a_plateau() -> None:
    """Every validation after the first reports no gain, so the learning rate decays after every epoch.

    The real validation still runs (its cost and its collective-free evaluation under the strategy are part of
    the path); only the monitored score is pinned, which makes the decay schedule known in advance.
    """
    import distill.teacher as train_teacher_module

    real_fit = train_teacher_module.fit

    def fit(model, data, validate, *args, **kwargs):
        def pinned() -> dict:
            report = validate()
            return {**report, "metrics": {**report["metrics"], "NDCG@10": 0.0}}

        return real_fit(model, data, pinned, *args, **kwargs)

    train_teacher_module.fit = fit


def _teacher_train_config(strategy: str):
    from distill.training import TrainConfig

    return TrainConfig(
        epochs=TEACHER_EPOCHS,
        batch_size=TRAIN_BATCH,
        learning_rate=LEARNING_RATE,
        patience=TEACHER_EPOCHS + 1,
        strategy=strategy,
        lr_decay_patience=1,
        lr_decay_factor=DECAY_FACTOR,
    )


def _train_teacher(strategy: str, out_dir: Path) -> dict:
    """train_teacher under `strategy` with the plateau schedule; its epoch history and the best weights."""
    import distill.teacher as train_teacher_module

    captured = {}
    load_model = train_teacher_module.load_model

    def capture(directory):  # the best model train_teacher reloads after fit, from this worker's own folder
        captured["model"] = load_model(directory)
        captured["state"] = json.loads((Path(directory) / "training_state.json").read_text())
        return captured["model"]

    train_teacher_module.load_model = capture
    _validate_on_a_plateau()
    dataset = _tiny_dataset()
    train_teacher_module.train_teacher(
        dataset,
        _tiny_config(dataset.n_items),
        _teacher_train_config(strategy),
        out_dir,
        with_baselines=False,
    )
    history = captured["state"]["history"]
    return {
        "losses": [epoch["loss"] for epoch in history],
        "learning_rates": [epoch["learning_rate"] for epoch in history],
        "resumed_from_epoch": captured["state"]["resumed_from_epoch"],
        "weights": _weights(captured["model"]),
    }


def _train_student(strategy: str, teacher_dir: Path, out_dir: Path) -> list[float]:
    """One warm-started distillation epoch under `strategy` (KD over the top 10); its epoch losses.

    The contrastive term is off: its in-batch negatives are each replica's own half batch under a strategy, a
    different objective than one device's (docs/distributed.md), so no trajectory could match with it on.
    """
    import dataclasses

    from distill.distiller import DistillConfig
    from distill.student import train_student
    from distill.training import TrainConfig

    dataset = _tiny_dataset()
    config = dataclasses.replace(
        _tiny_config(dataset.n_items), item_table="stp_tt", tt_rank=4, stp_factor=2, tt_num_cores=2
    )
    train_config = TrainConfig(epochs=1, batch_size=TRAIN_BATCH, strategy=strategy)
    distill_config = DistillConfig(cl_weight=0.0, kd_top_k=10, warm_start=True)
    train_student(dataset, teacher_dir, config, distill_config, train_config, out_dir)
    return [epoch["loss"] for epoch in json.loads((out_dir / "training_state.json").read_text())["history"]]


def _save_teacher(path: Path, result: dict) -> None:
    np.savez(
        path,
        losses=result["losses"],
        learning_rates=result["learning_rates"],
        resumed_from_epoch=result["resumed_from_epoch"],
        **{f"weight_{i}": w for i, w in enumerate(result["weights"])},
    )


def _sgd_step(strategy_name: str, replica_mean: bool, initial: list[np.ndarray] | None):
    """Weights after one SGD step on one batch of 16, from the same initial weights."""
    from distill.pipeline import shifted_training_arrays
    from distill.training import ReplicaMeanGradients, make_strategy
    from model.keras_setup import keras, tf
    from model.sasrec import SASRec

    class ReplicaMeanSGD(ReplicaMeanGradients, keras.optimizers.SGD):
        pass

    dataset = _tiny_dataset()
    inputs, targets = shifted_training_arrays(dataset.train_sequences, 8)
    batch = tf.data.Dataset.from_tensor_slices((inputs[:TRAIN_BATCH], targets[:TRAIN_BATCH])).batch(
        TRAIN_BATCH
    )
    strategy = make_strategy(strategy_name)
    with strategy.scope():
        model = SASRec(_tiny_config(dataset.n_items)).build_for_inference()
        for variable, value in zip(_variables(model), initial or [], strict=initial is not None):
            variable.assign(value)
        optimizer = ReplicaMeanSGD(0.5) if replica_mean else keras.optimizers.SGD(0.5)
        model.compile(optimizer=optimizer)
    before = _weights(model)
    model.fit(batch, epochs=1, verbose=0)
    return before, _weights(model), strategy.num_replicas_in_sync


def _two_logical_cpus() -> None:
    from model.keras_setup import tf

    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)


def _reference_main(out: Path) -> None:
    """One device: the teacher, then the warm-started student distilled from it (the runs to match)."""
    _save_teacher(out / "reference_teacher.npz", _train_teacher("default", out / "teacher"))
    student_losses = _train_student("default", out / "teacher", out / "student")
    np.savez(out / "reference_student.npz", losses=student_losses)


def _mirrored_teacher_main(out: Path, model_dir: Path) -> None:
    _two_logical_cpus()
    _save_teacher(out / "mirrored_teacher.npz", _train_teacher("mirrored", model_dir))


def _mirrored_student_main(out: Path, teacher_dir: Path) -> None:
    """In its own process: two MirroredStrategy objects training in one process (teacher, then student) break
    TensorFlow's collective ops ("Shape mismatch in the collective instance"); the CLIs make one each."""
    _two_logical_cpus()
    losses = _train_student("mirrored", teacher_dir, out / "student_mirrored")
    np.savez(out / "mirrored_student.npz", losses=losses)


def _sgd_main(out: Path) -> None:
    _two_logical_cpus()
    initial, one_step, _ = _sgd_step("default", True, None)
    _, mean_step, replicas = _sgd_step("mirrored", True, initial)
    _, sum_step, _ = _sgd_step("mirrored", False, initial)
    np.savez(
        out / "result.npz",
        replicas=replicas,
        **{f"initial_{i}": w for i, w in enumerate(initial)},
        **{f"sgd_one_{i}": w for i, w in enumerate(one_step)},
        **{f"sgd_mean_{i}": w for i, w in enumerate(mean_step)},
        **{f"sgd_sum_{i}": w for i, w in enumerate(sum_step)},
    )


def _worker_teacher_main(out: Path, model_dir: Path) -> None:
    result = _train_teacher("multi_worker", model_dir)
    task = json.loads(os.environ["TF_CONFIG"])["task"]
    _save_teacher(out / f"worker_{task['index']}_teacher.npz", result)


def _worker_student_main(out: Path, teacher_dir: Path) -> None:
    losses = _train_student("multi_worker", teacher_dir, out / "student_cluster")
    task = json.loads(os.environ["TF_CONFIG"])["task"]
    np.savez(out / f"worker_{task['index']}_student.npz", losses=losses)


# ----- test side -----
def _environment(**extra) -> dict:
    return {
        **os.environ,
        "CUDA_VISIBLE_DEVICES": "",
        "PYTHONPATH": str(REPO),
        "PYTHONUNBUFFERED": "1",
        "TF_USE_LEGACY_KERAS": "1",
        **extra,
    }


def _stacked(result, prefix: str) -> list[np.ndarray]:
    keys = sorted(
        (key for key in result.files if key.startswith(prefix)), key=lambda k: int(k.rsplit("_", 1)[1])
    )
    return [result[key] for key in keys]


def _start(args: list[str], log: Path, **env) -> subprocess.Popen:
    with open(log, "w") as stream:  # the child keeps its own descriptor
        return subprocess.Popen(
            [sys.executable, __file__, *args],
            cwd=REPO,
            env=_environment(**env),
            stdout=stream,
            stderr=subprocess.STDOUT,
        )


def _finish(processes: list[subprocess.Popen], logs: list[Path]) -> None:
    for process, log in zip(processes, logs, strict=True):
        process.wait(timeout=PROCESS_TIMEOUT)
        assert process.returncode == 0, log.read_text()[-3000:]


def _run(tmp_path: Path, *args: str) -> None:
    log = tmp_path / f"{args[0]}.log"
    _finish([_start(list(args), log)], [log])


def _kill_after_first_epoch(processes: list[subprocess.Popen], logs: list[Path], chief_dir: Path) -> None:
    """SIGKILL every process once the chief has finished its first epoch (state file written)."""
    state_path = chief_dir / "training_state.json"
    deadline = time.time() + PROCESS_TIMEOUT
    while not state_path.exists() and all(p.poll() is None for p in processes) and time.time() < deadline:
        time.sleep(0.05)
    for process in processes:
        process.send_signal(signal.SIGKILL)
    for process, log in zip(processes, logs, strict=True):
        process.wait()
        assert process.returncode == -signal.SIGKILL, log.read_text()[-3000:]
    epoch = json.loads(state_path.read_text())["epoch"]
    assert 1 <= epoch < TEACHER_EPOCHS, f"killed at epoch {epoch}: the kill must land mid-run"


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> Path:
    """The one-device runs every strategy must follow: teacher (plateau decay) and warm-started student."""
    out = tmp_path_factory.mktemp("reference")
    _run(out, "reference", str(out))
    return out


def _assert_teacher_follows(result, reference_result, resumed_from_epoch: int) -> None:
    np.testing.assert_allclose(result["losses"], reference_result["losses"], rtol=LOSS_RTOL)
    # The rate in force during each epoch: epoch 1 improves on nothing, every later one decays at its end.
    expected_rates = LEARNING_RATE * DECAY_FACTOR ** np.maximum(np.arange(TEACHER_EPOCHS) - 1, 0)
    np.testing.assert_allclose(result["learning_rates"], expected_rates, rtol=1e-6)
    np.testing.assert_allclose(reference_result["learning_rates"], expected_rates, rtol=1e-6)
    assert int(result["resumed_from_epoch"]) == resumed_from_epoch
    for mine, single in zip(_stacked(result, "weight_"), _stacked(reference_result, "weight_"), strict=True):
        np.testing.assert_allclose(mine, single, atol=WEIGHT_ATOL)


def test_strategy_names_are_checked(monkeypatch):
    from distill.training import TrainConfig, is_chief, make_strategy

    with pytest.raises(ValueError, match="strategy='ring'"):
        TrainConfig(strategy="ring")
    monkeypatch.delenv("TF_CONFIG", raising=False)
    with pytest.raises(ValueError, match="TF_CONFIG"):
        make_strategy("multi_worker")
    assert is_chief(make_strategy("default"))


def test_strategy_flag_reaches_the_train_config():
    from absl import flags

    from distill import cli_flags

    # The training flags, defined into a private FlagValues so the global absl flags stay untouched.
    values = flags.FlagValues()
    cli_flags.define_training_flags(flag_values=values)
    flags.DEFINE_integer("seed", 0, "", flag_values=values)
    values(["prog", "--strategy=mirrored"])
    assert cli_flags.train_config_from_flags(values).strategy == "mirrored"


def test_replica_mean_gradient_makes_a_mirrored_sgd_step_equal_one_device(tmp_path):
    _run(tmp_path, "sgd", str(tmp_path))
    result = np.load(tmp_path / "result.npz")
    assert int(result["replicas"]) == 2
    # SGD's update is linear in the gradient (unlike Adam's, which hides a constant factor): the replica mean
    # matches one device, while Keras' plain sum of the two replicas' mean-loss gradients steps twice as far.
    initial = _stacked(result, "initial_")
    steps = [_stacked(result, f"sgd_{kind}_") for kind in ("one", "mean", "sum")]
    for start, one, mean, summed in zip(initial, *steps, strict=True):
        np.testing.assert_allclose(mean, one, atol=SGD_ATOL)
        np.testing.assert_allclose(summed - start, 2 * (one - start), atol=SGD_ATOL)


@pytest.mark.slow
def test_mirrored_decays_resumes_after_a_kill_and_distils_like_one_device(reference, tmp_path):
    model_dir = tmp_path / "teacher"
    args = ["mirrored_teacher", str(tmp_path), str(model_dir)]
    logs = [tmp_path / "killed.log"]
    _kill_after_first_epoch([_start(args, logs[0])], logs, model_dir)
    resumed_from = json.loads((model_dir / "training_state.json").read_text())["epoch"]
    _run(tmp_path, *args)
    _assert_teacher_follows(
        np.load(tmp_path / "mirrored_teacher.npz"), np.load(reference / "reference_teacher.npz"), resumed_from
    )
    # The student (Distiller: teacher frozen in the scope, warm-started cores and backbone; CE, top-k KD,
    # predictive term) from the reference teacher.
    _run(tmp_path, "mirrored_student", str(tmp_path), str(reference / "teacher"))
    np.testing.assert_allclose(
        np.load(tmp_path / "mirrored_student.npz")["losses"],
        np.load(reference / "reference_student.npz")["losses"],
        rtol=LOSS_RTOL,
    )


def _free_ports(count: int) -> list[int]:
    sockets = []
    for _ in range(count):
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        sockets.append(sock)
    ports = [sock.getsockname()[1] for sock in sockets]
    for sock in sockets:
        sock.close()
    return ports


def _start_cluster(tmp_path: Path, mode: str, *args: str) -> tuple[list[subprocess.Popen], list[Path]]:
    workers = [f"127.0.0.1:{port}" for port in _free_ports(2)]
    attempt = len(list(tmp_path.glob(f"{mode}_0_*.log")))
    processes, logs = [], []
    for index in range(2):
        tf_config = {"cluster": {"worker": workers}, "task": {"type": "worker", "index": index}}
        logs.append(tmp_path / f"{mode}_{index}_{attempt}.log")
        processes.append(_start([mode, str(tmp_path), *args], logs[-1], TF_CONFIG=json.dumps(tf_config)))
    return processes, logs


@pytest.mark.slow
def test_two_worker_cluster_decays_resumes_after_a_kill_and_distils_like_one_device(reference, tmp_path):
    model_dir = tmp_path / "teacher"
    _kill_after_first_epoch(*_start_cluster(tmp_path, "worker_teacher", str(model_dir)), model_dir)
    resumed_from = json.loads((model_dir / "training_state.json").read_text())["epoch"]
    # The whole cluster restarts with the same command: both workers resume from the chief's checkpoint.
    _finish(*_start_cluster(tmp_path, "worker_teacher", str(model_dir)))
    # Only the chief (worker 0) keeps files; worker 1's scratch folder is gone.
    assert (model_dir / "model.weights.h5").exists()
    assert not list(tmp_path.glob("teacher.workertemp_*"))
    expected = np.load(reference / "reference_teacher.npz")
    for index in range(2):
        _assert_teacher_follows(np.load(tmp_path / f"worker_{index}_teacher.npz"), expected, resumed_from)
    _finish(*_start_cluster(tmp_path, "worker_student", str(reference / "teacher")))
    for index in range(2):
        np.testing.assert_allclose(
            np.load(tmp_path / f"worker_{index}_student.npz")["losses"],
            np.load(reference / "reference_student.npz")["losses"],
            rtol=LOSS_RTOL,
        )


if __name__ == "__main__":
    sys.path.insert(0, str(REPO))
    import model  # noqa: F401  (selects tf-keras before TensorFlow loads)

    mode, out_folder, extra = sys.argv[1], Path(sys.argv[2]), [Path(arg) for arg in sys.argv[3:]]
    modes = {
        "reference": _reference_main,
        "mirrored_teacher": _mirrored_teacher_main,
        "mirrored_student": _mirrored_student_main,
        "sgd": _sgd_main,
        "worker_teacher": _worker_teacher_main,
        "worker_student": _worker_student_main,
    }
    modes[mode](out_folder, *extra)
