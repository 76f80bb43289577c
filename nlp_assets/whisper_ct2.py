"""Convert a faster-whisper (CTranslate2) Whisper folder back into a transformers Whisper folder.

A CTranslate2 Whisper folder holds `model.bin` (the weights, CTranslate2's own binary format),
`config.json` (suppressed tokens, alignment heads, language ids), `tokenizer.json` and
`vocabulary.txt`. `convert(ct2_dir, out_dir)` writes a folder that
`WhisperForConditionalGeneration.from_pretrained` and `WhisperProcessor.from_pretrained` load.

`model.bin` is read by `read_ct2_model`, a plain parser of the documented layout (nothing is
unpickled or executed): a version and spec name, then `(name, shape, dtype, raw bytes)` records,
then aliases. The mapping undoes CTranslate2's own Whisper converter:
  self-attention  linear_0 = [q; k; v] (fused, k's bias stored as zeros), linear_1 = out_proj
  cross-attention linear_0 = q, linear_1 = [k; v] (fused), linear_2 = out_proj
  ffn             linear_0 = fc1, linear_1 = fc2;  layer norms gamma/beta = weight/bias
The WhisperConfig is rebuilt from the tensor shapes; the GenerationConfig from the CT2 config and
the tokenizer's special tokens. Weights are saved as float32 (the CT2 files here are float16, so
the result is NOT byte-identical to the upstream checkpoint: seed it under an id that says so).
"""

from __future__ import annotations

import json
import shutil
import struct
from pathlib import Path
from typing import BinaryIO

import numpy as np

from .manifest import AssetError

# Order of CTranslate2's DataType enum (include/ctranslate2/types.h).
_CT2_DTYPES: dict[int, np.dtype | None] = {
    0: np.dtype("<f4"),
    1: np.dtype("i1"),
    2: np.dtype("<i2"),
    3: np.dtype("<i4"),
    4: np.dtype("<f2"),
    5: None,  # bfloat16: numpy has no such dtype; handled in _to_array
}


def _read(f: BinaryIO, fmt: str) -> tuple:
    size = struct.calcsize("<" + fmt)
    data = f.read(size)
    if len(data) != size:
        raise AssetError(f"{getattr(f, 'name', 'model.bin')}: truncated CTranslate2 model file")
    return struct.unpack("<" + fmt, data)


def _read_string(f: BinaryIO) -> str:
    (length,) = _read(f, "H")
    return f.read(length)[:-1].decode("utf-8")  # stored with a trailing NUL


def _to_array(raw: bytes, type_id: int, shape: tuple[int, ...]) -> np.ndarray:
    if type_id == 5:  # bfloat16 -> float32: the bf16 bits are the high half of a float32
        return (np.frombuffer(raw, dtype="<u2").astype(np.uint32) << 16).view(np.float32).reshape(shape)
    dtype = _CT2_DTYPES.get(type_id)
    if dtype is None:
        raise AssetError(f"CTranslate2 model uses unknown data type id {type_id}")
    return np.frombuffer(raw, dtype=dtype).reshape(shape)


def read_ct2_model(path: Path) -> tuple[str, dict[str, np.ndarray]]:
    """The spec name and every variable (aliases resolved) of a CTranslate2 `model.bin`."""
    variables: dict[str, np.ndarray] = {}
    with Path(path).open("rb") as f:
        (version,) = _read(f, "I")
        if not 4 <= version <= 6:
            raise AssetError(f"{path}: CTranslate2 binary version {version} is not supported (4..6 are)")
        spec = _read_string(f)
        _read(f, "I")  # spec revision
        (count,) = _read(f, "I")
        for _ in range(count):
            name = _read_string(f)
            (rank,) = _read(f, "B")
            shape = _read(f, "I" * rank) if rank else ()
            type_id, num_bytes = _read(f, "B") + _read(f, "I")
            variables[name] = _to_array(f.read(num_bytes), type_id, tuple(shape))
        (aliases,) = _read(f, "I")
        for _ in range(aliases):
            alias, target = _read_string(f), _read_string(f)
            variables[alias] = variables[target]
    return spec, variables


def state_dict_from_ct2(v: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The transformers WhisperForConditionalGeneration state dict, from CT2 variable names."""
    if any(name.endswith("weight_scale") for name in v):
        raise AssetError("this CTranslate2 model is int8-quantized; only float16/float32/bfloat16 ones convert")
    out: dict[str, np.ndarray] = {}

    def linear(hf: str, ct2: str) -> None:
        out[f"{hf}.weight"] = v[f"{ct2}/weight"]
        if f"{ct2}/bias" in v:
            out[f"{hf}.bias"] = v[f"{ct2}/bias"]

    def norm(hf: str, ct2: str) -> None:
        out[f"{hf}.weight"], out[f"{hf}.bias"] = v[f"{ct2}/gamma"], v[f"{ct2}/beta"]

    def split(hf: str, ct2: str, names: tuple[str, ...]) -> None:
        for name, w, b in zip(names, *(np.split(v[f"{ct2}/{p}"], len(names)) for p in ("weight", "bias")), strict=True):
            out[f"{hf}.{name}.weight"] = w
            if name != "k_proj":  # Whisper's k projection has no bias; CT2 stores zeros there
                out[f"{hf}.{name}.bias"] = b

    for side in ("encoder", "decoder"):
        n_layers = sum(1 for name in v if name.startswith(f"{side}/layer_") and name.endswith("ffn/linear_0/weight"))
        for i in range(n_layers):
            hf, ct2 = f"model.{side}.layers.{i}", f"{side}/layer_{i}"
            split(f"{hf}.self_attn", f"{ct2}/self_attention/linear_0", ("q_proj", "k_proj", "v_proj"))
            linear(f"{hf}.self_attn.out_proj", f"{ct2}/self_attention/linear_1")
            norm(f"{hf}.self_attn_layer_norm", f"{ct2}/self_attention/layer_norm")
            if side == "decoder":
                linear(f"{hf}.encoder_attn.q_proj", f"{ct2}/attention/linear_0")
                split(f"{hf}.encoder_attn", f"{ct2}/attention/linear_1", ("k_proj", "v_proj"))
                linear(f"{hf}.encoder_attn.out_proj", f"{ct2}/attention/linear_2")
                norm(f"{hf}.encoder_attn_layer_norm", f"{ct2}/attention/layer_norm")
            linear(f"{hf}.fc1", f"{ct2}/ffn/linear_0")
            linear(f"{hf}.fc2", f"{ct2}/ffn/linear_1")
            norm(f"{hf}.final_layer_norm", f"{ct2}/ffn/layer_norm")
        norm(f"model.{side}.layer_norm", f"{side}/layer_norm")
        out[f"model.{side}.embed_positions.weight"] = v[f"{side}/position_encodings/encodings"]
    for conv in ("conv1", "conv2"):
        linear(f"model.encoder.{conv}", f"encoder/{conv}")
    out["model.decoder.embed_tokens.weight"] = v["decoder/embeddings/weight"]
    return out


def whisper_config_kwargs(v: dict[str, np.ndarray], eot: int, sot: int) -> dict:
    """WhisperConfig arguments read off the tensor shapes (and the stored head counts)."""
    vocab_size, d_model = v["decoder/embeddings/weight"].shape

    def layers(side: str) -> int:
        return sum(1 for n in v if n.startswith(f"{side}/layer_") and n.endswith("ffn/linear_0/weight"))

    return dict(
        vocab_size=int(vocab_size),
        d_model=int(d_model),
        num_mel_bins=int(v["encoder/conv1/weight"].shape[1]),
        encoder_layers=layers("encoder"),
        decoder_layers=layers("decoder"),
        encoder_attention_heads=int(v["encoder/num_heads"]),
        decoder_attention_heads=int(v["decoder/num_heads"]),
        encoder_ffn_dim=int(v["encoder/layer_0/ffn/linear_0/weight"].shape[0]),
        decoder_ffn_dim=int(v["decoder/layer_0/ffn/linear_0/weight"].shape[0]),
        max_source_positions=int(v["encoder/position_encodings/encodings"].shape[0]),
        max_target_positions=int(v["decoder/position_encodings/encodings"].shape[0]),
        pad_token_id=eot,
        bos_token_id=eot,
        eos_token_id=eot,
        decoder_start_token_id=sot,
        tie_word_embeddings=True,
    )


def _generation_config(ct2_config: dict, vocab: dict[str, int], vocab_size: int, max_length: int) -> dict:
    """Upstream-style generation_config.json fields, from the CT2 config and the tokenizer vocabulary."""
    id_to_token = {i: t for t, i in vocab.items()}
    eot, sot = vocab["<|endoftext|>"], vocab["<|startoftranscript|>"]
    multilingual = vocab_size >= 51865  # the rule OpenAI's code uses: English-only models have 51864 tokens
    gen = dict(
        alignment_heads=ct2_config.get("alignment_heads"),
        begin_suppress_tokens=ct2_config.get("suppress_ids_begin", []),
        suppress_tokens=ct2_config.get("suppress_ids", []),
        bos_token_id=eot,
        eos_token_id=eot,
        pad_token_id=eot,
        decoder_start_token_id=sot,
        max_length=max_length,
        no_timestamps_token_id=vocab["<|notimestamps|>"],
        prev_sot_token_id=vocab["<|startofprev|>"],
        max_initial_timestamp_index=50,
        is_multilingual=multilingual,
        return_timestamps=False,
    )
    if multilingual:
        gen["lang_to_id"] = {id_to_token[i]: i for i in ct2_config.get("lang_ids", [])}
        gen["task_to_id"] = {"transcribe": vocab["<|transcribe|>"], "translate": vocab["<|translate|>"]}
        # As in the upstream generation_config.json: with neither language nor task given, transformers falls back
        # to these (detect the language, then transcribe); without them it leaves out the task token and the
        # model rambles. When language or task is given, transformers builds the prompt from those instead.
        gen["forced_decoder_ids"] = [[1, None], [2, vocab["<|transcribe|>"]]]
    return gen


def convert(ct2_dir: Path, out_dir: Path) -> None:
    """Write a transformers Whisper folder (weights, config, generation config, processor) into `out_dir`."""
    import torch
    from transformers import (
        GenerationConfig,
        WhisperConfig,
        WhisperFeatureExtractor,
        WhisperForConditionalGeneration,
        WhisperProcessor,
        WhisperTokenizer,
    )

    ct2_dir, out_dir = Path(ct2_dir), Path(out_dir)
    spec, variables = read_ct2_model(ct2_dir / "model.bin")
    if spec != "WhisperSpec":
        raise AssetError(f"{ct2_dir}/model.bin holds a {spec}, not a Whisper model")
    ct2_config = json.loads((ct2_dir / "config.json").read_text())
    vocab = json.loads((ct2_dir / "tokenizer.json").read_text())["model"]["vocab"]
    added = {t["content"]: t["id"] for t in json.loads((ct2_dir / "tokenizer.json").read_text())["added_tokens"]}
    vocab = {**vocab, **added}
    eot, sot = vocab["<|endoftext|>"], vocab["<|startoftranscript|>"]

    config = WhisperConfig(**whisper_config_kwargs(variables, eot, sot))
    with torch.device("meta"):
        model = WhisperForConditionalGeneration(config)
    state = {k: torch.from_numpy(a.astype(np.float32)) for k, a in state_dict_from_ct2(variables).items()}
    missing = set(model.state_dict()) - set(state) - {"proj_out.weight"}
    unexpected = set(state) - set(model.state_dict())
    if missing or unexpected:
        raise AssetError(
            f"CT2 -> transformers mapping mismatch: missing {sorted(missing)}, unexpected {sorted(unexpected)}"
        )
    model.load_state_dict(state, strict=False, assign=True)
    model.tie_weights()  # proj_out shares the token embedding, as in upstream Whisper
    model.generation_config = GenerationConfig(
        **_generation_config(ct2_config, vocab, config.vocab_size, config.max_target_positions)
    )
    model.save_pretrained(out_dir)

    tokenizer = WhisperTokenizer(tokenizer_file=str(ct2_dir / "tokenizer.json"), unk_token="<|endoftext|>",
                                 bos_token="<|endoftext|>", eos_token="<|endoftext|>", pad_token="<|endoftext|>")
    processor = WhisperProcessor(WhisperFeatureExtractor(feature_size=config.num_mel_bins), tokenizer)
    processor.save_pretrained(out_dir)
    shutil.copy(ct2_dir / "config.json", out_dir / "ctranslate2_config.json")
