"""The collection's offline asset store: name a checkpoint by its Hub id, get the best thing available.

    from nlp_assets import checkpoint, dataset
    ckpt = checkpoint("sentence-transformers/all-MiniLM-L6-v2")   # prints one line saying what it is
    model = AutoModel.from_pretrained(ckpt.id)
    lee = dataset("lee-2005")                                     # a local folder of real data files

Online (the Hub reachable), `ckpt.id` is the Hub id itself. Offline, it is one of
  upstream  - the upstream files, byte-identical, seeded into the HF cache under the same id;
  converted - the same model converted from another format, under an id that says so;
  stand-in  - a tiny random model of the same class, under an id that says so.
A checkpoint this collection trains itself (`offline-trained/...`, [trained] in the manifest) is not on the Hub: it
is trained here once per machine by its recipe, online or not, and `ckpt.kind` is "trained".
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from . import hub_cache, store
from .manifest import AssetError, load

__all__ = ["AssetError", "Checkpoint", "checkpoint", "dataset", "hub_reachable"]


@dataclass(frozen=True)
class Checkpoint:
    hub_id: str  # what the notebook asked for
    id: str  # what to pass to from_pretrained
    kind: str  # "hub" | "upstream" | "converted" | "stand-in" | "trained"
    note: str

    @property
    def is_standin(self) -> bool:
        return self.kind == "stand-in"


@cache
def hub_reachable() -> bool:
    """False when HF_HUB_OFFLINE is set or huggingface.co cannot be reached within 3 s."""
    if os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in {"1", "true", "yes", "on"}:
        return False
    try:
        socket.create_connection(("huggingface.co", 443), timeout=3).close()
        return True
    except OSError:
        return False


def checkpoint(hub_id: str) -> Checkpoint:
    """Resolve a Hub id to what loads here, fetching or building it if needed, and say which in one line."""
    manifest = load()
    if hub_id in manifest.trained:
        spec = manifest.trained[hub_id]
        load_id = store.ensure_trained(spec, manifest)
        facts = store.stamp("trained", hub_id)
        note = (f"{hub_id}: trained here by this collection, {facts.get('steps', '?')} steps, from {spec.base}, "
                f"recipe {spec.recipe} on {', '.join(spec.datasets)} (built in {facts.get('minutes', '?')} min on this "
                "machine; rebuilt when the recipe, its parameters or the data change). Not a Hub checkpoint.")
        # Online, from_pretrained would ask the Hub for this id, which does not exist there: give the local folder.
        path = str(hub_cache.cached_revision(load_id)) if hub_reachable() else load_id
        resolved = Checkpoint(hub_id, path, "trained", note)
    elif hub_reachable():
        resolved = Checkpoint(hub_id, hub_id, "hub", f"{hub_id}: from the Hugging Face Hub")
    elif hub_id in manifest.models:
        model = manifest.models[hub_id]
        load_id = store.ensure_model(model, manifest)
        source = manifest.source_of(model).label
        if model.kind == "upstream":
            note = f"{hub_id}: offline copy of the upstream files, byte-identical (from {source})"
        else:
            note = f"{hub_id}: offline CONVERTED copy '{load_id}', {model.description} (from {source})"
        resolved = Checkpoint(hub_id, load_id, model.kind, note)
    elif hub_id in manifest.standins:
        spec = manifest.standins[hub_id]
        load_id = store.ensure_standin(spec, manifest)
        note = (
            f"{hub_id}: offline STAND-IN '{load_id}', a tiny randomly initialised {spec.model_class}; "
            "its outputs are meaningless, it only runs the same code. Online, the real checkpoint loads."
        )
        resolved = Checkpoint(hub_id, load_id, "stand-in", note)
    else:
        raise AssetError(
            f"{hub_id} is not in the offline asset store and the Hub is unreachable. "
            "Add it to nlp_assets/manifest.toml under [models] (real files) or [standins]."
        )
    print(resolved.note)
    return resolved


def dataset(name: str) -> Path:
    """The local folder holding a dataset's files, fetched on first use; prints where it comes from."""
    manifest = load()
    if name not in manifest.datasets:
        raise AssetError(f"unknown dataset {name!r}; the asset store has: {', '.join(sorted(manifest.datasets))}")
    ds = manifest.datasets[name]
    folder = store.ensure_dataset(ds, manifest)
    print(f"{name}: {ds.description} (from {manifest.source_of(ds).label}; licence: {ds.license})")
    return folder
