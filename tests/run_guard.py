"""Every collected test runs, or says why not: the guard `make test` (and so CI) runs under.

With `--require-all-run`, a collected test that is deselected or skipped fails the session unless
`tests/not_run.toml` lists its node id with a reason; a listed id that is no longer collected fails it too, so
the list cannot go stale. Without the option the summary line is printed and nothing fails.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

NOT_RUN_FILE = Path(__file__).resolve().parent / "not_run.toml"


def read_not_run(path: Path = NOT_RUN_FILE) -> dict[str, str]:
    """Node id -> reason, from the `[not_run]` table of `path`."""
    try:
        table = tomllib.loads(path.read_text())["not_run"]
    except (OSError, KeyError, tomllib.TOMLDecodeError) as error:
        raise pytest.UsageError(f"{path}: cannot read its [not_run] table ({error}); fix the file") from error
    empty = [node for node, reason in table.items() if not str(reason).strip()]
    if empty:
        raise pytest.UsageError(f"{path}: give a reason for {empty}")
    return table


class RunGuard:
    """Counts what was collected and what ran; decides whether what did not run was allowed not to."""

    def __init__(self, required: bool, not_run_file: Path) -> None:
        self.required = required
        self.not_run_file = not_run_file
        self.collected: set[str] = set()
        self.ran: set[str] = set()
        self.unlisted: list[str] = []
        self.stale: list[str] = []
        self.selection: list[str] = []

    def pytest_deselected(self, items) -> None:
        self.collected.update(item.nodeid for item in items)

    def pytest_collection_finish(self, session) -> None:
        self.collected.update(item.nodeid for item in session.items)

    @pytest.hookimpl(optionalhook=True)
    def pytest_xdist_node_collection_finished(self, node, ids) -> None:
        """Under pytest-xdist the workers collect; each reports every id it will run to the controller."""
        self.collected.update(ids)

    def pytest_runtest_logreport(self, report) -> None:
        if report.when == "call" and not report.skipped:
            self.ran.add(report.nodeid)

    def not_run(self) -> list[str]:
        return sorted(self.collected - self.ran)

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session, exitstatus) -> None:
        if not self.required or session.shouldfail or session.shouldstop:
            return
        allowed = read_not_run(self.not_run_file)
        self.unlisted = [node for node in self.not_run() if node not in allowed]
        # xdist workers drop deselected tests before the controller sees them: selecting is refused outright.
        option = session.config.option
        selections = (("-m", option.markexpr), ("-k", option.keyword), ("--deselect", option.deselect))
        self.selection = [f"{flag} {value!r}" for flag, value in selections if value]
        self.stale = sorted(set(allowed) - self.collected)
        if (self.unlisted or self.stale or self.selection) and exitstatus == pytest.ExitCode.OK:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED

    def pytest_terminal_summary(self, terminalreporter) -> None:
        not_run = self.not_run()
        terminalreporter.write_line(
            f"run guard: collected {len(self.collected)}, ran {len(self.ran)}, not run {len(not_run)}"
            + (f" ({', '.join(not_run)})" if not_run else "")
        )
        for node in self.unlisted:
            terminalreporter.write_line(
                f"run guard: {node} was collected but did not run, and {self.not_run_file} does not list it: "
                "make it run (a cheaper form, a stand-in for missing data) or list it there with the reason",
                red=True,
            )
        for selection in self.selection:
            terminalreporter.write_line(
                f"run guard: --require-all-run runs every collected test; drop {selection}", red=True
            )
        for node in self.stale:
            terminalreporter.write_line(
                f"run guard: {self.not_run_file} lists {node}, which is no longer collected: "
                "remove the entry",
                red=True,
            )


def pytest_addoption(parser) -> None:
    parser.addoption(
        "--require-all-run",
        action="store_true",
        help="fail when a collected test does not run and the --not-run-file does not list it",
    )
    parser.addoption(
        "--not-run-file",
        type=Path,
        default=NOT_RUN_FILE,
        help=f"the TOML list of tests allowed not to run, with reasons (default {NOT_RUN_FILE})",
    )


def pytest_configure(config) -> None:
    if hasattr(config, "workerinput"):  # a pytest-xdist worker: the controller guards the whole run
        return
    guard = RunGuard(config.getoption("--require-all-run"), config.getoption("--not-run-file"))
    config.pluginmanager.register(guard, "odrec-run-guard")
