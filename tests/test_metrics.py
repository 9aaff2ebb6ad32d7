"""Metric functions against hand-computed values."""

from __future__ import annotations

import math

import numpy as np
import pytest

from leaf_tf import metrics


def test_wilson_interval_by_hand():
    # 8 of 10, z = 1.959964: centre (8 + z^2/2)/(10 + z^2), half-width z/(10 + z^2) sqrt(8*2/10 + z^2/4).
    z = 1.959963984540054
    centre = (8 + z * z / 2) / (10 + z * z)
    half = z / (10 + z * z) * math.sqrt(1.6 + z * z / 4)
    low, high = metrics.wilson_interval(8, 10)
    assert low == pytest.approx(centre - half) and high == pytest.approx(centre + half)
    assert (low, high) == pytest.approx((0.4902, 0.9433), abs=1e-4)  # published Wilson interval for 8/10


def test_wilson_interval_edges():
    low, high = metrics.wilson_interval(0, 20)
    assert low == 0.0 and 0.1 < high < 0.2
    low, high = metrics.wilson_interval(20, 20)
    assert high == 1.0 and 0.8 < low < 0.9
    with pytest.raises(ValueError, match="at least one example"):
        metrics.wilson_interval(0, 0)


def test_accuracy_report():
    scores = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4], [0.3, 0.7]])
    result = metrics.accuracy(np.array([0, 1, 1, 1]), scores)
    assert result["accuracy"] == 0.75 and result["correct"] == 3 and result["count"] == 4
    assert result["plus_minus"] == pytest.approx((result["high"] - result["low"]) / 2)


def test_roc_auc_by_hand():
    # Positives score 0.8, 0.4; negatives 0.5, 0.1. Pairs: (0.8>0.5), (0.8>0.1), (0.4<0.5), (0.4>0.1) -> 3/4.
    assert metrics.roc_auc([1, 1, 0, 0], [0.8, 0.4, 0.5, 0.1]) == pytest.approx(0.75)
    # A tie between a positive and a negative counts one half: (0.5=0.5) -> 0.5, (0.5>0.1) -> 1 => 0.75.
    assert metrics.roc_auc([1, 0, 0], [0.5, 0.5, 0.1]) == pytest.approx(0.75)
    assert metrics.roc_auc([1, 0], [0.9, 0.1]) == 1.0
    assert math.isnan(metrics.roc_auc([1, 1], [0.2, 0.3]))


def test_d_prime():
    assert metrics.d_prime(0.5) == pytest.approx(0.0, abs=1e-12)
    # The paper's Table 4 derives d' from unrounded AUCs: agreement within the rounding of AUC.
    assert metrics.d_prime(0.969) == pytest.approx(2.63, abs=0.01)
    assert metrics.d_prime(0.974) == pytest.approx(2.74, abs=0.01)
    assert metrics.d_prime(0.950) == pytest.approx(2.34, abs=0.02)
    assert metrics.d_prime(1.0) == math.inf
    assert metrics.d_prime(0.8) == pytest.approx(math.sqrt(2) * 0.8416212, rel=1e-6)


def test_average_precision_by_hand():
    # Ranked: 0.9 (+), 0.8 (-), 0.7 (+), 0.1 (-). Precision at the two positives: 1/1 and 2/3 -> AP = (1 + 2/3)/2.
    assert metrics.average_precision([1, 0, 1, 0], [0.9, 0.8, 0.7, 0.1]) == pytest.approx((1 + 2 / 3) / 2)
    # Ties form one threshold: scores 0.5 (+), 0.5 (-) -> precision 1/2 at recall 1.
    assert metrics.average_precision([1, 0], [0.5, 0.5]) == pytest.approx(0.5)
    assert metrics.average_precision([0, 1, 0], [0.1, 0.9, 0.2]) == pytest.approx(1.0)


def test_multilabel_metrics_average_over_defined_classes():
    targets = np.array([[1, 0, 1], [0, 1, 1], [1, 0, 1], [0, 0, 1]])
    scores = np.array([[0.9, 0.2, 0.5], [0.1, 0.8, 0.5], [0.7, 0.4, 0.5], [0.3, 0.1, 0.5]])
    result = metrics.multilabel_metrics(targets, scores)
    # Class 2 is always positive (undefined); classes 0 and 1 are perfectly ranked.
    assert result["classes_evaluated"] == 2
    assert result["auc"] == pytest.approx(1.0) and result["map"] == pytest.approx(1.0)
    assert result["d_prime"] == math.inf
