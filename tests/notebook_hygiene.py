"""Hygiene rules every stored notebook must pass: what a reader on GitHub or in Colab would trip over."""

from __future__ import annotations

import json
import re
from pathlib import Path

import nbformat

from nlp_assets import colab

MAX_BYTES = 3 * 1024 * 1024
SECRET = re.compile(r"(sk-[A-Za-z0-9_-]{20,}|AIza[0-9A-Za-z_-]{35}|hf_[A-Za-z0-9]{30,}|ghp_[A-Za-z0-9]{30,})")
REMOVED_PIPELINE = re.compile(
    r"pipeline\(\s*(task\s*=\s*)?[\"'](summarization|translation[\w]*|question-answering|text2text-generation)[\"']"
)
EVALUATE_LOAD = re.compile(r"\bevaluate\.load\(")
OLD_GEMINI_SDK = re.compile(r"import google\.generativeai|from google import generativeai")


def problems(path: Path, rel: str) -> list[str]:
    """Every hygiene problem of the notebook at `path` (`rel`: its path in the repository), one line each."""
    found: list[str] = []
    size = path.stat().st_size
    if size > MAX_BYTES:
        found.append(f"size: {size / 1e6:.1f} MB is over {MAX_BYTES / 1e6:.0f} MB")
    try:
        nb = nbformat.read(path, as_version=4)
        nbformat.validate(nb)
    except Exception as exc:  # noqa: BLE001 - any parse or schema failure is the finding
        return [*found, f"nbformat: not a valid notebook ({type(exc).__name__}: {str(exc)[:200]})"]

    widgets = nb.metadata.get("widgets")
    if widgets is not None and "state" not in widgets.get("application/vnd.jupyter.widget-state+json", {}):
        found.append("widgets: metadata.widgets has no 'state' key, GitHub refuses to render the notebook")

    cells = nb.cells
    if not cells or cells[0].cell_type != "markdown" or not cells[0].source.lstrip().startswith("# "):
        found.append("title: the first cell is not a markdown '# Title'")
    markdown = "\n".join(c.source for c in cells if c.cell_type == "markdown")
    if colab.badge(rel) not in markdown:
        found.append(f"colab: no 'Open in Colab' badge pointing at {rel} (run `make colab-links`)")
    bootstrap = [c for c in cells if colab.BOOTSTRAP_TAG in c.metadata.get("tags", [])]
    if len(bootstrap) != 1 or bootstrap[0].source != colab.bootstrap_source(rel):
        found.append("colab: no up-to-date Colab bootstrap cell (run `make colab-links`)")

    code = [c for c in cells if c.cell_type == "code" and c.source.strip()]
    counts = [c.execution_count for c in code]
    if any(n is None for n in counts) or counts != list(range(1, len(code) + 1)):
        found.append(f"execution: code cells were not all executed once, top to bottom (counts {counts[:10]})")
    for index, cell in enumerate(cells):
        for output in cell.get("outputs", []):
            if output.output_type == "error":
                found.append(f"errors: cell {index} stores an error output ({output.get('ename')})")
        if cell.cell_type == "code":
            for pattern, what in (
                (REMOVED_PIPELINE, "a pipeline task removed in transformers v5"),
                (EVALUATE_LOAD, "evaluate.load, which needs the Hub"),
                (OLD_GEMINI_SDK, "the end-of-life google-generativeai SDK"),
            ):
                if pattern.search(cell.source):
                    found.append(f"api: cell {index} uses {what}")
    if SECRET.search(json.dumps(nb)):
        found.append("secrets: something that looks like an API key or token is stored in the notebook")
    return found
