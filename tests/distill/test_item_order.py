"""The student's item order: the data and the teacher renumbered together, the flag reaching the student."""

from __future__ import annotations

import json

import numpy as np
import pytest
from absl import flags

from distill import cli_flags
from distill.item_order import (
    choose_item_order,
    cooccurrence_vectors,
    in_vocab_order,
    load_model_in_vocab,
    old_to_new_ids,
    permutation_to,
    reorder_dataset,
    reorder_item_table,
)
from distill.model_io import ModelFolderError, check_model_folder, load_model
from model.keras_setup import tf
from model.sasrec import SASRec
from runtime.vocab import VocabError, read_vocab
from tests.conftest import tiny_sasrec_config


def original_sequences(dataset, sequences) -> list[list[str]]:
    return [[dataset.vocab.original_id(int(item)) for item in sequence] for sequence in sequences]


def test_a_renumbered_dataset_holds_the_same_original_sequences(tiny_dataset):
    new_to_old = np.random.default_rng(0).permutation(tiny_dataset.n_items) + 1
    renumbered = reorder_dataset(tiny_dataset, new_to_old)
    assert renumbered.vocab.original_ids != tiny_dataset.vocab.original_ids
    assert renumbered.vocab.original_id(1) == tiny_dataset.vocab.original_id(int(new_to_old[0]))
    for field in ("train_sequences", "valid_prefixes", "test_prefixes"):
        before, after = getattr(tiny_dataset, field), getattr(renumbered, field)
        assert original_sequences(renumbered, after) == original_sequences(tiny_dataset, before), field
    for field in ("valid_targets", "test_targets"):
        before, after = getattr(tiny_dataset, field), getattr(renumbered, field)
        assert original_sequences(renumbered, [after]) == original_sequences(tiny_dataset, [before]), field
    # Back to the dataset's own order through the vocabularies alone: every array equal again.
    back = in_vocab_order(renumbered, tiny_dataset.vocab)
    assert back.vocab == tiny_dataset.vocab
    for before, after in zip(tiny_dataset.train_sequences, back.train_sequences, strict=True):
        np.testing.assert_array_equal(before, after)
    np.testing.assert_array_equal(back.test_targets, tiny_dataset.test_targets)
    assert reorder_dataset(tiny_dataset, None) is tiny_dataset
    n_items = tiny_dataset.n_items
    with pytest.raises(ValueError, match=f"permutation of 1..{n_items}"):
        reorder_dataset(tiny_dataset, np.arange(n_items))


def test_permutation_between_vocabularies_of_other_items_is_refused(tiny_dataset):
    assert permutation_to(tiny_dataset.vocab, tiny_dataset.vocab) is None
    other = reorder_dataset(tiny_dataset, np.arange(tiny_dataset.n_items, 0, -1)).vocab
    reversed_ids = np.arange(tiny_dataset.n_items, 0, -1)
    np.testing.assert_array_equal(permutation_to(tiny_dataset.vocab, other), reversed_ids)
    shorter = type(other)(other.original_ids[1:], other.titles[1:])
    with pytest.raises(VocabError, match="different items"):
        permutation_to(tiny_dataset.vocab, shorter)


def random_model(**overrides) -> SASRec:
    model = SASRec(tiny_sasrec_config(**overrides)).build_for_inference()
    rng = np.random.default_rng(1)
    for weight in model.trainable_weights:
        weight.assign(rng.normal(scale=0.3, size=weight.shape).astype(np.float32))
    rows = model.config.num_rows
    model.log_sampling_prob.assign(np.log(rng.dirichlet(np.ones(rows))).astype(np.float32))
    return model


@pytest.mark.parametrize("repeat_scores", [False, True])
def test_a_renumbered_dense_teacher_scores_every_item_as_before(repeat_scores):
    teacher = random_model(repeat_scores=repeat_scores)
    histories = np.random.default_rng(2).integers(0, 41, size=(6, 8))
    before = teacher(tf.constant(histories, tf.int32)).numpy()
    log_q = teacher.log_sampling_prob.numpy()
    new_to_old = np.random.default_rng(3).permutation(40) + 1
    old_to_new = old_to_new_ids(new_to_old)
    reorder_item_table(teacher, new_to_old)
    after = teacher(tf.constant(old_to_new[histories], tf.int32)).numpy()
    np.testing.assert_allclose(after[:, old_to_new], before, rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(teacher.log_sampling_prob.numpy()[old_to_new], log_q)


def test_an_stp_tt_table_is_never_renumbered():
    student = random_model(item_table="stp_tt")
    assert reorder_item_table(student, np.arange(1, 41)) is student
    with pytest.raises(ValueError, match="keeps the item order it was trained in"):
        reorder_item_table(student, np.arange(40, 0, -1))


def test_orders_are_permutations_and_natural_is_none(tiny_dataset):
    teacher = random_model(n_items=tiny_dataset.n_items)
    student = tiny_sasrec_config(n_items=tiny_dataset.n_items, item_table="stp_tt")
    assert choose_item_order("natural", tiny_dataset, teacher, student) is None
    for name in ("teacher", "cooccurrence"):
        order = choose_item_order(name, tiny_dataset, teacher, student)
        assert sorted(order.tolist()) == list(range(1, tiny_dataset.n_items + 1)), name
        assert not np.array_equal(order, np.arange(1, tiny_dataset.n_items + 1)), name
    # A teacher of another width is fitted with its own width's factors.
    wide = random_model(n_items=tiny_dataset.n_items, hidden_dim=12, num_heads=1)
    assert len(choose_item_order("teacher", tiny_dataset, wide, student)) == tiny_dataset.n_items
    with pytest.raises(ValueError, match="STP-TT student table"):
        choose_item_order("teacher", tiny_dataset, teacher, tiny_sasrec_config(n_items=tiny_dataset.n_items))
    with pytest.raises(ValueError, match="not one of"):
        choose_item_order("random", tiny_dataset, teacher, student)


def test_cooccurrence_vectors_bring_items_of_the_same_sequences_together():
    # Items 1-3 only ever occur together, items 4-6 too; item 7 never occurs.
    sequences = [np.array([1, 2, 3, 1, 2]), np.array([3, 2, 1]), np.array([4, 5, 6, 4]), np.array([6, 5])]
    vectors = cooccurrence_vectors(sequences, n_items=7, dim=2)
    assert vectors.shape == (7, 2)
    assert not np.any(vectors[6])
    distance = lambda a, b: np.linalg.norm(vectors[a - 1] - vectors[b - 1])  # noqa: E731
    assert max(distance(1, 2), distance(2, 3), distance(4, 5)) < min(distance(1, 4), distance(3, 6))


def test_the_flag_reaches_the_student_and_its_vocab(tiny_teacher, tiny_dataset, ordered_student):
    """--item_order teacher: the student's vocab.tsv holds the teacher-clustered order (the same as computed
    here from the teacher), its metrics and run record name it."""
    values = flags.FlagValues()
    cli_flags.define_student_cli_flags(values)
    values(["prog", "--teacher", "t", "--item_order", "teacher"])
    assert cli_flags.distill_config_from_flags(values).item_order == "teacher"

    out, metrics = ordered_student
    assert metrics["distill_config"]["item_order"] == "teacher"
    assert json.loads((out / "run.json").read_text())["config"]["distill"]["item_order"] == "teacher"
    config = load_model(out).config
    expected = choose_item_order("teacher", tiny_dataset, load_model(tiny_teacher[0]), config)
    np.testing.assert_array_equal(permutation_to(tiny_dataset.vocab, read_vocab(out / "vocab.tsv")), expected)
    # The student's folder is of this dataset in another order: refused as is, accepted in any order.
    with pytest.raises(ModelFolderError, match="other items"):
        check_model_folder(out, tiny_dataset, "student")
    check_model_folder(out, tiny_dataset, "student", any_order=True)


def test_a_teacher_is_read_in_a_students_order(tiny_teacher, tiny_dataset):
    teacher_dir, _ = tiny_teacher
    new_to_old = np.arange(tiny_dataset.n_items, 0, -1)
    vocab = reorder_dataset(tiny_dataset, new_to_old).vocab
    natural, renumbered = load_model(teacher_dir), load_model_in_vocab(teacher_dir, vocab)
    table = natural.item_table.materialize().numpy()
    np.testing.assert_array_equal(renumbered.item_table.materialize().numpy()[1:], table[new_to_old])
