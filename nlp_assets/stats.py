"""The collection's one way to state uncertainty: bootstrap CIs over items, paired comparisons, Wilson intervals.

Items are the units a benchmark is made of (questions, sentences, articles, verses, utterances, queries). A metric is
any function of the items' arrays, so corpus-level metrics (macro-F1, entity F1 from summed counts, WER from summed
edits) are resampled as a whole, not averaged per item. Where a library already does this, use it instead: sacrebleu
(`n_bootstrap`, paired tests) for BLEU/chrF and rouge-score's `BootstrapAggregator` for ROUGE.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from statistics import NormalDist
from typing import Any

import numpy as np

# Below this many items a comparison is an anecdote, whatever its CI says.
ANECDOTAL_BELOW = 100


@dataclass(frozen=True)
class Estimate:
    """A metric's value on all items, with its 95% (or `confidence`) interval."""

    value: float
    low: float
    high: float
    n: int
    confidence: float = 0.95

    def format(self, digits: int = 3) -> str:
        return f"{self.value:.{digits}f} [{self.low:.{digits}f}, {self.high:.{digits}f}]"

    def __str__(self) -> str:
        return self.format()


@dataclass(frozen=True)
class PairedDifference:
    """metric(A) - metric(B) on the same items, its interval, and the share of resamples in which A beats B.

    For a metric where lower is better (WER, perplexity), A beats B when the difference is below zero.
    """

    difference: float
    low: float
    high: float
    share_a_better: float
    n: int
    confidence: float = 0.95
    higher_is_better: bool = True

    @property
    def verdict(self) -> str:
        """'A better', 'B better' or 'inconclusive' (the CI includes zero); 'anecdotal' under 100 items."""
        if self.n < ANECDOTAL_BELOW:
            return f"anecdotal (n={self.n})"
        if self.low > 0:
            return "A better" if self.higher_is_better else "B better"
        if self.high < 0:
            return "B better" if self.higher_is_better else "A better"
        return "inconclusive"

    def interval(self, digits: int = 3) -> str:
        return f"{self.difference:+.{digits}f} [{self.low:+.{digits}f}, {self.high:+.{digits}f}]"

    def format(self, digits: int = 3) -> str:
        return f"{self.interval(digits)}, A ahead in {self.share_a_better:.0%} of resamples: {self.verdict}"

    def __str__(self) -> str:
        return self.format()


def _item_count(arrays: Sequence[Any]) -> int:
    if not arrays:
        raise ValueError("give the metric at least one array of per-item values")
    lengths = {len(a) for a in arrays}
    if len(lengths) != 1:
        raise ValueError(f"every array must have one entry per item; got lengths {sorted(lengths)}")
    n = lengths.pop()
    if n < 2:
        raise ValueError(f"need at least 2 items to resample, got {n}")
    return n


def _resample_indices(n: int, resamples: int, seed: int) -> np.ndarray:
    if resamples < 1:
        raise ValueError(f"resamples must be >= 1, got {resamples}")
    return np.random.default_rng(seed).integers(0, n, size=(resamples, n))


def _percentiles(values: np.ndarray, confidence: float) -> tuple[float, float]:
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be between 0 and 1, got {confidence}")
    alpha = (1 - confidence) / 2
    low, high = np.percentile(values, [100 * alpha, 100 * (1 - alpha)])
    return float(low), float(high)


def bootstrap_ci(metric: Callable[..., float], *arrays: Sequence[Any], resamples: int = 1000,
                 confidence: float = 0.95, seed: int = 0) -> Estimate:
    """Percentile bootstrap CI of `metric(*arrays)`, resampling items: every array is indexed by the same draw.

    `bootstrap_ci(np.mean, per_question_f1)` or `bootstrap_ci(lambda y, p: f1_score(y, p, average="macro"), y, p)`.
    """
    n = _item_count(arrays)
    columns = [np.asarray(a) for a in arrays]
    draws = np.array([metric(*(c[idx] for c in columns)) for idx in _resample_indices(n, resamples, seed)])
    low, high = _percentiles(draws, confidence)
    return Estimate(float(metric(*columns)), low, high, n, confidence)


def paired_bootstrap(metric: Callable[..., float], system_a: Sequence[Any], system_b: Sequence[Any],
                     *shared: Sequence[Any], resamples: int = 1000, confidence: float = 0.95,
                     seed: int = 0, higher_is_better: bool = True) -> PairedDifference:
    """metric(A, *shared) - metric(B, *shared), both systems resampled on the same items in each draw.

    Pairing removes the items' own difficulty from the comparison, so the CI is much narrower than two separate CIs.
    Pass `higher_is_better=False` for error rates and perplexities.
    `paired_bootstrap(np.mean, f1_ours, f1_baseline)` or, for a corpus metric with references,
    `paired_bootstrap(lambda pred, gold: f1_score(gold, pred, average="macro"), pred_a, pred_b, gold)`.
    """
    n = _item_count([system_a, system_b, *shared])
    a, b = np.asarray(system_a), np.asarray(system_b)
    rest = [np.asarray(s) for s in shared]
    diffs = np.array([
        metric(a[idx], *(s[idx] for s in rest)) - metric(b[idx], *(s[idx] for s in rest))
        for idx in _resample_indices(n, resamples, seed)
    ])
    low, high = _percentiles(diffs, confidence)
    difference = float(metric(a, *rest) - metric(b, *rest))
    a_better = diffs > 0 if higher_is_better else diffs < 0
    return PairedDifference(difference, low, high, float(np.mean(a_better)), n, confidence, higher_is_better)


def wilson_interval(successes: int, trials: int, confidence: float = 0.95) -> Estimate:
    """Wilson score interval for a proportion (accuracy, error rate) over independent trials."""
    if trials < 1 or not 0 <= successes <= trials:
        raise ValueError(f"need 0 <= successes <= trials and trials >= 1, got {successes}/{trials}")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be between 0 and 1, got {confidence}")
    z = NormalDist().inv_cdf(1 - (1 - confidence) / 2)
    p = successes / trials
    centre = (p + z * z / (2 * trials)) / (1 + z * z / trials)
    half = z / (1 + z * z / trials) * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials))
    return Estimate(p, max(0.0, centre - half), min(1.0, centre + half), trials, confidence)
