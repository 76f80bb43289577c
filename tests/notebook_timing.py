"""pytest plugin: print how long each notebook took to execute under nbval (a benchmark, not a test).

Budget for the collection on 2 CPU cores: each notebook under 5 minutes, all of them under 30.
"""

from __future__ import annotations

from collections import defaultdict

import pytest

NOTEBOOK_BUDGET_S = 5 * 60
SUITE_BUDGET_S = 30 * 60

_seconds: dict[str, float] = defaultdict(float)


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    path = report.nodeid.split("::")[0]
    if path.endswith(".ipynb"):
        _seconds[path] += report.duration


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not _seconds:
        return
    write = terminalreporter.write_line
    terminalreporter.section("notebook execution time")
    width = max(len(p) for p in _seconds)
    for path, seconds in sorted(_seconds.items(), key=lambda item: -item[1]):
        flag = f"  OVER the {NOTEBOOK_BUDGET_S // 60}-minute budget" if seconds > NOTEBOOK_BUDGET_S else ""
        write(f"{path:<{width}}  {seconds / 60:5.1f} min  ({seconds:6.1f} s){flag}")
    total = sum(_seconds.values())
    flag = f"  OVER the {SUITE_BUDGET_S // 60}-minute budget" if total > SUITE_BUDGET_S else ""
    write(f"{'all notebooks':<{width}}  {total / 60:5.1f} min  ({total:6.1f} s){flag}")
