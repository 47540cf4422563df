"""distill.data_defaults: each setting against a value worked out by hand from the sequences."""

import numpy as np
import pytest

from distill.data_defaults import batch_size_for, data_defaults, history_length, repeat_share, table_shape
from distill.dataset import leave_one_out


def sequences(*lengths: int) -> list[np.ndarray]:
    return [np.arange(1, length + 1, dtype=np.int32) for length in lengths]


def test_history_length_covers_the_quantile_in_steps_of_ten():
    # inputs are length - 1: 4 .. 39; the 90% quantile of 4,9,...,39 (8 values) is 35.5 -> 40.
    max_len, quantile = history_length(sequences(5, 10, 15, 20, 25, 30, 35, 40), n_items=500, top_k=20)
    assert quantile == pytest.approx(35.5) and max_len == 40


def test_history_length_bounds():
    assert history_length(sequences(3, 3, 3), n_items=500, top_k=20)[0] == 10  # lower bound
    assert history_length(sequences(900, 900), n_items=5000, top_k=20)[0] == 200  # upper bound
    assert history_length(sequences(40, 40), n_items=45, top_k=20)[0] == 25  # top_k items must remain


def test_repeat_share_counts_next_items_already_seen():
    # next items: [2, 1, 3] -> 1 repeat (the 1); [4, 4] -> 2 repeats: 3 of 5.
    share = repeat_share([np.array([1, 2, 1, 3]), np.array([4, 4, 4])])
    assert share == pytest.approx(3 / 5)
    assert repeat_share([np.array([1, 2, 3])]) == 0.0


@pytest.mark.parametrize(
    "n_items, expected", [(48, (4, 2)), (1000, (16, 2)), (3416, (32, 2)), (40_000, (32, 2)), (10**6, (32, 3))]
)
def test_table_shape_grows_with_the_catalogue(n_items, expected):
    assert table_shape(n_items) == expected


def test_repeat_bonus_follows_the_data():
    no_repeats = {str(user): [str(item) for item in range(user, user + 12)] for user in range(1, 30)}
    repeats = {str(user): ["1", "2", "1", "3", "1", "4", "1", "5", "2"] for user in range(1, 30)}
    assert not data_defaults(leave_one_out("plain", no_repeats), top_k=5).repeat_scores
    chosen = data_defaults(leave_one_out("repeats", repeats), top_k=2)
    assert chosen.repeat_scores and chosen.repeat_share > 0.3
    assert len(chosen.reasons()) == 4


@pytest.mark.parametrize(
    "rows, expected",
    # 73 rows: 128 -> 1 step, 64 -> 2, 32 -> 3, 16 -> 5 steps (>= 4); 385 rows already take 4 steps at 128.
    [(73, 16), (10, 16), (130, 32), (384, 64), (385, 128), (2000, 128), (6040, 128)],
)
def test_small_data_gets_a_batch_with_at_least_four_steps_per_epoch(rows, expected):
    assert batch_size_for(rows, largest=128) == expected
    assert batch_size_for(rows, largest=8) == 8  # never above the given largest batch


def test_batch_size_counts_the_sequences_the_pipeline_trains_on():
    # 40 users of 6 items train on their first 4 (leave-one-out); 30 users of 2 items (fewer than 3) go wholly
    # into training: 70 rows of 2 or more items.
    users = {f"u{user}": [str(item) for item in range(user, user + 6)] for user in range(40)}
    users.update({f"v{user}": ["1", "2"] for user in range(30)})
    chosen = data_defaults(leave_one_out("small", users), top_k=2)
    assert chosen.training_rows == 70 and chosen.batch_size == 16
    assert "batch_size 16: 70 training sequences" in chosen.reasons()[3]
