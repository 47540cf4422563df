"""The sampled-softmax and student benchmark stages on synthetic data with tiny presets, and their
BENCHMARKS sections."""

import dataclasses
import json

import pytest
from absl import flags

from bench import render as run_render
from bench import run
from bench.render import (
    sampled_section,
    speed_section,
    student_section,
    teacher_ablation_section,
    teacher_section,
)
from convert.default_run import synthetic_dataset
from distill.cli_flags import errors_as_one_line
from distill.training import TrainConfig
from model.equal_budget import count_parameters
from model.sasrec import SASRecConfig

TINY_TEACHER = (
    {"max_len": 10, "hidden_dim": 8, "num_blocks": 1, "num_heads": 1, "dropout": 0.0},
    TrainConfig(epochs=1, batch_size=256),
)


@pytest.fixture(scope="module", params=["full", "sampled"])
def sampled_result(request, tmp_path_factory):
    """The sampled stage after a teacher stage whose preset uses `request.param` softmax."""
    runs_dir = tmp_path_factory.mktemp("runs")
    backbone, train_config = TINY_TEACHER
    with pytest.MonkeyPatch.context() as patch:
        patch.setitem(run.TEACHERS, "synthetic", ({**backbone, "loss": request.param}, train_config))
        run.run_teacher("synthetic", runs_dir, None)
        return request.param, runs_dir, run.run_sampled("synthetic", runs_dir, None, epochs=None, steps=3)


def test_sampled_stage_trains_the_loss_the_teacher_stage_did_not(sampled_result):
    preset_loss, runs_dir, result = sampled_result
    names = [entry["name"] for entry in result["models"]]
    assert names == ["teacher-full-softmax", "teacher-sampled-softmax"]
    assert result["config"]["loss"] == "sampled" and result["config"]["negative_sampler"] == "popularity"
    other = "full" if preset_loss == "sampled" else "sampled"
    assert (runs_dir / "synthetic" / f"teacher-{other}" / "metrics.json").exists()
    assert not (runs_dir / "synthetic" / f"teacher-{preset_loss}").exists()
    for folder, loss in (("teacher", preset_loss), (f"teacher-{other}", other)):
        assert json.loads((runs_dir / "synthetic" / folder / "config.json").read_text())["loss"] == loss
    for entry in result["models"]:
        assert 0.0 <= entry["metrics"]["NDCG@10"] <= 1.0
    assert set(result["seconds_per_step"]) == {"full", "sampled"}
    assert all(seconds > 0 for seconds in result["seconds_per_step"].values())
    assert {"commit", "machine", "command"} <= set(result)


def test_sampled_section_states_the_ratio_target(sampled_result):
    _, _, result = sampled_result
    text = "\n".join(sampled_section(result))
    full, sampled = (entry["metrics"]["NDCG@10"] for entry in result["models"])
    assert f"sampled NDCG@10 / full NDCG@10: {sampled / full:.4f} >= 0.9500" in text
    assert "teacher-sampled-softmax" in text and "ms/step" in text


def test_student_stage_trains_each_variant_and_times_their_steps(tmp_path):
    """The sampled student gets a sampled-softmax config; a teacher trained with full softmax is fine."""
    backbone, train_config = TINY_TEACHER
    # A main table big enough that a dense model of its size exists (width >= 1 costs n_items parameters).
    tables = {"main": {"tt_rank": 8, "stp_factor": 2}, "high": {"tt_rank": 2, "stp_factor": 2}}
    with pytest.MonkeyPatch.context() as patch:
        patch.setitem(run.TEACHERS, "synthetic", (backbone, train_config))
        patch.setitem(run.TABLES, "synthetic", tables)
        patch.setattr(run, "RESULTS_DIR", tmp_path / "results")
        run.run_teacher("synthetic", tmp_path, None)
        variants = ["student-scratch", "student-full-sampled", "student-dense-scratch"]
        result = run.run_students("synthetic", tmp_path, None, variants, timed_steps=2)
    assert [entry["name"] for entry in result["models"]] == ["teacher", *variants]
    configs = {
        variant: json.loads((tmp_path / "synthetic" / variant / "config.json").read_text())
        for variant in variants
    }
    assert configs["student-scratch"]["loss"] == "full"
    assert configs["student-full-sampled"]["loss"] == "sampled"
    assert result["models"][2]["distill_config"]["sampled"] is True
    # The equal-budget rival: a narrower dense table, as many parameters as the main STP-TT student.
    dense, main_params = result["models"][3], result["models"][1]["params"]
    assert configs["student-dense-scratch"]["item_table"] == dense["table"]["item_table"] == "dense"
    assert abs(dense["params"] - main_params) <= 0.02 * main_params and dense["compression_table"] > 1
    assert set(result["seconds_per_step"]) == set(variants)
    assert all(seconds > 0 for seconds in result["seconds_per_step"].values())
    written = json.loads((tmp_path / "results" / "synthetic-student.json").read_text())
    assert written["seconds_per_step"] == result["seconds_per_step"]
    text = "\n".join(student_section(result))
    assert "student-full-sampled" in text and "Distillation step, ms" in text


def test_a_narrow_table_sets_the_student_width_and_its_dense_rival_matches_that_student():
    config = SASRecConfig(n_items=99, max_len=10, hidden_dim=16, num_blocks=1)
    main = {"tt_item_factors": (10, 10), "tt_dim_factors": (4, 4), "tt_rank": 8, "stp_factor": 2}
    narrow = {**main, "hidden_dim": 8, "tt_dim_factors": (4, 2), "tt_rank": 4}
    with pytest.MonkeyPatch.context() as patch:
        patch.setitem(run.TABLES, "synthetic", {"main": main, "narrow": narrow})
        student = run.student_config_for("synthetic", config, "student-narrow-full-order-teacher")
        rival = run.student_config_for("synthetic", config, "student-dense-narrow-full")
        main_rival = run.student_config_for("synthetic", config, "student-dense-full")
    assert (student.item_table, student.hidden_dim, student.tt_dim_factors) == ("stp_tt", 8, (4, 2))
    assert rival.item_table == "dense"
    budget = count_parameters(student)
    assert abs(count_parameters(rival) - budget) <= 0.02 * budget
    # It rivals the narrow student, not the main one (which is larger: the teacher's width).
    assert count_parameters(main_rival) > 1.5 * count_parameters(rival)
    assert run.equal_budget_rival_of("dense-equal-budget:narrow") == "narrow"
    assert run.equal_budget_rival_of("dense-equal-budget") == "main"
    assert run.equal_budget_rival_of("narrow") is None


def test_each_dense_rival_is_set_against_the_best_stp_tt_student_of_its_size():
    def entry(name, params, item_table, ndcg, tail_hr):
        table = {"item_table": item_table} if item_table == "dense" else {"tt_rank": 8}
        return {
            "name": name,
            "params": params,
            "table": table,
            "metrics": {"NDCG@10": ndcg},
            "metrics_tail": {"HR@20": tail_hr},
        }

    students = {
        "tt-a": entry("tt-a", 1000, "stp_tt", 0.30, 0.20),
        "tt-b": entry("tt-b", 1010, "stp_tt", 0.35, 0.10),
        "tt-small": entry("tt-small", 500, "stp_tt", 0.50, 0.50),
        "dense": entry("dense", 1000, "dense", 0.32, 0.15),
    }
    lines = run_render.rival_lines(students)
    # tt-small is not of the rival's size; tt-b is the better of the two that are (by NDCG@10).
    assert lines == [
        "- tt-b - dense (1,000 parameters), NDCG@10: 0.0300 >= 0.0000: met",
        "- tt-b - dense (1,000 parameters), tail HR@20: -0.0500 >= 0.0000: MISSED (short by 0.0500)",
    ]


def test_exclude_seen_preset_reports_both_protocols(tmp_path):
    """A dataset in EXCLUDE_HISTORY selects and scores its models with seen items excluded; every entry also
    carries its full-ranking metrics, and the target-kind split adds up to both."""
    backbone, train_config = TINY_TEACHER
    tables = {name: {"tt_rank": 2, "stp_factor": 2} for name in ("main", "high")}
    with pytest.MonkeyPatch.context() as patch:
        patch.setitem(run.TEACHERS, "synthetic", (backbone, train_config))
        patch.setitem(run.TABLES, "synthetic", tables)
        patch.setattr(run, "EXCLUDE_HISTORY", {"synthetic"})
        patch.setattr(run, "RESULTS_DIR", tmp_path / "results")
        result = run.run_teacher("synthetic", tmp_path, None)
        students = run.run_students("synthetic", tmp_path, None, ["student-scratch"])
    assert result["exclude_history"] and students["exclude_history"]
    teacher = next(entry for entry in result["models"] if entry["role"] == "teacher")
    for entry in result["models"]:
        assert entry["metrics_protocol"] == "history_excluded"
        n_repeat, n_new = entry["n_repeat"], entry["n_new"]
        for key in ("HR@10", "NDCG@20", "MRR@20"):
            repeat = entry["metrics_repeat"].get(key, 0.0)
            full = (n_repeat * repeat + n_new * entry["metrics_new"][key]) / (n_repeat + n_new)
            assert entry["metrics_all_items"][key] == pytest.approx(full)
            excluded = n_new * entry["metrics_new_excluded"][key] / (n_repeat + n_new)
            assert entry["metrics"][key] == pytest.approx(excluded)
    # Excluding the history only removes competitors of a new-item target.
    assert teacher["metrics_new_excluded"]["HR@20"] >= teacher["metrics_new"]["HR@20"]
    student_metrics = json.loads((tmp_path / "synthetic" / "student-scratch" / "metrics.json").read_text())
    assert student_metrics["exclude_history"] is True
    text = "\n".join(teacher_section(result))
    assert "items already in the history excluded" in text
    assert "The teacher with nothing excluded" in text


def test_speed_stage_times_teacher_and_distillation_with_the_cache(tmp_path):
    backbone, train_config = TINY_TEACHER
    tables = {"main": {"tt_rank": 2, "stp_factor": 2}}
    defaults = run.speed_variants()
    assert set(defaults) == {
        "student-full",
        "student-full-topk-live",
        "student-full-topk-cached",
        "student-full-sampled-live",
        "student-full-sampled-cached",
        "student-full-sampled-once-cached",
        "student-full-fast-cached",
    }
    assert not defaults["student-full-topk-live"].uses_teacher_cache
    sampled = defaults["student-full-sampled-cached"]
    assert sampled.uses_teacher_cache and sampled.sampled and not sampled.materialize_table
    once = defaults["student-full-sampled-once-cached"]
    assert once == dataclasses.replace(sampled, materialize_table=True)
    fast = defaults["student-full-fast-cached"]
    assert fast == dataclasses.replace(once, sampled_pred=True)
    # Three of them keep the test short; the stage runs them all alike.
    chosen = {
        name: defaults[name]
        for name in ("student-full-topk-live", "student-full-topk-cached", "student-full-fast-cached")
    }
    with pytest.MonkeyPatch.context() as patch:
        patch.setitem(run.TEACHERS, "synthetic", (backbone, train_config))
        patch.setitem(run.TABLES, "synthetic", tables)
        result = run.run_speed("synthetic", None, steps=2, rounds=1, variants=chosen)
    assert set(result["seconds_per_step"]) == {"teacher", *chosen}
    assert all(seconds > 0 for seconds in result["seconds_per_step"].values())
    assert result["ratio_to_teacher"]["teacher"] == 1.0
    assert set(result["teacher_cache"]) == {"student-full-topk-cached", "student-full-fast-cached"}
    assert result["distill_configs"]["student-full-fast-cached"]["sampled_pred"] is True
    assert result["teacher_cache"]["student-full-topk-cached"]["mib"] > 0
    assert result["distill_configs"]["student-full-topk-live"]["cache_teacher"] is False
    assert {"commit", "machine", "command"} <= set(result)
    text = "\n".join(speed_section(result))
    assert "student-full-topk-cached" in text and "cached distillation step / teacher step" in text


def test_teacher_ablation_trains_each_variant_beside_the_preset_teacher(tmp_path):
    backbone, train_config = TINY_TEACHER
    with pytest.MonkeyPatch.context() as patch:
        patch.setitem(run.TEACHERS, "synthetic", ({**backbone, "repeat_scores": True}, train_config))
        run.run_teacher("synthetic", tmp_path, None)
        result = run.run_teacher_ablation(
            "synthetic", tmp_path, None, ["teacher-explore", "teacher-explore-stop-new"]
        )
    teacher, explore, stop_new = result["models"]
    assert (teacher["name"], explore["name"]) == ("teacher", "teacher-explore")
    # A variant's "train" overrides reach its TrainConfig (recorded in its run folder) and nothing else.
    assert stop_new["train_config"]["monitor"] == "all+new" and explore["train_config"]["monitor"] == "all"
    saved_run = json.loads((tmp_path / "synthetic" / "teacher-explore-stop-new" / "run.json").read_text())
    assert saved_run["config"]["train"]["monitor"] == "all+new"
    assert explore["config"]["explore_path"] and not result["config"]["explore_path"]
    saved = tmp_path / "synthetic" / "teacher-explore" / "config.json"
    assert json.loads(saved.read_text())["explore_path"]
    for entry in result["models"]:
        assert {"metrics_repeat", "metrics_new", "metrics_new_excluded", "curve"} <= set(entry)
    text = "\n".join(teacher_ablation_section(result))
    assert '`{"explore_path": true}`' in text and "teacher-explore" in text
    assert '`{"explore_path": true, "train.monitor": "all+new"}`' in text


def test_a_runs_folder_of_an_older_version_is_refused_until_overwrite(tmp_path):
    """A teacher folder without run.json (another tool's, or an older version's) is refused in one line that
    names --overwrite; with --overwrite the stage deletes its contents and trains afresh."""
    values = flags.FlagValues()
    run.define_flags(values)
    arguments = [
        "bench.run",
        "--stage=teacher",
        "--dataset=synthetic",
        f"--runs_dir={tmp_path}",
        "--epochs=1",
    ]
    teacher_dir = tmp_path / "synthetic" / "teacher"
    teacher_dir.mkdir(parents=True)
    (teacher_dir / "model.weights.h5").write_bytes(b"an older version's weights")
    with pytest.MonkeyPatch.context() as patch:
        patch.setitem(run.TEACHERS, "synthetic", TINY_TEACHER)
        patch.setattr(run, "RESULTS_DIR", tmp_path / "results")
        # A smaller synthetic dataset than the registry's 2,000 users: the folder rules do not depend on size.
        patch.setattr(run, "load_dataset", lambda name, data_dir=None: synthetic_dataset(120, 60, seed=0))
        values(arguments)
        with pytest.raises(
            SystemExit, match=r"^error: .*teacher already holds files but no run.json.*--overwrite"
        ):
            with errors_as_one_line():
                run.run_stage(values)
        assert [path.name for path in teacher_dir.iterdir()] == ["model.weights.h5"]
        values(arguments + ["--overwrite"])
        written = run.run_stage(values)
    result = json.loads(written.read_text())
    assert written == tmp_path / "results" / "synthetic-teacher.json" and result["models"][-1]["epochs"] == 1
    assert (teacher_dir / "run.json").is_file() and (teacher_dir / "model.weights.h5").stat().st_size > 1000


def test_speed_stage_times_the_variants_its_flag_names_and_refuses_unknown_ones(tmp_path):
    values = flags.FlagValues()
    run.define_flags(values)
    arguments = ["bench.run", "--stage=speed", "--dataset=synthetic", "--timed_steps=1"]
    calls = []

    def run_speed(name, data_dir, steps, variants):
        calls.append(list(variants))
        return {"dataset": name}

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(run, "run_speed", run_speed)
        patch.setattr(run, "RESULTS_DIR", tmp_path)
        values(arguments + ["--speed_variants=student-full-fast-cached,student-full-topk-cached"])
        run.run_stage(values)
        assert calls == [["student-full-fast-cached", "student-full-topk-cached"]]
        values(arguments + ["--speed_variants=student-fastest"])
        with pytest.raises(ValueError, match=r"--speed_variants: unknown \['student-fastest'\]"):
            run.run_stage(values)
        values(arguments + [f"--speed_variants={','.join(run.speed_variants())}"])
        run.run_stage(values)
    assert calls[-1] == list(run.speed_variants())


def test_student_stage_refuses_variants_the_datasets_tables_lack_before_training_any(tmp_path):
    """Amazon Video has main, high and low tables only: a ladder naming the narrow student stops at once
    (the flag's default names every variant), not after the variants before it have trained."""
    values = flags.FlagValues()
    run.define_flags(values)
    arguments = ["bench.run", "--stage=student", "--dataset=amazon-video", f"--runs_dir={tmp_path}"]
    calls = []
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(run, "run_students", lambda name, *args: calls.append(args[2]))
        values(arguments + ["--variants=student-full,student-narrow-full-order-teacher"])
        with pytest.raises(
            ValueError,
            match=r"^--variants: \['student-narrow-full-order-teacher'\] need a table that "
            r"TABLES\['amazon-video'\] \(bench/presets.py\) lacks; it has \['high', 'low', 'main'\]",
        ):
            run.run_stage(values)
        values(arguments + ["--variants=student-full,student-fullest"])
        with pytest.raises(ValueError, match=r"^--variants: unknown \['student-fullest'\]"):
            run.run_stage(values)
        ladder = ["student-scratch", "student-full-high", "student-full-low", "student-dense-full"]
        values(arguments + [f"--variants={','.join(ladder)}"])
        run.run_stage(values)
    assert calls == [ladder]
