"""Seed the Hugging Face cache so that `from_pretrained(repo_id)` works with HF_HUB_OFFLINE=1.

The layout is huggingface_hub's own:
    <HF_HUB_CACHE>/models--<org>--<name>/blobs/<sha256>
                                         snapshots/<revision>/<file>  -> ../../blobs/<sha256>
                                         refs/main                     (contains <revision>)
The revision is not an upstream commit (none is known offline): it is the sha1 of the file list
and hashes, so the same files always give the same revision.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

from huggingface_hub import constants

from .fetch import sha256_of


def repo_folder(repo_id: str, cache_dir: Path | None = None) -> Path:
    root = Path(cache_dir or constants.HF_HUB_CACHE)
    return root / ("models--" + repo_id.replace("/", "--"))


def cached_revision(repo_id: str, cache_dir: Path | None = None) -> Path | None:
    """The snapshot folder that refs/main points at, if the repo is in the cache."""
    folder = repo_folder(repo_id, cache_dir)
    ref = folder / "refs" / "main"
    if not ref.is_file():
        return None
    snapshot = folder / "snapshots" / ref.read_text().strip()
    return snapshot if snapshot.is_dir() else None


def seed(repo_id: str, source_dir: Path, cache_dir: Path | None = None) -> Path:
    """Move every file under `source_dir` into the cache as `repo_id`; returns the snapshot folder."""
    files = sorted(p for p in source_dir.rglob("*") if p.is_file())
    if not files:
        raise ValueError(f"nothing to seed for {repo_id}: {source_dir} is empty")
    hashes = {p.relative_to(source_dir).as_posix(): sha256_of(p) for p in files}
    revision = hashlib.sha1("".join(f"{k}\0{v}\n" for k, v in sorted(hashes.items())).encode()).hexdigest()

    folder = repo_folder(repo_id, cache_dir)
    snapshot = folder / "snapshots" / revision
    if snapshot.exists():
        shutil.rmtree(snapshot)
    (folder / "blobs").mkdir(parents=True, exist_ok=True)
    for path in files:
        rel = path.relative_to(source_dir).as_posix()
        blob = folder / "blobs" / hashes[rel]
        os.replace(path, blob)
        link = snapshot / rel
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(os.path.relpath(blob, link.parent))
    (folder / "refs").mkdir(exist_ok=True)
    (folder / "refs" / "main").write_text(revision)
    return snapshot
