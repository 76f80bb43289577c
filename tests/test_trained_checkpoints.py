"""Trained checkpoints: the asset store's fourth kind. The fingerprint follows the recipe's code and parameters, and
a tiny build (the real QA recipe, a few steps on a stand-in base and a handful of questions) is stamped and reused."""

from __future__ import annotations

import json
import sys
from dataclasses import replace
from pathlib import Path

import pytest

import nlp_assets
from nlp_assets import hub_cache, store
from nlp_assets.manifest import AssetError, Dataset, Manifest, Source, StandIn, Trained, parse
from tests.test_asset_store import fake_pypi, sha, wheel_bytes  # noqa: F401 - fake_pypi is a fixture

CORPUS = "\n".join(["Who wrote the report in 1998 ? The committee wrote it , not the mayor ."] * 40).encode()


def _task() -> bytes:
    passages = [f"The river number {i} flows through the town of Alden {i} and reaches the sea in {1800 + i} ."
                for i in range(12)]
    examples = []
    for i, passage in enumerate(passages):
        examples.append({"input": f"Which town or rather what town does river {i} cross ?\ncontext: {passage}",
                         "target": f"Alden {i}"})
        examples.append({"input": f"Who um when was the bridge {i} built ?\ncontext: {passage}", "target": "unknown"})
    return json.dumps({"examples": examples}).encode()


def tiny_manifest(params: dict | None = None, recipe: str = "nlp_assets.qa:build_checkpoint") -> Manifest:
    wheel = wheel_bytes({"pkg/lee.cor": CORPUS, "pkg/task.json": _task()})
    source = Source(name="pkg", pypi="pkg", version="1.0", file="pkg-1.0-py3-none-any.whl", sha256=sha(wheel),
                    license="MIT")
    datasets = {"lee-2005": Dataset(name="lee-2005", source="pkg", members={"lee_background.cor": "pkg/lee.cor"},
                                    license="MIT"),
                "disfl-qa": Dataset(name="disfl-qa", source="pkg", members={"task.json": "pkg/task.json"},
                                    license="MIT")}
    base = StandIn(hub_id="org/tiny-bert", model_class="BertForQuestionAnswering", tokenizer="wordpiece",
                   tokenizer_class="BertTokenizer",
                   config={"hidden_size": 16, "num_hidden_layers": 1, "num_attention_heads": 2,
                           "intermediate_size": 32})
    trained = Trained(hub_id="offline-trained/tiny-qa", base="org/tiny-bert", datasets=["disfl-qa"], recipe=recipe,
                      license="MIT", params=params or {"max_steps": 3, "batch_size": 4})
    return Manifest(sources={"pkg": source}, models={}, standins={"org/tiny-bert": base}, datasets=datasets,
                    trained={trained.hub_id: trained})


@pytest.fixture
def tiny(fake_pypi: dict) -> Manifest:  # noqa: F811 - the fixture imported above
    manifest = tiny_manifest()
    fake_pypi["pkg"] = {"pkg-1.0-py3-none-any.whl": wheel_bytes({"pkg/lee.cor": CORPUS, "pkg/task.json": _task()})}
    return manifest


def test_fingerprint_follows_parameters_and_base() -> None:
    manifest = tiny_manifest()
    spec = manifest.trained["offline-trained/tiny-qa"]
    fp = store.trained_fingerprint(spec, manifest)
    assert store.trained_fingerprint(spec, tiny_manifest()) == fp  # the same entry: the same fingerprint
    assert store.trained_fingerprint(replace(spec, params={"max_steps": 4, "batch_size": 4}), manifest) != fp
    assert store.trained_fingerprint(replace(spec, description="reworded"), manifest) == fp
    other_base = replace(manifest.standins["org/tiny-bert"], config={"hidden_size": 32})
    changed = replace(manifest, standins={"org/tiny-bert": other_base})
    assert store.trained_fingerprint(spec, changed) != fp


def test_fingerprint_follows_the_recipe_code(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(tmp_path))
    (tmp_path / "recipe_a.py").write_text("def build(base, data, out_dir):\n    return {}\n")
    (tmp_path / "recipe_b.py").write_text("def build(base, data, out_dir):\n    return {}\n")
    manifest = tiny_manifest(recipe="recipe_a:build")
    spec = manifest.trained["offline-trained/tiny-qa"]
    before = store.trained_fingerprint(spec, manifest)
    assert store.trained_fingerprint(replace(spec, recipe="recipe_b:build"), manifest) != before  # another file
    (tmp_path / "recipe_a.py").write_text("def build(base, data, out_dir):\n    return {'steps': 1}\n")
    assert store.trained_fingerprint(spec, manifest) != before  # the same file, edited
    with pytest.raises(AssetError, match="cannot be found"):
        store.trained_fingerprint(replace(spec, recipe="no_such_module_here:build"), manifest)


def test_fingerprint_follows_the_sibling_modules_the_recipe_imports(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(tmp_path))
    package = tmp_path / "recipe_package"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "helpers.py").write_text("SCALE = 1\n")
    (package / "unrelated.py").write_text("X = 1\n")
    (package / "recipe.py").write_text("from . import helpers\n\ndef build(base, data, out_dir):\n    return {}\n")
    manifest = tiny_manifest(recipe="recipe_package.recipe:build")
    spec = manifest.trained["offline-trained/tiny-qa"]
    before = store.trained_fingerprint(spec, manifest)
    (package / "unrelated.py").write_text("X = 2\n")
    assert store.trained_fingerprint(spec, manifest) == before  # a module the recipe does not import
    (package / "helpers.py").write_text("SCALE = 2\n")
    assert store.trained_fingerprint(spec, manifest) != before  # code the recipe calls


def test_tiny_recipe_builds_stamps_and_is_reused(tiny: Manifest, monkeypatch: pytest.MonkeyPatch,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    from transformers import AutoModelForQuestionAnswering

    from nlp_assets import qa

    spec = tiny.trained["offline-trained/tiny-qa"]
    calls = []
    real = qa.build_checkpoint
    monkeypatch.setattr(qa, "build_checkpoint", lambda *a, **k: calls.append(1) or real(*a, **k))
    assert store.ensure_trained(spec, tiny) == "offline-trained/tiny-qa"
    assert calls == [1]
    facts = store.stamp("trained", spec.hub_id)
    assert facts["steps"] == 3 and facts["fingerprint"] == store.trained_fingerprint(spec, tiny)
    assert "[assets] training offline-trained/tiny-qa" in capsys.readouterr().err
    folder = hub_cache.cached_revision(spec.hub_id)
    assert folder is not None and "not a Hub checkpoint" in (folder / "README.md").read_text()
    AutoModelForQuestionAnswering.from_pretrained(spec.hub_id, local_files_only=True)

    assert store.ensure_trained(spec, tiny) == spec.hub_id  # stamped: reused, not trained again
    assert calls == [1]
    store.ensure_trained(replace(spec, params={"max_steps": 2, "batch_size": 4}), tiny)  # new parameters: rebuilt
    assert calls == [1, 1] and store.stamp("trained", spec.hub_id)["steps"] == 2

    monkeypatch.setattr(nlp_assets, "load", lambda: tiny)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    nlp_assets.hub_reachable.cache_clear()
    ckpt = nlp_assets.checkpoint(spec.hub_id)
    nlp_assets.hub_reachable.cache_clear()
    assert ckpt.kind == "trained" and ckpt.id == spec.hub_id and not ckpt.is_standin
    assert "trained here by this collection, 3 steps, from org/tiny-bert" in capsys.readouterr().out
    assert calls == [1, 1, 1]  # the parameters went back to 3 steps: a different fingerprint, so built again


def test_manifest_refuses_a_trained_id_that_could_be_a_hub_id() -> None:
    raw = {"trained": {"org/my-model": {"base": "x", "datasets": [], "recipe": "m:f", "license": "MIT"}}}
    with pytest.raises(AssetError, match="offline-trained/"):
        parse(raw)


def test_project_trained_entries_are_consistent() -> None:
    manifest = nlp_assets.load()
    for spec in manifest.trained.values():
        assert spec.hub_id.startswith("offline-trained/")
        assert spec.hub_id not in manifest.models and spec.hub_id not in manifest.standins
        module = spec.recipe.split(":")[0]
        assert module.startswith("nlp_assets.") and store.recipe_code(spec.recipe)
        assert sys.modules.get(module) is None or callable(getattr(sys.modules[module], spec.recipe.split(":")[1]))
