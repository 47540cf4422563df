"""Random user histories through the whole harness: valid recommendations or one of its own errors, and
invalid ids never reach the interpreter. Complements the encoded-history fuzz of test_litert.py."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from runtime.history import (
    EmptyHistoryError,
    HistoryError,
    InvalidItemIdError,
    UnknownItemError,
    encode_history,
)
from runtime.litert import Recommender
from runtime.recommend import recommend_original_ids
from tests.runtime.conftest import MAX_LEN, N_ITEMS, TOP_K, original_id

REPOSITORY = Path(__file__).resolve().parents[2]
KNOWN = [original_id(item) for item in range(1, N_ITEMS + 1)]


class _SpyRunner:
    """Wraps a signature runner and records every history that reached the interpreter."""

    def __init__(self, runner) -> None:
        self.runner, self.calls = runner, []

    def __call__(self, **inputs):
        self.calls.append(inputs["history"].copy())
        return self.runner(**inputs)


@pytest.fixture(scope="module")
def spied(model_path) -> Recommender:
    recommender = Recommender(model_path)
    recommender._runners = {name: _SpyRunner(runner) for name, runner in recommender._runners.items()}
    return recommender


_ORIGINAL_IDS = st.one_of(
    st.sampled_from(KNOWN), st.text(max_size=6), st.sampled_from(["", "0", "sku-0", "-1"])
)


@settings(max_examples=200, deadline=None)
@given(history=st.lists(_ORIGINAL_IDS, max_size=3 * MAX_LEN), unknown=st.sampled_from(["skip", "error"]))
def test_fuzz_original_id_histories(spied, history, unknown) -> None:
    known = [item for item in history if item in KNOWN]
    try:
        result = recommend_original_ids(spied, history, unknown)
    except UnknownItemError as error:
        assert unknown == "error" and error.unknown_ids == [item for item in history if item not in KNOWN]
        return
    except EmptyHistoryError:
        assert not known
        return
    seen = {KNOWN.index(item) + 1 for item in known}  # the whole history is excluded, not only the window
    internal = [item.internal_id for item in result.recommendations]
    assert len(internal) == len(set(internal)) == min(TOP_K, N_ITEMS - len(seen))
    assert all(1 <= item <= N_ITEMS for item in internal) and not seen & set(internal)
    assert [item.original_id for item in result.recommendations] == [original_id(item) for item in internal]
    assert list(result.skipped_ids) == [item for item in history if item not in KNOWN]


_RAW_HISTORIES = st.one_of(
    st.lists(st.integers(-(2**40), 2**40), max_size=2 * MAX_LEN).map(lambda items: np.array(items, np.int64)),
    st.lists(st.integers(0, 2**64 - 1), min_size=MAX_LEN, max_size=MAX_LEN).map(
        lambda items: np.array(items, np.uint64)
    ),
    st.lists(st.integers(0, N_ITEMS), min_size=MAX_LEN, max_size=MAX_LEN).map(
        lambda items: np.array(items, np.int8)
    ),
    st.lists(st.floats(), min_size=MAX_LEN, max_size=MAX_LEN).map(np.array),
    st.lists(st.booleans(), min_size=MAX_LEN, max_size=MAX_LEN).map(np.array),
    st.lists(st.integers(2**63, 2**70), min_size=MAX_LEN, max_size=MAX_LEN).map(
        lambda items: np.array(items, dtype=object)
    ),
    st.integers(0, N_ITEMS).map(lambda item: np.full((2, MAX_LEN), item)),
)


@settings(max_examples=200, deadline=None)
@given(history=_RAW_HISTORIES, signature=st.sampled_from(["recommend", "score"]))
def test_fuzz_ids_outside_the_model_never_reach_the_interpreter(spied, history, signature) -> None:
    runner = spied._runners[signature]
    before = len(runner.calls)
    try:
        getattr(spied, signature)(history)
    except HistoryError:
        assert len(runner.calls) == before, "a refused history was still sent to the interpreter"
        return
    sent = runner.calls[-1]
    assert sent.dtype == np.int32 and sent.shape == (1, MAX_LEN)
    assert np.all((sent >= 0) & (sent <= N_ITEMS)) and np.any(sent > 0)


@pytest.mark.parametrize(
    "history",
    [np.array([0, 0, 1, N_ITEMS + 1]), np.array([0, 0, 1, 2**40]), np.array([1, 2, 3, 4], np.uint64) + 2**63],
    ids=["one-past-the-end", "beyond-int32", "beyond-int64"],
)
def test_out_of_range_ids_are_refused_not_wrapped_to_int32(spied, history) -> None:
    with pytest.raises(InvalidItemIdError, match=f"outside 0..{N_ITEMS}"):
        spied.recommend(history)


def test_history_longer_than_max_len_keeps_the_most_recent(spied, tiny_model) -> None:
    """The model reads the last MAX_LEN items; every item of the history is excluded from what it returns."""
    items = [5, 9, 2, 7, 11, 3, 8]
    result = recommend_original_ids(spied, [original_id(item) for item in items])
    np.testing.assert_array_equal(spied._runners["score"].calls[-1][0], encode_history(items, MAX_LEN))
    scores = tiny_model.scores(encode_history(items, MAX_LEN)).astype(np.float64)
    scores[[0, *items]] = -np.inf
    expected = np.argsort(-scores, kind="stable")[:TOP_K]
    assert [item.internal_id for item in result.recommendations] == expected.tolist()


@pytest.mark.parametrize("history", ["", "   "], ids=["empty", "blank"])
def test_recommend_cli_empty_history_is_a_clear_error_and_exit_1(model_path, history) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "runtime.recommend", f"--model={model_path}", f"--history={history}"],
        cwd=REPOSITORY,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1
    assert "error: the history is empty" in result.stderr and "Traceback" not in result.stderr
