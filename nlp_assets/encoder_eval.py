"""The optimization notebooks' one protocol for a sentence encoder: embed, gate on retrieval, compare with fp32.

- **Encoding**: `embed(model, tokenizer, texts)` runs any encoder (a torch module returning `last_hidden_state`, or a
  function from a tokenized batch to hidden states, e.g. an ONNX Runtime session) and mean-pools the non-padding
  tokens into L2-normalised sentence vectors, the recipe of sentence-transformers' all-MiniLM-L6-v2.
- **Quality gate**: Disfl-QA question -> passage retrieval, MRR@10 (`disfl_qa`, `reciprocal_ranks`). Questions that
  share a passage are not independent, so CIs resample passages with all their questions (`gate_estimate`,
  `gate_difference`).
- **Agreement with fp32**: the Spearman correlation of two models' pairwise similarities (`similarity_spearman`).
- **Lee 2005**: a secondary column, the Spearman of document-pair cosines with human scores (`lee_similarities`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from nlp_assets import readers, stats


def mean_pool(hidden: Any, attention_mask: Any) -> Any:
    """Average of the token vectors where `attention_mask` is 1, L2-normalised, in fp32: (batch, dim)."""
    import torch.nn.functional as F

    mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
    summed = (hidden * mask).sum(dim=1).float()
    return F.normalize(summed / mask.sum(dim=1).float().clamp(min=1.0), dim=-1)


def hidden_states(model: Any, batch: Any) -> Any:
    """Last hidden states of a torch encoder, or of a function from a tokenized batch to hidden states."""
    import torch

    if isinstance(model, torch.nn.Module):
        return model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).last_hidden_state
    return torch.as_tensor(model(batch))  # a function from a tokenized batch to hidden states


def embed(model: Any, tokenizer: Any, texts: Sequence[str], batch_size: int = 32, max_length: int = 256) -> Any:
    """Sentence vectors of `texts` (in their order), encoded in batches of similar length to waste little padding."""
    import torch

    if not texts or any(not isinstance(t, str) or not t.strip() for t in texts):
        raise ValueError("embed() needs a non-empty list of non-empty strings")
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    order = np.argsort([-len(t) for t in texts], kind="stable")
    with torch.inference_mode():
        chunks = []
        for start in range(0, len(texts), batch_size):
            chunk = [texts[i] for i in order[start:start + batch_size]]
            batch = tokenizer(chunk, padding=True, truncation=True, max_length=max_length, return_tensors="pt")
            chunks.append(mean_pool(hidden_states(model, batch), batch["attention_mask"]))
        vectors = torch.cat(chunks)
    out = torch.empty_like(vectors)
    out[torch.as_tensor(order)] = vectors
    return out


@dataclass(frozen=True)
class RetrievalSet:
    """Questions, the passages to search, and the index of each question's own passage."""

    queries: list[str]
    passages: list[str]
    gold: np.ndarray


def disfl_qa(n_passages: int = 150, max_queries: int | None = None) -> RetrievalSet:
    """The answerable Disfl-QA questions on the first `n_passages` SQuAD paragraphs, with those paragraphs.

    Consecutive paragraphs come from the same Wikipedia article, so the corpus keeps its hard distractors (thirty
    other paragraphs on the same topic). `max_queries` keeps the first questions only.
    """
    passage_id: dict[str, int] = {}
    queries, gold = [], []
    for example in readers.disfl_qa():
        pid = passage_id.setdefault(example.context, len(passage_id))
        if pid < n_passages and example.target != "unknown":
            queries.append(example.question)
            gold.append(pid)
    passages = list(passage_id)[:n_passages]
    if max_queries is not None:
        queries, gold = queries[:max_queries], gold[:max_queries]
    return RetrievalSet(queries, passages, np.array(gold))


def disfl_qa_outside(n_passages: int = 150) -> tuple[list[str], list[str]]:
    """The questions (answerable or not) and the paragraphs after the first `n_passages`: text of the gate's kind that
    the gate neither searches nor asks, for distillation or for choosing a vocabulary."""
    passage_id: dict[str, int] = {}
    questions = []
    for example in readers.disfl_qa():
        if passage_id.setdefault(example.context, len(passage_id)) >= n_passages:
            questions.append(example.question)
    return questions, list(passage_id)[n_passages:]


def reciprocal_ranks(query_vectors: Any, passage_vectors: Any, gold: Sequence[int], k: int = 10) -> np.ndarray:
    """Per question, 1 / rank of its gold passage by cosine if that rank is <= k, else 0; MRR@k is their mean."""
    scores = np.asarray(query_vectors @ passage_vectors.T, dtype=np.float64)
    gold = np.asarray(gold)
    gold_scores = scores[np.arange(len(gold)), gold]
    ranks = 1 + (scores > gold_scores[:, None]).sum(axis=1)  # ties count in the gold passage's favour
    return np.where(ranks <= k, 1.0 / ranks, 0.0)


def _per_passage(values: Sequence[float], gold: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
    """Sum of `values` and number of questions for each passage that has questions (the bootstrap's items)."""
    _, cluster = np.unique(np.asarray(gold), return_inverse=True)
    return np.bincount(cluster, weights=np.asarray(values, dtype=float)), np.bincount(cluster).astype(float)


def _pooled_mean(sums: np.ndarray, counts: np.ndarray) -> float:
    return float(sums.sum() / counts.sum())


def gate_estimate(rr: Sequence[float], gold: Sequence[int], seed: int = 0) -> stats.Estimate:
    """MRR@10 with a 95% CI that resamples passages (each with all of its questions); n counts passages."""
    return stats.bootstrap_ci(_pooled_mean, *_per_passage(rr, gold), seed=seed)


def gate_difference(rr_a: Sequence[float], rr_b: Sequence[float], gold: Sequence[int],
                    seed: int = 0) -> stats.PairedDifference:
    """MRR@10 of A minus B on the same questions, paired, resampling passages with all their questions."""
    sums_a, counts = _per_passage(rr_a, gold)
    sums_b, _ = _per_passage(rr_b, gold)
    return stats.paired_bootstrap(_pooled_mean, sums_a, sums_b, counts, seed=seed)


def upper_pairs(vectors: Any) -> np.ndarray:
    """The cosines of all pairs i < j of L2-normalised vectors, in `numpy.triu_indices` order."""
    v = np.asarray(vectors, dtype=np.float64)
    return (v @ v.T)[np.triu_indices(len(v), k=1)]


def spearman(x: Sequence[float], y: Sequence[float]) -> float:
    """Spearman rank correlation of two equally long sequences."""
    from scipy.stats import spearmanr

    return float(spearmanr(x, y).statistic)


def similarity_spearman(vectors: Any, reference: Any) -> float:
    """Agreement of two encoders on the same texts: Spearman of their pairwise cosines (1.0 = same ranking)."""
    return spearman(upper_pairs(vectors), upper_pairs(reference))


def lee_similarities(model: Any, tokenizer: Any, docs: Sequence[str], batch_size: int = 32) -> np.ndarray:
    """The cosine of each Lee document pair (1,225 for 50 documents), documents cut at 256 tokens."""
    return upper_pairs(embed(model, tokenizer, docs, batch_size=batch_size, max_length=256))


@dataclass(frozen=True)
class Quality:
    """One encoder's per-item scores under the protocol, kept so that paired CIs can be computed later."""

    rr: np.ndarray  # reciprocal rank@10 of each question
    query_vectors: Any  # for agreement with fp32
    lee_pairs: np.ndarray  # cosine of each Lee document pair
    passage_vectors: Any  # the searched passages' vectors, for checks by hand

    @property
    def mrr(self) -> float:
        return float(np.mean(self.rr))


def evaluate(model: Any, tokenizer: Any, data: RetrievalSet, lee_docs: Sequence[str],
             batch_size: int = 32) -> Quality:
    """Embed the gate's questions and passages and the Lee documents with `model`; return the per-item scores."""
    queries = embed(model, tokenizer, data.queries, batch_size=batch_size, max_length=64)
    passages = embed(model, tokenizer, data.passages, batch_size=batch_size, max_length=256)
    return Quality(reciprocal_ranks(queries, passages, data.gold), queries,
                   lee_similarities(model, tokenizer, lee_docs, batch_size), passages)


def quality_row(quality: Quality, baseline: Quality, gold: Sequence[int], lee_human: Sequence[float],
                lee_resamples: int = 300) -> dict[str, Any]:
    """The protocol's quality columns for one variant against the fp32 baseline (paired CIs, 95%)."""
    diff = gate_difference(quality.rr, baseline.rr, gold)
    lee = stats.paired_bootstrap(spearman, quality.lee_pairs, baseline.lee_pairs, lee_human, resamples=lee_resamples)
    return {
        "MRR@10": round(quality.mrr, 3),
        "MRR@10 / fp32": round(quality.mrr / baseline.mrr, 3),
        "MRR@10 - fp32 [95% CI]": diff.interval(3),
        "lower bound / fp32": round((baseline.mrr + diff.low) / baseline.mrr, 3),
        "similarity Spearman to fp32": round(similarity_spearman(quality.query_vectors, baseline.query_vectors), 4),
        "Lee Spearman": round(spearman(quality.lee_pairs, lee_human), 3),
        "Lee - fp32 [95% CI]": lee.interval(3),
    }


def quality_table(qualities: dict[str, Quality], baseline: str, gold: Sequence[int],
                  lee_human: Sequence[float]):  # -> pandas.DataFrame
    """One `quality_row` per variant, in the order given."""
    import pandas as pd

    base = qualities[baseline]
    rows = {name: quality_row(q, base, gold, lee_human) for name, q in qualities.items()}
    return pd.DataFrame.from_dict(rows, orient="index").rename_axis("variant")


class Protocol:
    """The variants of one notebook, each measured the same way: size, quality (gate, agreement, Lee), latency.

    `add` evaluates a variant (or reuses the quality of one with the same weights, `same_as`); `latency` times the
    variants on a batch in interleaved rounds (`benchmark.compare_latency`); `table` joins it all, one row per variant.
    """

    def __init__(self, tokenizer: Any, gate: RetrievalSet, lee_docs: Sequence[str], lee_human: Sequence[float],
                 baseline: str = "fp32") -> None:
        self.tokenizer, self.gate, self.lee_docs, self.lee_human = tokenizer, gate, list(lee_docs), list(lee_human)
        self.baseline = baseline
        self.models: dict[str, Any] = {}
        self.sizes: dict[str, int] = {}
        self.quality: dict[str, Quality] = {}
        self.tokenizers: dict[str, Any] = {}

    def add(self, name: str, model: Any, size_bytes: int, same_as: str | None = None, tokenizer: Any = None) -> Quality:
        """Register and evaluate a variant (with its own `tokenizer` if it has one); the baseline comes first."""
        if not self.models and name != self.baseline:
            raise ValueError(f"add the baseline {self.baseline!r} first")
        self.models[name], self.sizes[name] = model, size_bytes
        self.tokenizers[name] = tokenizer or self.tokenizer
        if same_as is None:
            self.quality[name] = evaluate(model, self.tokenizers[name], self.gate, self.lee_docs)
        else:
            self.quality[name] = self.quality[same_as]
        q, base = self.quality[name], self.quality[self.baseline]
        print(f"{name:34} {size_bytes / 1e6:6.1f} MB; MRR@10 {q.mrr:.3f} ({q.mrr / base.mrr:.3f} of fp32); "
              f"Lee {spearman(q.lee_pairs, self.lee_human):.3f}; similarity Spearman to fp32 "
              f"{similarity_spearman(q.query_vectors, base.query_vectors):.4f}")
        return q

    def latency(self, texts: Sequence[str], max_length: int = 128, names: Sequence[str] | None = None,
                warmup: int = 1, rounds: int = 7):
        """Interleaved timing (`benchmark.compare_latency`) of the variants (all, or `names`) on one batch of `texts`,
        each tokenized (padded to the longest, cut at `max_length`) by the variant's own tokenizer."""
        import torch

        from nlp_assets import benchmark

        names = list(self.models) if names is None else [self.baseline, *[n for n in names if n != self.baseline]]
        batches = {name: self.tokenizers[name](list(texts), padding=True, truncation=True, max_length=max_length,
                                               return_tensors="pt") for name in names}
        calls = {name: (lambda m=self.models[name], b=batches[name]: hidden_states(m, b)) for name in names}
        with torch.inference_mode():
            return benchmark.compare_latency(calls, self.baseline, warmup=warmup, rounds=rounds)

    def table(self, latencies: dict[int, Any]):  # -> pandas.DataFrame
        """Size, quality columns (`quality_table`) and, per batch size (a `LatencyComparison` each), median ms and the
        speed-up over the baseline: median and interquartile range of the per-round ratios."""
        base_size = self.sizes[self.baseline]
        table = quality_table(self.quality, self.baseline, self.gate.gold, self.lee_human)
        table.insert(0, "x smaller", [round(base_size / self.sizes[n], 2) for n in table.index])
        table.insert(0, "size MB", [round(self.sizes[n] / 1e6, 1) for n in table.index])
        for batch, comparison in latencies.items():
            lat = comparison.table()
            table[f"speed-up @ {batch}"] = lat["speed-up (median)"].reindex(table.index)
            table[f"IQR @ {batch}"] = [f"{lat.loc[n, 'speed-up IQR low']:.2f}-{lat.loc[n, 'speed-up IQR high']:.2f}"
                                       if n in lat.index else "" for n in table.index]
            table[f"ms @ {batch}"] = lat["median ms"].reindex(table.index)
        return table

    def measurements(self, latencies: dict[int, Any]) -> list:
        """`benchmark.Measurement`s (quality = MRR@10) of the variants timed at every batch, for `pareto_plot`."""
        from nlp_assets import benchmark

        medians = {b: comparison.medians_ms for b, comparison in latencies.items()}
        return [benchmark.Measurement(name, {b: ms[name] for b, ms in medians.items()}, self.sizes[name],
                                      self.quality[name].mrr)
                for name in self.models if all(name in ms for ms in medians.values())]


def speed_up(comparison: Any, slower: str, faster: str) -> tuple[float, float, float]:
    """25th, 50th and 75th percentiles of the per-round ratio ms(slower) / ms(faster) of one interleaved timing, for
    two variants of which neither need be the baseline (e.g. compiled int8 against compiled fp32)."""
    ratios = [a / b for a, b in zip(comparison.round_ms[slower], comparison.round_ms[faster], strict=True)]
    low, mid, high = np.percentile(ratios, [25, 50, 75])
    return float(low), float(mid), float(high)
