"""The training-capable export in LiteRT: builtin ops only, one `train` step against numpy, state round trip,
spare item slots ranked like table rows, and its bytes against the plain student."""

import numpy as np
import pytest

import model  # noqa: F401  (tf-keras before TensorFlow)
from convert.export import export_tflite
from convert.on_device import (
    STATE_NAMES,
    TRAINING_SIGNATURES,
    OnDeviceConfig,
    OnDeviceModule,
    convert_on_device,
    write_on_device_model,
)
from convert.ops import non_builtin_operators
from model.sasrec import PADDING_SCORE, SASRec, SASRecConfig
from runtime.litert import interpreter_class

N_ITEMS, MAX_LEN, DIM, TOP_K, SPARE = 40, 6, 8, 5, 4
CONFIG = OnDeviceConfig(spare_items=SPARE, learning_rate=0.2, weight_decay=0.01)
HISTORY = np.array([[0, 0, 3, 17, 9, 25]], np.int32)


def student(n_items: int = N_ITEMS, max_len: int = MAX_LEN, dim: int = DIM, **overrides) -> SASRec:
    values = {"tt_rank": 4, "stp_factor": 2, "num_blocks": 1}
    values.update(overrides)
    config = SASRecConfig(
        n_items=n_items, max_len=max_len, hidden_dim=dim, dropout=0.0, item_table="stp_tt", **values
    )
    return SASRec(config).build_for_inference()


@pytest.fixture(scope="module")
def exported():
    keras_model = student()
    return keras_model, convert_on_device(keras_model, TOP_K, CONFIG)


def runners(flatbuffer: bytes) -> dict:
    interpreter = interpreter_class()(model_content=flatbuffer)
    return {name: interpreter.get_signature_runner(name) for name in TRAINING_SIGNATURES}


def random_state(seed: int, active: tuple[int, ...]) -> dict[str, np.ndarray]:
    """A state away from zero (every term of the gradient matters), slots `active` in use."""
    rng = np.random.default_rng(seed)
    spare_active = np.zeros(SPARE, np.float32)
    spare_active[list(active)] = 1.0
    return {
        "adapter_scale": rng.normal(scale=0.3, size=DIM).astype(np.float32),
        "adapter_shift": rng.normal(scale=0.3, size=DIM).astype(np.float32),
        "item_bias": rng.normal(scale=0.3, size=N_ITEMS + 1 + SPARE).astype(np.float32),
        "spare_vectors": rng.normal(scale=0.5, size=(SPARE, DIM)).astype(np.float32),
        "spare_active": spare_active,
    }


def numpy_train_step(
    keras_model: SASRec, history: np.ndarray, target: int, state: dict
) -> tuple[float, dict]:
    """The reference: softmax cross-entropy of u = v (1 + scale) + shift against [table; spare] rows + bias,
    gradients by hand, one SGD step with weight decay."""
    vector = keras_model.final_vector(keras_model.encode(history), history).numpy()[0].astype(np.float64)
    table = keras_model.item_table.materialize().numpy()
    rows = np.concatenate([table, state["spare_vectors"]]).astype(np.float64)
    user = vector * (1 + state["adapter_scale"]) + state["adapter_shift"]
    logits = rows @ user + state["item_bias"]
    rankable = np.concatenate([[False], np.ones(N_ITEMS, bool), state["spare_active"] > 0.5])
    logits = np.where(rankable, logits, -np.inf)
    probabilities = np.exp(logits - logits.max())
    probabilities /= probabilities.sum()
    loss = -np.log(probabilities[target])
    error = probabilities.copy()
    error[target] -= 1.0
    user_gradient = error @ rows
    rate, decay = CONFIG.learning_rate, CONFIG.weight_decay
    updated = dict(state)
    gradients = {"adapter_scale": vector * user_gradient, "adapter_shift": user_gradient, "item_bias": error}
    for name, gradient in gradients.items():
        updated[name] = state[name] - rate * (gradient + decay * state[name])
    return loss, updated


def test_builtin_operators_only_and_every_signature(exported):
    _, flatbuffer = exported
    assert non_builtin_operators(flatbuffer) == []
    signatures = interpreter_class()(model_content=flatbuffer).get_signature_list()
    assert sorted(signatures) == sorted(TRAINING_SIGNATURES)
    assert sorted(signatures["get_weights"]["outputs"]) == sorted(STATE_NAMES)


def test_untrained_state_scores_and_recommends_as_the_plain_student(exported):
    keras_model, flatbuffer = exported
    run = runners(flatbuffer)
    scores = run["score"](history=HISTORY)["scores"][0]
    assert scores.shape == (N_ITEMS + 1 + SPARE,)
    expected = keras_model(HISTORY).numpy()[0]
    np.testing.assert_allclose(scores[1 : N_ITEMS + 1], expected[1:], rtol=1e-5, atol=1e-6)
    assert scores[0] == PADDING_SCORE and np.all(scores[N_ITEMS + 1 :] == PADDING_SCORE)
    plain_recommend = interpreter_class()(model_content=export_tflite(keras_model, TOP_K))
    reference = plain_recommend.get_signature_runner("recommend")(history=HISTORY)
    np.testing.assert_array_equal(run["recommend"](history=HISTORY)["item_ids"], reference["item_ids"])


@pytest.mark.parametrize("target", [11, N_ITEMS + 2])  # a trained item, and an active spare slot
def test_one_train_step_equals_numpy_reference(exported, target):
    keras_model, flatbuffer = exported
    run = runners(flatbuffer)
    state = random_state(seed=target, active=(0, 1))
    run["set_weights"](**state)
    loss = run["train"](history=HISTORY, target=np.array([target], np.int32))["loss"]
    expected_loss, expected = numpy_train_step(keras_model, HISTORY, target, state)
    np.testing.assert_allclose(loss, expected_loss, rtol=1e-4)
    weights = run["get_weights"]()
    for name in STATE_NAMES:
        np.testing.assert_allclose(weights[name], expected[name], rtol=1e-4, atol=1e-6, err_msg=name)
    assert not np.allclose(weights["adapter_shift"], state["adapter_shift"])


def test_loss_falls_over_repeated_steps_on_a_fixed_pair(exported):
    _, flatbuffer = exported
    run = runners(flatbuffer)
    target = np.array([31], np.int32)
    losses = [float(run["train"](history=HISTORY, target=target)["loss"]) for _ in range(15)]
    assert np.all(np.diff(losses) < 0), losses
    assert losses[-1] < 0.5 * losses[0]
    assert run["recommend"](history=HISTORY)["item_ids"][0, 0] == 31


def test_state_round_trip_through_a_new_interpreter_gives_identical_scores(exported):
    _, flatbuffer = exported
    trained = runners(flatbuffer)
    trained["set_items"](slots=np.array([2, -1, -1, -1], np.int32), vectors=np.ones((SPARE, DIM), np.float32))
    for target in (4, 8, N_ITEMS + 3, 4):
        trained["train"](history=HISTORY, target=np.array([target], np.int32))
    state = trained["get_weights"]()
    fresh = runners(flatbuffer)
    assert fresh["set_weights"](**state)["active_items"] == 1
    for signature, output in (("score", "scores"), ("recommend", "item_ids"), ("recommend", "scores")):
        np.testing.assert_array_equal(
            fresh[signature](history=HISTORY)[output], trained[signature](history=HISTORY)[output]
        )


def test_set_items_ranks_an_item_exactly_as_its_table_row(exported):
    keras_model, flatbuffer = exported
    run = runners(flatbuffer)
    best = int(run["recommend"](history=HISTORY)["item_ids"][0, 0])
    row = keras_model.item_table.lookup(np.array([best])).numpy()
    vectors = np.zeros((SPARE, DIM), np.float32)
    vectors[0] = row[0]
    slots = np.array([1, -1, -1, -1], np.int32)  # slot 1 is item N_ITEMS + 2; -1 entries are skipped
    assert run["set_items"](slots=slots, vectors=vectors)["active_items"] == 1
    scores = run["score"](history=HISTORY)["scores"][0]
    np.testing.assert_allclose(scores[N_ITEMS + 2], scores[best], rtol=1e-5)
    assert np.all(scores[[N_ITEMS + 1, N_ITEMS + 3, N_ITEMS + 4]] == PADDING_SCORE)
    top_two = set(run["recommend"](history=HISTORY)["item_ids"][0, :2].tolist())
    assert top_two == {best, N_ITEMS + 2}
    # In a history, the added item reads its own vector: the same as the item whose row it copied.
    with_new = np.where(HISTORY == 25, N_ITEMS + 2, HISTORY).astype(np.int32)
    with_row = np.where(HISTORY == 25, best, HISTORY).astype(np.int32)
    np.testing.assert_allclose(
        run["score"](history=with_new)["scores"][0, 1 : N_ITEMS + 1],
        run["score"](history=with_row)["scores"][0, 1 : N_ITEMS + 1],
        rtol=1e-5,
        atol=1e-6,
    )


def test_inactive_slots_are_never_recommended(exported):
    _, flatbuffer = exported
    run = runners(flatbuffer)
    state = random_state(seed=3, active=())
    state["spare_vectors"] *= 1000.0  # would outscore every item if it were ranked
    run["set_weights"](**state)
    item_ids = run["recommend"](history=HISTORY)["item_ids"][0]
    assert item_ids.max() <= N_ITEMS
    assert np.all(run["score"](history=HISTORY)["scores"][0, N_ITEMS + 1 :] == PADDING_SCORE)


def test_training_file_is_at_most_1_3x_the_plain_student_of_ml_1m_shape():
    """The shipped ML-1M student's shape (bench/presets.py): the training file adds its state and one more
    subgraph, never a second copy of a frozen weight. (The synthetic student, d = 32 with 1000 items, is so
    small that the extra subgraph alone is 0.2x of it: 1.45x there, see BENCHMARKS.md.)"""
    keras_model = student(
        n_items=3416,
        max_len=200,
        dim=64,
        num_blocks=2,
        tt_rank=12,
        tt_item_factors=(59, 58),
        tt_dim_factors=(8, 8),
    )
    plain = export_tflite(keras_model, 20)
    training = convert_on_device(keras_model, 20, OnDeviceConfig())
    assert len(training) <= 1.3 * len(plain), (len(training), len(plain))


def test_export_hook_writes_a_model_every_runtime_loads(exported, tmp_path):
    """`--on_device_training` parsed into its config, and the file it writes: a sidecar `load_artifact`
    verifies and a `Recommender` serves like the plain student."""
    from absl import flags

    from convert.export_flags import define_flags, on_device_config
    from convert.export_folder import ON_DEVICE_FILE
    from runtime.litert import Recommender
    from runtime.sidecar import VOCAB_FILE, contract_fields, load_artifact
    from runtime.vocab import write_vocab
    from tests.runtime.conftest import tiny_vocab

    values = flags.FlagValues()
    define_flags(values)
    values(["to_tflite", "--on_device_training", f"--spare_items={SPARE}", "--on_device_learning_rate=0.2"])
    config = on_device_config(values)
    assert config == OnDeviceConfig(spare_items=SPARE, learning_rate=0.2, weight_decay=0.01)
    values(["to_tflite", "--noon_device_training"])
    assert on_device_config(values) is None

    keras_model, _ = exported
    write_vocab(tmp_path / VOCAB_FILE, tiny_vocab(N_ITEMS))
    max_len = keras_model.config.max_len
    fields = contract_fields("student", "fp32_on_device", "synthetic", N_ITEMS, max_len, TOP_K)
    path = tmp_path / ON_DEVICE_FILE
    write_on_device_model(keras_model, TOP_K, config, path, fields)
    sidecar, _ = load_artifact(path)
    assert sidecar["signatures"]["score"]["outputs"]["scores"] == [1, N_ITEMS + 1 + SPARE]
    assert sidecar["on_device"]["spare_items"] == SPARE
    assert sidecar["on_device"]["first_spare_id"] == N_ITEMS + 1
    recommender = Recommender(path)
    item_ids, _ = recommender.recommend(HISTORY[0])
    expected = keras_model(HISTORY).numpy()[0]
    expected[HISTORY[0]] = -np.inf
    np.testing.assert_array_equal(item_ids, np.argsort(-expected, kind="stable")[:TOP_K])


def test_an_explore_path_model_is_refused_with_the_flag_to_drop():
    explore = student(repeat_scores=True, explore_path=True)
    with pytest.raises(ValueError, match="export it without --on_device_training"):
        OnDeviceModule(explore, TOP_K, OnDeviceConfig(spare_items=2))
