"""Warm start of an STP-TT student from its teacher: the teacher's table by TT-SVD, the backbone copied."""

from __future__ import annotations

import numpy as np

from model.sasrec import SASRec
from model.stp_tt_embedding import STPTTEmbedding, stp_tt_svd

# The config fields that must match for the backbone weights to be copied one to one.
BACKBONE_FIELDS = (
    "n_items",
    "max_len",
    "hidden_dim",
    "num_blocks",
    "num_heads",
    "ffn_dim",
    "readout",
    "repeat_scores",
)


def backbone_layers(model: SASRec) -> list:
    """Every layer with weights except the item table (and the sampler's log q, which is set from counts)."""
    layers = [model.position_embedding, *model.blocks, model.final_norm]
    return layers + [layer for layer in (model.readout, model.repeat) if layer is not None]


def warm_start_student(student: SASRec, teacher: SASRec) -> float:
    """Sets the student's cores to the TT-SVD of the teacher's table and copies every backbone weight.

    Why: at 30x a randomly initialised table and backbone must relearn what the teacher knows from CE and KD
    alone; starting from the teacher's best rank-R approximation leaves distillation to repair the
    approximation instead. Returns the relative Frobenius error of that approximation (before training).
    """
    table = student.item_table
    if not isinstance(table, STPTTEmbedding):
        raise ValueError(f"warm start needs an STP-TT student table, got {type(table).__name__}")
    mismatched = [
        f"{name}: teacher {getattr(teacher.config, name)!r}, student {getattr(student.config, name)!r}"
        for name in BACKBONE_FIELDS
        if getattr(teacher.config, name) != getattr(student.config, name)
    ]
    if mismatched:
        raise ValueError(
            "warm start copies the teacher's backbone, so the student must keep it (drop the --hidden_dim/"
            "--num_blocks/--num_heads overrides or the warm start); differs: " + "; ".join(mismatched)
        )
    teacher_table = teacher.item_table.materialize().numpy()
    cores = stp_tt_svd(teacher_table, table.item_factors, table.dim_factors, table.tt_rank, table.stp_factor)
    table.assign_stp_cores([core.astype(np.float32) for core in cores])
    for target, source in zip(backbone_layers(student), backbone_layers(teacher), strict=True):
        target.set_weights(source.get_weights())
    error = np.linalg.norm(table.materialize().numpy() - teacher_table)
    return float(error / np.linalg.norm(teacher_table))
