"""bench/on_device.py: the held-out item split, and personalisation of an existing student."""

import numpy as np
import pytest

from bench.on_device import export_on_device, held_out_split, personalisation
from convert.export_folder import export_dataset
from convert.on_device import OnDeviceConfig


def test_held_out_items_take_the_top_ids_and_leave_the_base_data(tiny_dataset):
    full, base = held_out_split(tiny_dataset, fraction=0.1, seed=0)
    n_held = full.n_items - base.n_items
    assert n_held == 4 and full.n_items == tiny_dataset.n_items
    # The same interactions under new ids: original ids map one to one.
    old, new = tiny_dataset.vocab, full.vocab
    for before, after in zip(tiny_dataset.train_sequences, full.train_sequences, strict=True):
        assert [old.original_id(i) for i in before] == [new.original_id(i) for i in after]
    assert base.vocab.original_ids == full.vocab.original_ids[: base.n_items]
    every = [*base.train_sequences, *base.valid_prefixes, *base.test_prefixes]
    assert all(np.all(sequence <= base.n_items) and len(sequence) for sequence in every)
    assert np.all(base.test_targets <= base.n_items) and np.all(base.valid_targets <= base.n_items)
    held_targets = int(np.sum(full.test_targets > base.n_items))
    assert len(base.test_targets) <= len(full.test_targets) - held_targets


def test_an_existing_student_is_personalised_in_its_own_item_order(tiny_dataset, ordered_student, tmp_path):
    """--student: the shipped model is that student, read in its own vocab; before any `train` step its
    LiteRT metrics on every test user are the ones its training reported (a mixed-up order would not be)."""
    student_dir, trained = ordered_student
    dataset = export_dataset(tiny_dataset, student_dir)
    assert dataset.vocab.original_ids != tiny_dataset.vocab.original_ids
    shipped = export_on_device(student_dir, dataset, OnDeviceConfig(spare_items=2), tmp_path)
    assert shipped["bytes"] > shipped["plain_bytes"] > 0
    measured = personalisation(shipped["path"], dataset, max_users=0, epochs=1)
    assert measured["student"] == pytest.approx(trained["models"][0]["metrics"], abs=1e-6)
    assert measured["n_users"] == len(dataset.test_targets) and measured["n_train_steps"] > 0
    assert set(measured["student-personalised"]) == set(measured["student"])
