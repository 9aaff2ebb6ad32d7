"""A linear yardstick for any single-label task: log-mel statistics + logistic regression.

For each clip: 40-band log-mel (`MelFilterbanks()`) of the whole clip, its
mean and standard deviation over time (80 features), standardised with the
training split's statistics, then a multinomial logistic regression
(softmax, L2 penalty `l2 * ||W||^2 / 2` on the weights, not the biases)
fitted to convergence by damped Newton steps on the full training split.
`l2` is picked from `L2_GRID` by validation accuracy (ties: the stronger
penalty); the test accuracy comes with its 95% Wilson interval, as the
trained models' do.

A bag-of-frames linear model sees the average spectrum and how much each
band varies, not how the spectrum changes in time. A trained frontend +
CNN that scores below it on a task has not learnt what a linear model on
fixed features finds: `leaf_tf.quickstart` prints it beside the CNNs and
says so when that happens. Deterministic (no random draws; NumPy float64).
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from leaf_tf import metrics
from leaf_tf.data import pipeline
from leaf_tf.data.tasks import Task, get_task
from leaf_tf.frontends import MelFilterbanks

L2_GRID = (1e-4, 1e-3, 1e-2, 1e-1)
SPLITS = ("train", "validation", "test")


def softmax(logits: np.ndarray) -> np.ndarray:
    z = np.exp(logits - logits.max(axis=1, keepdims=True))
    return z / z.sum(axis=1, keepdims=True)


def fit_logistic_regression(
    features: np.ndarray, labels: np.ndarray, num_classes: int, l2: float, max_steps: int = 100
) -> np.ndarray:
    """Multinomial logistic regression by damped Newton steps; returns `[features + 1, classes]` weights.

    Minimises `mean_i CE(softmax(W^T [x_i, 1]), y_i) + l2 / 2 * ||W[:-1]||^2`
    (the bias row carries a 1e-8 ridge only, to make the Newton system definite).
    """
    n, d = features.shape
    x = np.hstack([features, np.ones((n, 1))])
    onehot = np.eye(num_classes)[labels]
    ridge = np.full(d + 1, l2)
    ridge[-1] = 1e-8
    weights = np.zeros((d + 1, num_classes))

    def objective(w: np.ndarray) -> float:
        logits = x @ w
        logits -= logits.max(axis=1, keepdims=True)
        log_likelihood = np.sum(onehot * logits, axis=1) - np.log(np.exp(logits).sum(axis=1))
        return float(-log_likelihood.mean() + 0.5 * np.sum(ridge[:, None] * w**2))

    for _ in range(max_steps):
        p = softmax(x @ weights)
        gradient = x.T @ (p - onehot) / n + ridge[:, None] * weights
        if np.abs(gradient).max() < 1e-8:
            break
        # Hessian block (c, e) = X^T diag(p_c (delta_ce - p_e)) X / n, plus the ridge.
        hessian = np.zeros((num_classes, d + 1, num_classes, d + 1))
        for c in range(num_classes):
            for e in range(c, num_classes):
                block = (x * (p[:, c] * ((c == e) - p[:, e]))[:, None]).T @ x / n
                hessian[c, :, e, :] = block
                hessian[e, :, c, :] = block.T
        hessian = hessian.reshape(num_classes * (d + 1), -1) + np.diag(np.tile(ridge, num_classes))
        step = np.linalg.solve(hessian, gradient.T.reshape(-1)).reshape(num_classes, d + 1).T
        value, slope, t = objective(weights), float(np.sum(gradient * step)), 1.0
        while objective(weights - t * step) > value - 1e-4 * t * slope and t > 1e-8:
            t *= 0.5
        weights = weights - t * step
    return weights


def predict(weights: np.ndarray, features: np.ndarray) -> np.ndarray:
    return np.argmax(np.hstack([features, np.ones((len(features), 1))]) @ weights, axis=1)


def log_mel_statistics(task: Task | str, split: str, data_dir=None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """`(features [clips, 80], labels [clips], durations_s [clips])`: mean and std over time of 40-band log-mel."""
    task = get_task(task)
    mel = MelFilterbanks(n_filters=40, sample_rate=task.sample_rate)

    @tf.function(input_signature=[tf.TensorSpec([None], tf.float32)])
    def statistics(audio: tf.Tensor) -> tf.Tensor:
        frames = mel(audio[None])[0]
        return tf.concat([tf.reduce_mean(frames, 0), tf.math.reduce_std(frames, 0)], 0)

    features, labels, durations = [], [], []
    for example in pipeline.decoded_examples(task, split, data_dir):
        features.append(statistics(example["audio"]).numpy())
        labels.append(int(example["label"]))
        durations.append(int(tf.size(example["audio"])) / task.sample_rate)
    return np.array(features), np.array(labels), np.array(durations)


def evaluate_task(task: Task | str, data_dir=None) -> dict:
    """Fits the baseline on `train`, picks `l2` on `validation`, scores `test`.

    Returns `{"accuracy", "plus_minus", "low", "high", "correct", "count"}` (test,
    `metrics.accuracy`) plus `"validation_accuracy"`, `"train_accuracy"`, `"l2"`,
    `"classes"`, `"counts"` (clips per split), `"durations"` (min, mean, max s)
    and `"chance"` (the test split's majority-class rate).
    """
    task = get_task(task)
    if task.multi_label:
        raise ValueError(f"The log-mel + logistic-regression baseline is for single-label tasks; {task.name} is multi-label.")
    data = {split: log_mel_statistics(task, split, data_dir) for split in SPLITS}
    train_x, train_y, _ = data["train"]
    mean, std = train_x.mean(axis=0), train_x.std(axis=0) + 1e-8
    fits = []
    for l2 in L2_GRID:
        weights = fit_logistic_regression((train_x - mean) / std, train_y, task.num_classes, l2)
        accuracy = {split: float(np.mean(predict(weights, (x - mean) / std) == y)) for split, (x, y, _) in data.items()}
        fits.append((accuracy["validation"], -l2, l2, weights))
    _, _, l2, weights = max(fits, key=lambda fit: fit[:2])
    test_x, test_y, _ = data["test"]
    scores = np.eye(task.num_classes)[predict(weights, (test_x - mean) / std)]
    durations = np.concatenate([d for _, _, d in data.values()])
    accuracy = {split: float(np.mean(predict(weights, (x - mean) / std) == y)) for split, (x, y, _) in data.items()}
    return {
        **metrics.accuracy(test_y, scores),
        "train_accuracy": accuracy["train"],
        "validation_accuracy": accuracy["validation"],
        "l2": l2,
        "classes": task.num_classes,
        "counts": {split: len(y) for split, (_, y, _) in data.items()},
        "durations": [float(durations.min()), float(durations.mean()), float(durations.max())],
        "chance": float(np.bincount(test_y).max() / len(test_y)),
    }
