"""show_source: how the notebooks display code that lives in the package."""

import IPython.display

from nlp_assets import ner
from nlp_assets.notebook import show_source


def test_show_source_displays_the_functions_as_one_python_block(monkeypatch):
    shown = []
    monkeypatch.setattr(IPython.display, "display", shown.append)
    show_source(ner.align_labels, ner.tokenize_and_align)
    (markdown,) = shown
    assert markdown.data.startswith("```python\ndef align_labels(") and markdown.data.endswith("```")
    assert "\n\ndef tokenize_and_align(" in markdown.data
