"""nlp_assets.asr: Whisper's English normaliser with digit runs joined, so "five five" and "5 5" score the same.

Each check is a function of the normaliser, run on the real one and on the standard normaliser without the join,
which it must reject: the test cannot pass whatever the code does.
"""

from collections.abc import Callable

import jiwer
import pytest
from transformers.models.whisper.english_normalizer import EnglishTextNormalizer

from nlp_assets import asr
from nlp_assets.manifest import AssetError

SPELLING = {"colour": "color", "recognised": "recognized"}


def check_digit_runs_score_alike(normalize: Callable[[str], str]) -> None:
    """The spoken "five five" (reference) and Whisper's "5 5" (hypothesis) are the same words: WER 0, not 2."""
    assert normalize("five five") == normalize("5 5") == normalize("5, 5.")
    assert jiwer.wer(normalize("five five"), normalize("5 5")) == 0.0


def check_words_next_to_digits_untouched(normalize: Callable[[str], str]) -> None:
    """Only digit-to-digit gaps close: a card with its suit, or a number before a word, keeps its words."""
    assert normalize("Four queen of clubs.") == "4 queen of clubs"
    assert normalize("10 of Clubs, 7 of hearts") == "10 of clubs 7 of hearts"


def check_standard_normalisation_kept(normalize: Callable[[str], str]) -> None:
    """Everything Whisper's normaliser does still happens: case, punctuation, titles, spelling, spelled numbers."""
    assert normalize("Mr. Smith: colour, recognised?") == "mister smith color recognized"
    assert normalize("twenty five") == normalize("25") == "25"


def test_whisper_normalizer_joins_digit_runs() -> None:
    check_digit_runs_score_alike(asr.whisper_normalizer(SPELLING))


def test_standard_normalizer_alone_fails_the_digit_check() -> None:
    standard = EnglishTextNormalizer(SPELLING)
    assert jiwer.wer(standard("five five"), standard("5 5")) == 2.0  # "55" vs "5 5": one substitution, one insertion
    with pytest.raises(AssertionError):
        check_digit_runs_score_alike(standard)


def test_words_next_to_digits_untouched() -> None:
    check_words_next_to_digits_untouched(asr.whisper_normalizer(SPELLING))
    with pytest.raises(AssertionError):  # a join that also swallows the space before a word is rejected
        check_words_next_to_digits_untouched(lambda text: asr.whisper_normalizer(SPELLING)(text).replace(" ", ""))


def test_standard_normalisation_kept() -> None:
    check_standard_normalisation_kept(asr.whisper_normalizer(SPELLING))
    with pytest.raises(AssertionError):  # without the spelling map "colour" stays British
        check_standard_normalisation_kept(asr.whisper_normalizer({}))


def test_join_digit_runs() -> None:
    assert asr.join_digit_runs("1 2 3 of 4 5") == "123 of 45"
    assert asr.join_digit_runs("no digits here") == "no digits here"


def test_unknown_ct2_model_names_the_known_ones() -> None:
    with pytest.raises(AssetError, match="openai/whisper-base"):
        asr.ct2_whisper_folder("openai/whisper-large-v3")
