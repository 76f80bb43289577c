"""The last cell of every notebook (tagged `headline`): its few headline results as one small table.

Each row gives a system, a metric, its value with the 95% CI, the best baseline with its value, and, where both were
scored on the same items, the paired difference with its CI. The README's notebook table is generated from the stored
output of these cells (`make readme`), so `show` prints a fixed text format and `parse` reads it back.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from nlp_assets.stats import Estimate, PairedDifference

TITLE = "Headline: "
MODELS = "Real model(s): "
COLUMNS = ("system", "metric", "value [95% CI]", "best baseline", "baseline value", "system - baseline [95% CI]")
# The paired verdict, said of the system against the baseline.
VERDICT_WORDS = {"A better": "better", "B better": "worse"}


@dataclass(frozen=True)
class Row:
    """One headline result. `value` is an Estimate where a CI can be stated, a plain number where it cannot."""

    system: str
    metric: str
    value: Estimate | float
    baseline: str
    baseline_value: Estimate | float
    difference: PairedDifference | None = None
    digits: int = 3

    def cells(self) -> list[str]:
        d = self.digits
        if isinstance(self.value, Estimate):
            value = f"{self.value.format(d)} (n={self.value.n})"
        else:
            value = f"{self.value:.{d}f}"
        base = self.baseline_value.value if isinstance(self.baseline_value, Estimate) else self.baseline_value
        diff = ""
        if self.difference is not None:
            verdict = self.difference.verdict
            diff = f"{self.difference.interval(d)}: {VERDICT_WORDS.get(verdict, verdict)}"
        return [self.system, self.metric, value, self.baseline, f"{base:.{d}f}", diff]


@dataclass(frozen=True)
class Headline:
    task: str
    real_models: str
    rows: list[list[str]]  # the cells of each row, as printed


def _check(text: str) -> str:
    if "|" in text or "\n" in text:
        raise ValueError(f"headline text cannot contain '|' or a newline: {text!r}")
    return text


def _line(cells: Sequence[str]) -> str:
    return "| " + " | ".join(_check(c) for c in cells) + " |"


def format_headline(task: str, real_models: str, rows: Sequence[Row]) -> str:
    if not rows:
        raise ValueError("a headline needs at least one row")
    lines = [TITLE + _check(task), MODELS + _check(real_models), _line(COLUMNS), _line(["---"] * len(COLUMNS))]
    return "\n".join(lines + [_line(row.cells()) for row in rows])


def show(task: str, real_models: str, rows: Sequence[Row]) -> None:
    """Print the headline table (Markdown, so it reads the same in a notebook and on the front page)."""
    print(format_headline(task, real_models, rows))


def parse(text: str) -> Headline:
    """Read back what `show` printed; raises ValueError naming what is missing."""
    lines = [line for line in text.splitlines() if line.strip()]
    task = next((line.removeprefix(TITLE) for line in lines if line.startswith(TITLE)), None)
    models = next((line.removeprefix(MODELS) for line in lines if line.startswith(MODELS)), None)
    table = [[c.strip() for c in line.strip().strip("|").split("|")] for line in lines if line.startswith("| ")]
    if task is None or models is None:
        raise ValueError(f"no {TITLE!r} or {MODELS!r} line in the headline output")
    if len(table) < 3 or tuple(table[0]) != COLUMNS:
        raise ValueError("the headline output has no table with the expected columns and at least one row")
    return Headline(task, models, table[2:])
