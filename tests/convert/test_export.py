"""The export graph against the Keras model: fp32 parity, in-graph top-K and exclusion, factored table."""

import numpy as np
import pytest

import model  # noqa: F401  (tf-keras before TensorFlow)
from convert.export import export_tflite, top_k_excluding_history
from convert.ops import builtin_only, constant_tensor_shapes, tensor_names
from model.keras_setup import tf
from model.sasrec import SASRec, SASRecConfig
from runtime.litert import interpreter_class
from runtime.metrics import top_k_items

N_ITEMS, MAX_LEN, DIM, TOP_K = 40, 6, 8, 5
CONFIGS = {
    "teacher": {"item_table": "dense"},
    "student_2_cores": {"item_table": "stp_tt", "tt_rank": 4, "stp_factor": 2, "tt_num_cores": 2},
    "student_3_cores": {"item_table": "stp_tt", "tt_rank": 4, "stp_factor": 2, "tt_num_cores": 3},
    "teacher_repeat": {"item_table": "dense", "repeat_scores": True},
    "student_repeat": {"item_table": "stp_tt", "tt_rank": 4, "stp_factor": 2, "repeat_scores": True},
    "student_explore": {
        "item_table": "stp_tt",
        "tt_rank": 4,
        "stp_factor": 2,
        "repeat_scores": True,
        "explore_path": True,
    },
}


def tiny_model(n_items: int = N_ITEMS, max_len: int = MAX_LEN, **table) -> SASRec:
    config = SASRecConfig(
        n_items=n_items, max_len=max_len, hidden_dim=DIM, num_blocks=1, dropout=0.0, **table
    )
    keras_model = SASRec(config).build_for_inference()
    if keras_model.repeat is not None:  # a trained-looking bonus; it starts at zero
        rng = np.random.default_rng(7)
        keras_model.repeat.recency.assign(rng.normal(size=max_len).astype(np.float32))
        weights = [rng.normal(size=(DIM, 1)).astype(np.float32), np.ones(1, np.float32)]
        keras_model.repeat.gate.set_weights(weights)
    return keras_model


def histories(seed: int = 0, count: int = 12) -> np.ndarray:
    """Left-padded histories of every length 1..L, with a repeated item in some."""
    rng = np.random.default_rng(seed)
    rows = np.zeros((count, MAX_LEN), np.int32)
    for row in range(count):
        length = row % MAX_LEN + 1
        rows[row, MAX_LEN - length :] = rng.integers(1, N_ITEMS + 1, size=length)
    rows[-1, -2:] = rows[-1, -1]
    return rows


@pytest.fixture(scope="module", params=list(CONFIGS))
def exported(request):
    keras_model = tiny_model(**CONFIGS[request.param])
    flatbuffer = export_tflite(keras_model, TOP_K)
    interpreter = interpreter_class()(model_content=flatbuffer)
    return request.param, keras_model, flatbuffer, interpreter


def test_fp32_score_matches_keras(exported):
    _, keras_model, _, interpreter = exported
    runner = interpreter.get_signature_runner("score")
    batch = histories()
    expected = keras_model(batch).numpy()
    for history, reference in zip(batch, expected, strict=True):
        scores = runner(history=history[None])["scores"][0]
        assert scores.shape == (N_ITEMS + 1,)
        assert scores[0] == -1e9
        relative = np.abs(scores[1:] - reference[1:]).max() / np.abs(reference[1:]).max()
        assert relative <= 1e-5


def test_recommend_is_numpy_top_k_with_history_and_padding_excluded(exported):
    _, keras_model, _, interpreter = exported
    runner = interpreter.get_signature_runner("recommend")
    batch = histories(seed=1)
    expected = top_k_items(keras_model(batch).numpy(), TOP_K, list(batch))
    for history, expected_ids in zip(batch, expected, strict=True):
        outputs = runner(history=history[None])
        item_ids, scores = outputs["item_ids"][0], outputs["scores"][0]
        assert item_ids.dtype == np.int32 and scores.dtype == np.float32
        np.testing.assert_array_equal(item_ids, expected_ids)
        assert 0 not in item_ids
        assert not set(item_ids) & set(history.tolist())
        assert np.all(np.diff(scores) <= 0)


def test_only_builtin_operators(exported):
    assert builtin_only(exported[2])


def test_student_keeps_cores_not_a_table(exported):
    name, keras_model, flatbuffer, _ = exported
    table_elements = keras_model.config.num_rows * DIM
    largest = max(int(np.prod(shape)) for shape in constant_tensor_shapes(flatbuffer))
    if name.startswith("teacher"):
        assert largest >= table_elements
    else:
        assert largest < table_elements


def test_file_holds_no_causal_mask_and_no_tensor_names(exported):
    """The L x L mask is computed in the graph (not stored), and only signature names remain."""
    flatbuffer, interpreter = exported[2], exported[3]
    assert all(shape[-2:] != (MAX_LEN, MAX_LEN) for shape in constant_tensor_shapes(flatbuffer))
    assert set(tensor_names(flatbuffer)) == {""}
    recommend = interpreter.get_signature_list()["recommend"]
    assert recommend == {"inputs": ["history"], "outputs": ["item_ids", "scores"]}


def test_student_file_is_smaller_than_its_dense_table():
    """With 5000 items a dense table (160 kB) would dominate the file; the factored student stays below it."""
    n_items = 5000
    student = tiny_model(n_items=n_items, max_len=4, item_table="stp_tt", tt_rank=8, stp_factor=2)
    dense_table_bytes = (n_items + 1) * DIM * 4
    assert len(export_tflite(student, TOP_K)) < dense_table_bytes


def test_top_k_larger_than_the_catalogue_left_after_exclusion_is_refused():
    with pytest.raises(ValueError, match="top_k"):
        export_tflite(tiny_model(), N_ITEMS - MAX_LEN + 1)


def masked_top_k(scores: np.ndarray, history: np.ndarray, k: int) -> tuple[list[int], list[float]]:
    """The old graph in numpy: -1e9 into history items, then a stable top-k (ties to the lower id)."""
    masked = scores.astype(np.float64).copy()
    masked[[item - 1 for item in history if item]] = -1e9
    order = np.argsort(-masked, kind="stable")[:k]
    return (order + 1).tolist(), scores[order].tolist()


@pytest.mark.parametrize(
    "scores, history",
    [
        # Every history item is among the best: K + L candidates still leave K allowed ones.
        ([9.0, 8.0, 7.0, 6.0, 5.0, 4.0, 3.0, 2.0], [0, 1, 2, 3]),
        # A repeated history item, padding in front, ties between allowed items (lower id first).
        ([1.0, 5.0, 5.0, 2.0, 5.0, 0.5, 5.0, -3.0], [0, 0, 3, 3]),
        # History at the bottom of the ranking: nothing among the top candidates is excluded.
        ([-1.0, -2.0, 4.0, 3.0, 2.0, 1.0, -5.0, -6.0], [7, 8, 2, 1]),
        # All scores equal: ids in increasing order, history skipped.
        ([0.0] * 8, [0, 2, 5, 1]),
    ],
)
def test_top_k_excluding_history_is_the_masked_top_k(scores, history):
    top_k = 4  # K = n_items - L, the most ExportModule allows
    scores_np, history_np = np.array(scores, np.float32), np.array(history, np.int32)
    item_ids, top_scores = top_k_excluding_history(
        tf.constant(scores_np[None]), tf.constant(history_np[None]), top_k
    )
    expected_ids, expected_scores = masked_top_k(scores_np, history_np, top_k)
    assert item_ids.dtype == tf.int32 and item_ids.shape == (1, top_k)
    assert item_ids.numpy()[0].tolist() == expected_ids
    np.testing.assert_array_equal(top_scores.numpy()[0], expected_scores)


def test_recommend_excludes_history_items_that_score_best():
    """Histories made of the model's own favourites: the graph must skip all of them."""
    keras_model = tiny_model(item_table="dense")
    interpreter = interpreter_class()(model_content=export_tflite(keras_model, TOP_K))
    runner = interpreter.get_signature_runner("recommend")
    start = histories(seed=2)[:1]
    favourites = np.argsort(-keras_model(start).numpy()[0, 1:], kind="stable")[:MAX_LEN] + 1
    history = favourites.astype(np.int32)[None]
    expected_ids, expected_scores = masked_top_k(keras_model(history).numpy()[0, 1:], history[0], TOP_K)
    outputs = runner(history=history)
    assert outputs["item_ids"][0].tolist() == expected_ids
    np.testing.assert_allclose(outputs["scores"][0], expected_scores, rtol=1e-5)


def test_below_row_minimum_padding_column_ranks_last():
    keras_model = tiny_model(item_table="dense")
    flatbuffer = export_tflite(keras_model, TOP_K, padding_column="below_row_minimum")
    runner = interpreter_class()(model_content=flatbuffer).get_signature_runner("score")
    history = histories()[3]
    scores = runner(history=history[None])["scores"][0]
    reference = keras_model(history[None]).numpy()[0]
    np.testing.assert_allclose(scores[1:], reference[1:], rtol=1e-5, atol=1e-6)
    assert scores[0] == pytest.approx(scores[1:].min() - 1.0)


def test_unknown_padding_column_is_refused():
    with pytest.raises(ValueError, match="padding_column"):
        export_tflite(tiny_model(), TOP_K, padding_column="zero")


def test_untrained_repeat_bonus_converts():
    """An all-zero bonus (the initial state) once made the converter drop a broadcast and fail."""
    config = SASRecConfig(n_items=N_ITEMS, max_len=MAX_LEN, hidden_dim=DIM, num_blocks=1, repeat_scores=True)
    keras_model = SASRec(config).build_for_inference()
    interpreter = interpreter_class()(model_content=export_tflite(keras_model, TOP_K))
    history = histories()[-1:]
    scores = interpreter.get_signature_runner("score")(history=history)["scores"]
    np.testing.assert_allclose(scores[:, 1:], keras_model(history).numpy()[:, 1:], rtol=1e-5, atol=1e-5)
