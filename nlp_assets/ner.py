"""Named-entity recognition on CoNLL-2003: the data, the label alignment and the `Trainer` recipe that the ner
notebook teaches, and `build_checkpoint`, the asset store's recipe for `offline-trained/all-MiniLM-L6-v2-conll2003`
(the same calls, for a whole epoch)."""

from __future__ import annotations

import json
import sys
import tempfile
import time
from functools import partial
from pathlib import Path
from typing import Any

LABELS = ["O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC", "B-MISC", "I-MISC"]
IGNORE_INDEX = -100


def read_conll(path: Path) -> list[tuple[list[str], list[str]]]:
    """One (words, tags) pair per sentence of a CoNLL-2003 file; the NER tag is the last column."""
    sentences, words, tags = [], [], []
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        if not line.strip():
            if words:
                sentences.append((words, tags))
                words, tags = [], []
            continue
        columns = line.split()
        if columns[0] == "-DOCSTART-":
            continue
        words.append(columns[0])
        tags.append(columns[-1])
    if words:
        sentences.append((words, tags))
    return sentences


def to_dataset(sentences: list[tuple[list[str], list[str]]], label_names: list[str]) -> Any:  # -> datasets.Dataset
    """The layout of the CoNLL-2003 copies on the Hub: `tokens`, and `ner_tags` as a `ClassLabel` sequence."""
    from datasets import ClassLabel, Dataset, Features, List, Value

    features = Features({"tokens": List(Value("string")), "ner_tags": List(ClassLabel(names=label_names))})
    columns = {"tokens": [words for words, _ in sentences], "ner_tags": [tags for _, tags in sentences]}
    return Dataset.from_dict(columns, features=features)


def align_labels(word_ids: list[int | None], word_labels: list[int], ignore_index: int = IGNORE_INDEX) -> list[int]:
    """Label the first word piece of each word; `ignore_index` for special tokens and continuation pieces."""
    aligned, previous = [], None
    for word_id in word_ids:
        aligned.append(ignore_index if word_id is None or word_id == previous else word_labels[word_id])
        previous = word_id
    return aligned


def tokenize_and_align(batch: dict, tokenizer: Any, max_length: int) -> dict:
    """For `Dataset.map(batched=True)`: word pieces for each sentence, and its labels aligned to them."""
    encoding = tokenizer(batch["tokens"], is_split_into_words=True, truncation=True, max_length=max_length)
    encoding["labels"] = [align_labels(encoding.word_ids(i), tags) for i, tags in enumerate(batch["ner_tags"])]
    return encoding


def seqeval_f1(eval_prediction: Any, label_names: list[str], ignore_index: int = IGNORE_INDEX) -> dict:
    """`Trainer`'s compute_metrics: logits + padded labels -> entity-level F1 over the labelled (first) pieces."""
    from seqeval.metrics import f1_score

    logits, labels = eval_prediction
    best = logits.argmax(-1)
    keep = labels != ignore_index
    gold = [[label_names[y] for y in row[mask]] for row, mask in zip(labels, keep, strict=True)]
    pred = [[label_names[p] for p in row[mask]] for row, mask in zip(best, keep, strict=True)]
    return {"f1": f1_score(gold, pred)}


def train(model: Any, tokenizer: Any, tokenized: Any, output_dir: Path, *, epochs: float = 1, max_steps: int = -1,
          batch_size: int = 32, learning_rate: float = 3e-4, checks: int = 4, seed: int = 0) -> Any:
    """Fine-tune a token-classification `model` on `tokenized["train"]` with `Trainer`: AdamW with a linear schedule
    (10% warm-up), the group_by_length sampler, dynamic padding, bf16 autocast where the hardware has bf16 units.
    With `checks` > 0 it scores entity F1 on `tokenized["validation"]` that many times over the run and ends with the
    best of those checkpoints loaded. Returns the trainer (its state holds the log)."""
    import torch
    from transformers import DataCollatorForTokenClassification, PrinterCallback, Trainer, TrainingArguments

    from .benchmark import bf16_available

    steps = max_steps if max_steps > 0 else int(epochs * -(-len(tokenized["train"]) // batch_size))
    every = max(1, steps // checks) if checks else None
    bf16 = bf16_available()
    args = TrainingArguments(
        output_dir=str(output_dir), seed=seed, bf16=bf16,
        use_cpu=not (torch.cuda.is_available() or torch.backends.mps.is_available()),
        num_train_epochs=epochs, max_steps=max_steps, per_device_train_batch_size=batch_size,
        per_device_eval_batch_size=64, learning_rate=learning_rate, weight_decay=0.01, lr_scheduler_type="linear",
        warmup_steps=0.1, train_sampling_strategy="group_by_length", logging_steps=20, disable_tqdm=True,
        report_to="none", eval_strategy="steps" if every else "no", eval_steps=every,
        save_strategy="steps" if every else "no", save_steps=every, save_only_model=True, save_total_limit=1,
        load_best_model_at_end=bool(every), metric_for_best_model="f1" if every else None,
    )
    label_names = list(model.config.id2label.values())
    trainer = Trainer(model=model, args=args, train_dataset=tokenized["train"],
                      eval_dataset=tokenized["validation"] if every else None,
                      data_collator=DataCollatorForTokenClassification(tokenizer),
                      compute_metrics=partial(seqeval_f1, label_names=label_names) if every else None)
    trainer.remove_callback(PrinterCallback)  # the notebook shows the log as a table
    trainer.train()
    trainer.model.eval()
    return trainer


def training_log(trainer: Any) -> dict[str, Any]:
    """What a finished run's log says, without its timings or temporary paths: the training losses, the validation
    checks, and the step of the checkpoint kept."""
    keep = ("step", "epoch", "loss", "eval_f1")
    history = [{k: v for k, v in entry.items() if k in keep} for entry in trainer.state.log_history
               if "loss" in entry or "eval_f1" in entry]
    best = trainer.state.best_model_checkpoint
    return {"log_history": history, "best_step": int(best.rsplit("-", 1)[-1]) if best else trainer.state.global_step,
            "best_metric": trainer.state.best_metric}


def build_checkpoint(base: str, data: dict[str, Path], out_dir: Path, *, epochs: float = 1, batch_size: int = 32,
                     learning_rate: float = 3e-4, max_length: int = 128, checks: int = 4,
                     seed: int = 0) -> dict[str, Any]:
    """The asset store's recipe: fine-tune `base` (a local folder) for token classification on all CoNLL-2003
    training sentences, keep the best validation check, save it with its log (`training_log.json`) to `out_dir`."""
    import torch
    from datasets import DatasetDict
    from transformers import AutoModelForTokenClassification, AutoTokenizer

    started = time.monotonic()
    tokenizer = AutoTokenizer.from_pretrained(base)
    folder = data["conll2003-en"]
    raw = DatasetDict({"train": to_dataset(read_conll(folder / "train.txt"), LABELS),
                       "validation": to_dataset(read_conll(folder / "valid.txt"), LABELS)})
    tokenized = raw.map(tokenize_and_align, batched=True, remove_columns=raw["train"].column_names,
                        fn_kwargs={"tokenizer": tokenizer, "max_length": max_length})
    torch.manual_seed(seed)  # the new head is initialised at random
    model = AutoModelForTokenClassification.from_pretrained(
        base, num_labels=len(LABELS), id2label=dict(enumerate(LABELS)), label2id={k: i for i, k in enumerate(LABELS)})
    with tempfile.TemporaryDirectory() as scratch:
        trainer = train(model, tokenizer, tokenized, Path(scratch), epochs=epochs, batch_size=batch_size,
                        learning_rate=learning_rate, checks=checks, seed=seed)
        log = training_log(trainer)
    trainer.model.save_pretrained(out_dir)
    tokenizer.save_pretrained(out_dir)
    (Path(out_dir) / "training_log.json").write_text(json.dumps(log, indent=1))
    print(f"  best validation F1 {log['best_metric']:.3f} at step {log['best_step']}", file=sys.stderr, flush=True)
    return {"steps": trainer.state.global_step, "train_sentences": len(raw["train"]), "bf16": trainer.args.bf16,
            "best_validation_f1": round(log["best_metric"], 4), "seconds": round(time.monotonic() - started)}
