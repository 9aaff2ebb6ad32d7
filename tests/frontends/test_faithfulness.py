"""Every frontend against the float64 NumPy oracle written from docs/numerics.md.

For each frontend: at initialisation, at random in-range parameter values and
at random values outside the clip ranges, for an input length that is a
multiple of the hop (16000) and one that is not (12345, which moves the SAME
padding alignment).
"""

from __future__ import annotations

import zlib

import keras
import numpy as np
import pytest

import leaf_tf
from leaf_tf.layers import LogCompression
from tests import numpy_reference as ref
from tests.helpers import assert_matches_reference, assign_pcen, make_signal, random_pcen_values

C, K, S = 40, 401, 160
LENGTHS = [16000, 12345]


def _f32(values):
    return np.asarray(values, dtype=np.float32)


def _pcen_values(rng, out_of_range):
    return random_pcen_values(rng, C, out_of_range)


def _pcen_init():
    return dict(alpha=np.full(C, 0.96), delta=np.full(C, 2.0), root=np.full(C, 2.0), smooth=np.full(C, 0.04))


def _gabor_values(rng, out_of_range):
    if out_of_range:
        return _f32(rng.uniform(-0.4, 3.5, C)), _f32(rng.uniform(0.3, 220.0, C)), _f32(rng.uniform(-0.1, 0.8, C))
    return _f32(rng.uniform(0.02, 3.0, C)), _f32(rng.uniform(2.0, 140.0, C)), _f32(rng.uniform(0.01, 0.5, C))


def _set_gabor(frontend, eta, sigma, pool):
    frontend.filterbank.kernel.assign(np.stack([eta, sigma], 1))
    frontend.pooling.kernel.assign(pool.reshape(1, 1, C, 1))


# ---------------------------------------------------------------- per-frontend cases
# Each case: build() -> frontend; expected(frontend, x, values) -> oracle output;
# randomize(frontend, rng, out_of_range) -> values for `expected` (None = init).


class LeafCase:
    name = "leaf"

    def signal(self, num_samples):
        return make_signal(num_samples)

    def build(self):
        return leaf_tf.Leaf(n_filters=C)

    def expected(self, x, values):
        if values is None:
            eta, sigma = ref.gabor_init_params(C, 16000, 60.0, 7800.0)
            return ref.leaf(x, eta=eta, sigma=sigma, pool_sigma=np.full(C, 0.4), K=K, stride=S, **_pcen_init())
        return ref.leaf(x, K=K, stride=S, **values)

    def randomize(self, frontend, rng, out_of_range):
        eta, sigma, pool = _gabor_values(rng, out_of_range)
        _set_gabor(frontend, eta, sigma, pool)
        pcen = _pcen_values(rng, out_of_range)
        assign_pcen(frontend.compression, pcen)
        return dict(eta=eta, sigma=sigma, pool_sigma=pool, **pcen)


class LeafPreempLogNormCase(LeafCase):
    """Pre-emphasis, log compression and instance normalisation."""

    name = "leaf_preemp_log_mvn"

    def signal(self, num_samples):
        # Broadband noise keeps every channel above the 1e-5 floor: instance
        # normalisation of a constant (floored) channel only amplifies round-off.
        noise = np.random.default_rng(1).standard_normal((2, num_samples))
        return _f32(make_signal(num_samples) + 0.1 * noise)

    def build(self):
        return leaf_tf.Leaf(n_filters=C, preemp=True, compression_fn=LogCompression(), mean_var_norm=True)

    def expected(self, x, values):
        if values is None:
            eta, sigma = ref.gabor_init_params(C, 16000, 60.0, 7800.0)
            values = dict(eta=eta, sigma=sigma, pool_sigma=np.full(C, 0.4), preemp_kernel=ref.preemp_init(),
                          mvn_gamma=np.ones(C), mvn_beta=np.zeros(C))
        return ref.leaf(x, K=K, stride=S, compression="log", **values)

    def randomize(self, frontend, rng, out_of_range):
        eta, sigma, pool = _gabor_values(rng, out_of_range)
        _set_gabor(frontend, eta, sigma, pool)
        preemp = _f32(rng.uniform(-1.5, 1.5, 2))
        frontend.preemphasis.kernel.assign(preemp.reshape(2, 1, 1))
        gamma, beta = _f32(rng.uniform(0.5, 2.0, C)), _f32(rng.uniform(-1.0, 1.0, C))
        frontend._instance_norm.gamma.assign(gamma)
        frontend._instance_norm.beta.assign(beta)
        return dict(eta=eta, sigma=sigma, pool_sigma=pool, preemp_kernel=preemp, mvn_gamma=gamma, mvn_beta=beta)


class MelCase(LeafCase):
    name = "mel"

    def build(self):
        return leaf_tf.MelFilterbanks(n_filters=C)

    def expected(self, x, values):
        return ref.mel_filterbanks(x, n_filters=C)

    def randomize(self, frontend, rng, out_of_range):
        return None  # no parameters


class MelPCENCase(LeafCase):
    name = "mel_pcen"

    def build(self):
        return leaf_tf.MelPCEN(n_filters=C)

    def expected(self, x, values):
        return ref.mel_filterbanks(x, n_filters=C, compression="pcen", **(values or _pcen_init()))

    def randomize(self, frontend, rng, out_of_range):
        values = _pcen_values(rng, out_of_range)
        assign_pcen(frontend.compression, values)
        return values


class TDFbanksCase(LeafCase):
    name = "tdfbanks"

    def build(self):
        return leaf_tf.TimeDomainFilterbanks(n_filters=C)

    def expected(self, x, values):
        if values is None:
            values = dict(taps=ref.gabor_td_taps(C, K), pool_h=ref.lowpass_init(K))
        return ref.td_fbanks(x, stride=S, **values)

    def randomize(self, frontend, rng, out_of_range):
        scale = 3.0 if out_of_range else 1.0
        taps = _f32(ref.gabor_td_taps(C, K) * rng.uniform(0.5, 1.5) * scale + 1e-3 * rng.standard_normal((K, 1, 2 * C)))
        pool = _f32(ref.lowpass_init(K) * rng.uniform(0.5, 2.0) + 1e-3 * rng.standard_normal(K))
        frontend.filterbank.kernel.assign(taps)
        frontend.pooling.kernel.assign(pool.reshape(1, K, 1, 1))
        return dict(taps=taps, pool_h=pool)


def _sinc_values(rng, out_of_range):
    if out_of_range:  # negative values, bands past Nyquist, inverted bands
        return _f32(rng.uniform(-9000, 9000, C)), _f32(rng.uniform(-4000, 4000, C))
    a, b = ref.sinc_init(C)
    return _f32(a * rng.uniform(0.7, 1.3, C)), _f32(b * rng.uniform(0.7, 1.3, C))


class SincNetCase(LeafCase):
    name = "sincnet"

    def build(self):
        return leaf_tf.SincNet(n_filters=C)

    def expected(self, x, values):
        if values is None:
            a, b = ref.sinc_init(C)
            values = dict(a=a, b=b, gamma=np.ones(C), beta=np.zeros(C))
        return ref.sincnet(x, K=K, stride=S, **values)

    def randomize(self, frontend, rng, out_of_range):
        a, b = _sinc_values(rng, out_of_range)
        frontend.filterbank.kernel.assign(np.stack([a, b], 1))
        gamma, beta = _f32(rng.uniform(0.5, 2.0, C)), _f32(rng.uniform(-1.0, 1.0, C))
        frontend.compression.gamma.assign(gamma)
        frontend.compression.beta.assign(beta)
        return dict(a=a, b=b, gamma=gamma, beta=beta)


class SincNetPlusCase(LeafCase):
    name = "sincnet_plus"

    def build(self):
        return leaf_tf.SincNetPlus(n_filters=C)

    def expected(self, x, values):
        if values is None:
            a, b = ref.sinc_init(C)
            values = dict(a=a, b=b, pool_sigma=np.full(C, 0.4), **_pcen_init())
        return ref.sincnet_plus(x, K=K, stride=S, **values)

    def randomize(self, frontend, rng, out_of_range):
        a, b = _sinc_values(rng, out_of_range)
        frontend.filterbank.kernel.assign(np.stack([a, b], 1))
        pool = _gabor_values(rng, out_of_range)[2]
        frontend.pooling.kernel.assign(pool.reshape(1, 1, C, 1))
        pcen = _pcen_values(rng, out_of_range)
        assign_pcen(frontend.compression, pcen)
        return dict(a=a, b=b, pool_sigma=pool, **pcen)


class SincNetPlusReferencePCENCase(SincNetPlusCase):
    """The reference code's SincNet+ (fixed PCEN, floor 1e-6) stays reachable."""

    name = "sincnet_plus_fixed_pcen"

    def build(self):
        return leaf_tf.SincNetPlus(n_filters=C, learnable_pcen=False)

    def expected(self, x, values):
        if values is None:
            a, b = ref.sinc_init(C)
            values = dict(a=a, b=b, pool_sigma=np.full(C, 0.4))
        pcen = dict(alpha=np.full(C, 0.96), delta=np.full(C, 2.0), root=np.full(C, 2.0), smooth=np.full(C, 0.04))
        return ref.sincnet_plus(x, K=K, stride=S, pcen_floor=1e-6, **{**pcen, **values})

    def randomize(self, frontend, rng, out_of_range):
        a, b = _sinc_values(rng, out_of_range)
        frontend.filterbank.kernel.assign(np.stack([a, b], 1))
        return dict(a=a, b=b, pool_sigma=np.full(C, 0.4))


CASES = [
    LeafCase(),
    LeafPreempLogNormCase(),
    MelCase(),
    MelPCENCase(),
    TDFbanksCase(),
    SincNetCase(),
    SincNetPlusCase(),
    SincNetPlusReferencePCENCase(),
]


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.name)
@pytest.mark.parametrize("num_samples", LENGTHS)
@pytest.mark.parametrize("values", ["init", "random", "out_of_range"])
def test_frontend_matches_numpy_oracle(case, num_samples, values):
    x = case.signal(num_samples)
    frontend = case.build()
    frontend(x[:, :800])  # build
    params = None
    if values != "init":
        rng = np.random.default_rng(zlib.crc32(f"{case.name}-{num_samples}-{values}".encode()))
        params = case.randomize(frontend, rng, out_of_range=values == "out_of_range")
    with np.errstate(all="ignore"):
        expected = case.expected(x, params)
    actual = keras.ops.convert_to_numpy(frontend(x))
    assert actual.dtype == np.float32
    assert_matches_reference(actual, expected)


def test_leaf_at_other_sample_rate_uses_its_own_gabor_init():
    """Rule 10: `Leaf(sample_rate=24000)` initialises its filters for 24 kHz (the reference keeps 16 kHz)."""
    sr, n = 24000, 24
    x = make_signal(9000, sample_rate=sr)
    frontend = leaf_tf.Leaf(n_filters=n, sample_rate=sr, window_len=32.0)
    kernel_size, stride = ref.window_length(sr, 32.0), ref.window_stride(sr, 10.0)
    eta, sigma = ref.gabor_init_params(n, sr, 60.0, 7800.0)
    expected = ref.leaf(x, eta=eta, sigma=sigma, pool_sigma=np.full(n, 0.4), K=kernel_size, stride=stride,
                        alpha=np.full(n, 0.96), delta=np.full(n, 2.0), root=np.full(n, 2.0), smooth=np.full(n, 0.04))
    assert_matches_reference(frontend(x), expected)


@pytest.mark.parametrize("num_samples", [16000, 12345, 316])
def test_wavegram_matches_numpy_oracle_at_random_weights(num_samples):
    """Inference mode, random conv weights and batch-norm statistics."""
    rng = np.random.default_rng(num_samples)
    x = make_signal(num_samples)
    wavegram = leaf_tf.Wavegram()
    wavegram(x[:, :800])
    kernels, norms = [], []
    for layer in wavegram._wave_blocks + wavegram._conv_block:
        if isinstance(layer, keras.layers.BatchNormalization):
            values = [_f32(rng.uniform(0.5, 1.5, v.shape)) if i in (0, 3) else _f32(rng.normal(0, 0.1, v.shape))
                      for i, v in enumerate(layer.weights)]  # gamma, beta, moving mean, moving variance
            for variable, value in zip(layer.weights, values):
                variable.assign(value)
            norms.append(values)
        elif layer.weights:
            fan_in = np.prod(layer.kernel.shape[:-1])
            kernel = _f32(rng.normal(0, 1.0 / np.sqrt(fan_in), layer.kernel.shape))
            layer.kernel.assign(kernel)
            kernels.append(kernel)
    assert len(kernels) == 9 and len(norms) == 9
    assert_matches_reference(wavegram(x, training=False), ref.wavegram(x, kernels, norms))
