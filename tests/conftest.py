"""Shared fixtures: a tiny seeded synthetic dataset and tiny SASRec configs for the default run."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import model  # noqa: F401  (selects tf-keras before anything below imports TensorFlow)
from distill.dataset import SequenceDataset, leave_one_out
from distill.synthetic import generate_synthetic
from model.sasrec import SASRecConfig
from tests.run_guard import pytest_addoption, pytest_configure  # noqa: F401  (the run guard's hooks)

TINY_ITEMS = 40
REPO = Path(__file__).resolve().parents[1]


def tiny_sasrec_config(n_items: int = TINY_ITEMS, **overrides) -> SASRecConfig:
    """A SASRec config with d = 8, L = 8, one block; STP-TT settings that fit d = 8 (item_table='stp_tt')."""
    values = {
        "n_items": n_items,
        "max_len": 8,
        "hidden_dim": 8,
        "num_blocks": 1,
        "num_heads": 1,
        "dropout": 0.0,
        "tt_rank": 4,
        "stp_factor": 2,
    }
    values.update(overrides)
    return SASRecConfig(**values)


@pytest.fixture(scope="session")
def tiny_dataset() -> SequenceDataset:
    """80 users over 40 items, 5 interest clusters, sequences of 6..14 items, leave-one-out split."""
    sequences = generate_synthetic(
        n_users=80, n_items=TINY_ITEMS, seed=0, n_clusters=5, min_length=6, max_length=14
    )
    return leave_one_out("synthetic-tiny", sequences.sequences, sequences.titles)


METRIC_KEYS = [f"{name}@{k}" for k in (5, 10, 20) for name in ("HR", "NDCG", "MRR")]


def assert_results_entry(entry: dict, role: str) -> None:
    """One `models` entry of metrics.json: name, role, params and the three metric dicts with every key."""
    assert {"name", "role", "params", "metrics", "metrics_head", "metrics_tail"} <= set(entry)
    assert entry["role"] == role
    assert isinstance(entry["params"], int)
    for split in ("metrics", "metrics_head", "metrics_tail"):
        assert sorted(entry[split]) == sorted(METRIC_KEYS), split
        assert all(0.0 <= value <= 1.0 for value in entry[split].values()), split


@pytest.fixture(scope="session")
def tiny_teacher(tiny_dataset, tmp_path_factory):
    """A teacher trained for one epoch in-process on the tiny dataset: (folder, metrics.json as returned)."""
    from distill.teacher import train_teacher
    from distill.training import TrainConfig

    out_dir = tmp_path_factory.mktemp("tiny_teacher")
    config = tiny_sasrec_config(n_items=tiny_dataset.n_items)
    metrics = train_teacher(tiny_dataset, config, TrainConfig(epochs=1, batch_size=64), out_dir)
    return out_dir, metrics


@pytest.fixture(scope="session")
def ordered_student(tiny_dataset, tiny_teacher, tmp_path_factory):
    """A student of `tiny_teacher` distilled for one epoch with `--item_order teacher` and top-5 KD from the
    teacher cache (so built in that order): (folder, metrics.json as returned)."""
    from distill.distiller import DistillConfig
    from distill.student import train_student
    from distill.training import TrainConfig

    out_dir = tmp_path_factory.mktemp("ordered_student")
    config = tiny_sasrec_config(n_items=tiny_dataset.n_items, item_table="stp_tt")
    distill_config = DistillConfig(item_order="teacher", kd_top_k=5)
    train_config = TrainConfig(epochs=1, batch_size=64)
    metrics = train_student(tiny_dataset, tiny_teacher[0], config, distill_config, train_config, out_dir)
    return out_dir, metrics


def run_cli(module: str, *flags: str) -> subprocess.CompletedProcess:
    """`python -m module flags...` from the repository root on the CPU; fails the test with its stderr."""
    result = subprocess.run(
        [sys.executable, "-m", module, *flags],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "CUDA_VISIBLE_DEVICES": ""},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result


@pytest.fixture(scope="session")
def cli_teacher_dir(tmp_path_factory) -> Path:
    """The teacher CLI run once for 1 epoch on the default synthetic dataset with tiny model flags."""
    out_dir = tmp_path_factory.mktemp("cli_teacher")
    run_cli(
        "distill.train_teacher",
        *("--dataset", "synthetic", "--epochs", "1", "--hidden_dim", "8", "--max_len", "8"),
        *("--num_blocks", "1", "--batch_size", "256", "--out", str(out_dir)),
    )
    return out_dir
