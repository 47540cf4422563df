"""Tests of tests/run_guard.py: a collected test that does not run fails the suite unless it is listed."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SUITE = '''
import pytest

def test_runs():
    pass

@pytest.mark.skip(reason="no data here")
def test_skipped():
    pass
'''


def _pytest(folder: Path, not_run: str, *args: str) -> subprocess.CompletedProcess:
    """pytest on a two-test suite in `folder` with the guard's hooks and `not_run` as its list."""
    (folder / "pytest.ini").write_text("[pytest]\n")
    (folder / "conftest.py").write_text("from tests.run_guard import pytest_addoption, pytest_configure\n")
    (folder / "test_suite.py").write_text(SUITE)
    (folder / "not_run.toml").write_text("[not_run]\n" + not_run)
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--not-run-file", "not_run.toml", *args],
        cwd=folder,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_an_unlisted_skip_fails_the_suite_and_is_named(tmp_path: Path) -> None:
    result = _pytest(tmp_path, "", "--require-all-run")
    assert result.returncode == pytest.ExitCode.TESTS_FAILED, result.stdout
    assert "collected 2, ran 1, not run 1" in result.stdout
    assert "test_suite.py::test_skipped was collected but did not run" in result.stdout


def test_a_listed_skip_passes(tmp_path: Path) -> None:
    result = _pytest(tmp_path, '"test_suite.py::test_skipped" = "no data here"\n', "--require-all-run")
    assert result.returncode == pytest.ExitCode.OK, result.stdout
    assert "collected 2, ran 1, not run 1" in result.stdout


def test_deselection_counts_as_not_run_and_selecting_is_refused(tmp_path: Path) -> None:
    listed = '"test_suite.py::test_skipped" = "no data here"\n'
    result = _pytest(tmp_path, listed, "--require-all-run", "-k", "not test_runs")
    assert result.returncode == pytest.ExitCode.TESTS_FAILED, result.stdout
    assert "test_suite.py::test_runs was collected but did not run" in result.stdout
    assert "drop -k 'not test_runs'" in result.stdout


def test_under_xdist_the_controller_guards_what_the_workers_ran(tmp_path: Path) -> None:
    result = _pytest(tmp_path, "", "--require-all-run", "-n", "2")
    assert result.returncode == pytest.ExitCode.TESTS_FAILED, result.stdout
    assert "collected 2, ran 1, not run 1" in result.stdout
    assert "test_suite.py::test_skipped was collected but did not run" in result.stdout
    listed = '"test_suite.py::test_skipped" = "no data here"\n'
    assert _pytest(tmp_path, listed, "--require-all-run", "-n", "2").returncode == pytest.ExitCode.OK


def test_a_stale_entry_or_a_missing_reason_fails(tmp_path: Path) -> None:
    stale = '"test_suite.py::test_skipped" = "no data"\n"test_suite.py::test_gone" = "renamed"\n'
    result = _pytest(tmp_path, stale, "--require-all-run")
    assert result.returncode == pytest.ExitCode.TESTS_FAILED, result.stdout
    assert "lists test_suite.py::test_gone, which is no longer collected" in result.stdout
    result = _pytest(tmp_path, '"test_suite.py::test_skipped" = " "\n', "--require-all-run")
    assert result.returncode != pytest.ExitCode.OK and "give a reason" in result.stdout + result.stderr


def test_without_the_option_it_only_reports(tmp_path: Path) -> None:
    result = _pytest(tmp_path, "")
    assert result.returncode == pytest.ExitCode.OK, result.stdout
    assert "run guard: collected 2, ran 1, not run 1" in result.stdout
