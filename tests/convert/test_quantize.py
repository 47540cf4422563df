"""Post-training variants: which apply to a role, calibration data, builtin-only ops, contract constants."""

import numpy as np
import pytest

import model  # noqa: F401
from convert.export import save_export_module
from convert.ops import builtin_only, constant_tensors
from convert.parity import compare_scores, keras_scores
from convert.quantize import (
    VARIANTS,
    VariantChoice,
    convert_variant,
    padding_column,
    representative_histories,
    variants_for_data,
    variants_for_role,
)
from model.keras_setup import keras
from model.sasrec import SASRec, SASRecConfig
from runtime.litert import interpreter_class

N_ITEMS, MAX_LEN = 30, 5
TRAIN_SEQUENCES = [np.arange(1, 9), np.array([5, 6, 7]), np.array([9])]


@pytest.fixture(scope="module")
def student(tmp_path_factory) -> SASRec:
    # Seeded: the weights must not depend on what ran before in this worker (full_int8 keeps the padding
    # below the row minimum only inside the calibrated output range, which the weights decide).
    keras.utils.set_random_seed(0)
    config = SASRecConfig(
        n_items=N_ITEMS, max_len=MAX_LEN, hidden_dim=4, num_blocks=1, item_table="stp_tt", tt_rank=2
    )
    return SASRec(config).build_for_inference()


@pytest.fixture(scope="module")
def saved_models(student, tmp_path_factory) -> dict[str, object]:
    folder = tmp_path_factory.mktemp("saved")
    return {
        column: save_export_module(student, 3, folder / column, column)
        for column in ("sentinel", "below_row_minimum")
    }


@pytest.fixture(scope="module")
def saved_model(saved_models):
    return saved_models["sentinel"]


def test_variants_per_role():
    assert variants_for_role("student", VARIANTS) == list(VARIANTS)
    assert "qat_int8" not in variants_for_role("teacher", VARIANTS)
    assert variants_for_role("teacher", ["dynamic_int8", "fp32"]) == ["fp32", "dynamic_int8"]
    with pytest.raises(ValueError, match="int4"):
        variants_for_role("student", ["int4"])


def test_qat_is_left_out_when_its_fine_tune_would_be_a_handful_of_steps():
    # README's CSV: 73 sequences in batches of 16 is 5 steps; the default synthetic run: 2,000 in 128 is 16.
    choice = variants_for_data(VARIANTS, training_rows=73, batch_size=16, qat_epochs=1)
    assert "qat_int8" not in choice.student
    assert choice.reasons[0].startswith("qat_int8: its fine-tune would be 5 steps")
    assert "qat_int8" in variants_for_data(VARIANTS, 73, batch_size=16, qat_epochs=2).student
    assert "qat_int8" in variants_for_data(VARIANTS, 73, batch_size=16, qat_epochs=1, keep_qat=True).student
    default_run = variants_for_data(VARIANTS, training_rows=2000, batch_size=128, qat_epochs=1)
    assert default_run == VariantChoice(VARIANTS, VARIANTS)


def test_on_small_data_both_models_are_exported_as_fp32_and_dynamic_int8():
    choice = variants_for_data(VARIANTS, training_rows=511, batch_size=16, qat_epochs=2)
    assert choice.teacher == ("fp32", "dynamic_int8")
    assert choice.student == ("fp32", "dynamic_int8", "qat_int8")
    assert choice.reasons == (
        "fp16, full_int8: on 511 training sequences (under 512) a conversion costs more "
        "than training; --variants asks for them",
    )
    assert variants_for_data(VARIANTS, 512, batch_size=16, qat_epochs=2) == VariantChoice(VARIANTS, VARIANTS)
    only_fp16 = variants_for_data(("fp32", "fp16"), training_rows=73, batch_size=16, qat_epochs=1)
    assert only_fp16 == VariantChoice(("fp32",), ("fp32",), only_fp16.reasons)
    assert only_fp16.reasons[0].startswith("fp16: on 73 training sequences")
    named = variants_for_data(("fp32",), training_rows=73, batch_size=16, qat_epochs=1)
    assert named == VariantChoice(("fp32",), ("fp32",))


def test_calibration_histories_are_prefixes_of_training_sequences():
    histories = representative_histories(TRAIN_SEQUENCES, MAX_LEN, count=20, seed=3)
    assert histories.shape == (20, MAX_LEN) and histories.dtype == np.int32
    for history in histories:
        items = history[history != 0].tolist()
        # Encoding keeps the most recent MAX_LEN items of a training prefix: a window ending at the cut.
        windows = [
            sequence[max(0, end - len(items)) : end].tolist()
            for sequence in TRAIN_SEQUENCES
            for end in range(1, len(sequence) + 1)
        ]
        assert items in windows


@pytest.mark.parametrize("variant", ["fp32", "fp16", "dynamic_int8", "full_int8"])
def test_every_variant_is_builtin_only_and_keeps_the_padding_score(saved_models, variant):
    calibration = representative_histories(TRAIN_SEQUENCES, MAX_LEN, 10)
    conversion = convert_variant(saved_models[padding_column(variant)], variant, calibration)
    assert builtin_only(conversion.flatbuffer)
    runner = interpreter_class()(model_content=conversion.flatbuffer).get_signature_runner("score")
    # A calibration history, so that its scores lie inside the output range the calibration saw.
    scores = runner(history=calibration[:1])["scores"][0]
    assert scores.shape == (N_ITEMS + 1,)
    if variant == "full_int8":  # -1e9 would share one int8 range with the scores: row minimum - 1 instead
        assert -1e3 < scores[0] < scores[1:].min()
    else:
        assert scores[0] == -1e9  # float16 weights would clip a folded constant to -65504


def test_full_int8_needs_calibration(saved_model):
    with pytest.raises(ValueError, match="calibration"):
        convert_variant(saved_model, "full_int8")


def test_dynamic_int8_stores_each_quantized_core_once_for_both_signatures(tmp_path):
    """`lookup` (GATHER) and `score` (FULLY_CONNECTED) read the same int8 core; no per-row scale copies."""
    config = SASRecConfig(
        n_items=2000,
        max_len=MAX_LEN,
        hidden_dim=16,
        num_blocks=1,
        item_table="stp_tt",
        tt_rank=8,
        stp_factor=2,
    )
    student = SASRec(config).build_for_inference()
    first_core = tuple(student.item_table.cores[0].shape)
    assert np.prod(first_core) >= 1024  # large enough for the converter to quantize
    flatbuffer = convert_variant(save_export_module(student, 3, tmp_path), "dynamic_int8").flatbuffer
    core_tensors = [tensor for tensor in constant_tensors(flatbuffer) if tensor.shape == first_core]
    assert {tensor.dtype for tensor in core_tensors} == {"INT8"}
    assert len({tensor.buffer for tensor in core_tensors}) == 1


def full_int8_parity(float_model: SASRec, histories: np.ndarray, folder) -> dict[str, float]:
    """`compare_scores` of the full_int8 flatbuffer (calibrated on `histories`) against Keras."""
    saved = save_export_module(float_model, 5, folder, padding_column("full_int8"))
    runner = interpreter_class()(
        model_content=convert_variant(saved, "full_int8", histories).flatbuffer
    ).get_signature_runner("score")
    int8_scores = np.stack([runner(history=history[None])["scores"][0] for history in histories])
    return compare_scores(keras_scores(float_model, histories), int8_scores, histories)


@pytest.mark.parametrize("item_table", ["dense", "stp_tt"])
def test_full_int8_keeps_the_ranking_of_the_float_model(item_table, tmp_path):
    """Masks that add -1e9, or LayerNorm of zero rows, leave int8 a few steps for the real values: the top-10
    then agreed with Keras on 4% of lists (this setup at commit 04746de, before model/attention.py)."""
    max_len = 8
    config = SASRecConfig(
        n_items=200,
        max_len=max_len,
        hidden_dim=16,
        num_blocks=1,
        dropout=0.0,
        item_table=item_table,
        tt_rank=4,
        stp_factor=2,
    )
    float_model = SASRec(config).build_for_inference()
    rng = np.random.default_rng(0)
    histories = np.zeros((64, max_len), np.int32)
    for row, history in enumerate(histories):
        length = row % max_len + 1  # every amount of padding, including none
        history[max_len - length :] = rng.integers(1, config.n_items + 1, length)
    parity = full_int8_parity(float_model, histories, tmp_path)
    assert parity["top10_agreement"] > 0.9


@pytest.mark.parametrize("item_table", ["dense", "stp_tt"])
def test_full_int8_keeps_the_repeat_bonus(item_table, tmp_path):
    """Short histories with repeats: a float scatter of the bonus under int8 shifted every unseen item by
    the scatter's zero point and summed repeats wrongly (max relative error 1.1-1.6 before model/repeat.py
    gathered the bonus through an int32 slot map)."""
    max_len, dim = 20, 16
    config = SASRecConfig(
        n_items=300,
        max_len=max_len,
        hidden_dim=dim,
        num_blocks=1,
        dropout=0.0,
        item_table=item_table,
        tt_rank=4,
        stp_factor=2,
        repeat_scores=True,
    )
    keras.utils.set_random_seed(0)  # max_rel_err of stp_tt ranged 0.08-0.37 over seeds 0-3 (dense ~0.05)
    float_model = SASRec(config).build_for_inference()
    rng = np.random.default_rng(0)
    float_model.repeat.recency.assign((2.0 + rng.normal(size=max_len)).astype(np.float32))
    float_model.repeat.gate.set_weights([0.1 * rng.normal(size=(dim, 1)), np.ones(1)])
    histories = np.zeros((128, max_len), np.int32)
    for row, history in enumerate(histories):
        items = rng.integers(1, config.n_items + 1, row % 6 + 1)
        items[rng.random(items.size) < 0.3] = items[-1]
        history[max_len - items.size :] = items
    parity = full_int8_parity(float_model, histories, tmp_path)
    assert parity["max_rel_err"] < 0.5 and parity["top10_agreement"] > 0.9
