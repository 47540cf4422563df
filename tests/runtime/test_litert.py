"""The LiteRT harness against a numpy computation of the same tiny model, plus a fuzz of raw histories."""

import sys
import types

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from runtime.history import EmptyHistoryError, HistoryError, InvalidItemIdError, encode_history
from runtime.litert import Recommender, interpreter_class, load_interpreter
from runtime.sidecar import ArtifactError
from tests.runtime.conftest import MAX_LEN, N_ITEMS, PADDING_SCORE, TOP_K

HISTORIES = [[1], [3, 5], [12, 1, 7, 2], [4, 4, 4], [2, 9, 11, 3, 6, 8, 10]]


@pytest.fixture(scope="module")
def recommender(model_path):
    return Recommender(model_path)


def test_properties_come_from_the_sidecar(recommender):
    assert (recommender.max_len, recommender.top_k, recommender.n_items) == (MAX_LEN, TOP_K, N_ITEMS)
    assert recommender.vocab.n_items == N_ITEMS


@pytest.mark.parametrize("items", HISTORIES)
def test_recommend_matches_numpy(recommender, tiny_model, items):
    history = encode_history(items, MAX_LEN)
    item_ids, scores = recommender.recommend(history)
    expected_ids, expected_scores = tiny_model.recommend(history)
    assert item_ids.dtype == np.int32 and scores.dtype == np.float32
    np.testing.assert_array_equal(item_ids, expected_ids)
    np.testing.assert_allclose(scores, expected_scores, rtol=1e-5, atol=1e-6)
    assert not set(item_ids.tolist()) & set(history.tolist())


@pytest.mark.parametrize("items", HISTORIES)
def test_score_matches_numpy_and_excludes_nothing(recommender, tiny_model, items):
    history = encode_history(items, MAX_LEN)
    scores = recommender.score(history)
    assert scores.shape == (N_ITEMS + 1,) and scores[0] == pytest.approx(PADDING_SCORE)
    np.testing.assert_allclose(scores, tiny_model.scores(history), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize(
    "items",
    [[3, 5], [12, 1, 7, 2], [2, 9, 11, 3, 6, 8, 10], [9, 9, 4, 1, 5, 6, 2, 3, 7]],
    ids=["short", "window", "longer", "repeats"],
)
def test_recommend_unseen_excludes_the_whole_history(recommender, tiny_model, items):
    """A history longer than max_len: the items before the model's window never come back either."""
    history = encode_history(items, MAX_LEN)
    item_ids, scores, signature = recommender.recommend_unseen(items)
    expected = tiny_model.scores(history).astype(np.float64)
    expected[[0, *items]] = -np.inf
    expected_ids = np.argsort(-expected, kind="stable")[:TOP_K]
    np.testing.assert_array_equal(item_ids, expected_ids)
    np.testing.assert_allclose(scores, expected[expected_ids], rtol=1e-5, atol=1e-6)
    assert not set(item_ids.tolist()) & set(items)
    assert signature == ("recommend" if len(items) <= MAX_LEN else "score")


def test_two_threads_give_the_same_answer(recommender, model_path):
    history = encode_history([3, 5, 7], MAX_LEN)
    two_threads = Recommender(model_path, num_threads=2)
    np.testing.assert_array_equal(two_threads.recommend(history)[0], recommender.recommend(history)[0])


def test_empty_history_is_refused(recommender):
    with pytest.raises(EmptyHistoryError, match="no real item"):
        recommender.recommend(np.zeros(MAX_LEN, dtype=np.int32))
    with pytest.raises(EmptyHistoryError):
        recommender.score(np.zeros(MAX_LEN, dtype=np.int32))


def test_invalid_ids_never_reach_the_interpreter(recommender):
    with pytest.raises(InvalidItemIdError, match=f"outside 0..{N_ITEMS}"):
        recommender.recommend(np.array([0, 0, 1, N_ITEMS + 1]))
    with pytest.raises(InvalidItemIdError, match="shape"):
        recommender.recommend(np.array([1, 2]))


@settings(max_examples=150, deadline=None)
@given(items=st.lists(st.integers(min_value=-3, max_value=N_ITEMS + 3), max_size=3 * MAX_LEN))
def test_fuzz_only_valid_ids_or_our_errors(recommender, items):
    """Random raw and encoded histories: either valid recommendations or one of the harness's own errors."""
    for raw in (True, False):
        try:
            encoded = np.array(items, dtype=np.int64) if raw else encode_history(items, MAX_LEN, N_ITEMS)
            item_ids, scores = recommender.recommend(encoded)
        except HistoryError:
            continue
        assert len(set(item_ids.tolist())) == TOP_K
        assert all(1 <= item <= N_ITEMS for item in item_ids)
        assert not set(item_ids.tolist()) & set(np.asarray(encoded).tolist())
        assert np.all(np.diff(scores) <= 0)


def test_missing_litert_says_what_to_install(monkeypatch):
    for package in ("ai_edge_litert", "tflite_runtime"):
        monkeypatch.setitem(sys.modules, package, None)
        monkeypatch.setitem(sys.modules, f"{package}.interpreter", None)
    with pytest.raises(ImportError, match="pip install ai-edge-litert"):
        interpreter_class()


def test_tflite_runtime_is_the_fallback(monkeypatch):
    fallback = types.ModuleType("tflite_runtime.interpreter")
    fallback.Interpreter = type("Interpreter", (), {})
    monkeypatch.setitem(sys.modules, "ai_edge_litert.interpreter", None)
    monkeypatch.setitem(sys.modules, "tflite_runtime", types.ModuleType("tflite_runtime"))
    monkeypatch.setitem(sys.modules, "tflite_runtime.interpreter", fallback)
    assert interpreter_class() is fallback.Interpreter


@pytest.mark.parametrize("content", [b"", b"not a flatbuffer"])
def test_unloadable_flatbuffer_is_wrapped(tmp_path, content):
    broken = tmp_path / "broken.tflite"
    broken.write_bytes(content)
    with pytest.raises(ArtifactError, match="LiteRT cannot load .*broken.tflite"):
        load_interpreter(broken)


def test_num_threads_must_be_positive(model_path):
    with pytest.raises(ValueError, match=r"num_threads must be an integer in 1\.\."):
        load_interpreter(model_path, num_threads=0)
