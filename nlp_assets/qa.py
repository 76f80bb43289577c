"""Extractive QA on Disfl-QA (SQuAD v2 style): the data preparation and the `Trainer` recipe that the
question_answering notebook teaches and calls, and the builder of the asset store's trained checkpoint
`offline-trained/all-MiniLM-L6-v2-disfl-qa` (see `[trained.*]` in manifest.toml).

This file, and the package modules it imports (readers, benchmark), are part of that checkpoint's fingerprint: editing
them makes `python -m nlp_assets fetch --all` train the
checkpoint again (about 11 minutes on 2 CPU cores).
"""

from __future__ import annotations

import random
import sys
import time
from pathlib import Path
from typing import Any, TextIO

from . import readers

MAX_LENGTH = 128  # tokens per window: question + passage chunk + special tokens
STRIDE = 48  # tokens shared by consecutive windows of a long passage
MAX_QUESTION_TOKENS = 64  # longer questions leave too little room for the passage, and are dropped


def _on_word_boundaries(context: str, start: int, end: int) -> bool:
    return (start == 0 or not context[start - 1].isalnum()) and (end == len(context) or not context[end].isalnum())


def locate(answer: str, context: str, word_boundaries: bool = True) -> tuple[int, int] | None:
    """Character span (start, end) of `answer` in `context`, whitespace ignored (the passages are word-tokenised:
    `40 , 000` for `40,000`). With `word_boundaries`, only a match that starts and ends on word boundaries counts
    ('4' is not found inside '1864'); None when there is no such match."""
    keep = [i for i, ch in enumerate(context) if not ch.isspace()]
    squeezed = "".join(context[i] for i in keep)
    target = "".join(answer.split())
    position = squeezed.find(target) if target else -1
    while position >= 0:
        start, end = keep[position], keep[position + len(target) - 1] + 1
        if not word_boundaries or _on_word_boundaries(context, start, end):
            return start, end
        position = squeezed.find(target, position + 1)
    return None


def load_examples(task_file: Path) -> tuple[list[dict[str, Any]], list[str]]:
    """BIG-bench's disfl_qa task.json as QA items {id, question, context, answer, answer_start} (answer "" for the
    unanswerable ones, whose target is "unknown"), and the gold answers found nowhere on word boundaries (dropped)."""
    examples, not_found = [], []
    for index, example in enumerate(readers.disfl_qa(task_file)):
        item = {"id": index, "question": example.question, "context": example.context, "answer": "", "answer_start": -1}
        if example.target != "unknown":
            span = locate(example.target, example.context)
            if span is None:
                not_found.append(example.target)
                continue
            item["answer"], item["answer_start"] = example.context[span[0]:span[1]], span[0]
        examples.append(item)
    return examples, not_found


def drop_long_questions(tokenizer: Any, examples: list[dict[str, Any]],
                        max_tokens: int = MAX_QUESTION_TOKENS) -> tuple[list[dict[str, Any]], int]:
    """The items whose question has at most `max_tokens` tokens, and how many were dropped."""
    lengths = tokenizer([ex["question"] for ex in examples], add_special_tokens=False)["input_ids"]
    kept = [ex for ex, ids in zip(examples, lengths, strict=True) if len(ids) <= max_tokens]
    return kept, len(examples) - len(kept)


def split_by_passage(examples: list[dict[str, Any]], test_share: float = 0.2, dev_share: float = 0.1,
                     seed: int = 0) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
    """(train, dev, test) with no passage in two parts: `test_share` of the passages are held out for testing, and
    `dev_share` of the remaining ones for tuning (the no-answer threshold); items keep their order."""
    passages = sorted({ex["context"] for ex in examples})
    random.Random(seed).shuffle(passages)
    n_test = int(len(passages) * test_share)
    n_dev = round((len(passages) - n_test) * dev_share)
    test, dev = set(passages[:n_test]), set(passages[n_test:n_test + n_dev])
    return ([ex for ex in examples if ex["context"] not in test | dev],
            [ex for ex in examples if ex["context"] in dev],
            [ex for ex in examples if ex["context"] in test])


def prepare_train_features(batch: dict[str, list], tokenizer: Any, max_length: int = MAX_LENGTH,
                           stride: int = STRIDE) -> dict[str, list]:
    """`Dataset.map(batched=True)` function: each question becomes one or more windows, labelled with the first and
    last token of the answer, or (0, 0) ([CLS]) when the window does not hold the whole answer."""
    enc = tokenizer(batch["question"], batch["context"], truncation="only_second", max_length=max_length,
                    stride=stride, return_overflowing_tokens=True, return_offsets_mapping=True)
    starts, ends, example_ids = [], [], []
    for w, offsets in enumerate(enc["offset_mapping"]):
        k = enc["overflow_to_sample_mapping"][w]
        passage = [i for i, seq in enumerate(enc.sequence_ids(w)) if seq == 1]
        start = end = 0
        if batch["answer"][k]:
            a = batch["answer_start"][k]
            b = a + len(batch["answer"][k])
            if offsets[passage[0]][0] <= a and offsets[passage[-1]][1] >= b:  # the whole answer is in this window
                start = next(i for i in passage if offsets[i][1] > a)
                end = next(i for i in reversed(passage) if offsets[i][0] < b)
        starts.append(start)
        ends.append(end)
        example_ids.append(batch["id"][k])
    features = {key: enc[key] for key in tokenizer.model_input_names if key in enc}
    return {**features, "start_positions": starts, "end_positions": ends, "example_id": example_ids}


def select_windows(features: Any, null_share: float = 0.1, seed: int = 0) -> Any:
    """One window per answerable question (the first that holds its answer) plus random null windows, so that
    `null_share` of the result is null: most windows are null, and a model trained on all of them learns to abstain."""
    answer_windows: dict[int, int] = {}
    null_windows = []
    for w, (example_id, start) in enumerate(zip(features["example_id"], features["start_positions"], strict=True)):
        if start > 0:
            answer_windows.setdefault(example_id, w)
        else:
            null_windows.append(w)
    n_null = min(len(null_windows), round(len(answer_windows) * null_share / (1 - null_share)))
    return features.select(sorted([*answer_windows.values(), *random.Random(seed).sample(null_windows, n_null)]))


def training_windows(tokenizer: Any, items: list[dict[str, Any]], null_share: float = 0.1, seed: int = 0) -> Any:
    """QA items -> a `datasets.Dataset` of training windows: `prepare_train_features`, then `select_windows`."""
    from datasets import Dataset

    dataset = Dataset.from_list(items)
    features = dataset.map(prepare_train_features, batched=True, remove_columns=dataset.column_names,
                           fn_kwargs={"tokenizer": tokenizer})
    return select_windows(features, null_share, seed)


def train(model: Any, tokenizer: Any, train_dataset: Any, output_dir: Path, *, epochs: float = 3, max_steps: int = -1,
          batch_size: int = 32, learning_rate: float = 3e-4, seed: int = 0, logging_steps: int = 10,
          freeze_embeddings: bool = True, progress: TextIO | None = None) -> Any:
    """Fine-tune `model` on `train_dataset` with `Trainer`: AdamW, linear schedule with 10% warm-up, gradient clipping,
    batches padded to their longest window, bf16 autocast where fast. The word-embedding matrix (half of MiniLM's
    parameters) stays frozen, which makes each step cheaper. Returns the trainer (its state holds the loss log);
    `progress` gets one line per logged step."""
    import torch
    from transformers import DataCollatorWithPadding, PrinterCallback, Trainer, TrainerCallback, TrainingArguments

    from .benchmark import bf16_available

    class Progress(TrainerCallback):
        def __init__(self) -> None:
            self.started = time.monotonic()

        def on_log(self, args: Any, state: Any, control: Any, logs: dict | None = None, **kwargs: Any) -> None:
            if progress is not None and logs and "loss" in logs:
                print(f"  step {state.global_step}/{state.max_steps}: loss {logs['loss']:.3f}, "
                      f"{time.monotonic() - self.started:.0f} s", file=progress, flush=True)

    if freeze_embeddings:
        model.get_input_embeddings().weight.requires_grad_(False)
    bf16 = bf16_available()
    args = TrainingArguments(
        output_dir=str(output_dir), num_train_epochs=epochs, max_steps=max_steps,
        per_device_train_batch_size=batch_size, learning_rate=learning_rate, warmup_steps=0.1, weight_decay=0.01,
        lr_scheduler_type="linear", max_grad_norm=1.0, bf16=bf16, use_cpu=bf16 and not torch.cuda.is_available(),
        logging_steps=logging_steps, save_strategy="no", report_to="none", disable_tqdm=True, seed=seed, data_seed=seed,
    )
    trainer = Trainer(model=model, args=args, train_dataset=train_dataset,
                      data_collator=DataCollatorWithPadding(tokenizer), callbacks=[Progress()])
    trainer.remove_callback(PrinterCallback)
    trainer.train()
    model.eval()
    return trainer


def build_checkpoint(base: str, data: dict[str, Path], out_dir: Path, *, epochs: float = 3, batch_size: int = 32,
                     learning_rate: float = 3e-4, null_share: float = 0.1, seed: int = 0,
                     max_steps: int = -1) -> dict[str, Any]:
    """The asset store's recipe: fine-tune `base` (a local folder) with a start/end head on the Disfl-QA training
    passages (the notebook's split, without its dev and test passages), save it to `out_dir`, return facts."""
    import tempfile

    import torch
    from transformers import AutoModelForQuestionAnswering, AutoTokenizer

    started = time.monotonic()
    tokenizer = AutoTokenizer.from_pretrained(base)
    examples, _ = load_examples(data["disfl-qa"] / "task.json")
    examples, _ = drop_long_questions(tokenizer, examples)
    train_items, _, _ = split_by_passage(examples, seed=seed)
    windows = training_windows(tokenizer, train_items, null_share, seed)
    print(f"  {len(train_items)} training questions -> {len(windows)} windows", file=sys.stderr, flush=True)
    torch.manual_seed(seed)  # the new QA head is initialised at random
    model = AutoModelForQuestionAnswering.from_pretrained(base)
    with tempfile.TemporaryDirectory() as scratch:
        trainer = train(model, tokenizer, windows, Path(scratch), epochs=epochs, max_steps=max_steps,
                        batch_size=batch_size, learning_rate=learning_rate, seed=seed, progress=sys.stderr)
    model.save_pretrained(out_dir)
    tokenizer.save_pretrained(out_dir)
    return {"steps": trainer.state.global_step, "train_questions": len(train_items), "windows": len(windows),
            "bf16": trainer.args.bf16, "seconds": round(time.monotonic() - started)}
