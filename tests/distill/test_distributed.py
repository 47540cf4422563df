"""--strategy: mirrored replicas match one device (replica-mean gradient); a real 2-process multi-worker run.

Strategies need a fresh TensorFlow runtime (logical devices, TF_CONFIG), so the training runs happen in
subprocesses that run this file as a script (`python tests/distill/test_distributed.py MODE OUT [ARGS]`).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
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


# ----- subprocess side -----
def _tiny_dataset():
    from distill.dataset import leave_one_out
    from distill.synthetic import generate_synthetic

    # Every sequence is longer than max_len + 2 (valid and test items removed), so every position of every
    # training row is supervised: both replicas hold equally many, and the mean of the two per-replica means
    # is the global-batch mean exactly.
    sequences = generate_synthetic(
        n_users=TRAIN_USERS, n_items=40, seed=0, n_clusters=5, min_length=12, max_length=14
    )
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


def _train_teacher(strategy: str, out_dir: Path, epochs: int) -> dict:
    """train_teacher under `strategy`; returns its epoch losses and the best model's weights."""
    import distill.train_teacher as train_teacher_module
    from distill.training import TrainConfig

    captured = {}
    load_model = train_teacher_module.load_model

    def capture(directory):  # the best model train_teacher reloads after fit, on every worker
        captured["model"] = load_model(directory)
        captured["state"] = json.loads((Path(directory) / "training_state.json").read_text())
        return captured["model"]

    train_teacher_module.load_model = capture
    dataset = _tiny_dataset()
    config = TrainConfig(epochs=epochs, batch_size=TRAIN_BATCH, patience=10, strategy=strategy)
    metrics = train_teacher_module.train_teacher(
        dataset, _tiny_config(dataset.n_items), config, out_dir, with_baselines=False
    )
    return {
        "losses": [epoch["loss"] for epoch in captured["state"]["history"]],
        "best_epoch": metrics["models"][-1]["best_epoch"],
        "weights": _weights(captured["model"]),
    }


def _train_student(strategy: str, teacher_dir: Path, out_dir: Path) -> list[float]:
    """One distillation epoch under `strategy` (kd over the top 10); its epoch losses.

    The contrastive term is off: its in-batch negatives are each replica's own half batch under a strategy, a
    different objective than one device's (docs/distributed.md), so no trajectory could match with it on.
    """
    import dataclasses

    from distill.distiller import DistillConfig
    from distill.train_student import train_student
    from distill.training import TrainConfig

    dataset = _tiny_dataset()
    config = dataclasses.replace(
        _tiny_config(dataset.n_items), item_table="stp_tt", tt_rank=4, stp_factor=2, tt_num_cores=2
    )
    train_config = TrainConfig(epochs=1, batch_size=TRAIN_BATCH, strategy=strategy)
    train_student(
        dataset, teacher_dir, config, DistillConfig(cl_weight=0.0, kd_top_k=10), train_config, out_dir
    )
    return [epoch["loss"] for epoch in json.loads((out_dir / "training_state.json").read_text())["history"]]


def _sgd_step(strategy_name: str, replica_mean: bool, initial: list[np.ndarray] | None):
    """Weights after one SGD step on one batch of 16, from the same initial weights."""
    from distill.training import ReplicaMeanGradients, make_strategy
    from model.keras_setup import keras, tf
    from model.sasrec import SASRec

    class ReplicaMeanSGD(ReplicaMeanGradients, keras.optimizers.SGD):
        pass

    from distill.pipeline import shifted_training_arrays

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


def _mirrored_main(out: Path) -> None:
    _two_logical_cpus()
    one = _train_teacher("default", out / "default", epochs=2)
    two = _train_teacher("mirrored", out / "mirrored", epochs=2)
    np.savez(
        out / "result.npz",
        losses_default=one["losses"],
        losses_mirrored=two["losses"],
        best_epochs=[one["best_epoch"], two["best_epoch"]],
        **{f"default_{i}": w for i, w in enumerate(one["weights"])},
        **{f"mirrored_{i}": w for i, w in enumerate(two["weights"])},
    )


def _mirrored_student_main(out: Path) -> None:
    """In its own process: two MirroredStrategy objects training in one process (teacher, then student) break
    TensorFlow's collective ops ("Shape mismatch in the collective instance"); the CLIs make one each."""
    _two_logical_cpus()
    one = _train_student("default", out / "default", out / "student_default")
    two = _train_student("mirrored", out / "default", out / "student_mirrored")
    np.savez(out / "student_result.npz", losses_default=one, losses_mirrored=two)


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


def _worker_main(out: Path, model_dir: Path, epochs: int) -> None:
    result = _train_teacher("multi_worker", model_dir, epochs=epochs)
    task = json.loads(os.environ["TF_CONFIG"])["task"]
    np.savez(
        out / f"worker_{task['index']}_epochs_{epochs}.npz",
        losses=result["losses"],
        **{f"weight_{i}": w for i, w in enumerate(result["weights"])},
    )


# ----- test side -----
def _environment(**extra) -> dict:
    return {
        **os.environ,
        "CUDA_VISIBLE_DEVICES": "",
        "PYTHONPATH": str(REPO),
        "TF_USE_LEGACY_KERAS": "1",
        **extra,
    }


def _stacked(result, prefix: str) -> list[np.ndarray]:
    keys = sorted(
        (key for key in result.files if key.startswith(prefix)), key=lambda k: int(k.rsplit("_", 1)[1])
    )
    return [result[key] for key in keys]


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


def _run_script(mode: str, out: Path, result_file: str = "result.npz") -> np.lib.npyio.NpzFile:
    completed = subprocess.run(
        [sys.executable, __file__, mode, str(out)],
        cwd=REPO,
        env=_environment(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    return np.load(out / result_file)


def test_replica_mean_gradient_makes_a_mirrored_sgd_step_equal_one_device(tmp_path):
    result = _run_script("sgd", tmp_path)
    assert int(result["replicas"]) == 2
    # SGD's update is linear in the gradient (unlike Adam's, which hides a constant factor): the replica mean
    # matches one device, while Keras' plain sum of the two replicas' mean-loss gradients steps twice as far.
    initial = _stacked(result, "initial_")
    steps = [_stacked(result, f"sgd_{kind}_") for kind in ("one", "mean", "sum")]
    for start, one, mean, summed in zip(initial, *steps, strict=True):
        np.testing.assert_allclose(mean, one, atol=SGD_ATOL)
        np.testing.assert_allclose(summed - start, 2 * (one - start), atol=SGD_ATOL)


@pytest.mark.slow
def test_mirrored_on_two_logical_cpus_matches_one_device_for_teacher_and_student(tmp_path):
    result = _run_script("mirrored", tmp_path)
    np.testing.assert_allclose(result["losses_mirrored"], result["losses_default"], rtol=LOSS_RTOL)
    assert result["best_epochs"][0] == result["best_epochs"][1]
    for single, mirrored in zip(_stacked(result, "default_"), _stacked(result, "mirrored_"), strict=True):
        np.testing.assert_allclose(mirrored, single, atol=WEIGHT_ATOL)
    # The student (Distiller: teacher frozen in the scope; CE, top-k KD, predictive term) from one teacher.
    student = _run_script("mirrored_student", tmp_path, "student_result.npz")
    np.testing.assert_allclose(student["losses_mirrored"], student["losses_default"], rtol=LOSS_RTOL)


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


def _run_cluster(tmp_path: Path, model_dir: Path, epochs: int) -> None:
    workers = [f"127.0.0.1:{port}" for port in _free_ports(2)]
    processes = []
    for index in range(2):
        tf_config = {"cluster": {"worker": workers}, "task": {"type": "worker", "index": index}}
        processes.append(
            subprocess.Popen(
                [sys.executable, __file__, "worker", str(tmp_path), str(model_dir), str(epochs)],
                cwd=REPO,
                env=_environment(TF_CONFIG=json.dumps(tf_config)),
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
        )
    for process in processes:
        output, _ = process.communicate(timeout=300)
        assert process.returncode == 0, output[-3000:]


@pytest.mark.slow
def test_two_worker_cluster_agrees_and_resumes_after_a_restart(tmp_path):
    model_dir = tmp_path / "teacher"
    _run_cluster(tmp_path, model_dir, epochs=1)
    # Only the chief (worker 0) keeps files; worker 1's scratch folder is gone.
    assert (model_dir / "model.weights.h5").exists()
    assert not list(tmp_path.glob("teacher.workertemp_*"))
    # The whole cluster restarts with a longer schedule: both resume from the chief's epoch-1 checkpoint.
    _run_cluster(tmp_path, model_dir, epochs=2)
    for epochs in (1, 2):
        chief = np.load(tmp_path / f"worker_0_epochs_{epochs}.npz")
        other = np.load(tmp_path / f"worker_1_epochs_{epochs}.npz")
        np.testing.assert_array_equal(chief["losses"], other["losses"])
        for mine, theirs in zip(_stacked(chief, "weight_"), _stacked(other, "weight_"), strict=True):
            np.testing.assert_array_equal(mine, theirs)
    resumed = json.loads((model_dir / "training_state.json").read_text())
    assert resumed["resumed_from_epoch"] == 1 and len(resumed["history"]) == 2


if __name__ == "__main__":
    sys.path.insert(0, str(REPO))
    import model  # noqa: F401  (selects tf-keras before TensorFlow loads)

    mode, out_folder = sys.argv[1], Path(sys.argv[2])
    if mode == "mirrored":
        _mirrored_main(out_folder)
    elif mode == "mirrored_student":
        _mirrored_student_main(out_folder)
    elif mode == "sgd":
        _sgd_main(out_folder)
    else:
        _worker_main(out_folder, Path(sys.argv[3]), int(sys.argv[4]))
