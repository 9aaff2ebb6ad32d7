"""Gradients of the learnable frontends against the float64 NumPy oracle, on the Keras backend in use.

For each group of trainable weights, the backend's gradient of
`sum(w * frontend(x))` (fixed random `w`) along a random direction must equal
the oracle's central finite difference along that direction. The oracle is
written from docs/numerics.md and knows nothing of any framework, so the same
test checks TensorFlow, JAX and PyTorch (`KERAS_BACKEND=...`).
"""

from __future__ import annotations

import keras
import numpy as np
import pytest

import leaf_tf
from tests import numpy_reference as ref
from tests.helpers import gradients, make_signal

C, K, S, T = 6, 401, 160, 2400


def _f32(values):
    return np.asarray(values, dtype=np.float32)


def _leaf_values(rng):
    """In-range values (away from every clip bound, where the gradient is one-sided)."""
    return dict(
        eta=_f32(rng.uniform(0.1, 2.8, C)),
        sigma=_f32(rng.uniform(4.0, 100.0, C)),
        pool_sigma=_f32(rng.uniform(0.1, 0.45, C)),
        alpha=_f32(rng.uniform(0.5, 0.95, C)),
        delta=_f32(rng.uniform(0.5, 3.0, C)),
        root=_f32(rng.uniform(1.5, 4.0, C)),
        smooth=_f32(rng.uniform(0.02, 0.5, C)),
    )


class LeafGradients:
    name = "leaf"
    groups = {"filters": ("eta", "sigma"), "pooling": ("pool_sigma",), "pcen": ("alpha", "delta", "root", "smooth")}

    def build(self, values):
        frontend = leaf_tf.Leaf(n_filters=C)
        frontend(np.zeros((1, 800), np.float32))
        frontend.filterbank.kernel.assign(np.stack([values["eta"], values["sigma"]], 1))
        frontend.pooling.kernel.assign(values["pool_sigma"].reshape(1, 1, C, 1))
        self._assign_pcen(frontend.compression, values)
        return frontend

    @staticmethod
    def _assign_pcen(pcen, values):
        for name in ("alpha", "delta", "root"):
            getattr(pcen, name).assign(values[name])
        pcen.ema.smooth.assign(values["smooth"])

    def variables(self, frontend):
        pcen = frontend.compression
        return {
            "filters": frontend.filterbank.kernel,
            "pooling": frontend.pooling.kernel,
            "pcen": [pcen.alpha, pcen.delta, pcen.root, pcen.ema.smooth],
        }

    def oracle(self, x, values):
        return ref.leaf(x, K=K, stride=S, **values)


class MelPCENGradients(LeafGradients):
    name = "mel_pcen"
    groups = {"pcen": ("alpha", "delta", "root", "smooth")}

    def build(self, values):
        frontend = leaf_tf.MelPCEN(n_filters=C)
        frontend(np.zeros((1, 800), np.float32))
        self._assign_pcen(frontend.compression, values)
        return frontend

    def variables(self, frontend):
        pcen = frontend.compression
        return {"pcen": [pcen.alpha, pcen.delta, pcen.root, pcen.ema.smooth]}

    def oracle(self, x, values):
        pcen = {name: values[name] for name in ("alpha", "delta", "root", "smooth")}
        return ref.mel_filterbanks(x, n_filters=C, compression="pcen", **pcen)


def _flat_gradient(case, group, gradient_list):
    """The gradients of a group, as a dict parameter name -> float64 array shaped like the oracle's value."""
    names = case.groups[group]
    if group == "filters":
        [kernel] = gradient_list
        return {"eta": kernel[:, 0], "sigma": kernel[:, 1]}
    return {name: np.reshape(g, -1) for name, g in zip(names, gradient_list)}


@pytest.mark.parametrize("case", [LeafGradients(), MelPCENGradients()], ids=lambda case: case.name)
def test_gradients_match_oracle_finite_differences(case):
    rng = np.random.default_rng(7)
    x = make_signal(T)
    values = _leaf_values(rng)
    frontend = case.build(values)
    weights = rng.standard_normal(case.oracle(x, values).shape)

    def oracle_loss(params):
        return float(np.sum(weights * case.oracle(x, params)))

    for group, variables in case.variables(frontend).items():
        variables = variables if isinstance(variables, list) else [variables]
        grads = _flat_gradient(case, group, gradients(
            frontend, variables, lambda y: keras.ops.sum(y * keras.ops.convert_to_tensor(_f32(weights))), x
        ))
        # A random direction over the group's parameters, each scaled to its own magnitude.
        direction = {name: rng.standard_normal(C) * np.abs(values[name]) for name in case.groups[group]}
        step = 1e-6
        plus = {**values, **{n: values[n].astype(np.float64) + step * d for n, d in direction.items()}}
        minus = {**values, **{n: values[n].astype(np.float64) - step * d for n, d in direction.items()}}
        numeric = (oracle_loss(plus) - oracle_loss(minus)) / (2 * step)
        analytic = sum(float(np.dot(grads[n], d)) for n, d in direction.items())
        scale = sum(float(np.abs(grads[n]) @ np.abs(d)) for n, d in direction.items())
        assert abs(analytic - numeric) <= 2e-3 * scale, (group, analytic, numeric, scale)
