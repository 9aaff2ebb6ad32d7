"""Shared test helpers: test signals, the faithfulness metric and weight access."""

from __future__ import annotations

import keras
import numpy as np
import pytest


def make_signal(num_samples: int, batch: int = 2, sample_rate: int = 16000, seed: int = 0) -> np.ndarray:
    """Speech-like test audio `[batch, num_samples]` float32: a chirp, a harmonic tone and light noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(num_samples) / sample_rate
    duration = max(num_samples / sample_rate, 1e-3)
    out = []
    for b in range(batch):
        f0, f1 = 100.0 * (b + 1), 7000.0
        phase = 2 * np.pi * (f0 * t + (f1 - f0) * t**2 / (2 * duration))
        chirp = 0.3 * np.sin(phase)
        tone = sum(0.2 / k * np.sin(2 * np.pi * 220.0 * (b + 1) * k * t) for k in range(1, 5))
        envelope = 0.5 + 0.5 * np.sin(2 * np.pi * 3.0 * t) ** 2
        noise = 0.01 * rng.standard_normal(num_samples)
        out.append(envelope * (chirp + tone) + noise)
    return np.asarray(out, dtype=np.float32)


def relative_error(actual, expected) -> float:
    """docs/numerics.md's metric: `max |y - y_ref| / s_c`, `s_c = max(max_t |y_ref[..., c]|, 1e-3 max |y_ref|)`."""
    actual = np.asarray(keras.ops.convert_to_numpy(actual), dtype=np.float64)
    expected = np.asarray(expected, dtype=np.float64)
    assert actual.shape == expected.shape, (actual.shape, expected.shape)
    magnitude = np.abs(expected)
    axes = tuple(range(expected.ndim - 1))
    scale = np.maximum(magnitude.max(axis=axes), 1e-3 * magnitude.max())
    return float((np.abs(actual - expected) / np.maximum(scale, 1e-30)).max())


def global_relative_error(actual, expected) -> float:
    """The issue's metric: `max |y - y_ref| / max |y_ref|`."""
    actual = np.asarray(keras.ops.convert_to_numpy(actual), dtype=np.float64)
    expected = np.asarray(expected, dtype=np.float64)
    return float(np.abs(actual - expected).max() / np.abs(expected).max())


def num_trainable(layer) -> int:
    return int(sum(np.prod(w.shape) for w in layer.trainable_weights))


def assert_matches_reference(actual, expected, tolerance: float = 1e-4) -> None:
    """Global relative error <= tolerance and docs/numerics.md's per-channel error <= 10 x tolerance.

    The per-channel bound is looser because channels that only see stop-band
    leakage carry float32 phase round-off (docs/numerics.md, "How close is close").
    """
    errors = global_relative_error(actual, expected), relative_error(actual, expected)
    assert errors[0] <= tolerance and errors[1] <= 10 * tolerance, f"global, per-channel errors: {errors}"


def random_pcen_values(rng: np.random.Generator, channels: int, out_of_range: bool) -> dict[str, np.ndarray]:
    """Random sPCEN parameters, float32; `out_of_range` also crosses every clip bound
    (alpha > 1 and < 0, root < 1, smoothing outside [0, 1])."""
    if out_of_range:
        ranges = dict(alpha=(-0.3, 1.5), delta=(0.05, 4.0), root=(0.3, 5.0), smooth=(-0.3, 1.3))
    else:
        ranges = dict(alpha=(0.5, 1.0), delta=(0.5, 3.0), root=(1.0, 4.0), smooth=(0.01, 0.5))
    return {name: rng.uniform(lo, hi, channels).astype(np.float32) for name, (lo, hi) in ranges.items()}


def assign_pcen(pcen, values: dict[str, np.ndarray]) -> None:
    """Sets a `PCENLayer`'s alpha, delta, root and smoothing coefficient."""
    pcen.alpha.assign(values["alpha"])
    pcen.delta.assign(values["delta"])
    pcen.root.assign(values["root"])
    pcen.ema.smooth.assign(values["smooth"])


def gradients(layer, variables, loss_fn, *inputs) -> list[np.ndarray]:
    """`d loss_fn(layer(*inputs)) / d variable` for each of `variables`, on the Keras backend in use.

    TensorFlow: a `GradientTape`; JAX: `jax.grad` of the layer's `stateless_call`;
    PyTorch: `torch.autograd.grad`. `loss_fn` maps the outputs to a scalar with `keras.ops`.
    """
    name = keras.backend.backend()
    if not variables:
        return []
    if name == "tensorflow":
        import tensorflow as tf

        with tf.GradientTape() as tape:
            loss = loss_fn(layer(*inputs))
        return [np.asarray(g) for g in tape.gradient(loss, variables)]
    if name == "jax":
        import jax

        trainable, non_trainable = layer.trainable_variables, layer.non_trainable_variables
        frozen = [v.value for v in non_trainable]

        def loss_of(values):
            outputs, _ = layer.stateless_call(values, frozen, *inputs)
            return loss_fn(outputs)

        grads = jax.grad(loss_of)([v.value for v in trainable])
        index = {id(v): i for i, v in enumerate(trainable)}
        return [np.asarray(grads[index[id(v)]]) for v in variables]
    if name == "torch":
        import torch

        loss = loss_fn(layer(*inputs))
        return [g.detach().cpu().numpy() for g in torch.autograd.grad(loss, [v.value for v in variables])]
    raise NotImplementedError(f"no gradient helper for the {name} backend")


# Tests of TensorFlow-only features (tf.function graphs with unknown shapes, the XLA fast paths, SavedModel
# export); every other test runs on whichever backend KERAS_BACKEND selects.
tensorflow_only = pytest.mark.skipif(
    keras.backend.backend() != "tensorflow", reason="a TensorFlow-only feature (tf.function graphs, XLA fast paths)"
)


def to_numpy(value) -> np.ndarray:
    """A backend tensor or a Keras variable as a NumPy array (also a PyTorch tensor that needs a gradient)."""
    return np.asarray(keras.ops.convert_to_numpy(value))
