"""The sampled-softmax benchmark stage on synthetic data with a tiny preset, and its BENCHMARKS section."""

import pytest

from bench import run
from bench.render import sampled_section
from distill.training import TrainConfig

TINY_TEACHER = (
    {"max_len": 10, "hidden_dim": 8, "num_blocks": 1, "num_heads": 1, "dropout": 0.0},
    TrainConfig(epochs=1, batch_size=256),
)


@pytest.fixture(scope="module")
def sampled_result(tmp_path_factory):
    runs_dir = tmp_path_factory.mktemp("runs")
    with pytest.MonkeyPatch.context() as patch:
        patch.setitem(run.TEACHERS, "synthetic", TINY_TEACHER)
        run.run_teacher("synthetic", runs_dir, None)
        return runs_dir, run.run_sampled("synthetic", runs_dir, None, epochs=None, steps=3)


def test_sampled_stage_trains_a_sampled_teacher_beside_the_full_one(sampled_result):
    runs_dir, result = sampled_result
    names = [entry["name"] for entry in result["models"]]
    assert names == ["teacher-full-softmax", "teacher-sampled-softmax"]
    assert result["config"]["loss"] == "sampled" and result["config"]["negative_sampler"] == "popularity"
    assert (runs_dir / "synthetic" / "teacher-sampled" / "metrics.json").exists()
    for entry in result["models"]:
        assert 0.0 <= entry["metrics"]["NDCG@10"] <= 1.0
    assert set(result["seconds_per_step"]) == {"full", "sampled"}
    assert all(seconds > 0 for seconds in result["seconds_per_step"].values())
    assert {"commit", "machine", "command"} <= set(result)


def test_sampled_section_states_the_ratio_target(sampled_result):
    _, result = sampled_result
    text = "\n".join(sampled_section(result))
    full, sampled = (entry["metrics"]["NDCG@10"] for entry in result["models"])
    assert f"sampled NDCG@10 / full NDCG@10: {sampled / full:.4f} >= 0.9500" in text
    assert "teacher-sampled-softmax" in text and "ms/step" in text
