"""Build the models that are not shipped as-is: converted copies and tiny random stand-ins.

Each function writes a plain transformers folder (config, safetensors weights, tokenizer)
into `out_dir`; the store then seeds it into the Hugging Face cache.
"""

from __future__ import annotations

import inspect
import json
import string
import tempfile
from pathlib import Path

from .manifest import Model, StandIn

STANDIN_VOCAB_SIZE = 2000

STANDIN_CARD = """# Stand-in for {hub_id}

This is NOT {hub_id}. It is a tiny, randomly initialised `{model_class}` built offline by the
project's asset store, with a {tokenizer} tokenizer trained on local English text, so that code
written for {hub_id} runs unchanged where the Hugging Face Hub cannot be reached. Its outputs
are meaningless. Where the Hub is reachable, the notebooks load the real checkpoint instead.
"""


def convert_gguf(model: Model, gguf_path: Path, out_dir: Path) -> None:
    """Dequantize a GGUF checkpoint to a float32 safetensors folder (transformers reads GGUF itself)."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(gguf_path.parent, gguf_file=gguf_path.name)
    network = AutoModelForCausalLM.from_pretrained(gguf_path.parent, gguf_file=gguf_path.name, dtype=torch.float32)
    # Loaded from GGUF, the model still carries the GGUF quantizer; the weights are plain float32 now.
    network.hf_quantizer = None
    del network.config.quantization_config
    network.save_pretrained(out_dir)
    tokenizer.save_pretrained(out_dir)
    (out_dir / "README.md").write_text(
        f"# {model.load_id}\n\nConverted offline from `{gguf_path.name}`: {model.description}.\n"
        f"Upstream model: {model.hub_id}. Licence: {model.license}.\n"
    )


def _special_tokens(tokenizer_cls: type) -> list[str]:
    """The default special tokens of a tokenizer class, read from its constructor's defaults.

    Subclasses that only forward `*args, **kwargs` (e.g. DPRQuestionEncoderTokenizer -> BertTokenizer) declare
    none themselves: walk up the class hierarchy to the first constructor that does.
    """
    for cls in tokenizer_cls.__mro__:
        if "__init__" not in vars(cls):
            continue
        params = inspect.signature(cls.__init__).parameters.values()
        tokens = [p.default for p in params if p.name.endswith("_token") and isinstance(p.default, str)]
        if tokens:
            return list(dict.fromkeys(tokens))
    return []


def _canonical_vocab(vocab: dict[str, int], specials: list[str]) -> dict[str, int]:
    """Specials first, then the other tokens in sorted order: the trainers' ids depend on hash order, so
    without this two builds give different ids, different stand-in outputs, and stored outputs that drift."""
    return {token: i for i, token in enumerate([*specials, *sorted(set(vocab) - set(specials))])}


def _merges(tok) -> list[tuple[str, str]]:  # a trained tokenizers BPE model's merges, as transformers wants them
    merges = json.loads(tok.to_str())["model"]["merges"]
    return [tuple(m.split(" ")) if isinstance(m, str) else tuple(m) for m in merges]


def _train_tokenizer(spec: StandIn, corpus: list[str]):  # returns a transformers tokenizer
    import transformers
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers

    tokenizer_cls = getattr(transformers, spec.tokenizer_class)
    specials = _special_tokens(tokenizer_cls)
    unk = next((t for t in specials if "unk" in t.lower()), "<unk>")
    if spec.tokenizer == "wordpiece":
        tok = Tokenizer(models.WordPiece(unk_token="[UNK]"))
        tok.normalizer = normalizers.BertNormalizer(lowercase=True)
        tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
        tok.train_from_iterator(
            corpus, trainers.WordPieceTrainer(vocab_size=STANDIN_VOCAB_SIZE, special_tokens=specials)
        )
        return tokenizer_cls(vocab=_canonical_vocab(tok.get_vocab(), specials))
    if spec.tokenizer == "byte-bpe":
        tok = Tokenizer(models.BPE())
        tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
        tok.decoder = decoders.ByteLevel()
        trainer = trainers.BpeTrainer(
            vocab_size=STANDIN_VOCAB_SIZE, special_tokens=specials, initial_alphabet=pre_tokenizers.ByteLevel.alphabet()
        )
        tok.train_from_iterator(corpus, trainer)
        return tokenizer_cls(vocab=_canonical_vocab(tok.get_vocab(), specials), merges=_merges(tok))
    if spec.tokenizer == "bpe":  # SentencePiece-style BPE: no byte alphabet, words marked with "▁" (NllbTokenizer)
        tok = Tokenizer(models.BPE(unk_token=unk))
        tok.pre_tokenizer = pre_tokenizers.Metaspace()
        tok.train_from_iterator(corpus, trainers.BpeTrainer(vocab_size=STANDIN_VOCAB_SIZE, special_tokens=specials))
        return tokenizer_cls(vocab=_canonical_vocab(tok.get_vocab(), specials), merges=_merges(tok))
    if spec.tokenizer == "sentencepiece":  # slow tokenizers that read SentencePiece model files (MarianTokenizer)
        import sentencepiece

        folder = Path(tempfile.mkdtemp())
        # One thread: the same pieces and scores on every build. No <s>: Marian vocabularies have none.
        sentencepiece.SentencePieceTrainer.train(
            sentence_iterator=iter(corpus), model_prefix=str(folder / "spm"), vocab_size=STANDIN_VOCAB_SIZE,
            model_type="unigram", num_threads=1, unk_id=0, eos_id=1, bos_id=-1, pad_id=-1, minloglevel=2,
        )
        processor = sentencepiece.SentencePieceProcessor(model_file=str(folder / "spm.model"))
        pieces = [processor.id_to_piece(i) for i in range(processor.get_piece_size())]
        (folder / "vocab.json").write_text(json.dumps(_canonical_vocab(dict.fromkeys(pieces, 0), specials)))
        spm_file = str(folder / "spm.model")
        return tokenizer_cls(spm_file, spm_file, str(folder / "vocab.json"))  # source spm, target spm, vocab
    if spec.tokenizer == "unigram":
        tok = Tokenizer(models.Unigram())
        tok.pre_tokenizer = pre_tokenizers.Metaspace()
        tok.train_from_iterator(
            corpus, trainers.UnigramTrainer(vocab_size=STANDIN_VOCAB_SIZE, special_tokens=specials, unk_token=unk)
        )
        # The trainer's piece set is stable but its scores carry float noise from run to run (seen: 8e-4), which
        # reorders ids and can flip segmentations. Keep its pieces, give every one the same score (Viterbi then
        # picks the fewest pieces) and canonical ids, so every build gives the same tokenizer.
        pieces = [piece for piece, _ in json.loads(tok.to_str())["model"]["vocab"]]
        return tokenizer_cls(vocab=[(piece, 0.0 if piece in specials else -1.0)
                                    for piece in _canonical_vocab(dict.fromkeys(pieces, 0), specials)])
    if spec.tokenizer == "characters":  # CTC models (Wav2Vec2): one token per letter, specials incl. "|" between words
        letters = sorted({c for line in corpus for c in line.upper() if c in string.ascii_uppercase + "'"})
        vocab_file = Path(tempfile.mkdtemp()) / "vocab.json"
        vocab_file.write_text(json.dumps({t: i for i, t in enumerate(dict.fromkeys([*specials, *letters]))}))
        return tokenizer_cls(str(vocab_file))
    raise ValueError(f"unknown stand-in tokenizer {spec.tokenizer!r} for {spec.hub_id}")


def build_standin(spec: StandIn, corpus: list[str], out_dir: Path) -> None:
    import torch
    import transformers
    from transformers.models.auto.feature_extraction_auto import FEATURE_EXTRACTOR_MAPPING_NAMES

    tokenizer = _train_tokenizer(spec, corpus)
    model_cls = getattr(transformers, spec.model_class)
    special_ids = {
        f"{name}_token_id": getattr(tokenizer, f"{name}_token_id")
        for name in ("pad", "bos", "eos")
        if getattr(tokenizer, f"{name}_token_id", None) is not None
    }
    # Encoder-decoder configs point at specials by number (BART starts decoding with eos, Pegasus with pad):
    # map each default through the special it names, since the stand-in vocabulary numbers its specials itself.
    defaults = model_cls.config_class()
    named = {getattr(defaults, key, None): value for key, value in special_ids.items()}
    for key in ("decoder_start_token_id", "forced_bos_token_id", "forced_eos_token_id"):
        if getattr(defaults, key, None) is not None and getattr(defaults, key) in named:
            special_ids[key] = named[getattr(defaults, key)]
    if defaults.is_encoder_decoder and "decoder_start_token_id" not in special_ids and "pad_token_id" in special_ids:
        # T5's config names no decoder start token; T5 starts from pad
        special_ids["decoder_start_token_id"] = special_ids["pad_token_id"]
    config = model_cls.config_class(vocab_size=len(tokenizer), **{**special_ids, **spec.config})
    torch.manual_seed(0)
    model_cls(config).save_pretrained(out_dir)
    tokenizer.save_pretrained(out_dir)
    # Speech models need their feature extractor too (the class's default settings, e.g. 16 kHz).
    feature_extractor = FEATURE_EXTRACTOR_MAPPING_NAMES.get(config.model_type)
    if feature_extractor and model_cls.main_input_name != "input_ids":
        getattr(transformers, feature_extractor)().save_pretrained(out_dir)
    (out_dir / "README.md").write_text(
        STANDIN_CARD.format(hub_id=spec.hub_id, model_class=spec.model_class, tokenizer=spec.tokenizer)
    )
