"""The Colab bootstrap cell installs what its notebook needs, and `sync()` writes it into every notebook."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import nbformat
import pytest

from nlp_assets import colab

NOTEBOOKS = [p.relative_to(colab.REPO_ROOT).as_posix() for p in colab.notebook_paths()]


def colab_commands(source: str) -> list[str]:
    """The shell and pip lines the cell runs in Colab."""
    return [line.strip() for line in source.splitlines() if line.strip().startswith(("!", "%"))]


@pytest.mark.parametrize("rel", NOTEBOOKS)
def test_bootstrap_installs_the_clone_with_the_notebooks_extra_only(rel: str) -> None:
    extra = Path(rel).stem.replace("_", "-")
    pips = [c for c in colab_commands(colab.bootstrap_source(rel)) if "pip" in c]
    assert pips == [f'%pip install --quiet --prefer-binary "{colab.CLONE_DIR}[{extra}]"']
    assert "requirements" not in colab.bootstrap_source(rel)


def test_bootstrap_installs_system_packages_where_a_notebook_needs_them() -> None:
    commands = colab_commands(colab.bootstrap_source("machine_translation/machine_translation.ipynb"))
    assert {"apertium", "apertium-eng-spa"} <= set(colab.SYSTEM_PACKAGES["machine_translation"])
    packages = " ".join(colab.SYSTEM_PACKAGES["machine_translation"])
    assert f"!apt-get -qq update > /dev/null && apt-get -qq install -y {packages} > /dev/null" in commands
    assert not any("apt-get" in c for c in colab_commands(colab.bootstrap_source("ner/ner.ipynb")))


def test_system_packages_belong_to_notebooks() -> None:
    assert set(colab.SYSTEM_PACKAGES) <= {Path(rel).stem for rel in NOTEBOOKS}


def test_makefile_installs_every_system_package() -> None:
    makefile = (colab.REPO_ROOT / "Makefile").read_text(encoding="utf-8")
    match = re.search(r"^SYSTEM_PACKAGES\s*:=(.*)$", makefile, re.MULTILINE)
    assert match, "Makefile: no SYSTEM_PACKAGES := line"
    wanted = sorted({package for packages in colab.SYSTEM_PACKAGES.values() for package in packages})
    assert sorted(match.group(1).split()) == wanted, "Makefile's SYSTEM_PACKAGES differ from nlp_assets.colab's"


def copy_collection(root: Path) -> list[Path]:
    """The notebooks, README and pyproject.toml copied to `root`, each notebook's bootstrap cell made stale."""
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(colab.REPO_ROOT / name, root / name)
    copies = []
    for rel in NOTEBOOKS:
        nb = nbformat.read(colab.REPO_ROOT / rel, as_version=4)
        for cell in nb.cells:
            if colab.BOOTSTRAP_TAG in cell.metadata.get("tags", []):
                cell.source = "%pip install -r requirements.txt"
        copy = root / rel
        copy.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, copy)
        copies.append(copy)
    return copies


def test_sync_writes_each_notebook_its_own_bootstrap_cell(tmp_path: Path) -> None:
    copies = copy_collection(tmp_path)
    assert set(copies) <= set(colab.sync(tmp_path))
    for copy in copies:
        rel = copy.relative_to(tmp_path).as_posix()
        nb = nbformat.read(copy, as_version=4)
        bootstrap = [c for c in nb.cells if colab.BOOTSTRAP_TAG in c.metadata.get("tags", [])]
        assert [c.source for c in bootstrap] == [colab.bootstrap_source(rel, tmp_path)], rel
    assert colab.sync(tmp_path) == []
