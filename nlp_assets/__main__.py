"""Command line: `python -m nlp_assets fetch [--all | NAME ...]` and `python -m nlp_assets list`.

`fetch` also trains the checkpoints of [trained] in the manifest (once per machine; rebuilt when their recipe changes).
"""

from __future__ import annotations

import argparse
import sys
import time

from . import store
from .manifest import AssetError, load


def _fetch(names: list[str]) -> None:
    manifest = load()
    for name in names:
        if name in manifest.datasets:
            store.ensure_dataset(manifest.datasets[name], manifest)
        elif name in manifest.models:
            store.ensure_model(manifest.models[name], manifest)
        elif name in manifest.standins:
            store.ensure_standin(manifest.standins[name], manifest)
        elif name in manifest.trained:
            store.ensure_trained(manifest.trained[name], manifest)
        else:
            raise AssetError(f"{name!r} is not in nlp_assets/manifest.toml (try `python -m nlp_assets list`)")


def _list() -> None:
    manifest = load()
    for model in manifest.models.values():
        print(f"model     {model.hub_id:45} {model.kind:9} {manifest.source_of(model).label}")
    for spec in manifest.standins.values():
        print(f"stand-in  {spec.hub_id:45} {spec.model_class}")
    for trained in manifest.trained.values():
        print(f"trained   {trained.hub_id:45} {'':9} {trained.recipe} from {trained.base}")
    for ds in manifest.datasets.values():
        print(f"dataset   {ds.name:45} {'':9} {manifest.source_of(ds).label}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m nlp_assets", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    fetch = sub.add_parser("fetch", help="fetch, verify and install assets")
    fetch.add_argument("names", nargs="*", help="Hub ids or dataset names")
    fetch.add_argument("--all", action="store_true", help="every asset in the manifest")
    sub.add_parser("list", help="list the manifest")
    args = parser.parse_args(argv)
    try:
        if args.command == "list":
            _list()
        elif args.all:
            started = time.monotonic()
            store.ensure_all()
            print(f"[assets] all assets present ({time.monotonic() - started:.1f} s) in {store.home()}")
        elif args.names:
            _fetch(args.names)
        else:
            parser.error("fetch needs --all or at least one name")
    except AssetError as exc:
        print(f"[assets] error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
