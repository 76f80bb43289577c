"""Readers for asset-store datasets whose files are not plain text."""

from __future__ import annotations

import gzip
import json
import warnings
import zlib
from pathlib import Path
from typing import NamedTuple

from . import dataset


def read_r_lazyload(folder: Path) -> dict[str, list[str]]:
    """{variable: character vector} from an R lazy-load database (Rdata.rdx index + Rdata.rdb blobs), without R.

    The index is a gzip-compressed R serialization stream; each blob is a 4-byte big-endian length and a zlib
    stream of one serialized object. Parsed with `rdata`, which reads R's format (no pickle involved).
    """
    import rdata

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # rdata warns that the raw stream has no file header: expected here
        index = rdata.conversion.convert(rdata.parser.parse_data(gzip.decompress((folder / "Rdata.rdx").read_bytes())))
        blob = (folder / "Rdata.rdb").read_bytes()
        variables = {}
        for name, (offset, length) in index["variables"].items():
            record = blob[int(offset):int(offset) + int(length)]
            raw = zlib.decompress(record[4:])
            if len(raw) != int.from_bytes(record[:4], "big"):
                raise ValueError(f"{folder}: the blob of {name} does not have its declared length")
            variables[str(name)] = [str(line) for line in rdata.conversion.convert(rdata.parser.parse_data(raw))]
    return variables


def austen_novels() -> dict[str, list[str]]:
    """Jane Austen's six novels, one list of Project Gutenberg lines per novel (e.g. "prideprejudice", "emma")."""
    return read_r_lazyload(dataset("janeausten"))


def paragraphs(lines: list[str]) -> str:
    """Gutenberg lines joined into paragraphs, one per line (blank lines separate paragraphs in the source)."""
    return "\n".join(" ".join(block.split()) for block in "\n".join(lines).split("\n\n") if block.strip())


def lee_2005() -> tuple[list[str], list[float]]:
    """Lee, Pincombe & Welsh (2005): the 50 news documents and the 1,225 human similarity scores (0-1) of their
    pairs, in the order of numpy's `triu_indices(50, k=1)` (pair (0,1), (0,2), ..., (48,49))."""
    import numpy as np

    folder = dataset("lee-2005")
    docs = (folder / "lee.cor").read_text(encoding="latin-1").strip().split("\n")
    human = np.loadtxt(folder / "similarities0-1.txt")
    if human.shape != (len(docs), len(docs)):
        raise ValueError(f"{folder}: {len(docs)} documents but a {human.shape} score matrix")
    return docs, human[np.triu_indices(len(docs), k=1)].tolist()


class DisflQaExample(NamedTuple):
    """One Disfl-QA item: the disfluent question, its SQuAD v2 paragraph, and the answer ("unknown" if none)."""

    question: str
    context: str
    target: str


def disfl_qa(task_file: Path | None = None) -> list[DisflQaExample]:
    """BIG-bench's disfl_qa task.json (inputs read "<question>\\ncontext: <paragraph>") as examples, in file order;
    `task_file` defaults to the asset store's copy."""
    task_file = task_file or dataset("disfl-qa") / "task.json"
    task = json.loads(Path(task_file).read_text(encoding="utf-8"))
    examples = []
    for example in task["examples"]:
        question, context = example["input"].split("\ncontext: ")
        examples.append(DisflQaExample(question.strip(), context.strip(), example["target"]))
    return examples
