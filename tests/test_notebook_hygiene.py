"""Every notebook passes the hygiene rules; each rule is shown to fail on a deliberately broken notebook."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from nlp_assets import colab
from tests.notebook_hygiene import problems

NOTEBOOKS = colab.notebook_paths()


def test_the_collection_has_notebooks() -> None:
    assert NOTEBOOKS, "no notebooks found under */*.ipynb"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.relative_to(colab.REPO_ROOT).as_posix())
def test_notebook_is_clean(path: Path) -> None:
    assert problems(path, path.relative_to(colab.REPO_ROOT).as_posix()) == []


# ------------------------------------------------------------- each rule fails on a broken notebook

REL = "demo/demo.ipynb"


def good_notebook() -> nbformat.NotebookNode:
    bootstrap = new_code_cell(colab.bootstrap_source(REL), execution_count=1)
    bootstrap.metadata["tags"] = [colab.BOOTSTRAP_TAG]
    code = new_code_cell("print(2 + 2)", execution_count=2)
    code.outputs = [new_output("stream", name="stdout", text="4\n")]
    return new_notebook(
        cells=[new_markdown_cell(f"# Demo\n\n{colab.badge(REL)}"), bootstrap, code],
        metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
    )


def write(tmp_path: Path, nb: nbformat.NotebookNode) -> Path:
    path = tmp_path / REL
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    return path


def test_good_notebook_is_clean(tmp_path: Path) -> None:
    assert problems(write(tmp_path, good_notebook()), REL) == []


def _error_output(nb: nbformat.NotebookNode) -> None:
    nb.cells[2].outputs.append(new_output("error", ename="ValueError", evalue="boom", traceback=[]))


def _widgets_without_state(nb: nbformat.NotebookNode) -> None:
    nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {"version_major": 2}}


def _secret(nb: nbformat.NotebookNode) -> None:
    nb.cells[2].outputs[0]["text"] = "key = sk-" + "a1B2" * 8 + "\n"


def _no_badge(nb: nbformat.NotebookNode) -> None:
    nb.cells[0].source = "# Demo"


def _stale_bootstrap(nb: nbformat.NotebookNode) -> None:
    nb.cells[1].source = "!git clone https://example.org/old-url"


def _no_title(nb: nbformat.NotebookNode) -> None:
    nb.cells[0].source = "Some text\n\n" + colab.badge(REL)


def _out_of_order(nb: nbformat.NotebookNode) -> None:
    nb.cells[1].execution_count, nb.cells[2].execution_count = 2, 1


def _not_executed(nb: nbformat.NotebookNode) -> None:
    nb.cells[2].execution_count = None


def _removed_pipeline(nb: nbformat.NotebookNode) -> None:
    nb.cells[2].source = 'pipe = pipeline("summarization", model="facebook/bart-large-cnn")'


def _evaluate_load(nb: nbformat.NotebookNode) -> None:
    nb.cells[2].source = 'bleu = evaluate.load("sacrebleu")'


def _old_gemini(nb: nbformat.NotebookNode) -> None:
    nb.cells[2].source = "import google.generativeai as genai"


def _too_big(nb: nbformat.NotebookNode) -> None:
    nb.cells[2].outputs[0]["text"] = "x" * (4 * 1024 * 1024)


BREAKAGES: dict[str, Callable[[nbformat.NotebookNode], None]] = {
    "errors": _error_output,
    "widgets": _widgets_without_state,
    "secrets": _secret,
    "colab: no 'Open": _no_badge,
    "colab: no up-to-date": _stale_bootstrap,
    "title": _no_title,
    "execution (order)": _out_of_order,
    "execution (not run)": _not_executed,
    "api (pipeline)": _removed_pipeline,
    "api (evaluate)": _evaluate_load,
    "api (google.generativeai)": _old_gemini,
    "size": _too_big,
}


@pytest.mark.parametrize("rule", BREAKAGES)
def test_rule_catches_broken_notebook(tmp_path: Path, rule: str) -> None:
    nb = good_notebook()
    BREAKAGES[rule](nb)
    found = problems(write(tmp_path, nb), REL)
    assert any(line.startswith(rule.split(" (")[0]) for line in found), found


def test_invalid_json_is_reported(tmp_path: Path) -> None:
    path = tmp_path / REL
    path.parent.mkdir(parents=True)
    path.write_text('{"cells": [')
    assert problems(path, REL)[0].startswith("nbformat")


# ------------------------------------------------------------- nbval really compares outputs

def run_nbval(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--nbval", "-o", "addopts=", str(path)],
        capture_output=True, text=True, cwd=path.parent, timeout=300,
    )


def test_nbval_fails_when_a_stored_output_is_altered(tmp_path: Path) -> None:
    nb = new_notebook(cells=[new_code_cell("print(2 + 2)", execution_count=1)],
                      metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}})
    nb.cells[0].outputs = [new_output("stream", name="stdout", text="4\n")]
    path = tmp_path / "check.ipynb"
    nbformat.write(nb, path)
    passing = run_nbval(path)
    assert passing.returncode == 0, passing.stdout[-2000:]

    nb.cells[0].outputs[0]["text"] = "5\n"
    nbformat.write(nb, path)
    failing = run_nbval(path)
    assert failing.returncode != 0
    assert "1 failed" in failing.stdout
