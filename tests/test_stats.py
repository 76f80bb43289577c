"""stats against known values: scipy's percentile bootstrap, a textbook Wilson interval, and a pairing effect.

Each check is a function of the implementation, run once on the real one and once on a plausible wrong one, which it
must reject: so none of these tests can pass whatever the code does.
"""

from collections.abc import Callable

import numpy as np
import pytest
from scipy import stats as scipy_stats

from nlp_assets import stats
from nlp_assets.stats import Estimate, PairedDifference


def check_bootstrap_matches_scipy(bootstrap_ci: Callable[..., Estimate]) -> None:
    """A percentile bootstrap of a mean and of a two-array corpus metric agrees with scipy's."""
    rng = np.random.default_rng(1)
    scores = rng.exponential(size=300)
    ours = bootstrap_ci(np.mean, scores, resamples=4000, seed=3)
    ref = scipy_stats.bootstrap((scores,), np.mean, n_resamples=4000, method="percentile", random_state=3)
    assert ours.value == pytest.approx(scores.mean())
    assert ours.low == pytest.approx(ref.confidence_interval.low, abs=0.02)
    assert ours.high == pytest.approx(ref.confidence_interval.high, abs=0.02)

    gold = rng.integers(0, 2, size=400)
    pred = np.where(rng.random(400) < 0.8, gold, 1 - gold)
    accuracy = bootstrap_ci(lambda g, p: float(np.mean(g == p)), gold, pred, resamples=4000, seed=3)
    ref = scipy_stats.bootstrap((gold, pred), lambda g, p: np.mean(g == p), paired=True, vectorized=False,
                                n_resamples=4000, method="percentile", random_state=3)
    assert accuracy.low == pytest.approx(ref.confidence_interval.low, abs=0.01)
    assert accuracy.high == pytest.approx(ref.confidence_interval.high, abs=0.01)


def check_paired_bootstrap_uses_the_pairing(paired_bootstrap: Callable[..., PairedDifference]) -> None:
    """Item difficulty varies far more than the systems differ: only a paired resample sees B's small, steady lead."""
    rng = np.random.default_rng(2)
    difficulty = rng.normal(0, 10, size=200)
    a = difficulty + rng.normal(0, 0.5, size=200)
    b = difficulty + 0.5 + rng.normal(0, 0.5, size=200)
    result = paired_bootstrap(np.mean, a, b, seed=0)
    assert result.difference == pytest.approx(a.mean() - b.mean())
    assert -0.7 < result.low < result.high < -0.3
    assert result.share_a_better < 0.01
    assert result.verdict == "B better"
    as_error_rate = paired_bootstrap(np.mean, a, b, seed=0, higher_is_better=False)
    assert as_error_rate.share_a_better > 0.99
    assert as_error_rate.verdict == "A better"


def check_wilson_textbook(wilson_interval: Callable[..., Estimate]) -> None:
    """Wilson (1927) as tabulated by Newcombe (1998): 81/263 -> [0.2553, 0.3662]; 0/10 -> [0, 0.2775]."""
    interval = wilson_interval(81, 263)
    assert (interval.low, interval.high) == pytest.approx((0.2553, 0.3662), abs=1e-4)
    interval = wilson_interval(0, 10)
    assert (interval.low, interval.high) == pytest.approx((0.0, 0.2775), abs=1e-4)


def test_bootstrap_ci_matches_scipy() -> None:
    check_bootstrap_matches_scipy(stats.bootstrap_ci)


def test_the_bootstrap_check_rejects_resampling_each_array_on_its_own() -> None:
    def misaligned(metric, *arrays, resamples=1000, seed=0, confidence=0.95):
        rng = np.random.default_rng(seed)
        columns = [np.asarray(a) for a in arrays]
        n = len(columns[0])
        draws = [metric(*(c[rng.integers(0, n, n)] for c in columns)) for _ in range(resamples)]
        low, high = np.percentile(draws, [2.5, 97.5])
        return Estimate(metric(*columns), low, high, n)

    with pytest.raises(AssertionError):
        check_bootstrap_matches_scipy(misaligned)


def test_paired_bootstrap_sees_a_steady_small_difference() -> None:
    check_paired_bootstrap_uses_the_pairing(stats.paired_bootstrap)


def test_the_pairing_check_rejects_independent_resampling() -> None:
    def unpaired(metric, a, b, resamples=1000, seed=0, confidence=0.95, higher_is_better=True):
        rng = np.random.default_rng(seed)
        a, b = np.asarray(a), np.asarray(b)
        diffs = np.array([metric(rng.choice(a, len(a))) - metric(rng.choice(b, len(b))) for _ in range(resamples)])
        low, high = np.percentile(diffs, [2.5, 97.5])
        return PairedDifference(metric(a) - metric(b), low, high, float(np.mean(diffs > 0)), len(a))

    with pytest.raises(AssertionError):
        check_paired_bootstrap_uses_the_pairing(unpaired)


def test_wilson_interval_matches_the_textbook() -> None:
    check_wilson_textbook(stats.wilson_interval)


def test_the_wilson_check_rejects_the_wald_interval() -> None:
    def wald(successes, trials, confidence=0.95):
        p = successes / trials
        half = 1.96 * np.sqrt(p * (1 - p) / trials)
        return Estimate(p, p - half, p + half, trials)

    with pytest.raises(AssertionError):
        check_wilson_textbook(wald)


def test_bootstrap_is_seeded_and_resamples_all_arrays_together() -> None:
    gold = np.array([0, 1] * 50)
    perfect = stats.bootstrap_ci(lambda g, p: float(np.mean(g == p)), gold, gold.copy())
    assert (perfect.low, perfect.value, perfect.high) == (1.0, 1.0, 1.0)  # misaligned draws would miss some
    scores = np.arange(50.0)
    assert stats.bootstrap_ci(np.mean, scores, seed=7) == stats.bootstrap_ci(np.mean, scores, seed=7)
    assert stats.bootstrap_ci(np.mean, scores, seed=7) != stats.bootstrap_ci(np.mean, scores, seed=8)
    assert perfect.n == 100


def test_verdicts() -> None:
    def diff(low: float, high: float, n: int = 500) -> PairedDifference:
        return PairedDifference((low + high) / 2, low, high, 0.5, n)

    assert diff(0.01, 0.03).verdict == "A better"
    assert diff(-0.03, -0.01).verdict == "B better"
    assert diff(-0.01, 0.03).verdict == "inconclusive"
    assert diff(0.01, 0.03, n=20).verdict == "anecdotal (n=20)"
    lower_is_better = PairedDifference(-0.02, -0.03, -0.01, 1.0, 500, higher_is_better=False)
    assert lower_is_better.verdict == "A better"
    assert str(diff(0.01, 0.03)) == "+0.020 [+0.010, +0.030], A ahead in 50% of resamples: A better"


def test_bad_input_is_refused_with_a_message() -> None:
    with pytest.raises(ValueError, match="one entry per item"):
        stats.bootstrap_ci(lambda a, b: 0.0, [1, 2, 3], [1, 2])
    with pytest.raises(ValueError, match="at least 2 items"):
        stats.bootstrap_ci(np.mean, [1.0])
    with pytest.raises(ValueError, match="at least one array"):
        stats.bootstrap_ci(np.mean)
    with pytest.raises(ValueError, match="resamples must be >= 1"):
        stats.paired_bootstrap(np.mean, [1, 2], [2, 3], resamples=0)
    with pytest.raises(ValueError, match="confidence"):
        stats.bootstrap_ci(np.mean, [1.0, 2.0], confidence=95)
    with pytest.raises(ValueError, match="successes <= trials"):
        stats.wilson_interval(11, 10)
