"""Seed statistics and the paired bootstrap, against values computed by hand or by full enumeration."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from leaf_tf import statistics


def test_seed_spread_is_the_mean_and_the_sample_standard_deviation():
    mean, sd = statistics.seed_spread([0.70, 0.80, 0.75])
    assert mean == pytest.approx(0.75)
    assert sd == pytest.approx(math.sqrt(((-0.05) ** 2 + 0.05**2 + 0) / 2))  # ddof = 1: 0.05
    mean, sd = statistics.seed_spread([0.6])
    assert mean == pytest.approx(0.6) and math.isnan(sd)
    with pytest.raises(ValueError, match="at least one"):
        statistics.seed_spread([])


def _exact_quantile(values: np.ndarray, probability: float) -> float:
    """The smallest value whose cumulative probability reaches `probability` (equally likely outcomes)."""
    ordered = np.sort(values)
    return float(ordered[min(len(ordered) - 1, math.ceil(probability * len(ordered)) - 1)])


def test_bootstrap_interval_matches_the_enumerated_bootstrap_distribution():
    # 2 seeds x 3 clips: every replicate (4 seed draws x 27 clip draws, equally likely) enumerated by hand.
    a = np.array([[1, 1, 0], [1, 1, 1]])
    b = np.array([[0, 1, 1], [0, 0, 1]])
    difference = a - b  # [[1, 0, -1], [1, 1, 0]]
    outcomes = [
        np.mean([difference[s][list(clips)].mean() for s in seeds])
        for seeds in itertools.product(range(2), repeat=2)
        for clips in itertools.product(range(3), repeat=3)
    ]
    result = statistics.paired_bootstrap({"t": a}, {"t": b}, resamples=200_000)
    task = result["tasks"]["t"]
    assert task["difference"] == pytest.approx(difference.mean())  # 2/6
    outcomes = np.array(outcomes)
    assert _exact_quantile(outcomes, 0.02) <= task["low"] <= _exact_quantile(outcomes, 0.03)
    assert _exact_quantile(outcomes, 0.97) <= task["high"] <= _exact_quantile(outcomes, 0.98)
    assert not task["significant"]  # the enumerated 2.5% quantile is below zero
    assert _exact_quantile(outcomes, 0.025) < 0
    assert result["seeds"] == 2 and result["clips"] == {"t": 3}


def test_an_arm_that_is_always_right_against_one_always_wrong_differs_by_exactly_one():
    right, wrong = np.ones((3, 10)), np.zeros((3, 10))
    result = statistics.paired_bootstrap({"t": right}, {"t": wrong}, resamples=500)
    assert result["tasks"]["t"] == {"difference": 1.0, "low": 1.0, "high": 1.0, "significant": True}
    same = statistics.paired_bootstrap({"t": right}, {"t": right}, resamples=500)
    assert same["average"] == {"difference": 0.0, "low": 0.0, "high": 0.0, "significant": False}


def test_one_seed_draw_is_shared_by_all_tasks():
    # Seed 0 favours A on task x and B on task y by the same amount; seed 1 the reverse. Every seed's
    # average difference is 0, so with one seed draw per replicate the average's interval is exactly [0, 0]
    # (independent draws per task would give a wide one), while each task's interval is wide.
    ones, zeros = np.ones(6), np.zeros(6)
    a = {"x": np.stack([ones, zeros]), "y": np.stack([zeros, ones])}
    b = {"x": np.stack([zeros, ones]), "y": np.stack([ones, zeros])}
    result = statistics.paired_bootstrap(a, b, resamples=2000)
    assert result["average"]["low"] == 0.0 and result["average"]["high"] == 0.0
    assert result["tasks"]["x"]["low"] == -1.0 and result["tasks"]["x"]["high"] == 1.0


def test_the_same_inputs_give_the_same_interval():
    rng = np.random.default_rng(3)
    a, b = rng.integers(0, 2, (3, 40)), rng.integers(0, 2, (3, 40))
    assert statistics.paired_bootstrap({"t": a}, {"t": b}) == statistics.paired_bootstrap({"t": a}, {"t": b})


def test_bad_inputs_are_rejected():
    with pytest.raises(ValueError, match="same, non-empty set of tasks"):
        statistics.paired_bootstrap({"t": np.ones((1, 2))}, {"u": np.ones((1, 2))})
    with pytest.raises(ValueError, match="one shape"):
        statistics.paired_bootstrap({"t": np.ones((2, 3))}, {"t": np.ones((2, 4))})
    with pytest.raises(ValueError, match="same seeds"):
        statistics.paired_bootstrap({"t": np.ones((2, 3)), "u": np.ones((3, 3))},
                                    {"t": np.ones((2, 3)), "u": np.ones((3, 3))})
