"""Download a pinned package file from PyPI or Debian, verify its sha256, extract members.

Nothing here unpickles or imports what it downloads: archives are only read as archives.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import sys
import tarfile
import urllib.error
import urllib.request
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from .manifest import AssetError, Source

PYPI_SIMPLE = os.environ.get("NLP_ASSETS_PYPI_SIMPLE", "https://pypi.org/simple")
CHUNK = 1 << 20


def pypi_file_url(package: str, filename: str) -> str:
    """The download URL of one file of a PyPI package, from the simple index (PEP 691 JSON)."""
    request = urllib.request.Request(
        f"{PYPI_SIMPLE}/{package}/", headers={"Accept": "application/vnd.pypi.simple.v1+json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            listing = json.load(response)
    except urllib.error.HTTPError as exc:
        if exc.code == 404:
            raise AssetError(
                f"PyPI has no package {package!r} ({exc}). Check the name in nlp_assets/manifest.toml."
            ) from exc
        raise AssetError(f"PyPI index for {package!r} answered {exc}. Try again later.") from exc
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        raise AssetError(
            f"Cannot reach the PyPI index for {package!r} ({exc}). Assets come from PyPI and Debian only: "
            "check the network, or set NLP_ASSETS_PYPI_SIMPLE to a mirror's simple index."
        ) from exc
    for entry in listing.get("files", []):
        if entry["filename"] == filename:
            return str(entry["url"])
    raise AssetError(f"PyPI package {package!r} has no file {filename!r}: was that release yanked or deleted?")


def source_url(source: Source) -> str:
    if source.deb_url:
        return source.deb_url
    assert source.pypi is not None
    return pypi_file_url(source.pypi, source.file)


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def download(source: Source, downloads: Path) -> Path:
    """The verified package file, downloaded once into `downloads` and reused after."""
    target = downloads / source.file
    if target.exists():
        if sha256_of(target) == source.sha256:
            return target
        target.unlink()  # a file that no longer matches its pin is never used
    downloads.mkdir(parents=True, exist_ok=True)
    url = source_url(source)
    partial = target.with_name(target.name + ".part")
    digest = hashlib.sha256()
    print(f"  downloading {source.file} ({source.label}) ...", file=sys.stderr, flush=True)
    try:
        with urllib.request.urlopen(url, timeout=120) as response, partial.open("wb") as out:
            while chunk := response.read(CHUNK):
                digest.update(chunk)
                out.write(chunk)
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        partial.unlink(missing_ok=True)
        raise AssetError(
            f"Download of {source.file} ({source.label}) from {url} failed: {exc}. "
            "Check the network and re-run `make assets`; nothing partial was kept."
        ) from exc
    if digest.hexdigest() != source.sha256:
        partial.unlink()
        raise AssetError(
            f"sha256 mismatch for {source.file} ({source.label}): expected {source.sha256}, got {digest.hexdigest()}. "
            "The file was deleted, not used. If the package was re-uploaded on purpose, check its contents and "
            "update the pin in nlp_assets/manifest.toml; otherwise report it."
        )
    partial.rename(target)
    return target


@contextmanager
def _deb_data_tar(path: Path) -> Iterator[tarfile.TarFile]:
    """The data.tar.* member of a Debian package (an `ar` archive), opened as a tar stream."""
    with path.open("rb") as f:
        if f.read(8) != b"!<arch>\n":
            raise AssetError(f"{path.name} is not a Debian package (no ar header)")
        while header := f.read(60):
            name = header[:16].decode().strip().rstrip("/")
            size = int(header[48:58].decode().strip())
            if name.startswith("data.tar"):
                with tarfile.open(fileobj=io.BytesIO(f.read(size)), mode="r:*") as tar:
                    yield tar
                return
            f.seek(size + size % 2, os.SEEK_CUR)
    raise AssetError(f"{path.name} has no data.tar member")


def _iter_members(path: Path) -> Iterator[tuple[str, IO[bytes]]]:
    """Every regular file in a wheel/zip, sdist (.tar.gz) or .deb, in archive order, as (name, stream)."""
    if path.suffix in {".whl", ".zip"}:
        with zipfile.ZipFile(path) as zf:
            for info in zf.infolist():
                if not info.is_dir():
                    with zf.open(info) as stream:
                        yield info.filename, stream
        return
    if path.suffix == ".deb":
        opener = _deb_data_tar(path)
    else:
        opener = tarfile.open(path, mode="r|*")  # streaming: members come out in order, no seeking
    with opener as tar:
        for member in tar:
            stream = tar.extractfile(member) if member.isfile() else None
            if stream is not None:
                yield member.name.removeprefix("./"), stream


def extract(archive: Path, members: dict[str, str], dest: Path) -> None:
    """Copy `members` ({relative output path: path in archive}) out of `archive` into `dest`."""
    wanted = {inner: out for out, inner in members.items()}
    for name, stream in _iter_members(archive):
        if name in wanted:
            target = dest / wanted.pop(name)
            target.parent.mkdir(parents=True, exist_ok=True)
            with target.open("wb") as out:
                shutil.copyfileobj(stream, out, CHUNK)
            if not wanted:
                return
    raise AssetError(f"{archive.name} lacks {sorted(wanted)}: the manifest names members the package does not have")
