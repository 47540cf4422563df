"""A run owns its folder: a second dataset never resumes the first one's checkpoint, a second process on a
locked folder is refused, and the default folder depends on the data."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from distill.dataset import leave_one_out
from distill.distiller import DistillConfig
from distill.run_folder import (
    RUN_RECORD,
    RunFolderError,
    claim_run_folder,
    data_fingerprint,
    default_out_dir,
    folder_lock,
)
from distill.synthetic import generate_synthetic
from distill.teacher import train_teacher
from distill.training import STATE_FILE, TrainConfig
from tests.conftest import REPO, tiny_sasrec_config


def _user_sequences(seed: int = 0) -> dict[str, list[str]]:
    return generate_synthetic(
        n_users=30, n_items=20, seed=seed, n_clusters=3, min_length=5, max_length=8
    ).sequences


@pytest.fixture(scope="module")
def two_datasets():
    """Same items (so the same item count), different interactions: each user's sequence reversed."""
    sequences = _user_sequences()
    first = leave_one_out("a", sequences)
    second = leave_one_out("b", {user: items[::-1] for user, items in sequences.items()})
    assert first.n_items == second.n_items
    return first, second


def test_fingerprint_tells_datasets_of_the_same_size_apart(two_datasets):
    first, second = two_datasets
    assert data_fingerprint(first) != data_fingerprint(second)
    assert data_fingerprint(first) == data_fingerprint(leave_one_out("a", _user_sequences()))


def test_a_second_dataset_is_refused_and_overwrite_starts_afresh(two_datasets, tmp_path):
    first, second = two_datasets
    config = tiny_sasrec_config(n_items=first.n_items)
    train = TrainConfig(epochs=1, batch_size=64)
    out = tmp_path / "teacher"
    train_teacher(first, config, train, out, with_baselines=False)
    weights = (out / "model.weights.h5").read_bytes()

    with pytest.raises(RunFolderError, match=r"the training data \(data_fingerprint\).*--overwrite"):
        train_teacher(second, config, train, out, with_baselines=False)
    assert (out / "model.weights.h5").read_bytes() == weights  # nothing was touched

    with pytest.raises(RunFolderError, match=r"model\.hidden_dim \(8 in the folder, 16 now\)"):
        train_teacher(first, tiny_sasrec_config(n_items=first.n_items, hidden_dim=16), train, out)

    metrics = train_teacher(second, config, train, out, with_baselines=False, overwrite=True)
    record = json.loads((out / RUN_RECORD).read_text())
    assert record["data_fingerprint"] == data_fingerprint(second)
    assert json.loads((out / STATE_FILE).read_text())["resumed_from_epoch"] == 0  # trained, not resumed
    assert metrics["dataset"] == "b"


def test_more_epochs_resume_the_same_run(two_datasets, tmp_path):
    first, _ = two_datasets
    folder = tmp_path / "run"
    claim_run_folder(folder, {"train": TrainConfig(epochs=1).to_dict()}, data_fingerprint(first), False)
    claim_run_folder(folder, {"train": TrainConfig(epochs=5).to_dict()}, data_fingerprint(first), False)
    with pytest.raises(RunFolderError, match="learning_rate"):
        wanted = {"train": TrainConfig(epochs=1, learning_rate=0.5).to_dict()}
        claim_run_folder(folder, wanted, data_fingerprint(first), False)


@pytest.mark.parametrize(
    ("section", "config", "changed", "message"),
    [
        (
            "distill",
            DistillConfig(),
            DistillConfig(item_order="teacher"),
            "item_order .'natural' in the folder, 'teacher'",
        ),
        ("train", TrainConfig(), TrainConfig(weight_decay=0.05), "weight_decay .0.0 in the folder, 0.05"),
    ],
)
def test_a_folder_written_before_a_setting_existed_resumes_only_at_its_old_value(
    tmp_path, section, config, changed, message
):
    """A folder of an older version lacks a setting added since (ADDED_SETTINGS): it ran at the old value
    (the natural item order, no weight decay), so it resumes at that value and is refused at another."""
    folder = tmp_path / "run"
    older = config.to_dict()
    del older[message.split(" ")[0]]  # the setting: the first word of the refusal's name for it
    claim_run_folder(folder, {section: older}, "fingerprint", False)
    claim_run_folder(folder, {section: config.to_dict()}, "fingerprint", False)
    with pytest.raises(RunFolderError, match=f"{section}.{message} now"):
        claim_run_folder(folder, {section: changed.to_dict()}, "fingerprint", False)


def test_a_folder_of_foreign_files_is_refused(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(RunFolderError, match=f"no {RUN_RECORD}.*--overwrite"):
        claim_run_folder(tmp_path, {}, "fingerprint", overwrite=False)
    assert (tmp_path / "notes.txt").read_text() == "mine"


def test_a_second_process_on_a_locked_folder_is_refused_in_one_line(tmp_path):
    out = tmp_path / "teacher"
    with folder_lock(out):
        result = subprocess.run(
            [sys.executable, "-m", "distill.train_teacher", "--epochs=1", "--hidden_dim=8", "--max_len=8"]
            + [f"--out={out}"],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=120,
            env={**os.environ, "CUDA_VISIBLE_DEVICES": ""},
        )
    assert result.returncode == 1, result.stderr[-2000:]
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("error: ") and "in use by another run" in last and str(os.getpid()) in last
    assert "Traceback" not in result.stderr
    assert not out.exists()  # refused before anything was written


def test_lock_is_released_when_the_block_ends(tmp_path):
    with folder_lock(tmp_path / "x"):
        with pytest.raises(RunFolderError, match="in use"):
            with folder_lock(tmp_path / "x"):
                pass
    with folder_lock(tmp_path / "x"):
        pass


def test_default_folder_depends_on_the_data(tmp_path):
    first, second = tmp_path / "clicks.txt", tmp_path / "other" / "clicks.txt"
    second.parent.mkdir()
    first.write_text("1 1\n1 2\n")
    second.write_text("1 2\n1 1\n")
    assert default_out_dir("ml-1m", None, "teacher") == Path("artifacts/ml-1m/teacher")
    folders = {default_out_dir("synthetic", str(path), "teacher") for path in (first, second)}
    assert len(folders) == 2
    for folder in folders:
        assert folder.parent.name.startswith("clicks-") and "synthetic" not in str(folder)
    assert default_out_dir("synthetic", str(first), "student").parent == (
        default_out_dir("synthetic", str(first), "teacher").parent
    )
    sessions = default_out_dir("synthetic", f"{first},{second}", "teacher")
    assert sessions not in folders and sessions.parent.name.startswith("clicks-")
