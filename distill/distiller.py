"""OD-Rec self-supervised knowledge distillation of a frozen SASRec teacher into an STP-TT student."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from distill.item_order import ITEM_ORDERS
from distill.losses import info_nce, soft_target_kd, top_k_kd_from
from distill.teacher_cache import cached_teacher_targets, live_teacher_targets, supervised_mask
from model.keras_setup import keras, tf
from model.losses import sampled_softmax_losses, softmax_cross_entropy
from model.sasrec import AttentionReadout, SASRec


@dataclass(frozen=True)
class DistillConfig:
    """Loss weights (reference defaults) and temperatures; a weight of 0 switches its term off."""

    ce_weight: float = 0.2
    kd_weight: float = 0.8
    cl_weight: float = 0.2
    pred_weight: float = 0.001
    temperature: float = 1.0
    cl_temperature: float = 0.2
    # 0: KD over the full catalogue; k > 0: over the teacher's top-k items plus one tail bucket (top_k_kd).
    kd_top_k: int = 0
    # Large catalogues: CE and KD never score the whole catalogue for the student's supervised rows. CE is its
    # sampled softmax and KD is over the teacher's top-k items alone (renormalised there); the frozen
    # teacher's forward pass still scores every item to find them, and the predictive term (one row per
    # sequence, weight 0.001) still scores the catalogue.
    sampled: bool = False
    # Start the student from the teacher (model.warm_start): cores = TT-SVD of the teacher's table, backbone
    # copied. Off by default: OD-Rec trains the student from a random initialisation.
    warm_start: bool = False
    # With kd_top_k > 0 the frozen teacher's top-k targets and sequence vectors are computed once per
    # (teacher, data) and read from its folder (distill.teacher_cache) instead of every step.
    cache_teacher: bool = True
    # Which internal id each item takes in the student (distill.item_order): "natural" (the dataset's),
    # "teacher" (a balanced clustering of the teacher's table for the TT index) or "cooccurrence".
    item_order: str = "natural"
    # Reconstruct the student's item table once per step (`materialize`, [n_items + 1, d]) and gather every
    # row the step needs from it (history, labels, negatives, KD candidates), scoring the catalogue by one
    # matmul: the same losses, with one reconstruction per item instead of one STP-TT lookup per occurrence
    # (sampled KD alone looks up k items at every supervised position). Costs N x d floats per step.
    materialize_table: bool = False
    # The predictive term as a logQ-corrected sampled softmax over the student's negatives (the sampled CE's
    # own, shared), through both tables, instead of scoring the whole catalogue through both.
    sampled_pred: bool = False

    @property
    def uses_teacher_cache(self) -> bool:
        return self.cache_teacher and self.kd_top_k > 0

    def __post_init__(self):
        if self.item_order not in ITEM_ORDERS:
            raise ValueError(f"DistillConfig.item_order={self.item_order!r}: choose one of {ITEM_ORDERS}")
        if self.kd_top_k < 0:
            raise ValueError(f"DistillConfig.kd_top_k={self.kd_top_k} must be >= 0 (0 = full-catalogue KD)")
        if self.sampled and self.kd_weight and not self.kd_top_k:
            raise ValueError(
                "DistillConfig.sampled needs kd_top_k > 0 (--kd_top_k): sampled distillation's KD is over "
                "the teacher's top-k items"
            )

    def to_dict(self) -> dict:
        return asdict(self)


class Distiller(keras.Model):
    """Keras "Distiller": `train_step` trains the student and the distillation heads; the teacher is frozen.

    Terms: (1) CE of the student; (2) soft-target KD over the full catalogue; (3) InfoNCE between the
    student-side and teacher-side views: sequences with both hot and cold items are split into hot/cold
    subsequences, read out per model and recombined across models ([hot_S; cold_T] vs [hot_T; cold_S]) through
    bias-free projections, while pure sequences pair (z_S, z_T); (4) the recombined views predict the target
    through the student's and the teacher's tables. Heads are never exported; `call` delegates to the student.

    Args:
        teacher: trained SASRec; frozen here (not trainable, inference mode).
        student: SASRec to train (STP-TT table), same readout as the teacher so KD rows align.
        hot_items: bool [n_items + 1], True for the top 20% items by training frequency.
        config: DistillConfig.
    """

    def __init__(self, teacher: SASRec, student: SASRec, hot_items, config: DistillConfig, **kwargs):
        super().__init__(**kwargs)
        if config.sampled and student.config.loss != "sampled":
            raise ValueError(
                "sampled distillation needs a student with loss='sampled' (its config has "
                f"{student.config.loss!r})"
            )
        if (
            teacher.config.readout != student.config.readout
            or teacher.config.n_items != student.config.n_items
        ):
            raise ValueError(
                "teacher and student must share readout and catalogue: teacher "
                f"({teacher.config.readout}, {teacher.config.n_items} items) vs student "
                f"({student.config.readout}, {student.config.n_items} items)"
            )
        self.teacher = teacher
        self.teacher.trainable = False
        self.student = student
        self.distill_config = config
        self.hot_items = tf.constant(hot_items, dtype=tf.bool)
        student_dim, teacher_dim = student.config.hidden_dim, teacher.config.hidden_dim
        self.student_hot_readout = AttentionReadout(student_dim, name="student_hot_readout")
        self.student_cold_readout = AttentionReadout(student_dim, name="student_cold_readout")
        self.teacher_hot_readout = AttentionReadout(teacher_dim, name="teacher_hot_readout")
        self.teacher_cold_readout = AttentionReadout(teacher_dim, name="teacher_cold_readout")
        dense = lambda units, name: keras.layers.Dense(units, use_bias=False, name=name)  # noqa: E731
        self.student_view_cl = dense(student_dim, "student_view_cl")
        self.teacher_view_cl = dense(student_dim, "teacher_view_cl")
        self.student_view_pred = dense(student_dim, "student_view_pred")
        self.teacher_view_pred = dense(teacher_dim, "teacher_view_pred")
        # Pure sequences pair (z_S, z_T); a teacher of another width is mapped to the student's width.
        self.teacher_pure_projection = dense(student_dim, "teacher_pure_projection")
        self.trackers = {name: keras.metrics.Mean(name=name) for name in ("loss", "ce", "kd", "cl", "pred")}
        # Create every head's weights now, so the optimizer (built at the first step) sees all of them.
        dummy = tf.ones([1, student.config.max_len], tf.int32)
        self.losses_for(dummy, dummy, training=False)

    @property
    def metrics(self):
        return list(self.trackers.values())

    def call(self, history, training=False):
        return self.student(history, training=training)

    def heads(self) -> list[keras.layers.Layer]:
        """Distillation-only layers: trained here, never counted in the deployed size, never exported."""
        return [
            self.student_hot_readout,
            self.student_cold_readout,
            self.teacher_hot_readout,
            self.teacher_cold_readout,
            self.student_view_cl,
            self.teacher_view_cl,
            self.student_view_pred,
            self.teacher_view_pred,
            self.teacher_pure_projection,
        ]

    def trained_variables(self) -> list[tf.Variable]:
        variables = list(self.student.trainable_variables)
        for head in self.heads():
            variables.extend(head.trainable_variables)
        return variables

    def hot_cold_masks(self, history: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        """[batch, L] bool masks of hot and cold items in the (padded) history."""
        real = tf.not_equal(history, 0)
        hot = tf.logical_and(tf.gather(self.hot_items, history), real)
        return hot, tf.logical_and(real, tf.logical_not(hot))

    def views(self, history, student_final, teacher_final, student_items, teacher_items):
        """Student-side and teacher-side views for the contrastive and predictive terms.

        Returns (cl_student, cl_teacher, pred_student, pred_teacher, usable): views [batch, d] and a [batch]
        bool mask of sequences with at least 2 items.
        """
        hot, cold = self.hot_cold_masks(history)
        mixed = tf.logical_and(tf.reduce_any(hot, axis=1), tf.reduce_any(cold, axis=1))[:, None]
        hot_s, cold_s = (
            self.student_hot_readout(student_items, hot),
            self.student_cold_readout(student_items, cold),
        )
        hot_t, cold_t = (
            self.teacher_hot_readout(teacher_items, hot),
            self.teacher_cold_readout(teacher_items, cold),
        )
        student_mix, teacher_mix = tf.concat([hot_s, cold_t], -1), tf.concat([hot_t, cold_s], -1)
        pure_teacher = self.teacher_pure_projection(teacher_final)
        cl_student = tf.where(mixed, self.student_view_cl(student_mix), student_final)
        cl_teacher = tf.where(mixed, self.teacher_view_cl(teacher_mix), pure_teacher)
        pred_student = tf.where(mixed, self.student_view_pred(student_mix), student_final)
        pred_teacher = tf.where(mixed, self.teacher_view_pred(teacher_mix), teacher_final)
        usable = tf.reduce_sum(tf.cast(tf.not_equal(history, 0), tf.int32), axis=1) >= 2
        return cl_student, cl_teacher, pred_student, pred_teacher, usable

    def losses_for(
        self, history, targets, training: bool, cached: dict | None = None
    ) -> dict[str, tf.Tensor]:
        """Every loss term (unweighted) and the weighted total.

        `cached`: this batch's rows of the teacher cache (distill.teacher_cache; top-k KD only), which stand
        in for the teacher's forward pass and its catalogue-wide scoring.
        """
        cfg = self.distill_config
        history = tf.cast(history, tf.int32)
        targets = tf.cast(targets, tf.int32)
        if cached is not None and not cfg.kd_top_k:
            raise ValueError("a teacher cache holds top-k KD targets: it needs kd_top_k > 0 (--kd_top_k)")
        # Teacher: inference mode, no gradient to its weights (they are not in the trained variables either).
        teacher_top = None
        if cached is not None:
            teacher_top, teacher_final = cached_teacher_targets(self.teacher, targets, cached)
        elif cfg.kd_weight and cfg.kd_top_k:
            teacher_top, teacher_final = live_teacher_targets(
                self.teacher, history, targets, cfg.kd_top_k, cfg.temperature
            )
        else:
            teacher_hidden = tf.stop_gradient(self.teacher.encode(history, training=False))
            teacher_final = tf.stop_gradient(self.teacher.final_vector(teacher_hidden, history))
        teacher_items = tf.stop_gradient(self.teacher.item_table.lookup(history))

        student = self.student
        table_rows = student.item_table.materialize() if cfg.materialize_table else None
        # One lookup of the history's rows serves the encoder and the contrastive views.
        student_items = student.item_rows(history, table_rows)
        student_hidden = student.encode(history, training=training, item_rows=student_items)
        student_final = student.final_vector(student_hidden, history)
        supervised = supervised_mask(student, targets)
        if supervised is None:
            student_rows, labels = student_final, targets[:, -1]
        else:
            student_rows = tf.boolean_mask(student_hidden, supervised)
            labels = tf.boolean_mask(targets, supervised)
        row_histories = student.supervised_histories(history, supervised)
        # Shared by the sampled CE and the sampled predictive term.
        negative_ids = student.sample_negatives() if cfg.sampled or cfg.sampled_pred else None
        zero = tf.constant(0.0)
        if cfg.sampled:
            ce = student.recommendation_loss(student_rows, labels, row_histories, table_rows, negative_ids)
            terms = {"ce": ce, "kd": zero}
        else:
            student_scores = student.scores_after(student_rows, row_histories, table_rows)
            terms = {"ce": softmax_cross_entropy(student_scores, labels), "kd": zero}
        if cfg.kd_weight and teacher_top is not None:
            if cfg.sampled:
                # Softmax over the top k alone: log p * T has the teacher's top-k logits' softmax at T.
                student_top = student.candidate_scores(
                    student_rows, row_histories, teacher_top.items, table_rows
                )
                teacher_logits = teacher_top.log_probs * cfg.temperature
                terms["kd"] = soft_target_kd(teacher_logits, student_top, cfg.temperature)
            else:
                terms["kd"] = top_k_kd_from(teacher_top, student_scores, cfg.temperature)
        elif cfg.kd_weight:
            teacher_rows = (
                teacher_final if supervised is None else tf.boolean_mask(teacher_hidden, supervised)
            )
            teacher_scores = self.teacher.scores_after(
                teacher_rows, self.teacher.supervised_histories(history, supervised)
            )
            terms["kd"] = soft_target_kd(tf.stop_gradient(teacher_scores), student_scores, cfg.temperature)
        if cfg.cl_weight or cfg.pred_weight:
            cl_s, cl_t, pred_s, pred_t, usable = self.views(
                history, student_final, teacher_final, student_items, teacher_items
            )
            final_targets = tf.boolean_mask(targets[:, -1], usable)
            terms["cl"] = info_nce(
                tf.boolean_mask(cl_s, usable), tf.boolean_mask(cl_t, usable), cfg.cl_temperature
            )
            pred_s, pred_t = tf.boolean_mask(pred_s, usable), tf.boolean_mask(pred_t, usable)
            if cfg.sampled_pred:
                terms["pred"] = self.sampled_predictive_loss(
                    pred_s, pred_t, final_targets, negative_ids, table_rows
                )
            else:
                terms["pred"] = softmax_cross_entropy(
                    student.item_scores(pred_s, table_rows), final_targets
                ) + softmax_cross_entropy(self.teacher.item_scores(pred_t), final_targets)
        else:
            terms["cl"] = terms["pred"] = zero
        terms["loss"] = (
            cfg.ce_weight * terms["ce"]
            + cfg.kd_weight * terms["kd"]
            + cfg.cl_weight * terms["cl"]
            + cfg.pred_weight * terms["pred"]
        )
        return terms

    def sampled_predictive_loss(
        self, pred_student, pred_teacher, labels, negative_ids, table_rows=None
    ) -> tf.Tensor:
        """The predictive term as two logQ-corrected sampled softmaxes (model.losses.sampled_softmax_losses):
        each view [rows, d] ranks its label [rows] against the shared negatives [num_negatives] through its
        own model's table (the student's table gathered from `table_rows` when given), with the student's
        sampler's log q for both."""
        log_q = self.student.log_sampling_prob
        student_loss = sampled_softmax_losses(
            pred_student,
            labels,
            self.student.item_rows(labels, table_rows),
            negative_ids,
            self.student.item_rows(negative_ids, table_rows),
            log_q,
        )
        teacher_table = self.teacher.item_table
        teacher_loss = sampled_softmax_losses(
            pred_teacher,
            labels,
            tf.stop_gradient(teacher_table.lookup(labels)),
            negative_ids,
            tf.stop_gradient(teacher_table.lookup(negative_ids)),
            log_q,
        )
        return tf.reduce_mean(student_loss) + tf.reduce_mean(teacher_loss)

    def train_step(self, data):
        history, targets, cached = _unpack(data)
        variables = self.trained_variables()
        with tf.GradientTape() as tape:
            terms = self.losses_for(history, targets, training=True, cached=cached)
        gradients = tape.gradient(terms["loss"], variables)
        self.optimizer.apply_gradients(zip(gradients, variables, strict=True))
        return self._track(terms)

    def test_step(self, data):
        history, targets, cached = _unpack(data)
        return self._track(self.losses_for(history, targets, training=False, cached=cached))

    def _track(self, terms: dict[str, tf.Tensor]) -> dict[str, tf.Tensor]:
        for name, tracker in self.trackers.items():
            tracker.update_state(terms[name])
        return {name: tracker.result() for name, tracker in self.trackers.items()}


def _unpack(data: tuple) -> tuple:
    """(history, targets, teacher cache rows or None): batches carry the cache when training uses one."""
    history, targets, *cached = data
    return history, targets, (cached[0] if cached else None)
