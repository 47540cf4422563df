"""Teacher training end to end: files written, metrics.json schema, and the absl CLI in a subprocess."""

from __future__ import annotations

import json

import numpy as np

from distill.model_io import load_model
from distill.teacher import BASELINES, item_counts, prefix_sequences
from model.parameters import parameter_report
from runtime.vocab import read_vocab
from tests.conftest import assert_results_entry

TEACHER_FILES = ("config.json", "model.weights.h5", "vocab.tsv", "metrics.json")


def test_item_counts_and_prefix_sequences():
    sequences = [np.array([1, 2, 2]), np.array([3, 1])]
    np.testing.assert_array_equal(item_counts(sequences, 4), [0, 2, 2, 1, 0])
    prefixes = [p.tolist() for p in prefix_sequences(sequences)]
    assert prefixes == [[1, 2], [1, 2, 2], [3, 1]]


def test_train_teacher_writes_the_model_folder_and_results(tiny_teacher, tiny_dataset):
    out_dir, metrics = tiny_teacher
    for name in TEACHER_FILES:
        assert (out_dir / name).is_file(), name
    assert json.loads((out_dir / "metrics.json").read_text()) == json.loads(json.dumps(metrics))
    names = [entry["name"] for entry in metrics["models"]]
    assert names == [*(name for name, _ in BASELINES), "teacher"]
    for entry in metrics["models"][:2]:
        assert_results_entry(entry, "baseline")
    teacher = metrics["models"][-1]
    assert_results_entry(teacher, "teacher")
    assert teacher["epochs"] == 1 and teacher["best_epoch"] == 1

    model = load_model(out_dir)
    assert model.config.n_items == tiny_dataset.n_items
    d = model.config.hidden_dim
    assert parameter_report(model)["item_table"] == (tiny_dataset.n_items + 1) * d
    assert teacher["params"] == parameter_report(model)["total"] == metrics["parameters"]["total"]
    assert read_vocab(out_dir / "vocab.tsv") == tiny_dataset.vocab


def test_cli_one_epoch_end_to_end(cli_teacher_dir):
    for name in TEACHER_FILES:
        assert (cli_teacher_dir / name).is_file(), name
    metrics = json.loads((cli_teacher_dir / "metrics.json").read_text())
    assert metrics["dataset"] == "synthetic"
    assert metrics["config"]["hidden_dim"] == 8 and metrics["config"]["max_len"] == 8
    assert metrics["train_config"]["epochs"] == 1
    assert_results_entry(metrics["models"][-1], "teacher")
