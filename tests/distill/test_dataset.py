"""Tests of distill.dataset: re-indexing, leave-one-out and session splits, and leakage."""

import numpy as np
import pytest

from distill.dataset import build_vocab, from_sessions, leave_one_out

USERS = {
    "u1": ["30", "4", "100", "7", "4"],  # repeats are kept
    "u2": ["7", "30", "100"],
    "u3": ["4", "9"],  # fewer than 3 items: training only
}


def _original(dataset, internal_ids) -> list[str]:
    return [dataset.vocab.original_id(int(item)) for item in internal_ids]


def test_numeric_ids_are_reindexed_numerically_and_round_trip() -> None:
    dataset = leave_one_out("tiny", USERS, titles={"4": "Four"})
    assert dataset.vocab.original_ids == ("4", "7", "9", "30", "100")
    assert dataset.vocab.titles == ("Four", "", "", "", "")
    assert dataset.n_items == 5
    rebuilt = [_original(dataset, sequence) for sequence in dataset.train_sequences]
    assert rebuilt == [["30", "4", "100"], ["7"], ["4", "9"]]


def test_non_numeric_ids_are_sorted_lexicographically() -> None:
    assert build_vocab(["b", "10", "a", "b"]).original_ids == ("10", "a", "b")
    assert build_vocab(["10", "9", "010"]).original_ids == ("9", "010", "10")


def test_leave_one_out_split_rules() -> None:
    dataset = leave_one_out("tiny", USERS)
    assert dataset.split == "leave-one-out"
    assert [_original(dataset, prefix) for prefix in dataset.valid_prefixes] == [["30", "4", "100"], ["7"]]
    assert _original(dataset, dataset.valid_targets) == ["7", "30"]
    assert [_original(dataset, prefix) for prefix in dataset.test_prefixes] == [
        ["30", "4", "100", "7"],
        ["7", "30"],
    ]
    assert _original(dataset, dataset.test_targets) == ["4", "100"]
    for array in (*dataset.train_sequences, dataset.valid_targets, dataset.test_targets):
        assert array.dtype == np.int32
    assert dataset.summary() == {
        "name": "tiny",
        "split": "leave-one-out",
        "n_items": 5,
        "n_train_sequences": 3,
        "n_train_interactions": 6,
        "avg_train_length": 2.0,
        "n_valid": 2,
        "n_test": 2,
        "avg_test_prefix_length": 3.0,
        "n_test_dropped": 0,
        "test_target_in_prefix": 0.5,  # user 1's test target 4 is in its prefix
    }


def test_no_leakage_training_input_is_a_strict_prefix_that_ends_before_validation() -> None:
    rng = np.random.default_rng(3)
    users = {
        str(user): [str(item) for item in rng.permutation(40)[: rng.integers(1, 12)]] for user in range(30)
    }
    dataset = leave_one_out("random", users)
    evaluated = [items for items in users.values() if len(items) >= 3]
    for train, valid_prefix, valid_target, test_prefix, test_target, items in zip(
        [s for s, items in zip(dataset.train_sequences, users.values(), strict=True) if len(items) >= 3],
        dataset.valid_prefixes,
        dataset.valid_targets,
        dataset.test_prefixes,
        dataset.test_targets,
        evaluated,
        strict=True,
    ):
        # The permutation has no repeats, so "never in the input" can be checked on values.
        assert test_target not in train and test_target not in valid_prefix and test_target not in test_prefix
        assert valid_target not in train
        assert _original(dataset, train) == items[:-2]
        assert np.array_equal(valid_prefix, train)
        assert np.array_equal(test_prefix, np.append(train, valid_target))


def test_sessions_split_last_sessions_into_validation_pairs() -> None:
    train = [["1", "2", "3"], ["2", "4"], ["5", "1", "2"]]
    test = [(["1", "2"], "3"), (["2"], "99"), (["42", "1"], "2")]  # 99 and 42 never occur in training
    dataset = from_sessions("shop", train, test, valid_fraction=0.3)
    assert dataset.split == "session"
    assert dataset.vocab.original_ids == ("1", "2", "3", "4", "5")
    assert [_original(dataset, s) for s in dataset.train_sequences] == [["1", "2", "3"], ["2", "4"]]
    assert [_original(dataset, p) for p in dataset.valid_prefixes] == [["5"], ["5", "1"]]
    assert _original(dataset, dataset.valid_targets) == ["1", "2"]
    assert [_original(dataset, p) for p in dataset.test_prefixes] == [["1", "2"]]
    assert _original(dataset, dataset.test_targets) == ["3"]
    assert dataset.n_test_dropped == 2
    assert dataset.summary()["n_test_dropped"] == 2


@pytest.mark.parametrize("valid_fraction", [0.0, 1.0, -0.1])
def test_sessions_reject_bad_valid_fraction(valid_fraction: float) -> None:
    with pytest.raises(ValueError, match="valid_fraction"):
        from_sessions("shop", [["1", "2"], ["2", "3"]], [(["1"], "2")], valid_fraction=valid_fraction)


def test_sessions_need_one_training_session() -> None:
    with pytest.raises(ValueError, match="too few"):
        from_sessions("shop", [["1", "2"]], [(["1"], "2")])


def test_empty_inputs_are_refused() -> None:
    with pytest.raises(ValueError, match="no users"):
        leave_one_out("none", {})
    with pytest.raises(ValueError, match="no items"):
        leave_one_out("none", {"u": []})


def test_a_test_file_whose_every_example_is_unseen_is_refused_before_training() -> None:
    train = [["1", "2", "3"], ["2", "4"], ["5", "1", "2"]]
    with pytest.raises(ValueError, match=r"none of its 2 test examples can be evaluated.*--data TRAIN,TEST"):
        from_sessions("shop", train, [(["1"], "99"), (["42"], "2")], valid_fraction=0.3)
