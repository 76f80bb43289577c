"""The CTranslate2 -> transformers Whisper converter (nlp_assets/whisper_ct2.py).

1. Round trip, offline and exact: a tiny random transformers Whisper is written to a CTranslate2
   model.bin by CTranslate2's own converter code, read back by our parser, and every tensor must
   come back bit-for-bit (this pins the fused q/k/v and k/v splits and all names).
2. The real packages (whisper-tiny.en and whisper-base, float16 CTranslate2 files from PyPI): the
   converted transformers model's greedy transcript of a real LibriVox clip equals what the
   CTranslate2 runtime gives from the same files, token for token, and the next-token logits along
   that transcript agree within LOGIT_ATOL (both run in float32 from the same float16 weights;
   what differs is only kernel order and the runtimes' own float arithmetic).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from nlp_assets import fetch, store, whisper_ct2
from nlp_assets.manifest import load

ctranslate2 = pytest.importorskip("ctranslate2")
sf = pytest.importorskip("soundfile")

LOGIT_ATOL = 1e-3  # max |logit difference| allowed; measured 6.1e-05 (tiny.en), 7.3e-05 (base) on this clip
CLIP = "librivox/sense_and_sensibility_01_austen_64kb-0880.wav"  # 3 s: "he was not an ill disposed young man"


def test_round_trip_is_exact(tmp_path: Path) -> None:
    from ctranslate2.converters.transformers import WhisperLoader
    from transformers import WhisperConfig, WhisperForConditionalGeneration

    torch.manual_seed(0)
    config = WhisperConfig(
        vocab_size=100, d_model=32, encoder_layers=2, decoder_layers=3, encoder_attention_heads=2,
        decoder_attention_heads=4, encoder_ffn_dim=48, decoder_ffn_dim=64, num_mel_bins=16,
        max_source_positions=20, max_target_positions=12, pad_token_id=1, bos_token_id=1, eos_token_id=1,
        decoder_start_token_id=2,
    )
    model = WhisperForConditionalGeneration(config).eval()
    spec = WhisperLoader().get_model_spec(model)  # CTranslate2's own mapping, fusing q/k/v and k/v
    spec.register_vocabulary([f"t{i}" for i in range(config.vocab_size)])
    spec.validate()
    spec.optimize(quantization=None)
    spec.save(str(tmp_path))

    name, variables = whisper_ct2.read_ct2_model(tmp_path / "model.bin")
    assert name == "WhisperSpec"
    converted = whisper_ct2.state_dict_from_ct2(variables)
    reference = {k: t.numpy() for k, t in model.state_dict().items() if k != "proj_out.weight"}  # tied
    assert set(converted) == set(reference)
    for key, array in reference.items():
        np.testing.assert_array_equal(converted[key], array, err_msg=key)
    rebuilt = whisper_ct2.whisper_config_kwargs(variables, eot=1, sot=2)
    for key in ("vocab_size", "d_model", "num_mel_bins", "encoder_layers", "decoder_layers", "encoder_attention_heads",
                "decoder_attention_heads", "encoder_ffn_dim", "decoder_ffn_dim", "max_source_positions",
                "max_target_positions"):
        assert rebuilt[key] == getattr(config, key), key


def test_truncated_file_gives_clear_error(tmp_path: Path) -> None:
    (tmp_path / "model.bin").write_bytes(b"\x06\x00")
    with pytest.raises(whisper_ct2.AssetError, match="truncated"):
        whisper_ct2.read_ct2_model(tmp_path / "model.bin")


@pytest.mark.parametrize("hub_id", ["openai/whisper-tiny.en", "openai/whisper-base"])
def test_converted_model_matches_ctranslate2_runtime(hub_id: str, tmp_path: Path) -> None:
    from transformers import WhisperForConditionalGeneration, WhisperProcessor

    manifest = load()
    model_entry = manifest.models[hub_id]
    archive = fetch.download(manifest.source_of(model_entry), store.home() / "downloads")
    ct2_dir = store.extract_ct2_whisper(model_entry, manifest, archive, tmp_path / "ct2")
    whisper_ct2.convert(ct2_dir, tmp_path / "hf")
    processor = WhisperProcessor.from_pretrained(tmp_path / "hf")
    model = WhisperForConditionalGeneration.from_pretrained(tmp_path / "hf").eval()

    audio, rate = sf.read(store.ensure_dataset(manifest.datasets["pocketsphinx-testdata"], manifest) / CLIP,
                          dtype="float32")
    assert rate == 16000
    features = processor(audio, sampling_rate=rate, return_tensors="pt").input_features
    multilingual = model.generation_config.is_multilingual
    prompt_tokens = ["<|startoftranscript|>", "<|en|>", "<|transcribe|>", "<|notimestamps|>"] if multilingual \
        else ["<|startoftranscript|>", "<|notimestamps|>"]
    prompt = processor.tokenizer.convert_tokens_to_ids(prompt_tokens)

    with torch.no_grad():
        ours = model.generate(features, language="en" if multilingual else None,
                              task="transcribe" if multilingual else None, do_sample=False, num_beams=1,
                              max_new_tokens=40)
    ours_ids = [t for t in ours[0].tolist() if t < model.generation_config.eos_token_id]  # text tokens only

    runtime = ctranslate2.models.Whisper(str(ct2_dir), device="cpu", compute_type="float32")
    result = runtime.generate(ctranslate2.StorageView.from_array(features.numpy()), [prompt], beam_size=1,
                              max_length=40 + len(prompt), return_logits_vocab=True)[0]
    theirs_ids = result.sequences_ids[0]
    text = processor.tokenizer.decode(theirs_ids).strip().lower()
    assert "young man" in text, text  # base hears "ill disposed", tiny.en "old-sposed"
    assert ours_ids == theirs_ids, (processor.tokenizer.decode(ours_ids), text)

    # Next-token logits at every step of the transcript (+ the end token). The runtime masks suppressed
    # tokens with -inf-like values; compare on the tokens it left open.
    with torch.no_grad():
        logits = model(features, decoder_input_ids=torch.tensor([prompt + theirs_ids])).logits[0, len(prompt) - 1:]
    runtime_logits = np.stack([np.asarray(step).reshape(-1) for step in result.logits[0]])
    ours_logits = logits[: len(runtime_logits)].numpy()
    open_ = runtime_logits > -1e30
    assert open_.mean() > 0.99
    diff = np.abs(ours_logits - runtime_logits)[open_]
    print(f"{hub_id}: {len(theirs_ids)} tokens, max |logit difference| {diff.max():.2e}")
    assert diff.max() < LOGIT_ATOL, diff.max()
    # Greedy choice from our logits, over the same open tokens, retraces the runtime's transcript.
    eot = model.generation_config.eos_token_id
    assert np.where(open_, ours_logits, -np.inf).argmax(-1).tolist() == (theirs_ids + [eot])[: len(ours_logits)]
