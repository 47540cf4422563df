"""The teacher cache: KD from it equals KD from the live teacher; hit, miss and invalidation on disk."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest

from distill import teacher_cache
from distill.distiller import DistillConfig, Distiller
from distill.model_io import save_model
from distill.pipeline import training_batches
from distill.student import train_student
from distill.teacher_cache import CACHE_FOLDER, load_or_build_teacher_cache
from distill.training import TrainConfig
from model.keras_setup import keras, tf
from model.sasrec import SASRec
from tests.conftest import tiny_sasrec_config
from tests.distill.test_distiller import N_ITEMS, SEQUENCES, hot_items

TOP_K, TEMPERATURE = 6, 2.0


def _models(readout: str = "last", repeat: bool = False) -> tuple[SASRec, SASRec]:
    keras.utils.set_random_seed(0)
    shared = {"n_items": N_ITEMS, "readout": readout, "repeat_scores": repeat}
    teacher = SASRec(tiny_sasrec_config(hidden_dim=8, **shared)).build_for_inference()
    student = SASRec(
        tiny_sasrec_config(hidden_dim=4, item_table="stp_tt", **shared)
    ).build_for_inference()
    return teacher, student


def _batches(sequences=SEQUENCES, max_len: int = 8):
    return training_batches([np.array(s) for s in sequences], max_len, batch_size=3, seed=0, shuffle=True)


def training_batches_with(batches, cache):
    """The same batches carrying the cache rows, as train_student builds them."""
    return dataclasses.replace(batches, row_extras=cache.batch_rows)


@pytest.mark.parametrize(
    ("readout", "repeat", "sampled"),
    [("last", False, False), ("last", True, False), ("attention", False, False), ("last", False, True)],
    ids=["last-position", "repeat-bonus", "attention-readout", "sampled"],
)
def test_losses_from_the_cache_equal_losses_from_the_live_teacher(readout, repeat, sampled) -> None:
    teacher, student = _models(readout, repeat)
    if sampled:
        student = SASRec(
            tiny_sasrec_config(
                n_items=N_ITEMS, hidden_dim=4, item_table="stp_tt", readout=readout, loss="sampled"
            )
        ).build_for_inference()
    config = DistillConfig(kd_top_k=TOP_K, temperature=TEMPERATURE, sampled=sampled)
    distiller = Distiller(teacher, student, hot_items(), config)
    batches = _batches()
    cache = teacher_cache.build_teacher_cache(teacher, batches, TOP_K, TEMPERATURE)
    # Stored ragged: one entry per supervised position (per sequence with a readout), nothing for padding.
    expected_rows = len(batches.inputs) if readout == "attention" else int((batches.targets != 0).sum())
    assert cache.values["items"].shape == (expected_rows, TOP_K)
    with_cache = training_batches_with(batches, cache)
    for history, targets, cached in with_cache.epochs(0, 1):
        if sampled:  # the same negatives on both sides
            tf.random.set_seed(1)
        live = distiller.losses_for(history, targets, training=False)
        if sampled:
            tf.random.set_seed(1)
        from_cache = distiller.losses_for(history, targets, training=False, cached=cached)
        for name in ("ce", "kd", "cl", "pred", "loss"):
            np.testing.assert_allclose(from_cache[name], live[name], atol=1e-6, rtol=1e-6, err_msg=name)
        assert float(live["kd"]) > 0


def test_a_cache_without_top_k_kd_is_refused() -> None:
    teacher, student = _models()
    distiller = Distiller(teacher, student, hot_items(), DistillConfig())
    batches = _batches()
    cache = teacher_cache.build_teacher_cache(teacher, batches, TOP_K, TEMPERATURE)
    history, targets, cached = next(iter(training_batches_with(batches, cache).epochs(0, 1)))
    with pytest.raises(ValueError, match="kd_top_k"):
        distiller.losses_for(history, targets, training=False, cached=cached)


def test_cache_hit_miss_and_invalidation(tmp_path: Path, monkeypatch, capsys) -> None:
    teacher, _ = _models()
    save_model(teacher, tmp_path)
    batches = _batches()
    first = load_or_build_teacher_cache(tmp_path, teacher, batches, TOP_K, TEMPERATURE)
    assert "miss" in capsys.readouterr().out
    assert len(list((tmp_path / CACHE_FOLDER).glob("*.npz"))) == 1

    def no_build(*args, **kwargs):
        raise AssertionError("the teacher ran again on a cache hit")

    with monkeypatch.context() as patch:
        patch.setattr(teacher_cache, "build_teacher_cache", no_build)
        again = load_or_build_teacher_cache(tmp_path, teacher, batches, TOP_K, TEMPERATURE)
    assert "hit" in capsys.readouterr().out
    for name, values in first.arrays().items():
        np.testing.assert_array_equal(again.arrays()[name], values)

    # Other data, another k or temperature, the teacher renumbered to another item order (the same rows),
    # or a retrained teacher: a new entry, never the old one.
    other_data = _batches(SEQUENCES[:4])
    load_or_build_teacher_cache(tmp_path, teacher, other_data, TOP_K, TEMPERATURE)
    load_or_build_teacher_cache(tmp_path, teacher, batches, TOP_K - 1, TEMPERATURE)
    load_or_build_teacher_cache(tmp_path, teacher, batches, TOP_K, 1.0)
    reversed_order = np.arange(N_ITEMS, 0, -1)
    load_or_build_teacher_cache(tmp_path, teacher, batches, TOP_K, TEMPERATURE, item_order=reversed_order)
    teacher.item_table.set_weights([w + 0.5 for w in teacher.item_table.get_weights()])
    save_model(teacher, tmp_path)
    retrained = load_or_build_teacher_cache(tmp_path, teacher, batches, TOP_K, TEMPERATURE)
    assert "miss" in capsys.readouterr().out.splitlines()[-2]
    assert len(list((tmp_path / CACHE_FOLDER).glob("*.npz"))) == 6
    assert not np.array_equal(retrained.final, first.final)


def test_students_train_from_the_cache_and_share_it(tiny_dataset, tiny_teacher, tmp_path, capsys) -> None:
    teacher_dir, _ = tiny_teacher
    config = tiny_sasrec_config(n_items=tiny_dataset.n_items, item_table="stp_tt")
    distill_config = DistillConfig(kd_top_k=5)
    for name in ("first", "second"):
        metrics = train_student(
            tiny_dataset, teacher_dir, config, distill_config, TrainConfig(epochs=1), tmp_path / name
        )
        assert np.isfinite(metrics["models"][0]["curve"][0]["loss"]["kd"])
    output = capsys.readouterr().out
    assert output.count("teacher cache: miss") == 1 and output.count("teacher cache: hit") == 1
    state = json.loads((tmp_path / "second" / "training_state.json").read_text())
    assert state["history"][0]["loss_terms"]["kd"] > 0
