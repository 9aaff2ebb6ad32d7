"""Sanity tests of the float64 NumPy oracle against the numbers docs/numerics.md states."""

from __future__ import annotations

import math

import numpy as np
import pytest

try:  # works whether or not tests/ is a package
    from tests import numpy_reference as ref
except ImportError:  # pragma: no cover - plain `pytest` with tests/ on sys.path
    import numpy_reference as ref  # type: ignore[no-redef]

SQRT_2LN2 = math.sqrt(2.0 * math.log(2.0))


# --------------------------------------------------------------------------
# Section 0 and TF SAME padding.
# --------------------------------------------------------------------------


@pytest.mark.parametrize("sr, k, s", [(16000, 401, 160), (22050, 552, 220)])
def test_window_sizes(sr: int, k: int, s: int) -> None:
    assert ref.window_length(sr, 25.0) == k
    assert ref.window_stride(sr, 10.0) == s
    assert isinstance(ref.window_length(sr, 25.0), int)


def test_same_padding_numbers() -> None:
    assert ref.same_padding(16000, 401, 160) == (100, 120, 121)
    assert ref.same_padding(12345, 401, 160) == (78, 188, 188)
    assert ref.same_padding(16000, 401, 1) == (16000, 200, 200)
    assert ref.same_padding(16000, 552, 1) == (16000, 275, 276)
    assert ref.same_padding(16000, 2, 1) == (16000, 0, 1)
    assert ref.same_padding(10, 3, 20) == (1, 0, 0)  # P clipped at 0


def _conv_brute(x: np.ndarray, w: np.ndarray, stride: int) -> np.ndarray:
    batch, length, c_in = x.shape
    kernel, _, c_out = w.shape
    num_out = -(-length // stride)
    total = max((num_out - 1) * stride + kernel - length, 0)
    pad_l = total // 2
    out = np.zeros((batch, num_out, c_out))
    for b in range(batch):
        for n in range(num_out):
            for j in range(kernel):
                i = n * stride + j - pad_l
                if 0 <= i < length:
                    for ci in range(c_in):
                        out[b, n, :] += w[j, ci, :] * x[b, i, ci]
    return out


@pytest.mark.parametrize("kernel", [1, 2, 3, 4, 5, 8])
@pytest.mark.parametrize("stride", [1, 2, 3])
@pytest.mark.parametrize("length", [7, 12])
def test_conv1d_same_matches_brute_force(kernel: int, stride: int, length: int) -> None:
    rng = np.random.default_rng(kernel * 100 + stride * 10 + length)
    x = rng.standard_normal((2, length, 2))
    w = rng.standard_normal((kernel, 2, 3))
    got = ref.conv1d_same(x, w, stride=stride)
    np.testing.assert_allclose(got, _conv_brute(x, w, stride), rtol=1e-12, atol=1e-12)
    assert got.shape == (2, -(-length // stride), 3)


# --------------------------------------------------------------------------
# Sections 1.2 / 1.3: Gabor.
# --------------------------------------------------------------------------


def test_gabor_sigma_bounds() -> None:
    lo, hi = ref.gabor_sigma_bounds(401)
    assert lo == pytest.approx(1.4991, abs=1e-4)
    assert hi == pytest.approx(150.287, abs=1e-3)


def test_gabor_constraint_clips() -> None:
    eta, sigma = ref.gabor_constraint([-1.0, 1.0, 4.0], [0.5, 20.0, 500.0], 401)
    lo, hi = ref.gabor_sigma_bounds(401)
    np.testing.assert_array_equal(eta, [0.0, 1.0, np.pi])
    np.testing.assert_array_equal(sigma, [lo, 20.0, hi])


def test_gabor_init_40_filters() -> None:
    eta, sigma = ref.gabor_init_params(
        40, sample_rate=16000, min_freq=60.0, max_freq=7800.0
    )
    hz = eta * 16000 / (2 * np.pi)
    bins = hz / 31.25
    np.testing.assert_allclose(bins, np.round(bins), atol=1e-9)
    assert hz[0] == pytest.approx(93.75)
    assert hz[-1] == pytest.approx(7312.5)
    assert np.all(np.diff(hz) >= 0)
    widths = SQRT_2LN2 * 512 / (np.pi * sigma)
    np.testing.assert_allclose(widths, np.round(widths), atol=1e-9)
    assert round(widths.min()) == 2 and round(widths.max()) == 23
    assert sigma.min() == pytest.approx(8.34, abs=5e-3)
    assert sigma.max() == pytest.approx(95.94, abs=5e-3)
    # normalize_energy does not change (eta, sigma).
    eta_n, sigma_n = ref.gabor_init_params(
        40, sample_rate=16000, min_freq=60.0, max_freq=7800.0, normalize_energy=True
    )
    np.testing.assert_allclose(eta_n, eta)
    np.testing.assert_allclose(sigma_n, sigma)


def test_gabor_init_64_filters_exceeds_bound() -> None:
    eta, sigma = ref.gabor_init_params(
        64, sample_rate=16000, min_freq=60.0, max_freq=7800.0
    )
    _, hi = ref.gabor_sigma_bounds(401)
    assert sigma.max() == pytest.approx(191.89, abs=5e-3)
    assert np.any(sigma > hi)
    _, clipped = ref.gabor_constraint(eta, sigma, 401)
    assert clipped.max() == pytest.approx(hi)


@pytest.mark.parametrize("sigma, gain", [(20.0, 1.0), (150.0, 0.82)])
def test_gabor_peak_gain(sigma: float, gain: float) -> None:
    eta = 0.7
    phi = ref.gabor_filters([eta], [sigma], 401)[0]
    t = np.arange(-200, 201)
    response = abs(np.sum(phi * np.exp(-1j * eta * t)))
    assert response == pytest.approx(gain, abs=5e-3)


def test_gabor_filter_formula_and_times() -> None:
    for K, first, last in [(401, -200, 200), (552, -276, 275)]:
        phi = ref.gabor_filters([0.3, 1.2], [10.0, 40.0], K)
        assert phi.shape == (2, K)
        for t_idx, t in [(0, first), (K - 1, last), (K // 2, 0)]:
            expect = (
                np.exp(1j * 1.2 * t)
                * np.exp(-(t**2) / (2 * 40.0**2))
                / (np.sqrt(2 * np.pi) * 40.0)
            )
            assert phi[1, t_idx] == pytest.approx(expect, rel=1e-12)


@pytest.mark.parametrize("K, shift", [(401, 0), (552, 1), (8, 1), (9, 0)])
def test_gabor_conv_impulse_alignment(K: int, shift: int) -> None:
    # y[m] = sum_t phi(t) x[m + t + shift]; an impulse at m0 gives phi(m0 - m - shift).
    length, m0 = 1200, 600
    x = np.zeros((1, length))
    x[0, m0] = 1.0
    eta, sigma = np.array([0.5, 2.0]), np.array([1.6, 2.5])  # inside the clip range
    y = ref.gabor_conv(x, eta, sigma, K)
    assert y.shape == (1, length, 4)
    phi = ref.gabor_filters(eta, sigma, K)
    t0 = K // 2
    for m in (m0 - 3, m0, m0 + 2):
        t = m0 - m - shift
        np.testing.assert_allclose(y[0, m, 0::2], phi[:, t + t0].real, atol=1e-15)
        np.testing.assert_allclose(y[0, m, 1::2], phi[:, t + t0].imag, atol=1e-15)


def test_gabor_conv_applies_constraint() -> None:
    rng = np.random.default_rng(0)
    x = rng.standard_normal((1, 300))
    a = ref.gabor_conv(x, [4.0, -1.0], [500.0, 0.1], 41)
    eta_c, sigma_c = ref.gabor_constraint([4.0, -1.0], [500.0, 0.1], 41)
    b = ref.gabor_conv(x, eta_c, sigma_c, 41)
    np.testing.assert_array_equal(a, b)


def test_gabor_td_taps() -> None:
    taps = ref.gabor_td_taps(40, 401)
    assert taps.shape == (401, 1, 80)
    eta, sigma = ref.gabor_init_params(40, min_freq=60.0, max_freq=7800.0)
    mel = ref.mel_weight_matrix(40, 257, 16000, 60.0, 7800.0).T
    area = mel.max(axis=1) * ((mel > 0).sum(axis=1) + 2) * np.pi / 512
    phi = (
        ref.gabor_filters(eta, sigma, 401)
        * np.sqrt(area * 2 * np.sqrt(np.pi) * sigma)[:, None]
    )
    np.testing.assert_allclose(taps[:, 0, 0::2], phi.real.T, atol=1e-15)
    np.testing.assert_allclose(taps[:, 0, 1::2], phi.imag.T, atol=1e-15)


def test_squared_modulus() -> None:
    y = np.arange(12, dtype=float).reshape(1, 2, 6)
    out = ref.squared_modulus(y)
    np.testing.assert_array_equal(out, [[[1, 13, 41], [85, 145, 221]]])


# --------------------------------------------------------------------------
# Section 1.1: pre-emphasis.
# --------------------------------------------------------------------------


def test_preemphasis_at_init() -> None:
    k = ref.preemp_init()
    np.testing.assert_array_equal(k, [-0.97, 1.0])
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 50))
    y = ref.preemphasis(x, k)
    np.testing.assert_allclose(y[:, :-1], x[:, 1:] - 0.97 * x[:, :-1], rtol=1e-14)
    np.testing.assert_allclose(y[:, -1], -0.97 * x[:, -1], rtol=1e-14)
    # The same as a SAME conv with the [2, 1, 1] kernel.
    conv = ref.conv1d_same(x[:, :, None], k.reshape(2, 1, 1))[:, :, 0]
    np.testing.assert_allclose(y, conv, rtol=1e-14, atol=1e-15)


# --------------------------------------------------------------------------
# Section 1.5: Gaussian pooling.
# --------------------------------------------------------------------------


def test_gaussian_window_numbers() -> None:
    g = ref.gaussian_lowpass_windows([0.4], 401)[0]
    assert g.sum() == pytest.approx(198.1, abs=0.05)
    assert g[0] == pytest.approx(math.exp(-3.125), rel=1e-12)
    assert g[-1] == pytest.approx(math.exp(-3.125), rel=1e-12)
    assert g[200] == 1.0
    clipped = ref.gaussian_lowpass_windows([0.9, 0.0], 401)
    np.testing.assert_allclose(clipped[0], ref.gaussian_lowpass_windows([0.5], 401)[0])
    np.testing.assert_allclose(
        clipped[1], ref.gaussian_lowpass_windows([2 / 401], 401)[0]
    )


@pytest.mark.parametrize(
    "length, num_out, pad_l", [(16000, 100, 120), (12345, 78, 188)]
)
def test_gaussian_lowpass_alignment(length: int, num_out: int, pad_l: int) -> None:
    # out[l, n] = sum_j g_n(j) x[l s + j - padL, n]; probe with impulses.
    g = ref.gaussian_lowpass_windows([0.4, 0.2], 401)
    x = np.zeros((1, length, 2))
    m0 = 5000
    x[0, m0, :] = 1.0
    out = ref.gaussian_lowpass(x, [0.4, 0.2], 401, 160)
    assert out.shape == (1, num_out, 2)
    for ell in range(num_out):
        j = m0 - ell * 160 + pad_l
        expect = g[:, j] if 0 <= j < 401 else np.zeros(2)
        np.testing.assert_allclose(out[0, ell], expect, atol=1e-15)
    if length == 16000:
        # frame l covers samples 160 l - 120 ... 160 l + 280
        first = np.nonzero(out[0, :, 0])[0]
        assert first.min() == -(-(m0 - 280) // 160) and first.max() == (m0 + 120) // 160


# --------------------------------------------------------------------------
# Section 2: TD-fbanks pooling.
# --------------------------------------------------------------------------


def test_lowpass_init_numbers() -> None:
    w = ref.lowpass_init(401)
    assert w.shape == (401,)
    assert int(np.argmax(w)) == 201
    assert w[1] == 0.0
    assert w[0] == pytest.approx(3.8e-9, rel=0.01)
    assert w.sum() == pytest.approx(150.0, abs=1e-6)


@pytest.mark.parametrize("length, frames", [(16000, 98), (40000, 248), (12345, 75)])
def test_learnable_pooling_frames(length: int, frames: int) -> None:
    x = np.ones((1, length, 2))
    out = ref.learnable_pooling(x, ref.lowpass_init(401), 160)
    assert out.shape == (1, frames, 2)
    np.testing.assert_allclose(out, 150.0, rtol=1e-9)


def test_learnable_pooling_valid_values() -> None:
    rng = np.random.default_rng(2)
    x = rng.standard_normal((2, 23, 3))
    h = rng.standard_normal(5)
    out = ref.learnable_pooling(x, h, 4)
    assert out.shape == (2, (23 - 5) // 4 + 1, 3)
    for ell in range(out.shape[1]):
        np.testing.assert_allclose(
            out[:, ell], np.einsum("j,bjc->bc", h, x[:, 4 * ell : 4 * ell + 5])
        )
    assert ref.learnable_pooling(np.ones((1, 4, 3)), h, 4).shape == (1, 0, 3)


# --------------------------------------------------------------------------
# Section 3: SincNet.
# --------------------------------------------------------------------------


def test_sinc_init_bands() -> None:
    a, b = ref.sinc_init(40)
    assert a.shape == b.shape == (40,)
    f_lo = 50 + np.abs(a)
    f_hi = np.clip(f_lo + 50 + np.abs(b), 50, 8000)
    assert f_lo[0] == pytest.approx(100.0)
    assert f_hi[0] == pytest.approx(197.2, abs=0.05)
    assert f_hi[-1] == pytest.approx(8000.0)
    mel = 2595 * np.log10(1 + np.concatenate([a, a[-1:] + b[-1:]]) / 700)
    np.testing.assert_allclose(np.diff(mel, 2), 0.0, atol=1e-9)


def test_sinc_hamming_window() -> None:
    w = ref._sinc_window(401)
    assert w.shape == (401,)
    assert w[0] == pytest.approx(0.08)
    assert w[-1] == pytest.approx(0.08006, abs=1e-5)
    assert w[-1] > w[0]
    w_even = ref._sinc_window(552)
    assert w_even.shape == (553,)
    np.testing.assert_allclose(w_even, w_even[::-1], atol=1e-15)


def test_sinc_filters() -> None:
    a, b = ref.sinc_init(40)
    taps = ref.sinc_filters(a, b, 401)
    assert taps.shape == (401, 40)
    # centre tap is BP/max = 1 times the window there
    np.testing.assert_allclose(taps[200], ref._sinc_window(401)[200])
    # explicit formula for one tap of one filter
    f_lo, f_hi = 50 + abs(a[3]), 50 + abs(a[3]) + 50 + abs(b[3])
    t = 17 / 16000

    def lp(f: float) -> float:
        return 2 * f * math.sin(2 * math.pi * f * t) / (2 * math.pi * f * t)

    expect = (lp(f_hi) - lp(f_lo)) / (2 * (f_hi - f_lo)) * ref._sinc_window(401)[217]
    assert taps[217, 3] == pytest.approx(expect, rel=1e-10)
    assert ref.sinc_filters(a, b, 552).shape == (553, 40)


def test_sinc_conv_even_kernel_is_centred() -> None:
    a, b = ref.sinc_init(4)
    x = np.zeros((1, 1000))
    x[0, 500] = 1.0
    y = ref.sinc_conv(x, a, b, 8)
    taps = ref.sinc_filters(a, b, 8)  # 9 taps, SAME pads 4/4
    np.testing.assert_allclose(y[0, 496:505], taps[::-1], atol=1e-15)


def test_max_pooling_same_ignores_padding() -> None:
    x = -np.arange(1.0, 11.0).reshape(1, 10, 1)
    out = ref.max_pooling_same(x, 4, 3)  # L = 4, P = 3, padL = 1
    np.testing.assert_array_equal(out[0, :, 0], [-1.0, -3.0, -6.0, -9.0])


def test_leaky_relu_and_layer_norm() -> None:
    np.testing.assert_array_equal(
        ref.leaky_relu(np.array([-1.0, 0.0, 2.0])), [-0.2, 0.0, 2.0]
    )
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 5, 6)) * 3 + 1
    y = ref.layer_norm(x, np.ones(6), np.zeros(6), epsilon=0.0)
    np.testing.assert_allclose(y.mean(-1), 0.0, atol=1e-12)
    np.testing.assert_allclose(y.var(-1), 1.0, rtol=1e-12)


# --------------------------------------------------------------------------
# Sections 1.6-1.8: EMA, PCEN, log, instance norm.
# --------------------------------------------------------------------------


def test_ema() -> None:
    rng = np.random.default_rng(4)
    x = rng.random((2, 6, 3))
    s = np.array([0.04, 0.5, 1.7])  # last one clipped to 1
    m = ref.ema(x, s)
    np.testing.assert_allclose(m[:, 0], x[:, 0], rtol=1e-15)
    expect = x[:, 0].copy()
    sc = np.clip(s, 0, 1)
    for t in range(6):
        expect = sc * x[:, t] + (1 - sc) * expect
        np.testing.assert_allclose(m[:, t], expect, rtol=1e-14)
    np.testing.assert_allclose(m[..., 2], x[..., 2])
    np.testing.assert_allclose(ref.ema(x, -0.3), np.repeat(x[:, :1], 6, axis=1))


def test_pcen_constant_signal() -> None:
    c = 3.0
    x = np.full((1, 5, 2), c)
    out = ref.pcen(x, alpha=0.96, delta=2.0, root=2.0, smooth=0.04, floor=1e-12)
    expect = np.sqrt(c / (1e-12 + c) ** 0.96 + 2.0) - np.sqrt(2.0)
    np.testing.assert_allclose(out, expect, rtol=1e-14)
    # alpha is capped at 1 and root floored at 1
    capped = ref.pcen(x, alpha=[1.5, 1.0], delta=2.0, root=[0.5, 1.0], smooth=0.04)
    np.testing.assert_allclose(capped[..., 0], capped[..., 1])
    np.testing.assert_allclose(capped[..., 0], c / (1e-12 + c) + 2.0 - 2.0, rtol=1e-12)
    # delta used as is: negative delta with a fractional power gives NaN
    assert np.isnan(ref.pcen(x, 0.96, -1.0, 2.0, 0.04)).all()


def test_log_compression_and_floor() -> None:
    assert ref.log_compression(ref.floor(np.zeros(1)))[0] == pytest.approx(
        math.log(2e-5)
    )
    assert ref.log_compression(np.zeros(1))[0] == pytest.approx(math.log(1e-5))


def test_instance_norm() -> None:
    rng = np.random.default_rng(5)
    x = rng.standard_normal((2, 7, 3)) * 2 + 5
    gamma, beta = np.array([1.0, 2.0, 3.0]), np.array([0.0, 1.0, -1.0])
    y = ref.instance_norm(x, gamma, beta, epsilon=0.0)
    np.testing.assert_allclose(
        y.mean(axis=1), np.broadcast_to(beta, (2, 3)), atol=1e-12
    )
    np.testing.assert_allclose(
        y.std(axis=1), np.broadcast_to(gamma, (2, 3)), rtol=1e-12
    )


# --------------------------------------------------------------------------
# Section 4: mel matrix and STFT.
# --------------------------------------------------------------------------


def test_mel_weight_matrix() -> None:
    mel = ref.mel_weight_matrix(40, 257, 16000, 60.0, 7800.0)
    assert mel.shape == (257, 40)
    np.testing.assert_array_equal(mel[0], 0.0)
    assert mel.min() >= 0.0 and mel.max() < 1.0
    for n in range(40):
        nz = np.nonzero(mel[:, n])[0]
        assert np.all(np.diff(nz) == 1)  # contiguous support
        col = mel[nz, n]
        peak = int(np.argmax(col))
        assert np.all(np.diff(col[: peak + 1]) > 0) and np.all(np.diff(col[peak:]) < 0)
    # adjacent triangles sum to 1 between the first and the last centre
    m = 1127 * np.log1p(np.arange(257) * 8000 / 256 / 700)
    edges = np.linspace(1127 * np.log1p(60 / 700), 1127 * np.log1p(7800 / 700), 42)
    inside = (m >= edges[1]) & (m <= edges[40])
    np.testing.assert_allclose(mel[inside].sum(axis=1), 1.0, rtol=1e-12)
    # one entry by hand
    k, n = 100, 20
    expect = max(
        0.0,
        min(
            (m[k] - edges[n]) / (edges[n + 1] - edges[n]),
            (edges[n + 2] - m[k]) / (edges[n + 2] - edges[n + 1]),
        ),
    )
    assert mel[k, n] == pytest.approx(expect, rel=1e-12)


def test_hann_window() -> None:
    w = ref.hann_window(401)
    assert w[0] == 0.0 and w[-1] == pytest.approx(0.0, abs=1e-15)
    assert w[200] == 1.0
    w_even = ref.hann_window(8)
    np.testing.assert_allclose(w_even, 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(8) / 8))
    np.testing.assert_array_equal(ref.hann_window(1), [1.0])


@pytest.mark.parametrize(
    "K, stride, n_fft, length", [(7, 3, 8, 20), (6, 4, 8, 17), (9, 2, 4, 10)]
)
def test_stft_power_matches_numpy_fft(
    K: int, stride: int, n_fft: int, length: int
) -> None:
    rng = np.random.default_rng(K)
    x = rng.standard_normal((2, length))
    got = ref.stft_power(x, K, stride, n_fft)
    num_frames = -(-length // stride)
    assert got.shape == (2, num_frames, n_fft // 2 + 1)
    denom = K - 1 if K % 2 else K
    window = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(K) / denom)
    for b in range(2):
        for ell in range(num_frames):
            frame = np.zeros(K)
            seg = x[b, ell * stride : ell * stride + K]
            frame[: seg.size] = seg
            buf = np.zeros(max(n_fft, K))
            buf[:K] = frame * window
            spec = np.fft.fft(buf[:n_fft])[: n_fft // 2 + 1]
            np.testing.assert_allclose(
                got[b, ell], np.abs(spec) ** 2, rtol=1e-10, atol=1e-12
            )


# --------------------------------------------------------------------------
# Frontends.
# --------------------------------------------------------------------------


def _audio(length: int = 4000) -> np.ndarray:
    rng = np.random.default_rng(6)
    return rng.standard_normal((2, length)) * 0.1


def test_leaf_frontend() -> None:
    x = _audio()
    eta, sigma = ref.gabor_init_params(40, min_freq=60.0, max_freq=7800.0)
    kw = {
        "eta": eta,
        "sigma": sigma,
        "pool_sigma": np.full(40, 0.4),
        "K": 401,
        "stride": 160,
    }
    y = ref.leaf(x, **kw)
    assert y.shape == (2, 25, 40) and np.isfinite(y).all()
    # default PCEN parameters are LEAF's init values
    pooled = ref.floor(
        ref.gaussian_lowpass(
            ref.squared_modulus(ref.gabor_conv(x, eta, sigma, 401)), 0.4, 401, 160
        )
    )
    np.testing.assert_allclose(y, ref.pcen(pooled, 0.96, 2.0, 2.0, 0.04, floor=1e-12))
    y_log = ref.leaf(x, compression="log", preemp_kernel=ref.preemp_init(), **kw)
    assert y_log.min() >= math.log(2e-5) - 1e-12
    y_mvn = ref.leaf(x, compression="log", mvn_gamma=np.ones(40), **kw)
    np.testing.assert_allclose(y_mvn.mean(axis=1), 0.0, atol=1e-9)
    assert ref.leaf(
        np.zeros((1, 1600)), compression="log", **kw
    ).max() == pytest.approx(math.log(2e-5))


def test_mel_filterbanks_frontend() -> None:
    x = _audio()
    y = ref.mel_filterbanks(x)
    assert y.shape == (2, 25, 40)
    np.testing.assert_allclose(ref.mel_filterbanks(np.zeros((1, 1600))), math.log(1e-5))
    power = ref.stft_power(x, 401, 160, 512) @ ref.mel_weight_matrix(
        40, 257, 16000, 60.0, 7800.0
    )
    np.testing.assert_allclose(y, np.log(power + 1e-5))
    y_pcen = ref.mel_filterbanks(x, compression="pcen")
    np.testing.assert_allclose(
        y_pcen, ref.pcen(power, 0.96, 2.0, 2.0, 0.04, floor=1e-12)
    )


def test_td_fbanks_frontend() -> None:
    x = _audio()
    y = ref.td_fbanks(
        x, taps=ref.gabor_td_taps(40, 401), pool_h=ref.lowpass_init(401), stride=160
    )
    assert y.shape == (2, (4000 - 401) // 160 + 1, 40)
    assert y.min() >= math.log(2e-5) - 1e-12


def test_sincnet_frontends() -> None:
    x = _audio()
    a, b = ref.sinc_init(40)
    y = ref.sincnet(
        x, a=a, b=b, K=401, stride=160, gamma=np.ones(40), beta=np.zeros(40)
    )
    assert y.shape == (2, 25, 40)
    np.testing.assert_allclose(y.mean(-1), 0.0, atol=1e-9)
    y_plus = ref.sincnet_plus(
        x,
        a=a,
        b=b,
        K=401,
        stride=160,
        pool_sigma=np.full(40, 0.4),
        alpha=0.96,
        delta=2.0,
        root=2.0,
        smooth=0.04,
        pcen_floor=1e-6,
    )
    assert y_plus.shape == (2, 25, 40) and np.isfinite(y_plus).all()
