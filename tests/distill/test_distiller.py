"""The OD-Rec Distiller: hot/cold split, recombined views, gradients to every core, frozen teacher."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from distill.distiller import DistillConfig, Distiller
from distill.losses import soft_target_kd
from distill.pipeline import shifted_training_arrays, training_dataset
from model.keras_setup import keras, tf
from model.losses import softmax_cross_entropy
from model.sasrec import SASRec
from runtime.history import encode_batch
from runtime.metrics import head_item_mask
from tests.conftest import tiny_sasrec_config

N_ITEMS = 20
HOT = {1, 2, 3, 4}
# Full sequences; the model reads all but the last item. Rows 0 and 4 mix hot and cold items, row 1 is
# hot-only, row 2 cold-only, row 3 has one input item (unusable for the contrastive and predictive terms).
SEQUENCES = [
    [1, 2, 10, 11, 12, 7],
    [1, 3, 4, 2],
    [10, 15, 16, 9],
    [5, 6],
    [3, 14, 2, 17, 4, 8],
]
STUDENT_TABLES = [
    pytest.param({"tt_rank": 2, "stp_factor": 1}, id="2cores-t1"),
    pytest.param({"tt_rank": 4, "stp_factor": 2}, id="2cores-t2"),
    pytest.param(
        {"tt_rank": 4, "stp_factor": 2, "tt_item_factors": (3, 7, 1), "tt_dim_factors": (1, 2, 2)},
        id="3cores-t2",
    ),
]


def hot_items() -> np.ndarray:
    mask = np.zeros(N_ITEMS + 1, dtype=bool)
    mask[sorted(HOT)] = True
    return mask


def batch() -> tuple[tf.Tensor, tf.Tensor]:
    inputs, targets = shifted_training_arrays([np.array(s) for s in SEQUENCES], max_len=8)
    return tf.constant(inputs), tf.constant(targets)


def make_distiller(student_table: dict | None = None, config: DistillConfig | None = None, seed: int = 0):
    """Teacher d = 8 (dense), student d = 4 (STP-TT): the views must map between the two widths."""
    keras.utils.set_random_seed(seed)
    teacher = SASRec(tiny_sasrec_config(n_items=N_ITEMS, hidden_dim=8)).build_for_inference()
    table = student_table or {"tt_rank": 4, "stp_factor": 2}
    student = SASRec(
        tiny_sasrec_config(n_items=N_ITEMS, hidden_dim=4, item_table="stp_tt", **table)
    ).build_for_inference()
    return Distiller(teacher, student, hot_items(), config or DistillConfig())


def test_hot_cold_masks_on_a_hand_made_batch():
    distiller = make_distiller()
    history, _ = batch()
    hot, cold = distiller.hot_cold_masks(history)
    F, T = False, True
    expected_hot = [
        [F, F, F, T, T, F, F, F],
        [F, F, F, F, F, T, T, T],
        [F, F, F, F, F, F, F, F],
        [F, F, F, F, F, F, F, F],
        [F, F, F, T, F, T, F, T],
    ]
    expected_cold = [
        [F, F, F, F, F, T, T, T],
        [F, F, F, F, F, F, F, F],
        [F, F, F, F, F, T, T, T],
        [F, F, F, F, F, F, F, T],
        [F, F, F, F, T, F, T, F],
    ]
    np.testing.assert_array_equal(hot.numpy(), expected_hot)
    np.testing.assert_array_equal(cold.numpy(), expected_cold)


def test_views_recombine_across_models_and_pass_pure_sequences_through():
    distiller = make_distiller()
    teacher, student = distiller.teacher, distiller.student
    history, _ = batch()
    student_final = student.final_vector(student.encode(history), history)
    teacher_final = teacher.final_vector(teacher.encode(history), history)
    student_items = student.item_table.lookup(history)
    teacher_items = teacher.item_table.lookup(history)
    views = distiller.views(history, student_final, teacher_final, student_items, teacher_items)
    cl_s, cl_t, pred_s, pred_t, usable = (view.numpy() for view in views)
    assert cl_s.shape == cl_t.shape == pred_s.shape == (5, 4)
    assert pred_t.shape == (5, 8)
    np.testing.assert_array_equal(usable, [True, True, True, False, True])

    pure, mixed = [1, 2, 3], [0, 4]
    student_final, teacher_final = student_final.numpy(), teacher_final.numpy()
    np.testing.assert_allclose(cl_s[pure], student_final[pure], atol=1e-6)
    np.testing.assert_allclose(pred_s[pure], student_final[pure], atol=1e-6)
    np.testing.assert_allclose(pred_t[pure], teacher_final[pure], atol=1e-6)
    pure_projection = distiller.teacher_pure_projection.kernel.numpy()
    np.testing.assert_allclose(cl_t[pure], teacher_final[pure] @ pure_projection, atol=1e-5)

    # Mixed sequences: [hot_S ; cold_T] on the student side, [hot_T ; cold_S] on the teacher side.
    hot, cold = distiller.hot_cold_masks(history)
    hot_s = distiller.student_hot_readout(student_items, hot).numpy()
    cold_s = distiller.student_cold_readout(student_items, cold).numpy()
    hot_t = distiller.teacher_hot_readout(teacher_items, hot).numpy()
    cold_t = distiller.teacher_cold_readout(teacher_items, cold).numpy()
    student_mix = np.concatenate([hot_s, cold_t], axis=1)[mixed]
    teacher_mix = np.concatenate([hot_t, cold_s], axis=1)[mixed]
    np.testing.assert_allclose(cl_s[mixed], student_mix @ distiller.student_view_cl.kernel.numpy(), atol=1e-5)
    np.testing.assert_allclose(cl_t[mixed], teacher_mix @ distiller.teacher_view_cl.kernel.numpy(), atol=1e-5)
    np.testing.assert_allclose(
        pred_s[mixed], student_mix @ distiller.student_view_pred.kernel.numpy(), atol=1e-5
    )
    np.testing.assert_allclose(
        pred_t[mixed], teacher_mix @ distiller.teacher_view_pred.kernel.numpy(), atol=1e-5
    )


@pytest.mark.parametrize("student_table", STUDENT_TABLES)
def test_every_core_gets_a_gradient_from_every_term(student_table):
    distiller = make_distiller(student_table)
    cores = distiller.student.item_table.cores
    assert len(cores) == (3 if "tt_item_factors" in student_table else 2)
    history, targets = batch()
    with tf.GradientTape(persistent=True) as tape:
        terms = distiller.losses_for(history, targets, training=False)
    for term in ("ce", "kd", "cl", "pred"):
        gradients = tape.gradient(terms[term], cores)
        for index, gradient in enumerate(gradients):
            assert gradient is not None, f"{term} does not reach core {index}"
            gradient = tf.convert_to_tensor(gradient).numpy()
            assert np.abs(gradient).max() > 0, f"{term}: zero gradient on core {index}"
    # The heads learn too, the teacher's hot/cold readouts included (the reference never trained them).
    for head in (distiller.teacher_hot_readout, distiller.teacher_cold_readout, distiller.student_view_cl):
        gradients = tape.gradient(terms["cl"], head.trainable_variables)
        assert any(np.abs(tf.convert_to_tensor(g).numpy()).max() > 0 for g in gradients if g is not None)


def test_trained_variables_are_the_student_and_heads_never_the_teacher():
    distiller = make_distiller()
    trained = {variable.ref() for variable in distiller.trained_variables()}
    assert {variable.ref() for variable in distiller.student.trainable_variables} <= trained
    assert not trained & {variable.ref() for variable in distiller.teacher.weights}
    assert not distiller.teacher.trainable


def test_loss_is_the_weighted_sum_and_zero_weights_switch_terms_off():
    config = DistillConfig(ce_weight=0.3, kd_weight=0.5, cl_weight=0.7, pred_weight=0.11, temperature=2.0)
    history, targets = batch()
    terms = make_distiller(config=config).losses_for(history, targets, training=False)
    terms = {name: float(value) for name, value in terms.items()}
    assert terms["loss"] == pytest.approx(
        0.3 * terms["ce"] + 0.5 * terms["kd"] + 0.7 * terms["cl"] + 0.11 * terms["pred"], rel=1e-5
    )
    assert min(terms["ce"], terms["kd"], terms["cl"], terms["pred"]) > 0

    ce_only = make_distiller(config=DistillConfig(ce_weight=1.0, kd_weight=0, cl_weight=0, pred_weight=0))
    terms = ce_only.losses_for(history, targets, False)
    assert float(terms["kd"]) == float(terms["cl"]) == float(terms["pred"]) == 0.0
    vectors, labels, _ = ce_only.student.training_vectors(history, targets, training=False)
    expected_ce = softmax_cross_entropy(ce_only.student.item_scores(vectors), labels)
    assert float(terms["loss"]) == pytest.approx(float(expected_ce), rel=1e-5)


def test_call_delegates_to_the_student():
    distiller = make_distiller()
    history, _ = batch()
    np.testing.assert_array_equal(distiller(history).numpy(), distiller.student(history).numpy())


def test_teacher_and_student_must_share_readout_and_catalogue():
    teacher = SASRec(tiny_sasrec_config(n_items=N_ITEMS)).build_for_inference()
    other = SASRec(tiny_sasrec_config(n_items=N_ITEMS, readout="attention")).build_for_inference()
    with pytest.raises(ValueError, match="readout"):
        Distiller(teacher, other, hot_items(), DistillConfig())
    smaller = SASRec(tiny_sasrec_config(n_items=N_ITEMS - 1)).build_for_inference()
    with pytest.raises(ValueError, match="catalogue"):
        Distiller(teacher, smaller, np.zeros(N_ITEMS, bool), DistillConfig())


def test_a_distillation_epoch_keeps_the_teacher_bit_identical_and_changes_the_student():
    distiller = make_distiller()
    # run_eagerly: the same fit loop and train_step, without minutes of graph tracing on a small CI machine.
    distiller.compile(optimizer=keras.optimizers.Adam(1e-2), run_eagerly=True)
    teacher_before = [weight.numpy().copy() for weight in distiller.teacher.weights]
    student_before = [weight.numpy().copy() for weight in distiller.student.trainable_weights]
    data = training_dataset([np.array(s) for s in SEQUENCES], max_len=8, batch_size=2, seed=0)
    logs = distiller.fit(data, epochs=1, verbose=0).history
    assert set(logs) == {"loss", "ce", "kd", "cl", "pred"}
    for before, after in zip(teacher_before, distiller.teacher.weights, strict=True):
        np.testing.assert_array_equal(after.numpy(), before)
    changed = [
        not np.array_equal(before, after.numpy())
        for before, after in zip(student_before, distiller.student.trainable_weights, strict=True)
    ]
    assert all(changed[: len(distiller.student.item_table.cores)]), "an STP-TT core did not change"
    assert sum(changed) >= len(changed) - 1


def validation_batch(dataset) -> tuple[np.ndarray, np.ndarray]:
    """Validation prefixes as model inputs; only the last position carries the target."""
    history = encode_batch([p.tolist() for p in dataset.valid_prefixes], 8)
    targets = np.zeros_like(history)
    targets[:, -1] = dataset.valid_targets
    return history, targets


def test_a_short_distillation_run_lowers_the_validation_loss(tiny_dataset):
    n_items = tiny_dataset.n_items
    sequences = list(tiny_dataset.train_sequences)
    keras.utils.set_random_seed(0)
    teacher = SASRec(tiny_sasrec_config(n_items=n_items)).build_for_inference()
    teacher.compile(optimizer=keras.optimizers.Adam(1e-2), run_eagerly=True)
    teacher.fit(training_dataset(sequences, 8, 40, seed=0), epochs=2, verbose=0)
    student = SASRec(tiny_sasrec_config(n_items=n_items, item_table="stp_tt")).build_for_inference()
    distiller = Distiller(
        teacher, student, head_item_mask(sequences, n_items), DistillConfig(pred_weight=0.1)
    )
    distiller.compile(optimizer=keras.optimizers.Adam(1e-2), run_eagerly=True)
    history, targets = validation_batch(tiny_dataset)
    before = distiller.losses_for(history, targets, training=False)
    distiller.fit(training_dataset(sequences, 8, 40, seed=0), epochs=2, verbose=0)
    after = distiller.losses_for(history, targets, training=False)
    assert float(after["loss"]) < float(before["loss"])
    assert float(after["ce"]) < float(before["ce"])


def test_repeat_bonus_of_teacher_and_student_reaches_ce_and_kd():
    """Both models score every supervised row with the bonus of the prefix that row was read after."""
    keras.utils.set_random_seed(0)
    teacher_config = tiny_sasrec_config(n_items=N_ITEMS, hidden_dim=8, repeat_scores=True)
    teacher = SASRec(teacher_config).build_for_inference()
    student = SASRec(
        tiny_sasrec_config(n_items=N_ITEMS, hidden_dim=4, item_table="stp_tt", repeat_scores=True)
    ).build_for_inference()
    ce_kd = DistillConfig(ce_weight=1.0, kd_weight=1.0, cl_weight=0.0, pred_weight=0.0)
    distiller = Distiller(teacher, student, hot_items(), ce_kd)
    history, targets = batch()
    before = distiller.losses_for(history, targets, training=False)
    teacher.repeat.recency.assign(np.full(8, 3.0, np.float32))
    after_teacher = distiller.losses_for(history, targets, training=False)
    assert float(after_teacher["ce"]) == pytest.approx(float(before["ce"]))
    assert float(after_teacher["kd"]) != pytest.approx(float(before["kd"]))
    vectors, labels, histories = student.training_vectors(history, targets, training=False)
    student.repeat.recency.assign(np.full(8, 3.0, np.float32))
    expected_ce = softmax_cross_entropy(student.scores_after(vectors, histories), labels)
    after_student = distiller.losses_for(history, targets, training=False)
    assert float(after_student["ce"]) == pytest.approx(float(expected_ce), rel=1e-5)
    assert float(after_student["ce"]) != pytest.approx(float(before["ce"]))


def test_sampled_distillation_needs_top_k_and_a_sampled_student():
    with pytest.raises(ValueError, match="kd_top_k"):
        DistillConfig(sampled=True)
    with pytest.raises(ValueError, match="loss='sampled'"):
        make_distiller(config=DistillConfig(sampled=True, kd_top_k=5))


def test_sampled_distillation_never_scores_the_catalogue_for_the_student(monkeypatch):
    """CE is the student's sampled softmax; KD is over the teacher's top-k, renormalised there."""
    keras.utils.set_random_seed(0)
    teacher = SASRec(tiny_sasrec_config(n_items=N_ITEMS, repeat_scores=True)).build_for_inference()
    student = SASRec(
        tiny_sasrec_config(
            n_items=N_ITEMS, hidden_dim=4, item_table="stp_tt", repeat_scores=True, loss="sampled",
            num_negatives=6,
        )
    ).build_for_inference()
    student.set_item_counts(np.ones(N_ITEMS + 1))
    for model in (teacher, student):
        model.repeat.recency.assign(np.linspace(0.5, 2.0, 8, dtype=np.float32))
    config = DistillConfig(
        ce_weight=1.0, kd_weight=1.0, cl_weight=0.0, pred_weight=0.0, kd_top_k=5, sampled=True
    )
    distiller = Distiller(teacher, student, hot_items(), config)
    history, targets = batch()
    vectors, _, histories = student.training_vectors(history, targets, training=False)
    teacher_vectors, _, _ = teacher.training_vectors(history, targets, training=False)
    teacher_top, top_items = tf.math.top_k(teacher.scores_after(teacher_vectors, histories), 5)
    student_top = tf.gather(student.scores_after(vectors, histories), top_items, batch_dims=1)
    expected_kd = soft_target_kd(teacher_top, student_top, 1.0)

    def catalogue_scores(*args):
        raise AssertionError("the student scored the whole catalogue")

    monkeypatch.setattr(student, "item_scores", catalogue_scores)
    with tf.GradientTape(persistent=True) as tape:
        terms = distiller.losses_for(history, targets, training=False)
    assert float(terms["kd"]) == pytest.approx(float(expected_kd), rel=1e-5)
    assert float(terms["ce"]) > 0
    for term in ("ce", "kd"):
        for core in student.item_table.cores:
            assert np.abs(tf.convert_to_tensor(tape.gradient(terms[term], core)).numpy()).max() > 0


def sampled_student_distiller(config: DistillConfig) -> Distiller:
    """Teacher d = 8 (dense) and an STP-TT student d = 4 with a 6-negative sampled softmax, uniform q."""
    keras.utils.set_random_seed(0)
    teacher = SASRec(tiny_sasrec_config(n_items=N_ITEMS)).build_for_inference()
    student = SASRec(
        tiny_sasrec_config(
            n_items=N_ITEMS, hidden_dim=4, item_table="stp_tt", loss="sampled", num_negatives=6
        )
    ).build_for_inference()
    student.set_item_counts(np.ones(N_ITEMS + 1))
    return Distiller(teacher, student, hot_items(), config)


MATERIALISED = [
    pytest.param(DistillConfig(), id="full"),
    pytest.param(DistillConfig(kd_top_k=5), id="top-k"),
    pytest.param(DistillConfig(kd_top_k=5, sampled=True), id="sampled"),
    pytest.param(DistillConfig(kd_top_k=5, sampled=True, sampled_pred=True), id="sampled-pred"),
]


@pytest.mark.parametrize("config", MATERIALISED)
def test_a_materialised_table_gives_the_same_losses_and_gradients_without_one_lookup(config, monkeypatch):
    history, targets = batch()
    negatives = tf.constant([3, 5, 8, 13, 17, 20])  # fixed, so both runs rank against the same items
    results = []
    for materialize in (False, True):
        distiller = sampled_student_distiller(dataclasses.replace(config, materialize_table=materialize))
        monkeypatch.setattr(distiller.student, "sample_negatives", lambda: negatives)
        if materialize:

            def no_lookup(ids):
                raise AssertionError("materialize_table: the student looked rows up in its STP-TT table")

            monkeypatch.setattr(distiller.student.item_table, "lookup", no_lookup)
        with tf.GradientTape() as tape:
            terms = distiller.losses_for(history, targets, training=False)
        gradients = tape.gradient(terms["loss"], distiller.student.item_table.cores)
        results.append((terms, [tf.convert_to_tensor(g).numpy() for g in gradients]))
    (lookup_terms, lookup_gradients), (materialised_terms, materialised_gradients) = results
    for name in ("loss", "ce", "kd", "cl", "pred"):
        assert float(materialised_terms[name]) == pytest.approx(float(lookup_terms[name]), rel=1e-5, abs=1e-6)
    assert float(materialised_terms["kd"]) > 0
    for materialised, looked_up in zip(materialised_gradients, lookup_gradients, strict=True):
        np.testing.assert_allclose(materialised, looked_up, rtol=1e-4, atol=1e-6)


def numpy_sampled_softmax(queries, labels, table, negatives, log_q) -> np.ndarray:
    """Per-row loss: label against the negatives, logits minus log q, accidental hits dropped."""
    losses = []
    for query, label in zip(queries, labels, strict=True):
        positive = query @ table[label] - log_q[label]
        kept = [item for item in negatives if item != label]
        logits = np.array([positive] + [query @ table[item] - log_q[item] for item in kept])
        losses.append(np.log(np.sum(np.exp(logits - logits.max()))) + logits.max() - positive)
    return np.array(losses)


def test_sampled_predictive_term_ranks_each_view_against_the_ce_negatives_through_its_table(monkeypatch):
    config = DistillConfig(kd_top_k=5, sampled=True, sampled_pred=True)
    distiller = sampled_student_distiller(config)
    student, teacher = distiller.student, distiller.teacher
    negatives = np.array([3, 5, 8, 13, 17, 20])
    draws = []

    def sample_negatives():
        draws.append(1)
        return tf.constant(negatives, tf.int32)

    def catalogue_scores(*args):
        raise AssertionError("the student scored the whole catalogue")

    teacher_scorings = []
    teacher_item_scores = teacher.item_scores

    def counted_teacher_scores(*args):
        teacher_scorings.append(1)
        return teacher_item_scores(*args)

    monkeypatch.setattr(student, "sample_negatives", sample_negatives)
    monkeypatch.setattr(student, "item_scores", catalogue_scores)
    monkeypatch.setattr(teacher, "item_scores", counted_teacher_scores)
    history, targets = batch()
    terms = distiller.losses_for(history, targets, training=False)
    assert len(draws) == 1, "the CE and the predictive term must share one draw of negatives"
    assert len(teacher_scorings) == 1, "the teacher scores the catalogue for its top k only (live here)"

    student_items = student.item_table.lookup(history)
    student_final = student.final_vector(student.encode(history), history)
    teacher_final = teacher.final_vector(teacher.encode(history), history)
    _, _, pred_s, pred_t, usable = distiller.views(
        history, student_final, teacher_final, student_items, teacher.item_table.lookup(history)
    )
    usable = usable.numpy()
    labels = targets.numpy()[:, -1][usable]
    log_q = student.log_sampling_prob.numpy()
    student_table = student.item_table.materialize().numpy()
    teacher_table = teacher.item_table.materialize().numpy()
    expected = (
        numpy_sampled_softmax(pred_s.numpy()[usable], labels, student_table, negatives, log_q).mean()
        + numpy_sampled_softmax(pred_t.numpy()[usable], labels, teacher_table, negatives, log_q).mean()
    )
    assert float(terms["pred"]) == pytest.approx(expected, rel=1e-5)
    full = sampled_student_distiller(dataclasses.replace(config, sampled_pred=False))
    assert float(full.losses_for(history, targets, training=False)["pred"]) != pytest.approx(expected)
