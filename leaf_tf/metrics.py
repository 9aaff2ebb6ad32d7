"""Classification metrics: accuracy with a confidence interval, ROC AUC, d-prime, mean average precision.

The NumPy functions evaluate full-clip predictions after a run (`leaf-tf eval`);
`MaskedSparseCategoricalAccuracy` is a Keras metric for multi-task training.

* Accuracy intervals are Wilson score intervals (Wilson, 1927): for `k`
  correct out of `n` at normal quantile `z`, centre
  `(k + z^2/2) / (n + z^2)` and half-width
  `z / (n + z^2) * sqrt(k (n - k) / n + z^2 / 4)`. Unlike the normal
  approximation they stay inside [0, 1] and are sensible at 0% and 100%.
* ROC AUC is the Mann-Whitney statistic: the probability that a random
  positive scores above a random negative, ties counting one half.
* d-prime is `sqrt(2) * Phi^-1(AUC)` (the paper's Table 4).
* Average precision is the area under the precision-recall step curve,
  `sum_n (R_n - R_{n-1}) P_n` over decreasing score thresholds (as
  scikit-learn's `average_precision_score`); mAP averages it over classes.
* Class averages skip classes without both positive and negative examples,
  for which AUC and AP are undefined.
"""

from __future__ import annotations

import math
from statistics import NormalDist

import keras
import numpy as np

from leaf_tf.registry import register


def normal_quantile(p: float) -> float:
    """`Phi^-1(p)`, the standard normal quantile."""
    return NormalDist().inv_cdf(p)


def wilson_interval(correct: int, total: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval `(low, high)` for a binomial proportion `correct / total`."""
    if total <= 0:
        raise ValueError(f"An accuracy needs at least one example, got total={total}.")
    if not 0 <= correct <= total:
        raise ValueError(f"correct must be in [0, total={total}], got {correct}.")
    z = normal_quantile(0.5 + confidence / 2)
    denominator = total + z * z
    centre = (correct + z * z / 2) / denominator
    half_width = z / denominator * math.sqrt(correct * (total - correct) / total + z * z / 4)
    return max(0.0, centre - half_width), min(1.0, centre + half_width)


def accuracy(labels: np.ndarray, scores: np.ndarray, confidence: float = 0.95) -> dict:
    """Top-1 accuracy of `[N, C]` scores against `[N]` integer labels, with its Wilson interval.

    Returns `{"accuracy", "low", "high", "plus_minus", "correct", "count"}`;
    `plus_minus` is half the interval's width (the paper's "± x" notation).
    """
    labels = np.asarray(labels)
    predictions = np.argmax(np.asarray(scores), axis=-1)
    correct, total = int(np.sum(predictions == labels)), int(labels.size)
    low, high = wilson_interval(correct, total, confidence)
    return {
        "accuracy": correct / total,
        "low": low,
        "high": high,
        "plus_minus": (high - low) / 2,
        "correct": correct,
        "count": total,
    }


def _average_ranks(values: np.ndarray) -> np.ndarray:
    """1-based ranks, ties sharing their average rank."""
    order = np.argsort(values, kind="mergesort")
    sorted_values = values[order]
    ranks = np.empty(len(values), np.float64)
    starts = np.flatnonzero(np.r_[True, sorted_values[1:] != sorted_values[:-1]])
    ends = np.r_[starts[1:], len(values)]
    for start, end in zip(starts, ends):
        ranks[order[start:end]] = (start + end + 1) / 2.0
    return ranks


def roc_auc(targets: np.ndarray, scores: np.ndarray) -> float:
    """ROC AUC of one binary problem (targets in {0, 1}); NaN without both classes."""
    targets = np.asarray(targets).astype(bool)
    positives, negatives = int(targets.sum()), int((~targets).sum())
    if positives == 0 or negatives == 0:
        return float("nan")
    ranks = _average_ranks(np.asarray(scores, np.float64))
    return float((ranks[targets].sum() - positives * (positives + 1) / 2) / (positives * negatives))


def average_precision(targets: np.ndarray, scores: np.ndarray) -> float:
    """Average precision of one binary problem; NaN without positives (or without negatives)."""
    targets = np.asarray(targets).astype(bool)
    if targets.all() or not targets.any():
        return float("nan")
    scores = np.asarray(scores, np.float64)
    order = np.argsort(-scores, kind="mergesort")
    scores, targets = scores[order], targets[order]
    # One threshold per distinct score: the last index of each run of equal scores.
    last = np.r_[np.flatnonzero(scores[1:] != scores[:-1]), len(scores) - 1]
    true_positives = np.cumsum(targets)[last]
    precision = true_positives / (last + 1)
    recall = true_positives / targets.sum()
    return float(np.sum(np.diff(np.r_[0.0, recall]) * precision))


def d_prime(auc: float) -> float:
    """`sqrt(2) * Phi^-1(AUC)`: the separation of two unit-variance Gaussians with this AUC (+-inf at 1 and 0)."""
    if auc >= 1.0:
        return math.inf
    if auc <= 0.0:
        return -math.inf
    return math.sqrt(2.0) * normal_quantile(auc)


def multilabel_metrics(targets: np.ndarray, scores: np.ndarray) -> dict:
    """mAP, mean AUC and the d-prime of the mean AUC for `[N, C]` multi-hot targets and scores.

    Returns `{"map", "auc", "d_prime", "classes_evaluated", "count"}`.
    """
    targets, scores = np.asarray(targets), np.asarray(scores)
    aucs = np.array([roc_auc(targets[:, c], scores[:, c]) for c in range(targets.shape[1])])
    aps = np.array([average_precision(targets[:, c], scores[:, c]) for c in range(targets.shape[1])])
    valid = ~np.isnan(aucs)
    if not valid.any():
        raise ValueError("No class has both positive and negative examples: AUC and mAP are undefined.")
    mean_auc = float(aucs[valid].mean())
    return {
        "map": float(np.nanmean(aps)),
        "auc": mean_auc,
        "d_prime": d_prime(mean_auc),
        "classes_evaluated": int(valid.sum()),
        "count": int(targets.shape[0]),
    }


@register()
class MaskedSparseCategoricalAccuracy(keras.metrics.SparseCategoricalAccuracy):
    """Sparse categorical accuracy over the examples whose label is >= 0.

    Multi-task batches label the examples of other tasks -1 (see
    `models.MultiTaskClassifier`); they are left out of the count.
    """

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_true = keras.ops.convert_to_tensor(y_true)
        valid = keras.ops.cast(y_true >= 0, self.dtype)
        if len(valid.shape) > 1:
            valid = keras.ops.reshape(valid, (-1,))
        weights = valid if sample_weight is None else valid * keras.ops.cast(sample_weight, self.dtype)
        return super().update_state(keras.ops.maximum(y_true, 0), y_pred, sample_weight=weights)
