"""bench.profile_step: every phase of a teacher step is timed, on the preset's real batches."""

import pytest

from bench import profile_step, run
from tests.bench.test_run import TINY_TEACHER


def test_each_phase_is_timed_and_the_result_is_traceable():
    with pytest.MonkeyPatch.context() as patch:
        patch.setitem(run.TEACHERS, "synthetic", TINY_TEACHER)
        result = profile_step.profile_teacher_step("synthetic", None, steps=2)
    phases = result["cumulative_seconds"]
    assert list(phases) == ["encoder", "scoring", "loss", "gradient", "update"]
    assert all(seconds > 0 for seconds in phases.values()) and result["input_seconds"] > 0
    assert result["batch_size"] == TINY_TEACHER[1].batch_size
    assert {"commit", "machine", "command"} <= set(result)
