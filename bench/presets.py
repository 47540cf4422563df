"""Model and training settings of every benchmark run, per dataset: the single source for bench commands."""

from __future__ import annotations

import dataclasses

from distill.distiller import DistillConfig
from distill.training import TrainConfig

TEACHERS = {
    # SASRec+ style on ML-1M: full softmax, L = 200 (the protocol). Batch 32: 6,040 users make 48
    # steps per epoch at 128, and after 6 such epochs validation NDCG@10 was still 0.028 (bench/NOTES.md);
    # a 2-core epoch costs about the same at either batch size, so smaller batches give more updates a second.
    # Learning rate 3e-3: a 4-epoch probe reached the validation NDCG@10 that 1e-3 needed 9 epochs for; at a
    # constant 3e-3 it plateaued after epoch 28 (test NDCG@10 0.1664), hence the decay after 5 flat epochs.
    "ml-1m": (
        {"max_len": 200, "hidden_dim": 64, "num_blocks": 2, "num_heads": 1, "dropout": 0.2},
        TrainConfig(
            epochs=60, batch_size=32, learning_rate=3e-3, patience=8, lr_decay_patience=5, lr_decay_factor=0.3
        ),
    ),
    # Tmall: OD-Rec's teacher shape (1 block, 1 head) at d = 64 (d = 128 doubles a 2-core epoch), L = 50,
    # with the repeat bonus (model/repeat.py): the recent-items baseline beat the plain teacher there. Sampled
    # softmax (512 popularity negatives, logQ): 0.99x the full-softmax NDCG@10 at 0.25x the step time
    # (bench/results/tmall-sampled.json, measured without the repeat bonus), which fits a 2-core session.
    "tmall": (
        {
            "max_len": 50,
            "hidden_dim": 64,
            "num_blocks": 1,
            "num_heads": 1,
            "dropout": 0.3,
            "repeat_scores": True,
            "loss": "sampled",
            "negative_sampler": "popularity",
        },
        TrainConfig(epochs=30, batch_size=128, learning_rate=1e-3, patience=3),
    ),
    # The main job's stopping rule (convert/export_flags.py: up to 80 epochs at 2e-3, patience 5): it takes
    # the teacher level with the Markov baseline, while 20 epochs at 1e-3 stopped it still improving
    # (synthetic-on-device.json was trained that way). Students of the ladder share the rule.
    "synthetic": (
        {"max_len": 50, "hidden_dim": 32, "num_blocks": 2, "num_heads": 1, "dropout": 0.2},
        TrainConfig(epochs=80, batch_size=128, learning_rate=2e-3, patience=5),
    ),
}

# The larger synthetic catalogue (distill.synthetic.SIZES: 4,899 items drawn of 5,000, 4,000 users): the
# default synthetic preset, so that only the catalogue differs between the two ladders.
TEACHERS["synthetic-5k"] = TEACHERS["synthetic"]

# RetailRocket (the paper's other session dataset, SR-GNN preprocessing like Tmall): Tmall's settings until a
# run of its own says otherwise; the baselines stage reads its max_len (50) only.
TEACHERS["retailrocket"] = TEACHERS["tmall"]

# Amazon Video (SASRec's preprocessing: 31,013 users, 23,715 items, 7.3 training items per user): the SASRec
# paper's sparse-Amazon shape (L = 50, 2 blocks, dropout 0.5, batch 128, learning rate 1e-3) at d = 64, which
# the student tables factor as 8 x 8. Sampled softmax (512 popularity negatives, logQ): a training step took
# 0.175 s against 0.578 s for the full softmax over 23,716 rows (3.3x; best of two rounds of 30 steps, batch
# 128, on the 2-core dev machine beside another training run), so an epoch's 243 steps cost about 43 s
# instead of 140 s.
TEACHERS["amazon-video"] = (
    {
        "max_len": 50,
        "hidden_dim": 64,
        "num_blocks": 2,
        "num_heads": 1,
        "dropout": 0.5,
        "loss": "sampled",
        "negative_sampler": "popularity",
    },
    TrainConfig(epochs=100, batch_size=128, learning_rate=1e-3, patience=5),
)


def explore_stopped_on_new_items(train: dict | None = None, **backbone) -> dict:
    """A teacher variant with the explore path, stopped on overall plus new-item validation NDCG@10, and
    `backbone` / `train` overrides on top (the regularisation ablations of issue 15)."""
    return {"explore_path": True, **backbone, "train": {"monitor": "all+new", **(train or {})}}


# Teacher ablations (`bench.run --stage teacher-ablation`): overrides of the dataset's preset backbone (and,
# under "train", of its TrainConfig), each trained beside the preset teacher.
TEACHER_VARIANTS = {
    # Repeat and explore as two distributions under a learnt gate (model.repeat.RepeatExplore), sampled and
    # full softmax on the explore side.
    "teacher-explore": {"explore_path": True},
    "teacher-explore-full": {"explore_path": True, "loss": "full"},
    # Without any repeat scoring: what the repeat side adds.
    "teacher-plain": {"repeat_scores": False, "explore_path": False},
    # The explore path, stopped on validation NDCG@10 over all targets plus that of the new-item targets with
    # the history excluded (TrainConfig.monitor): the first alone levels off while the second still rises.
    "teacher-explore-stop-new": explore_stopped_on_new_items(),
    # The same with dropout 0.5 (the preset's 0.3; SASRec's setting for sparse data): on Tmall the explore
    # teacher's training loss fell 5.27 -> 2.64 while validation peaked at epoch 8-9.
    "teacher-explore-stop-new-dropout-0.5": explore_stopped_on_new_items(dropout=0.5),
    # Dropout 0.5 slowed that overfitting without raising the peak (bench/NOTES.md); decoupled weight decay
    # shrinks every row each step (0.1 x lr 1e-3: 1e-4 a step, about 4.5% an epoch of Tmall's 460 steps).
    "teacher-explore-stop-new-wd-0.1": explore_stopped_on_new_items(train={"weight_decay": 0.1}),
}

# Datasets evaluated with the "exclude seen" protocol (items already in the history are not ranked; model
# selection uses it too). ML-1M: a user rates a movie once (test_target_in_prefix 0.0), and the SASRec+
# figure the issue cites (Klenitskiy & Vasilev, RecSys 2023: NDCG@10 0.1821) was measured with seen items
# filtered (their `filter_seen=True`). Amazon Video likewise: no test target repeats its prefix
# (test_target_in_prefix 0.0). Tmall keeps the full ranking: 45% of its targets repeat a history item.
EXCLUDE_HISTORY = {"ml-1m", "amazon-video"}

# STP-TT tables: >= 30x table compression for the main student (Tmall 40.3x, ML-1M 31.0x), >= 60x for the
# high-compression point (80.6x, 62.0x), and a low-compression point (20.2x, 7.7x) for the rest of the curve
# (the ML-1M student at 31x is far below its teacher; bench/NOTES.md).
TABLES = {
    "tmall": {
        "main": {"tt_item_factors": (202, 202), "tt_dim_factors": (8, 8), "tt_rank": 32, "stp_factor": 2},
        "high": {"tt_item_factors": (202, 202), "tt_dim_factors": (8, 8), "tt_rank": 16, "stp_factor": 2},
        "low": {"tt_item_factors": (202, 202), "tt_dim_factors": (8, 8), "tt_rank": 64, "stp_factor": 2},
    },
    "ml-1m": {
        "main": {"tt_item_factors": (59, 58), "tt_dim_factors": (8, 8), "tt_rank": 12, "stp_factor": 2},
        "high": {"tt_item_factors": (59, 58), "tt_dim_factors": (8, 8), "tt_rank": 6, "stp_factor": 2},
        "low": {"tt_item_factors": (59, 58), "tt_dim_factors": (8, 8), "tt_rank": 48, "stp_factor": 2},
        # Half the teacher's width, the main table's rank (25,752 parameters, 34x table; its dense rival has
        # d = 6): at d = 64 the backbone is 63,360 of the main student's 70,416, and the equal-budget dense
        # rival (d = 18) beat it (bench/NOTES.md, eleventh session).
        "narrow": {
            "hidden_dim": 32,
            "tt_item_factors": (59, 58),
            "tt_dim_factors": (8, 4),
            "tt_rank": 12,
            "stp_factor": 2,
        },
    },
    "synthetic": {
        "main": {"tt_item_factors": (32, 32), "tt_dim_factors": (8, 4), "tt_rank": 8, "stp_factor": 2},
        "high": {"tt_item_factors": (32, 32), "tt_dim_factors": (8, 4), "tt_rank": 4, "stp_factor": 2},
        "low": {"tt_item_factors": (32, 32), "tt_dim_factors": (8, 4), "tt_rank": 16, "stp_factor": 2},
        # A narrower student backbone (KD over logits needs no equal widths): the main table's rank at d = 16.
        # Between the two: d = 24 at R = 24 (5,376 table parameters, 4.5x the d = 24 dense table).
        "mid": {
            "hidden_dim": 24,
            "tt_item_factors": (32, 32),
            "tt_dim_factors": (6, 4),
            "tt_rank": 24,
            "stp_factor": 2,
        },
        "narrow": {
            "hidden_dim": 16,
            "tt_item_factors": (32, 32),
            "tt_dim_factors": (4, 4),
            "tt_rank": 8,
            "stp_factor": 2,
        },
    },
    # 4,900 rows = 70 x 70 exactly: 31.1x (main, 5,040 parameters), 62.2x (high) and 15.6x (low) tables.
    "synthetic-5k": {
        "main": {"tt_item_factors": (70, 70), "tt_dim_factors": (8, 4), "tt_rank": 8, "stp_factor": 2},
        "high": {"tt_item_factors": (70, 70), "tt_dim_factors": (8, 4), "tt_rank": 4, "stp_factor": 2},
        "low": {"tt_item_factors": (70, 70), "tt_dim_factors": (8, 4), "tt_rank": 16, "stp_factor": 2},
        "narrow": {
            "hidden_dim": 16,
            "tt_item_factors": (70, 70),
            "tt_dim_factors": (4, 4),
            "tt_rank": 8,
            "stp_factor": 2,
        },
    },
}

# Amazon Video: 23,716 rows = 154 x 154 exactly; 30.8x (main), 61.6x (high) and 15.4x (low) tables.
TABLES["amazon-video"] = {
    "main": {"tt_item_factors": (154, 154), "tt_dim_factors": (8, 8), "tt_rank": 32, "stp_factor": 2},
    "high": {"tt_item_factors": (154, 154), "tt_dim_factors": (8, 8), "tt_rank": 16, "stp_factor": 2},
    "low": {"tt_item_factors": (154, 154), "tt_dim_factors": (8, 8), "tt_rank": 64, "stp_factor": 2},
}

# RetailRocket (36,968 items) fits Tmall's 202 x 202 rows; its tables until a run of its own says otherwise.
TABLES["retailrocket"] = TABLES["tmall"]

# Not a table: the student is a dense SASRec with as many parameters as the "main" table's student;
# f"{EQUAL_BUDGET}:{table}" rivals the student of another table (e.g. the narrow backbone's).
EQUAL_BUDGET = "dense-equal-budget"


def equal_budget_rival_of(table: str) -> str | None:
    """The STP-TT table whose student a dense equal-budget `table` matches; None for an STP-TT table."""
    if table == EQUAL_BUDGET:
        return "main"
    prefix = f"{EQUAL_BUDGET}:"
    return table[len(prefix) :] if table.startswith(prefix) else None


# Distillation whose student never scores the catalogue (issue 16, the speed stage's "fast" variant): sampled
# CE, KD over the teacher's top 100 items read from the teacher cache, the table reconstructed once per step,
# the predictive term on the sampled negatives. About a teacher step on ML-1M (bench/NOTES.md), so a student
# can train to the teacher's stopping rule in a session.
FAST_DISTILLATION = DistillConfig(kd_top_k=100, sampled=True, materialize_table=True, sampled_pred=True)

# The ablation ladder of the student table in BENCHMARKS.md: name -> (table, loss weights).
STUDENTS = {
    "student-scratch": ("main", DistillConfig(ce_weight=1.0, kd_weight=0.0, cl_weight=0.0, pred_weight=0.0)),
    "student+kd": ("main", DistillConfig(cl_weight=0.0, pred_weight=0.0)),
    "student+kd+cl": ("main", DistillConfig(pred_weight=0.0)),
    "student-full": ("main", DistillConfig()),
    "student-full-high": ("high", DistillConfig()),
    "student-full-low": ("low", DistillConfig()),
    # Every term, starting from the teacher (model.warm_start): cores from a TT-SVD of its table, backbone
    # copied.
    "student-full-warm": ("main", DistillConfig(warm_start=True)),
    # Issue 7: every term, but the student never scores the whole catalogue (sampled CE, KD over the
    # teacher's top 100 items).
    "student-full-sampled": ("main", DistillConfig(kd_top_k=100, sampled=True)),
    # Issue 17: the student's ids renumbered so that items sharing a TT core slice are alike
    # (distill.item_order): a balanced clustering of the teacher's table, or of item co-occurrence; with and
    # without the warm start (whose TT-SVD then fits the reordered table).
    "student-full-order-teacher": ("main", DistillConfig(item_order="teacher")),
    "student-full-order-cooccurrence": ("main", DistillConfig(item_order="cooccurrence")),
    "student-full-warm-order-teacher": ("main", DistillConfig(warm_start=True, item_order="teacher")),
    "student-full-warm-order-cooccurrence": (
        "main",
        DistillConfig(warm_start=True, item_order="cooccurrence"),
    ),
    # The equal-budget rival (issue 17): a dense-table SASRec with the main student's parameter count
    # (model.equal_budget: narrower, plain table), from scratch and with the full student's distillation.
    "student-dense-scratch": (
        EQUAL_BUDGET,
        DistillConfig(ce_weight=1.0, kd_weight=0.0, cl_weight=0.0, pred_weight=0.0),
    ),
    "student-dense-full": (EQUAL_BUDGET, DistillConfig()),
    # A narrower backbone (the "narrow" table's hidden_dim) under the same table rank, in the teacher's item
    # order, and the dense rival of its own (smaller) parameter count.
    "student-narrow-full-order-teacher": ("narrow", DistillConfig(item_order="teacher")),
    "student-dense-narrow-full": (f"{EQUAL_BUDGET}:narrow", DistillConfig()),
    "student-mid-full-order-teacher": ("mid", DistillConfig(item_order="teacher")),
    "student-dense-mid-full": (f"{EQUAL_BUDGET}:mid", DistillConfig()),
    # Issue 17 on the real catalogues, trained to the teacher's stopping rule with the fast distillation: the
    # best STP-TT recipe of the synthetic ladder (warm start in the teacher's item order) and its dense rival.
    "student-fast-warm-order-teacher": (
        "main",
        dataclasses.replace(FAST_DISTILLATION, warm_start=True, item_order="teacher"),
    ),
    "student-dense-fast": (EQUAL_BUDGET, FAST_DISTILLATION),
    # The same on the "narrow" backbone (no warm start: the teacher's backbone has another width) and the
    # dense rival of that student's parameter count.
    "student-narrow-fast-order-teacher": (
        "narrow",
        dataclasses.replace(FAST_DISTILLATION, item_order="teacher"),
    ),
    "student-dense-narrow-fast": (f"{EQUAL_BUDGET}:narrow", FAST_DISTILLATION),
}
