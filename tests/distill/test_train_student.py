"""Student distillation end to end: files, metrics.json schema, compression from real counts, the CLI."""

from __future__ import annotations

import json

import numpy as np
import pytest

from distill.cli_flags import parse_factors
from distill.dataset import leave_one_out
from distill.distiller import DistillConfig
from distill.model_io import ModelFolderError, load_model
from distill.student import build_distiller, train_student
from distill.synthetic import generate_synthetic
from distill.training import TrainConfig
from tests.conftest import assert_results_entry, run_cli, tiny_sasrec_config

STUDENT_FILES = ("config.json", "model.weights.h5", "vocab.tsv", "metrics.json")


def test_parse_factors():
    assert parse_factors("169,241") == (169, 241)
    assert parse_factors("") == ()


def test_train_student_writes_the_model_folder_and_results(tiny_teacher, tiny_dataset, tmp_path):
    teacher_dir, _ = tiny_teacher
    config = tiny_sasrec_config(n_items=tiny_dataset.n_items, item_table="stp_tt", tt_rank=4, stp_factor=2)
    metrics = train_student(
        tiny_dataset, teacher_dir, config, DistillConfig(), TrainConfig(epochs=1, batch_size=64), tmp_path
    )
    for name in STUDENT_FILES:
        assert (tmp_path / name).is_file(), name
    assert json.loads((tmp_path / "metrics.json").read_text()) == json.loads(json.dumps(metrics))
    (entry,) = metrics["models"]
    assert_results_entry(entry, "student")

    student = load_model(tmp_path)
    assert student.config == config
    (i1, i2), (j1, j2) = student.item_table.item_factors, student.item_table.dim_factors
    assert i1 * i2 >= tiny_dataset.n_items + 1 and j1 * j2 == 8
    student_table = i1 * j1 * 4 + i2 * j2 * 4 // 2**2  # I1*J1*R + I2*J2*R/t^2
    teacher_table = (tiny_dataset.n_items + 1) * 8
    assert metrics["parameters"]["student"]["item_table"] == student_table
    assert metrics["parameters"]["teacher"]["item_table"] == teacher_table
    assert entry["compression_table"] == pytest.approx(teacher_table / student_table)
    # Same backbone: the whole-model ratio only differs by the table.
    backbone = metrics["parameters"]["teacher"]["total"] - teacher_table
    assert entry["params"] == backbone + student_table
    expected_model_ratio = (backbone + teacher_table) / (backbone + student_table)
    assert entry["compression_model"] == pytest.approx(expected_model_ratio)
    assert metrics["parameters"]["distillation_heads"] > 0


@pytest.mark.parametrize("warm_start", [False, True])
def test_warm_start_flag_starts_the_student_from_the_teacher(tiny_teacher, tiny_dataset, warm_start):
    teacher = load_model(tiny_teacher[0])
    config = tiny_sasrec_config(n_items=tiny_dataset.n_items, item_table="stp_tt")
    distiller = build_distiller(
        tiny_dataset, teacher, config, DistillConfig(warm_start=warm_start), TrainConfig(epochs=1)
    )
    positions = [model.position_embedding.get_weights()[0] for model in (distiller.student, teacher)]
    assert np.array_equal(*positions) == warm_start


def test_train_student_refuses_a_teacher_of_another_catalogue(tiny_teacher, tmp_path):
    teacher_dir, _ = tiny_teacher
    other = leave_one_out("other", generate_synthetic(n_users=20, n_items=24, seed=1, n_clusters=3).sequences)
    config = tiny_sasrec_config(n_items=other.n_items, item_table="stp_tt")
    with pytest.raises(ValueError, match="items"):
        train_student(other, teacher_dir, config, DistillConfig(), TrainConfig(epochs=1), tmp_path)


@pytest.mark.slow
@pytest.mark.parametrize(
    "sampled", [[], ["--sampled_distillation", "--kd_top_k", "5"]], ids=["full", "sampled"]
)
def test_cli_one_epoch_end_to_end(cli_teacher_dir, tmp_path, sampled):
    result = run_cli(
        "distill.train_student",
        *("--teacher", str(cli_teacher_dir), "--dataset", "synthetic", "--epochs", "1"),
        *("--batch_size", "256", "--tt_rank", "4", "--stp_factor", "2", "--out", str(tmp_path)),
        *sampled,
    )
    for name in STUDENT_FILES:
        assert (tmp_path / name).is_file(), name
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    (entry,) = metrics["models"]
    assert_results_entry(entry, "student")
    assert entry["compression_table"] > 1 and entry["compression_model"] > 1
    assert metrics["config"]["item_table"] == "stp_tt" and metrics["config"]["hidden_dim"] == 8
    assert metrics["config"]["loss"] == ("sampled" if sampled else "full")
    assert metrics["distill_config"]["sampled"] is bool(sampled)
    # What a person reads at the end: a sentence and a table row, not a JSON dump.
    assert f"student: {entry['params']:,} parameters, item table" in result.stdout
    assert f"{entry['metrics']['NDCG@10']:>10.4f}" in result.stdout and '{"' not in result.stdout


def test_a_wrong_teacher_folder_is_refused_before_training(tiny_teacher, tiny_dataset, tmp_path):
    """Same item count, other items: its vocab.tsv gives it away; a folder without a model names the file."""
    teacher_dir, _ = tiny_teacher
    sequences = generate_synthetic(
        n_users=80, n_items=40, seed=0, n_clusters=5, min_length=6, max_length=14
    ).sequences
    renamed = leave_one_out(
        "renamed", {user: [f"x{item}" for item in items] for user, items in sequences.items()}
    )
    assert renamed.n_items == tiny_dataset.n_items
    config = tiny_sasrec_config(n_items=renamed.n_items, item_table="stp_tt")
    out = tmp_path / "student"
    with pytest.raises(ModelFolderError, match="other items than dataset renamed.*--teacher"):
        train_student(renamed, teacher_dir, config, DistillConfig(), TrainConfig(epochs=1), out)
    with pytest.raises(ModelFolderError, match="config.json not found"):
        train_student(tiny_dataset, tmp_path, config, DistillConfig(), TrainConfig(epochs=1), out)
    assert not out.exists()
