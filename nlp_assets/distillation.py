"""Distilling a sentence encoder into a shallower copy of itself: the training text, the student, the losses and the
training loop that the knowledge_distillation notebook teaches, and `build_student`, the asset store's recipe for
the notebook's 3-layer students (the same calls, for the full number of steps)."""

from __future__ import annotations

import copy
import json
import re
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from . import encoder_eval as ev


def training_text(outside_questions: list[str], outside_passages: list[str], gate_queries: list[str], held_out: int,
                  train_size: int, rng: np.random.Generator) -> tuple[list[str], list[str], int]:
    """Sentences of 4+ words from Disfl-QA questions and paragraphs outside the quality gate (`ev.disfl_qa_outside`),
    never one of the gate's questions, shuffled by `rng`: (training sentences, held-out sentences, how many there were
    to choose from)."""
    gate_text = set(gate_queries)
    passage_sentences = [s for p in outside_passages for s in re.split(r"(?<=[.!?])\s+", p)]
    sentences = [s for s in outside_questions + passage_sentences if len(s.split()) >= 4 and s not in gate_text]
    order = rng.permutation(len(sentences))
    return ([sentences[i] for i in order[held_out:held_out + train_size]], [sentences[i] for i in order[:held_out]],
            len(sentences))


def make_student(teacher: torch.nn.Module, layers: tuple[int, ...]) -> torch.nn.Module:
    """A copy of the teacher that keeps only the given transformer layers (embeddings and all weights copied)."""
    student = copy.deepcopy(teacher)
    student.encoder.layer = torch.nn.ModuleList([student.encoder.layer[i] for i in layers])
    student.config.num_hidden_layers = len(layers)
    return student


def held_out_cosine(student: torch.nn.Module, tokenizer: Any, texts: list[str], targets: np.ndarray,
                    max_length: int) -> float:
    """Mean cosine between the student's and the teacher's (`targets`) embeddings of `texts`."""
    student.eval()
    value = float((ev.embed(student, tokenizer, texts, max_length=max_length).numpy() * targets).sum(1).mean())
    student.train()
    return value


def in_batch_kl(u_student: torch.Tensor, u_teacher: torch.Tensor, tau: float) -> torch.Tensor:
    """Mean over sentences of KL(teacher || student) of the softmax, at temperature `tau`, over the cosines to the
    batch's other sentences."""
    others = ~torch.eye(len(u_teacher), dtype=torch.bool)
    logits_t = (u_teacher @ u_teacher.T)[others].view(len(u_teacher), -1) / tau
    logits_s = (u_student @ u_student.T)[others].view(len(u_student), -1) / tau
    return F.kl_div(F.log_softmax(logits_s, -1), F.log_softmax(logits_t, -1), reduction="batchmean", log_target=True)


def distil_step(student: torch.nn.Module, tokenizer: Any, optimizer: Any, texts: list[str], targets: torch.Tensor,
                max_length: int, kl_weight: float = 0.0, tau: float = 0.05, bf16: bool = False) -> float:
    """One optimizer step on the cosine loss to the teacher's embeddings (+ `kl_weight` x the in-batch KL)."""
    batch = tokenizer(texts, padding=True, truncation=True, max_length=max_length, return_tensors="pt",
                      return_token_type_ids=False)
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):  # bf16 matrix products, where the CPU has them
        hidden = student(**batch).last_hidden_state
    u_student = ev.mean_pool(hidden, batch["attention_mask"])  # fp32, L2-normalised
    loss = (1 - (u_student * targets).sum(dim=1)).mean()  # the cosine loss on the pooled embedding
    if kl_weight:
        loss = loss + kl_weight * in_batch_kl(u_student, targets, tau)  # the in-batch similarity KL
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return loss.item()


def distil(student: torch.nn.Module, tokenizer: Any, texts: list[str], targets: torch.Tensor, held: list[str],
           held_targets: np.ndarray, steps: int, batch_size: int = 32, lr: float = 1e-4, max_length: int = 64,
           eval_every: int = 20, seed: int = 0, **loss_options: Any) -> tuple[list[float], list[tuple[int, float]]]:
    """`steps` steps of AdamW (word embeddings frozen, 10-step warm-up, then a constant rate) on random batches;
    returns the loss of every step and the held-out cosine every `eval_every` steps (and at step 0)."""
    torch.manual_seed(seed)  # dropout
    student.embeddings.word_embeddings.weight.requires_grad_(False)
    optimizer = torch.optim.AdamW([p for p in student.parameters() if p.requires_grad], lr=lr)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: min(1.0, (step + 1) / 10))  # short warm-up
    batch_rng = np.random.default_rng(seed)
    losses, curve = [], [(0, held_out_cosine(student, tokenizer, held, held_targets, max_length))]
    student.train()
    for step in range(1, steps + 1):
        idx = batch_rng.choice(len(texts), batch_size, replace=False)
        losses.append(distil_step(student, tokenizer, optimizer, [texts[i] for i in idx], targets[idx], max_length,
                                  **loss_options))
        schedule.step()
        if step % eval_every == 0 or step == steps:
            curve.append((step, held_out_cosine(student, tokenizer, held, held_targets, max_length)))
    student.eval()
    return losses, curve


def build_student(base: str, data: dict[str, Path], out_dir: Path, *, layers: list[int], steps: int,
                  batch_size: int = 32, learning_rate: float = 1e-4, max_length: int = 64, eval_every: int = 20,
                  gate_passages: int = 200, gate_queries: int = 1000, held_out: int = 200, train_size: int = 1500,
                  kl_weight: float = 0.0, tau: float = 0.05, seed: int = 0) -> dict[str, Any]:
    """The asset store's recipe: the student of `base` (a local folder) with the given layers, distilled for `steps`
    steps on the training text; saved with its log (`training_log.json`: every step's loss, the held-out curve)."""
    from transformers import AutoModel, AutoTokenizer

    from .benchmark import bf16_available

    started = time.monotonic()
    tokenizer = AutoTokenizer.from_pretrained(base)
    teacher = AutoModel.from_pretrained(base).eval()
    gate = ev.disfl_qa(n_passages=gate_passages, max_queries=gate_queries)
    train, held, _ = training_text(*ev.disfl_qa_outside(gate_passages), gate.queries, held_out, train_size,
                                   np.random.default_rng(seed))
    targets = ev.embed(teacher, tokenizer, train, max_length=max_length)
    held_targets = ev.embed(teacher, tokenizer, held, max_length=max_length).numpy()
    student = make_student(teacher, tuple(layers))
    options = {"kl_weight": kl_weight, "tau": tau} if kl_weight else {}
    losses, curve = distil(student, tokenizer, train, targets, held, held_targets, steps, batch_size=batch_size,
                           lr=learning_rate, max_length=max_length, eval_every=eval_every, seed=seed,
                           bf16=bf16_available(), **options)
    student.save_pretrained(out_dir)
    tokenizer.save_pretrained(out_dir)
    (Path(out_dir) / "training_log.json").write_text(json.dumps({"losses": losses, "curve": curve}))
    print(f"  held-out cosine to the teacher: {curve[0][1]:.3f} -> {curve[-1][1]:.3f}", file=sys.stderr, flush=True)
    return {"steps": steps, "train_sentences": len(train), "seconds": round(time.monotonic() - started)}
