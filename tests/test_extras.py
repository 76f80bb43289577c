"""pyproject.toml's extras: one per notebook on top of `core`, requirements.txt is their union, and each resolves
for Colab (Python 3.12 and 3.13 on Linux x86_64) to wheels, around the torch Colab preinstalls."""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from uv import find_uv_bin

from nlp_assets import colab

PYPROJECT = colab.REPO_ROOT / "pyproject.toml"
with PYPROJECT.open("rb") as f:
    EXTRAS: dict[str, list[str]] = tomllib.load(f)["project"]["optional-dependencies"]
PROJECT = "nlp-assets"
NOTEBOOK_EXTRAS = [name for name in EXTRAS if name != "core"]

# The torch that Colab preinstalls, by Python version: the extras must resolve with it, so that installing one
# never replaces it. 3.12: googlecolab/backend-info pip-freeze.gpu.txt (torch 2.10.0+cu128, cp312 wheels), the
# latest freeze found. 3.13: Colab moved to it in August 2026 (googlecolab/colabtools#6081) and no freeze of that
# runtime was found, so this is the release requirements-lock.txt pins, which has 3.13 wheels.
COLAB_TORCH = {"3.12": "2.10.0", "3.13": "2.13.0"}
COLAB_PLATFORM = "x86_64-manylinux_2_35"  # Colab's image is Ubuntu 22.04: glibc 2.35
# Pure-Python packages with no wheel for any release the ranges allow: pip builds them in seconds, with no compiler.
SDIST_ONLY = ("pysword", "rouge-score", "seqeval")


def normalized(requirement: str) -> str:
    parsed = Requirement(requirement)
    parsed.name = canonicalize_name(parsed.name)
    return str(parsed)  # extras and specifiers come out sorted


def test_every_notebook_has_an_extra() -> None:
    assert set(NOTEBOOK_EXTRAS) == {path.stem for path in colab.notebook_paths()}


@pytest.mark.parametrize("extra", NOTEBOOK_EXTRAS)
def test_notebook_extra_builds_on_core(extra: str) -> None:
    assert f"{PROJECT}[core]" in {normalized(r) for r in EXTRAS[extra]}


def test_requirements_txt_is_the_union_of_the_extras() -> None:
    lines = (colab.REPO_ROOT / "requirements.txt").read_text(encoding="utf-8").splitlines()
    listed = {normalized(line) for line in lines if line.strip() and not line.startswith("#")}
    union = {normalized(r) for group in EXTRAS.values() for r in group if Requirement(r).name != PROJECT}
    assert listed == union, (
        f"only in requirements.txt: {sorted(listed - union)}; only in pyproject.toml's extras: {sorted(union - listed)}"
    )


@pytest.mark.network
@pytest.mark.parametrize("python", COLAB_TORCH)
@pytest.mark.parametrize("extra", NOTEBOOK_EXTRAS)
def test_extra_resolves_to_wheels_for_colab(extra: str, python: str, tmp_path: Path) -> None:
    constraints = tmp_path / "colab-torch.txt"
    constraints.write_text(f"torch=={COLAB_TORCH[python]}\n")
    no_binary = [arg for package in SDIST_ONLY for arg in ("--no-binary", package)]
    result = subprocess.run(
        # --python: this interpreter builds the SDIST_ONLY packages' metadata (else uv seeks, or downloads, one
        # of the target version); --python-version and --python-platform set the wheels' tags.
        [find_uv_bin(), "pip", "compile", "--quiet", str(PYPROJECT), "--extra", extra, "--python", sys.executable,
         "--python-version", python, "--python-platform", COLAB_PLATFORM, "--constraint", str(constraints),
         "--only-binary", ":all:", *no_binary, "--output-file", os.devnull],
        capture_output=True, text=True, timeout=300,
    )
    if result.returncode != 0:  # uv's explanation names what only a source build would give ("has no usable wheels")
        pytest.fail(
            f"[{extra}] does not resolve to wheels for Python {python} with Colab's torch {COLAB_TORCH[python]}:\n"
            f"{result.stderr}"
        )
