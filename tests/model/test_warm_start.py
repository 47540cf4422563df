"""Warm start of an STP-TT student from its teacher (TT-SVD of the table, backbone copied)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from model.keras_setup import tf
from model.sasrec import SASRec
from model.warm_start import warm_start_student
from tests.conftest import tiny_sasrec_config

# 40 items + padding fit 7 x 6 rows; d = 8 = 4 x 2. The first split stacks (s, i1, j1) = 56 rows against
# (i2, m) = 6 columns, so t = 2 and R = 12 (R/t = 6) hold any table exactly; R = 2 cannot.
STUDENT_TABLE = {"item_table": "stp_tt", "tt_item_factors": (7, 6), "tt_dim_factors": (4, 2), "stp_factor": 2}


def random_teacher(**overrides) -> SASRec:
    """A dense teacher whose every weight (repeat bonus and readout included) is random, not its init."""
    teacher = SASRec(tiny_sasrec_config(**overrides)).build_for_inference()
    rng = np.random.default_rng(0)
    for weight in teacher.trainable_weights:
        weight.assign(rng.normal(scale=0.3, size=weight.shape).astype(np.float32))
    return teacher


def student_of(teacher: SASRec, **overrides) -> SASRec:
    config = dataclasses.replace(teacher.config, **{**STUDENT_TABLE, "tt_rank": 12, **overrides})
    return SASRec(config).build_for_inference()


@pytest.mark.parametrize("readout,repeat_scores", [("last", False), ("attention", True)])
def test_a_student_of_full_rank_computes_what_the_teacher_computes(readout, repeat_scores):
    teacher = random_teacher(readout=readout, repeat_scores=repeat_scores)
    student = student_of(teacher)
    assert warm_start_student(student, teacher) < 1e-6
    histories = tf.constant(np.random.default_rng(1).integers(0, 41, size=(5, 8)), tf.int32)
    np.testing.assert_allclose(student(histories).numpy(), teacher(histories).numpy(), rtol=1e-4, atol=1e-4)


def test_a_low_rank_student_reports_its_table_error_and_keeps_the_backbone():
    teacher = random_teacher()
    student = student_of(teacher, tt_rank=2)
    error = warm_start_student(student, teacher)
    teacher_table = teacher.item_table.materialize().numpy()
    expected = np.linalg.norm(student.item_table.materialize().numpy() - teacher_table)
    assert error == pytest.approx(expected / np.linalg.norm(teacher_table), rel=1e-5)
    assert 0.1 < error < 1.0
    for block_of_student, block_of_teacher in zip(student.blocks, teacher.blocks, strict=True):
        for ours, theirs in zip(block_of_student.weights, block_of_teacher.weights, strict=True):
            np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


def test_refuses_another_backbone_or_a_dense_student():
    teacher = random_teacher()
    with pytest.raises(ValueError, match="num_blocks: teacher 1, student 2"):
        warm_start_student(student_of(teacher, num_blocks=2), teacher)
    dense = SASRec(teacher.config).build_for_inference()
    with pytest.raises(ValueError, match="STP-TT student table"):
        warm_start_student(dense, teacher)
