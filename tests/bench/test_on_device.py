"""The held-out item split of bench/on_device.py: relabelled ids, nothing held out left in the base data."""

import numpy as np

from bench.on_device import held_out_split


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
