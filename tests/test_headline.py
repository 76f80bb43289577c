"""The headline cells' format, and the README table generated from them."""

from pathlib import Path

import nbformat
import pytest

from nlp_assets import headline, readme
from nlp_assets.colab import REPO_ROOT
from nlp_assets.stats import Estimate, PairedDifference

ROWS = [
    headline.Row("MiniLM QA", "SQuAD F1", Estimate(39.6, 37.2, 42.0, 1659), "always abstain", 26.2,
                 PairedDifference(13.4, 11.0, 16.1, 1.0, 1659), digits=1),
    headline.Row("whisper-base", "WER", Estimate(0.044, 0.01, 0.09, 10), "pocketsphinx", 0.22,
                 PairedDifference(-0.17, -0.3, -0.05, 0.0, 10)),
    headline.Row("student", "speed-up @ batch 32", 5.2, "fp32", 1.0, digits=1),
]


def test_show_prints_what_parse_reads_back(capsys: pytest.CaptureFixture[str]) -> None:
    headline.show("Question answering", "all-MiniLM-L6-v2 fine-tuned", ROWS)
    parsed = headline.parse(capsys.readouterr().out)
    assert parsed.task == "Question answering"
    assert parsed.real_models == "all-MiniLM-L6-v2 fine-tuned"
    assert parsed.rows == [
        ["MiniLM QA", "SQuAD F1", "39.6 [37.2, 42.0] (n=1659)", "always abstain", "26.2",
         "+13.4 [+11.0, +16.1]: better"],
        ["whisper-base", "WER", "0.044 [0.010, 0.090] (n=10)", "pocketsphinx", "0.220",
         "-0.170 [-0.300, -0.050]: anecdotal (n=10)"],
        ["student", "speed-up @ batch 32", "5.2", "fp32", "1.0", ""],
    ]


def test_headline_refuses_what_would_break_the_table() -> None:
    with pytest.raises(ValueError, match="cannot contain"):
        headline.format_headline("QA", "MiniLM | BERT", ROWS)
    with pytest.raises(ValueError, match="at least one row"):
        headline.format_headline("QA", "MiniLM", [])
    with pytest.raises(ValueError, match="expected columns"):
        headline.parse("Headline: QA\nReal model(s): MiniLM\n")


def _notebook_with_headline(path: Path, output: str, tags: list[str]) -> None:
    cell = nbformat.v4.new_code_cell("headline.show(...)", metadata={"tags": tags})
    cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=output)]
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# T"), cell]), path)


def test_headline_of_reads_the_last_cell_and_names_the_notebook_when_it_cannot(tmp_path: Path) -> None:
    good = tmp_path / "good.ipynb"
    _notebook_with_headline(good, headline.format_headline("QA", "MiniLM", ROWS[:1]) + "\n", ["headline"])
    assert readme.headline_of(good).rows[0][0] == "MiniLM QA"
    untagged = tmp_path / "untagged.ipynb"
    _notebook_with_headline(untagged, headline.format_headline("QA", "MiniLM", ROWS[:1]), [])
    with pytest.raises(ValueError, match="untagged.ipynb: the last cell is not a code cell tagged 'headline'"):
        readme.headline_of(untagged)
    unexecuted = tmp_path / "unexecuted.ipynb"
    _notebook_with_headline(unexecuted, "", ["headline"])
    with pytest.raises(ValueError, match="unexecuted.ipynb: .*execute the notebook"):
        readme.headline_of(unexecuted)


def test_render_replaces_only_the_text_between_the_markers() -> None:
    text = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    start = text.index(readme.START)
    end = text.index(readme.END)
    stale = text[: text.index("\n", start) + 1] + "| stale |\n" + text[end:]
    assert readme.render(stale) == readme.render(text)
    assert readme.render(stale).startswith(text[:start]) and readme.render(stale).endswith(text[end:])
    with pytest.raises(ValueError, match="needs the markers"):
        readme.render("# A README without the markers\n")


def test_readme_table_is_generated_from_the_current_headline_cells() -> None:
    text = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    assert readme.render(text) == text, "README.md's notebook table is stale: run `make readme`"
