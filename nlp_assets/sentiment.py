"""Sentiment classification on the VADER corpora: the data, the mean-pooling classifier, the linear probe and the
`Trainer` recipe that the classification_sentiment notebook teaches, and `build_checkpoint`, the asset store's recipe
for `offline-trained/all-MiniLM-L6-v2-movie-sentiment` (the same calls, for a whole epoch)."""

from __future__ import annotations

import json
import sys
import tarfile
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F

CORPORA = {"movie": "movieReviewSnippets", "amazon": "amazonReviewSnippets", "tweets": "tweets",
           "nyt": "nytEditorialSnippets"}
LABELS = ["negative", "positive"]
HEAD_FILE = "head.safetensors"


def read_ratings(archive: tarfile.TarFile, stem: str) -> pd.DataFrame:
    """One *_GroundTruth.txt file of the archive: tab-separated id, mean rating (-4..+4), text."""
    raw = archive.extractfile(f"hutto_ICWSM_2014/{stem}_GroundTruth.txt").read().decode("utf-8", errors="replace")
    rows = [line.split("\t") for line in raw.splitlines() if line.strip()]
    return pd.DataFrame({"rating": [float(r[1]) for r in rows], "text": [r[2].strip() for r in rows]})


def read_corpora(archive_path: Path) -> dict[str, pd.DataFrame]:
    """All four rated corpora of Hutto & Gilbert's archive, by name."""
    with tarfile.open(archive_path) as archive:
        return {name: read_ratings(archive, stem) for name, stem in CORPORA.items()}


def binarise(frame: pd.DataFrame, neutral_band: float) -> pd.DataFrame:
    """Drop texts whose mean rating lies within `neutral_band` of zero; label the rest by sign (1 = positive)."""
    kept = frame[frame.rating.abs() >= neutral_band].reset_index(drop=True)
    return kept.assign(label=(kept.rating > 0).astype(int))


def shuffled(frame: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    return frame.iloc[rng.permutation(len(frame))].reset_index(drop=True)


def splits(binary: dict[str, pd.DataFrame], dev_size: int, in_domain_tweets: int, seed: int) -> dict[str, pd.DataFrame]:
    """Each text once; shuffled movie sentences -> train and the last `dev_size` as dev; the Amazon sentences whole as
    a test set; shuffled tweets -> `in_domain_tweets` set aside for in-domain training, the rest a test set."""
    rng = np.random.default_rng(seed)
    unique = {name: frame.drop_duplicates("text").reset_index(drop=True) for name, frame in binary.items()}
    movie, tweets = shuffled(unique["movie"], rng), shuffled(unique["tweets"], rng)
    return {"train": movie.iloc[:-dev_size].reset_index(drop=True),
            "dev": movie.iloc[-dev_size:].reset_index(drop=True),
            "tweets in domain": tweets.iloc[:in_domain_tweets].reset_index(drop=True),
            "amazon": unique["amazon"],
            "tweets": tweets.iloc[in_domain_tweets:].reset_index(drop=True)}


class MeanPoolingClassifier(torch.nn.Module):
    """A pre-trained encoder read by mean pooling and L2 normalisation (as Sentence-BERT does), plus a linear head."""

    def __init__(self, encoder: Any, labels: list[str]):
        super().__init__()
        self.encoder, self.config = encoder, encoder.config
        self.config.id2label, self.config.label2id = dict(enumerate(labels)), {n: i for i, n in enumerate(labels)}
        self.head = torch.nn.Linear(encoder.config.hidden_size, len(labels))

    def embed(self, input_ids, attention_mask, token_type_ids=None):
        hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
        return F.normalize((hidden * mask).sum(dim=1) / mask.sum(dim=1), dim=-1)  # u

    def forward(self, input_ids, attention_mask, token_type_ids=None, labels=None):
        from transformers.modeling_outputs import SequenceClassifierOutput

        logits = self.head(self.embed(input_ids, attention_mask))  # z
        loss = None if labels is None else F.cross_entropy(logits.float(), labels)
        return SequenceClassifierOutput(loss=loss, logits=logits)

    def save_pretrained(self, folder: Path) -> None:
        """The encoder as a transformers checkpoint (its config holds the label names), the head beside it."""
        from safetensors.torch import save_file

        self.encoder.save_pretrained(folder)
        save_file({k: v.contiguous() for k, v in self.head.state_dict().items()}, str(Path(folder) / HEAD_FILE))

    @classmethod
    def from_pretrained(cls, model_id: str) -> MeanPoolingClassifier:
        """Load what `save_pretrained` wrote, from a folder or a (cached) Hub id."""
        from safetensors.torch import load_file
        from transformers import AutoModel
        from transformers.utils import cached_file

        encoder = AutoModel.from_pretrained(model_id)
        model = cls(encoder, [encoder.config.id2label[i] for i in range(len(encoder.config.id2label))])
        model.head.load_state_dict(load_file(cached_file(model_id, HEAD_FILE)))
        return model


def to_dataset(frame: pd.DataFrame, tokenizer: Any, max_length: int) -> Any:  # -> datasets.Dataset
    """Text and label columns -> a tokenized Dataset with input_ids, attention_mask and labels."""
    from datasets import Dataset

    data = Dataset.from_pandas(frame[["text", "label"]].rename(columns={"label": "labels"}), preserve_index=False)
    return data.map(lambda b: tokenizer(b["text"], truncation=True, max_length=max_length), batched=True,
                    remove_columns=["text"])


def embed(encoder: Any, texts: list[str], bf16: bool) -> np.ndarray:
    """Unit-length sentence embeddings from a SentenceTransformer, batched, under bf16 autocast when `bf16`."""
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
        return encoder.encode(texts, batch_size=64, normalize_embeddings=True)


def fit_probe(train_x: np.ndarray, train_y: Any, dev_x: np.ndarray, dev_y: Any,
              strengths: tuple[float, ...] = (0.25, 1, 4, 16)) -> tuple[Any, dict[float, float]]:
    """Logistic regressions on frozen embeddings, one per regularisation strength C; the one with the best dev
    accuracy, and the dev accuracy of each."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import accuracy_score

    probes = {C: LogisticRegression(C=C, max_iter=2000).fit(train_x, train_y) for C in strengths}
    dev_accuracy = {C: accuracy_score(dev_y, p.predict(dev_x)) for C, p in probes.items()}
    return probes[max(dev_accuracy, key=dev_accuracy.get)], dev_accuracy


def init_head_from_probe(head: torch.nn.Linear, probe: Any) -> None:
    """2-class softmax head with rows -w/2, +w/2: softmax(z)_1 = sigmoid(w.u + c), the probe's probability."""
    w = torch.tensor(probe.coef_[0], dtype=head.weight.dtype)
    c = float(probe.intercept_[0])
    with torch.no_grad():
        head.weight.copy_(torch.stack([-w / 2, w / 2]))
        head.bias.copy_(torch.tensor([-c / 2, c / 2]))


def training_args(epochs: float, batch_size: int, learning_rate: float, bf16: bool, seed: int,
                  max_steps: int = -1) -> Any:
    """AdamW with 10% warm-up and linear decay, gradient clipping, length-grouped batches, bf16 autocast if asked;
    `max_steps` > 0 stops early (the schedule then spans those steps)."""
    from transformers import TrainingArguments

    return TrainingArguments(
        output_dir=tempfile.mkdtemp(), num_train_epochs=epochs, max_steps=max_steps,
        per_device_train_batch_size=batch_size, learning_rate=learning_rate, warmup_steps=0.1,
        lr_scheduler_type="linear", weight_decay=0.01, max_grad_norm=1.0,
        train_sampling_strategy="group_by_length", bf16=bf16, use_cpu=not torch.cuda.is_available(), seed=seed,
        logging_steps=20, save_strategy="no", report_to="none", disable_tqdm=True)


def fine_tune(model: MeanPoolingClassifier, tokenizer: Any, train_data: Any, args: Any) -> Any:
    """Train `model` (word embeddings frozen) on a tokenized dataset with `Trainer`; returns the trainer."""
    from transformers import DataCollatorWithPadding, PrinterCallback, Trainer

    model.encoder.embeddings.word_embeddings.weight.requires_grad_(False)
    trainer = Trainer(model=model, args=args, train_dataset=train_data,
                      data_collator=DataCollatorWithPadding(tokenizer))
    trainer.remove_callback(PrinterCallback)  # the notebooks print the loss log themselves
    trainer.train()
    model.eval()
    return trainer


def build_checkpoint(base: str, data: dict[str, Path], out_dir: Path, *, neutral_band: float = 0.5,
                     dev_size: int = 500, in_domain_tweets: int = 200, probe_size: int = 3000, epochs: float = 1,
                     batch_size: int = 32, learning_rate: float = 5e-5, max_length: int = 64,
                     seed: int = 0) -> dict[str, Any]:
    """The asset store's recipe (LP-FT): a linear probe on frozen embeddings of `probe_size` training sentences, its C
    chosen on the movie dev set, initialises the head; then the whole model (word embeddings frozen) is fine-tuned on
    every movie training sentence. Saves the classifier and its log (`training_log.json`) to `out_dir`."""
    from sentence_transformers import SentenceTransformer
    from transformers import AutoModel, AutoTokenizer

    from .benchmark import bf16_available

    started = time.monotonic()
    bf16 = bf16_available()
    corpora = read_corpora(data["vader-sentiment"] / "hutto_ICWSM_2014.tar.gz")
    parts = splits({name: binarise(frame, neutral_band) for name, frame in corpora.items()}, dev_size,
                   in_domain_tweets, seed)
    train, dev = parts["train"], parts["dev"]
    tokenizer = AutoTokenizer.from_pretrained(base)
    sbert = SentenceTransformer(base, device="cpu")
    probe_texts = train.head(probe_size)
    probe, dev_accuracy = fit_probe(embed(sbert, probe_texts.text.tolist(), bf16), probe_texts.label,
                                    embed(sbert, dev.text.tolist(), bf16), dev.label)
    model = MeanPoolingClassifier(AutoModel.from_pretrained(base), LABELS)
    init_head_from_probe(model.head, probe)
    trainer = fine_tune(model, tokenizer, to_dataset(train, tokenizer, max_length),
                        training_args(epochs, batch_size, learning_rate, bf16, seed))
    model.save_pretrained(out_dir)
    tokenizer.save_pretrained(out_dir)
    log = {"losses": {h["step"]: h["loss"] for h in trainer.state.log_history if "loss" in h},
           "probe_C": float(probe.C), "probe_dev_accuracy": {str(C): a for C, a in dev_accuracy.items()},
           "trainable_parameters": sum(p.numel() for p in model.parameters() if p.requires_grad)}
    (Path(out_dir) / "training_log.json").write_text(json.dumps(log, indent=1))
    print(f"  {trainer.state.global_step} steps over {len(train)} sentences", file=sys.stderr, flush=True)
    return {"steps": trainer.state.global_step, "train_sentences": len(train), "bf16": bf16,
            "seconds": round(time.monotonic() - started)}
