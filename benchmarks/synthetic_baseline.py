"""Builds `leaf_synthetic` and scores a log-mel + logistic-regression baseline on each task.

    python benchmarks/synthetic_baseline.py [--data_dir ~/tensorflow_datasets] [--tasks pitch,event]

For each task: 40-band log-mel (`leaf_tf.MelFilterbanks()`) of the whole clip,
its mean and standard deviation over time (80 features), standardised with the
training set's statistics, then a multinomial logistic regression (softmax,
L2 penalty `l2 * ||W||^2 / 2` on the weights, not the biases) fitted to
convergence by Newton's method on the full training set. `l2` is picked from a
small grid by validation accuracy; the table reports test accuracy with a 95 %
normal-approximation interval, next to chance (the majority class rate).

A bag-of-frames linear model sees the average spectrum and how much each band
varies, not how the spectrum changes in time: the tasks are designed so that
this is not enough (see `leaf_tf/data/synthetic.py`). Prints a Markdown table,
the generation time (when this run built the data) and the size on disk.
"""

from __future__ import annotations

import argparse
import os
import pathlib
import time

import numpy as np
import tensorflow as tf
import tensorflow_datasets as tfds

import leaf_tf
from leaf_tf.data import synthetic

L2_GRID = (1e-4, 1e-3, 1e-2, 1e-1)


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


def log_mel_statistics(builder: tfds.core.DatasetBuilder, split: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """`(features [clips, 80], labels [clips], durations_s [clips])`: mean and std over time of 40-band log-mel."""
    mel = leaf_tf.MelFilterbanks(n_filters=40)

    @tf.function(input_signature=[tf.TensorSpec([None], tf.int16)])
    def statistics(audio: tf.Tensor) -> tf.Tensor:
        frames = mel(tf.cast(audio, tf.float32)[None] / synthetic.INT16_SCALE)[0]
        return tf.concat([tf.reduce_mean(frames, 0), tf.math.reduce_std(frames, 0)], 0)

    features, labels, durations = [], [], []
    for example in builder.as_dataset(split=split):
        features.append(statistics(example["audio"]).numpy())
        labels.append(int(example["label"]))
        durations.append(int(tf.size(example["audio"])) / synthetic.SAMPLE_RATE_HZ)
    return np.array(features), np.array(labels), np.array(durations)


def evaluate_task(builder: tfds.core.DatasetBuilder) -> dict:
    """Fits the baseline on `train`, picks `l2` on `validation`, scores `test`."""
    data = {split: log_mel_statistics(builder, split) for split in synthetic.SPLITS}
    train_x, train_y, _ = data["train"]
    mean, std = train_x.mean(axis=0), train_x.std(axis=0) + 1e-8
    num_classes = builder.info.features["label"].num_classes
    fits = []
    for l2 in L2_GRID:
        weights = fit_logistic_regression((train_x - mean) / std, train_y, num_classes, l2)
        accuracy = {split: float(np.mean(predict(weights, (x - mean) / std) == y)) for split, (x, y, _) in data.items()}
        fits.append((accuracy["validation"], -l2, l2, accuracy))  # ties: the stronger penalty
    _, _, l2, accuracy = max(fits)
    test_y = data["test"][1]
    durations = np.concatenate([d for _, _, d in data.values()])
    return {
        "classes": num_classes,
        "counts": {split: len(y) for split, (_, y, _) in data.items()},
        "durations": (durations.min(), durations.mean(), durations.max()),
        "chance": float(np.bincount(test_y).max() / len(test_y)),
        "accuracy": accuracy,
        "interval": 1.96 * np.sqrt(accuracy["test"] * (1 - accuracy["test"]) / len(test_y)),
        "l2": l2,
    }


def directory_size_bytes(path: pathlib.Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data_dir", default=os.path.expanduser("~/tensorflow_datasets"))
    parser.add_argument("--tasks", default=",".join(synthetic.TASKS), help="comma-separated subset of the tasks")
    args = parser.parse_args()
    tasks = args.tasks.split(",")

    builders = {task: tfds.builder(f"leaf_synthetic/{task}", data_dir=args.data_dir) for task in tasks}
    to_build = [task for task, builder in builders.items() if not builder.is_prepared()]
    start = time.perf_counter()
    synthetic.prepare(args.data_dir, to_build)
    generation_s = time.perf_counter() - start
    builders = {task: tfds.builder(f"leaf_synthetic/{task}", data_dir=args.data_dir) for task in tasks}

    results = {}
    for task, builder in builders.items():
        start = time.perf_counter()
        results[task] = evaluate_task(builder)
        print(f"{task}: evaluated in {time.perf_counter() - start:.1f} s (l2 = {results[task]['l2']:g})", flush=True)

    print()
    print(
        "| task | classes | train / validation / test | clip length (s), min-mean-max | chance | log-mel + LR, test |"
    )
    print("|---|---:|---|---|---:|---:|")
    for task, r in results.items():
        counts = " / ".join(str(r["counts"][s]) for s in synthetic.SPLITS)
        lo, mean, hi = r["durations"]
        print(
            f"| {task} | {r['classes']} | {counts} | {lo:.1f}-{mean:.2f}-{hi:.1f} | {100 * r['chance']:.1f} % "
            f"| {100 * r['accuracy']['test']:.1f} ± {100 * r['interval']:.1f} % |"
        )
    total_clips = sum(sum(r["counts"].values()) for r in results.values())
    size_mb = sum(directory_size_bytes(pathlib.Path(b.data_dir)) for b in builders.values()) / 1e6
    print()
    if to_build:
        print(f"Generated {len(to_build)} config(s) ({', '.join(to_build)}) in {generation_s:.1f} s; ", end="")
    else:
        print("All configs were already prepared (delete them to time the generation); ", end="")
    print(f"{total_clips} clips, {size_mb:.0f} MB on disk under {args.data_dir}/leaf_synthetic.")


if __name__ == "__main__":
    main()
