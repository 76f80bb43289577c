"""The README's notebook table, generated from the stored output of each notebook's `headline` cell.

`make readme` (python -m nlp_assets.readme) rewrites the table between the two markers in README.md; a test fails
when the README is stale. Rows follow the suggested reading order; each shows the first row of its notebook's
headline (the notebook's main result), so the front page stays short.
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat

from nlp_assets import headline
from nlp_assets.colab import REPO_ROOT, badge, notebook_paths

HEADLINE_TAG = "headline"
START = "<!-- headline-table:start"
END = "<!-- headline-table:end -->"
READING_ORDER = (
    "paraphrase_sts/paraphrase_sts.ipynb",
    "classification_sentiment/classification_sentiment.ipynb",
    "ner/ner.ipynb",
    "question_answering/question_answering.ipynb",
    "retrieval_search/retrieval_search.ipynb",
    "text_generation/text_generation.ipynb",
    "summarization/summarization.ipynb",
    "machine_translation/machine_translation.ipynb",
    "speech_recognition/speech_recognition.ipynb",
    "optimization/quantization.ipynb",
    "optimization/pruning.ipynb",
    "optimization/knowledge_distillation.ipynb",
    "optimization/low_rank_factorization.ipynb",
)


def headline_of(path: Path) -> headline.Headline:
    """Parse the stored output of a notebook's last cell, which must be tagged `headline`."""
    nb = nbformat.read(path, as_version=4)
    last = nb.cells[-1] if nb.cells else None
    if last is None or last.cell_type != "code" or HEADLINE_TAG not in last.metadata.get("tags", []):
        raise ValueError(f"{path}: the last cell is not a code cell tagged {HEADLINE_TAG!r}")
    text = "".join(o.get("text", "") for o in last.get("outputs", []) if o.get("output_type") == "stream")
    try:
        return headline.parse(text)
    except ValueError as exc:
        raise ValueError(f"{path}: {exc} (execute the notebook to store its headline)") from exc


def _result(cells: list[str]) -> str:
    system, metric, value, baseline, baseline_value, difference = cells
    text = f"{metric}: {system} **{value}** vs {baseline} {baseline_value}"
    return f"{text}; difference {difference}" if difference else text


def table(root: Path = REPO_ROOT) -> str:
    found = [p.relative_to(root).as_posix() for p in notebook_paths(root)]
    if sorted(READING_ORDER) != found:
        raise ValueError(f"READING_ORDER must list every notebook once; notebooks found: {found}")
    lines = ["| Task | Notebook | Real model(s) | Headline result vs best baseline (95% CI) |", "|---|---|---|---|"]
    for rel in READING_ORDER:
        result = headline_of(root / rel)
        notebook = f"[{Path(rel).stem}]({rel})<br>{badge(rel, root)}"
        results = _result(result.rows[0])
        lines.append(f"| {result.task} | {notebook} | {result.real_models} | {results} |")
    return "\n".join(lines)


def render(readme_text: str, root: Path = REPO_ROOT) -> str:
    """The README text with the generated table between its markers."""
    start, end = readme_text.find(START), readme_text.find(END)
    if start < 0 or end < start:
        raise ValueError(f"README.md needs the markers {START!r} ... and {END!r}")
    start_line_end = readme_text.index("\n", start) + 1
    return readme_text[:start_line_end] + table(root) + "\n" + readme_text[end:]


def sync(root: Path = REPO_ROOT) -> bool:
    """Rewrite the README's table; returns whether it changed."""
    readme = root / "README.md"
    text = readme.read_text(encoding="utf-8")
    new = render(text, root)
    if new != text:
        readme.write_text(new, encoding="utf-8")
    return new != text


if __name__ == "__main__":
    print("README.md table updated" if sync() else "README.md table already up to date", file=sys.stderr)
