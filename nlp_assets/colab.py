"""Colab badges and the notebooks' Colab bootstrap cell, derived from the one repository URL.

The URL lives in pyproject.toml ([project.urls] Repository); what each notebook installs in Colab is the
extra of pyproject.toml named after it, plus its SYSTEM_PACKAGES. After changing any of these, run
`make colab-links` (python -m nlp_assets.colab) to rewrite every badge and bootstrap cell.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import nbformat
from packaging.utils import canonicalize_name

REPO_ROOT = Path(__file__).resolve().parents[1]
BADGE_IMAGE = "https://colab.research.google.com/assets/colab-badge.svg"
BADGE_PATTERN = re.compile(
    r"\[!\[Open In Colab\]\(" + re.escape(BADGE_IMAGE) + r"\)\]\(https://colab\.research\.google\.com/github/[^)]*?/blob/main/([^)]+)\)"
)
BOOTSTRAP_TAG = "colab-bootstrap"
CLONE_DIR = "/content/nlp-notebooks"
# Programs a notebook runs that are not Python packages (apt package names), by notebook file stem.
# The Makefile's SYSTEM_PACKAGES (for laptops and CI) must list them all; a test checks it.
SYSTEM_PACKAGES: dict[str, list[str]] = {
    "machine_translation": ["apertium", "apertium-eng-spa", "apertium-es-pt"],
    "speech_recognition": ["ffmpeg"],
}


def repository_url(root: Path = REPO_ROOT) -> str:
    with (root / "pyproject.toml").open("rb") as f:
        return str(tomllib.load(f)["project"]["urls"]["Repository"]).rstrip("/")


def badge(notebook: str, root: Path = REPO_ROOT) -> str:
    """The 'Open in Colab' badge for a notebook path relative to the repository root."""
    github_path = repository_url(root).removeprefix("https://github.com/")
    return f"[![Open In Colab]({BADGE_IMAGE})](https://colab.research.google.com/github/{github_path}/blob/main/{notebook})"


def bootstrap_source(notebook: str, root: Path = REPO_ROOT) -> str:
    """The first code cell of `notebook` (a path relative to the repository root): in Colab, clone the collection
    and install the helper package with the notebook's extra, and its system packages."""
    stem = Path(notebook).stem
    # The extra's normalized name (PEP 685), as setuptools writes it in the metadata: pip before 23.3 compares
    # extras as written and would skip "classification_sentiment" with a warning.
    lines = [
        "# In Colab: clone the collection and install its helper package (nlp_assets) with what this notebook needs.",
        "# Elsewhere this cell does nothing: `make lab` has set everything up.",
        "import sys",
        "",
        'if "google.colab" in sys.modules:',
        f"    !git clone --quiet --depth 1 {repository_url(root)} {CLONE_DIR}",
        # Wheels over newer source releases: some releases lack a wheel for Colab's Python (tests/test_extras.py).
        f'    %pip install --quiet --prefer-binary "{CLONE_DIR}[{canonicalize_name(stem)}]"',
    ]
    if stem in SYSTEM_PACKAGES:
        packages = " ".join(SYSTEM_PACKAGES[stem])
        lines.append(f"    !apt-get -qq update > /dev/null && apt-get -qq install -y {packages} > /dev/null")
    return "\n".join(lines)


def notebook_paths(root: Path = REPO_ROOT) -> list[Path]:
    return sorted(root.glob("*/*.ipynb"))


def _rebadge(text: str, notebook: str | None, root: Path) -> str:
    """Point every badge at `notebook`, or, where None, at the notebook its own URL names."""
    return BADGE_PATTERN.sub(lambda m: badge(notebook or m.group(1), root), text)


def sync(root: Path = REPO_ROOT) -> list[Path]:
    """Rewrite the badge and bootstrap cell of every notebook, and the README's badges; returns changed files."""
    changed = []
    for path in notebook_paths(root):
        nb = nbformat.read(path, as_version=4)
        rel = path.relative_to(root).as_posix()
        before = nbformat.writes(nb)
        for cell in nb.cells:
            if cell.cell_type == "markdown":
                cell.source = _rebadge(cell.source, rel, root)
            elif BOOTSTRAP_TAG in cell.metadata.get("tags", []):
                cell.source = bootstrap_source(rel, root)
        if nbformat.writes(nb) != before:
            nbformat.write(nb, path)
            changed.append(path)
    readme = root / "README.md"
    text = readme.read_text(encoding="utf-8")
    if (new := _rebadge(text, None, root)) != text:
        readme.write_text(new, encoding="utf-8")
        changed.append(readme)
    return changed


if __name__ == "__main__":
    for changed_path in sync():
        print(f"updated {changed_path.relative_to(REPO_ROOT)}")
