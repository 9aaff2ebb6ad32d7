"""Independent float64 NumPy oracle for the leaf_tf frontends.

Written from the formulas of the numerical contract only (for users:
docs/numerics.md, sections 2-4): it does not import or read leaf_tf, does not use TensorFlow and is
not derived from the reference code.  Everything is computed in float64
(complex128 for the Gabor filters) and follows the reference's behaviour as
docs/numerics.md describes it, quirks included: the one-sample pre-emphasis advance,
TF SAME padding (also for even kernels), clip ranges applied in the forward
pass, the squared-Hann ``n - 1`` quirk, the sinc ``2*(K//2)+1`` taps with a
Hamming window over ``K``, PCEN with ``min(alpha, 1)``, ``max(root, 1)`` and
``delta`` used as is, and an EMA whose initial state is the first frame.

All convolutions are cross-correlations with ``tf.nn.conv1d`` semantics:
``y[n] = sum_j w[j] * x[n * stride + j - pad_left]``.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from numpy.typing import ArrayLike

__all__ = [
    "conv1d_same",
    "ema",
    "floor",
    "gabor_constraint",
    "gabor_conv",
    "gabor_filters",
    "gabor_init_params",
    "gabor_sigma_bounds",
    "gabor_td_taps",
    "gaussian_lowpass",
    "gaussian_lowpass_windows",
    "hann_window",
    "instance_norm",
    "layer_norm",
    "leaf",
    "leaky_relu",
    "learnable_pooling",
    "log_compression",
    "lowpass_init",
    "max_pooling_same",
    "mel_filterbanks",
    "mel_weight_matrix",
    "pcen",
    "preemp_init",
    "preemphasis",
    "same_padding",
    "sinc_conv",
    "sinc_filters",
    "sinc_init",
    "sincnet",
    "sincnet_plus",
    "squared_modulus",
    "stft_power",
    "td_fbanks",
    "window_length",
    "window_stride",
    "batch_norm",
    "wavegram",
]

_SQRT_2LN2 = math.sqrt(2.0 * math.log(2.0))


def _f64(x: ArrayLike) -> np.ndarray:
    return np.asarray(x, dtype=np.float64)


def _per_channel(value: ArrayLike, n_channels: int) -> np.ndarray:
    """Broadcasts a scalar / [1] / [C] parameter to a float64 [C] vector."""
    v = _f64(value).reshape(-1)
    return np.broadcast_to(v, (n_channels,)).astype(np.float64)


# --------------------------------------------------------------------------
# Section 0: sizes and TF SAME padding.
# --------------------------------------------------------------------------


def window_length(sample_rate: float, window_ms: float) -> int:
    """numerics §2: K = int(sr * ms // 1000 + 1)."""
    return int(sample_rate * window_ms // 1000 + 1)


def window_stride(sample_rate: float, stride_ms: float) -> int:
    """numerics §2: s = int(sr * ms // 1000)."""
    return int(sample_rate * stride_ms // 1000)


def same_padding(length: int, kernel: int, stride: int) -> tuple[int, int, int]:
    """Notation: TF SAME padding -> (ceil(T/s), floor(P/2), P - floor(P/2))."""
    num_out = -(-int(length) // int(stride))
    total = max((num_out - 1) * stride + kernel - length, 0)
    return num_out, total // 2, total - total // 2


def _same_windows(
    x: np.ndarray, kernel: int, stride: int, pad_value: float = 0.0
) -> np.ndarray:
    """[B, T, C] -> read-only view [B, L, C, K] of SAME-padded windows."""
    length = x.shape[1]
    num_out, pad_l, pad_r = same_padding(length, kernel, stride)
    xp = np.pad(
        x, ((0, 0), (pad_l, pad_r), (0, 0)), mode="constant", constant_values=pad_value
    )
    win = sliding_window_view(xp, kernel, axis=1)  # [B, T', C, K]
    return win[:, ::stride][:, :num_out]


def conv1d_same(x: ArrayLike, w: ArrayLike, stride: int = 1) -> np.ndarray:
    """Notation: tf.nn.conv1d, SAME zero padding, cross-correlation; [B,T,Ci]x[K,Ci,Co]."""
    x = _f64(x)
    w = _f64(w)
    kernel, c_in, c_out = w.shape
    if x.shape[2] != c_in:
        raise ValueError(f"input channels {x.shape[2]} != kernel in-channels {c_in}")
    out = []
    for b in range(x.shape[0]):  # per example, to bound memory of the window copy
        win = _same_windows(x[b : b + 1], kernel, stride)  # [1, L, Ci, K]
        out.append(np.einsum("blck,kcd->bld", win, w, optimize=True))
    if not out:
        num_out = same_padding(x.shape[1], kernel, stride)[0]
        return np.zeros((0, num_out, c_out))
    return np.concatenate(out, axis=0)


# --------------------------------------------------------------------------
# Section 4.1: mel matrix (tf.signal.linear_to_mel_weight_matrix).
# --------------------------------------------------------------------------


def _hz_to_mel_1127(f: ArrayLike) -> np.ndarray:
    return 1127.0 * np.log1p(_f64(f) / 700.0)


def mel_weight_matrix(
    n_filters: int,
    n_bins: int,
    sample_rate: float,
    min_freq: float,
    max_freq: float,
) -> np.ndarray:
    """numerics §3.13: [n_bins, C] triangles in 1127*ln(1+f/700) mel, DC row forced to zero."""
    nyquist = sample_rate / 2.0
    f_k = np.arange(n_bins, dtype=np.float64) * nyquist / (n_bins - 1)
    m_k = _hz_to_mel_1127(f_k)[:, None]  # [n_bins, 1]
    edges = np.linspace(
        _hz_to_mel_1127(min_freq), _hz_to_mel_1127(max_freq), n_filters + 2
    )
    lower, centre, upper = edges[:-2], edges[1:-1], edges[2:]
    lower_slope = (m_k - lower) / (centre - lower)
    upper_slope = (upper - m_k) / (upper - centre)
    weights = np.maximum(0.0, np.minimum(lower_slope, upper_slope))
    weights[0, :] = 0.0
    return weights


# --------------------------------------------------------------------------
# Sections 1.2 / 1.3: Gabor filters, constraint and initialisation.
# --------------------------------------------------------------------------


def _mel_rows(
    n_filters: int, sample_rate: float, min_freq: float, max_freq: float, n_fft: int
) -> np.ndarray:
    return mel_weight_matrix(
        n_filters, n_fft // 2 + 1, sample_rate, min_freq, max_freq
    ).T  # [C, n_fft//2+1]


def _mel_areas(mel_rows: np.ndarray, n_fft: int) -> np.ndarray:
    """numerics §3.3 step 1: A_n = max(M_n) * (#{M_n > 0} + 2) * pi / n_fft."""
    peaks = mel_rows.max(axis=1)
    counts = (mel_rows > 0).sum(axis=1)
    return peaks * (counts + 2) * np.pi / n_fft


def gabor_init_params(
    n_filters: int,
    sample_rate: float = 16000,
    min_freq: float = 0.0,
    max_freq: float = 8000.0,
    n_fft: int = 512,
    normalize_energy: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """numerics §3.3: (eta [C] rad/sample, sigma [C] samples) from the sqrt of the mel rows."""
    rows = _mel_rows(n_filters, sample_rate, min_freq, max_freq, n_fft)
    if normalize_energy:
        rows = rows / _mel_areas(rows, n_fft)[:, None]
    r = np.sqrt(rows)
    centre_bin = np.argmax(r, axis=1)  # first maximum
    peak = r.max(axis=1)
    width = (r >= peak[:, None] / 2.0).sum(axis=1)
    eta = centre_bin.astype(np.float64) * 2.0 * np.pi / n_fft
    sigma = _SQRT_2LN2 * n_fft / (np.pi * width.astype(np.float64))
    return eta, sigma


def gabor_sigma_bounds(K: int) -> tuple[float, float]:
    """numerics §3.2: GaborConstraint sigma range [4*sqrt(2ln2)/pi, K*sqrt(2ln2)/pi]."""
    return 4.0 * _SQRT_2LN2 / np.pi, K * _SQRT_2LN2 / np.pi


def gabor_constraint(
    eta: ArrayLike, sigma: ArrayLike, K: int
) -> tuple[np.ndarray, np.ndarray]:
    """numerics §3.2: eta <- clip(eta, 0, pi), sigma <- clip(sigma, lo, hi)."""
    lo, hi = gabor_sigma_bounds(K)
    return np.clip(_f64(eta), 0.0, np.pi), np.clip(_f64(sigma), lo, hi)


def _gabor_times(K: int) -> np.ndarray:
    """numerics §3.2: tap times -floor(K/2) .. ceil(K/2)-1."""
    return np.arange(-(K // 2), (K + 1) // 2, dtype=np.float64)


def gabor_filters(eta: ArrayLike, sigma: ArrayLike, K: int) -> np.ndarray:
    """numerics §3.2: complex [C, K], exp(i eta t) exp(-t^2/(2 sigma^2)) / (sqrt(2 pi) sigma)."""
    eta = _f64(eta).reshape(-1)[:, None]
    sigma = _f64(sigma).reshape(-1)[:, None]
    t = _gabor_times(K)[None, :]
    envelope = np.exp(-(t**2) / (2.0 * sigma**2)) / (np.sqrt(2.0 * np.pi) * sigma)
    return np.exp(1j * eta * t) * envelope


def _interleave_re_im(filters: np.ndarray) -> np.ndarray:
    """complex [C, K] -> real conv kernel [K, 1, 2C], channel 2n = Re, 2n+1 = Im."""
    n_filters, K = filters.shape
    kernel = np.empty((K, 2 * n_filters), dtype=np.float64)
    kernel[:, 0::2] = filters.real.T
    kernel[:, 1::2] = filters.imag.T
    return kernel[:, None, :]


def gabor_td_taps(
    n_filters: int,
    K: int,
    sample_rate: float = 16000,
    min_freq: float = 60.0,
    max_freq: float = 7800.0,
    n_fft: int = 512,
) -> np.ndarray:
    """numerics §3.3 (rank-3 path): [K, 1, 2C] taps phi_n(t) * sqrt(A_n * 2 sqrt(pi) * sigma_n)."""
    eta, sigma = gabor_init_params(
        n_filters, sample_rate, min_freq, max_freq, n_fft, normalize_energy=False
    )
    areas = _mel_areas(
        _mel_rows(n_filters, sample_rate, min_freq, max_freq, n_fft), n_fft
    )
    scale = np.sqrt(areas * 2.0 * np.sqrt(np.pi) * sigma)
    filters = gabor_filters(eta, sigma, K) * scale[:, None]  # unclipped init values
    return _interleave_re_im(filters)


# --------------------------------------------------------------------------
# Section 1.1: pre-emphasis.
# --------------------------------------------------------------------------


def preemp_init(alpha: float = 0.97) -> np.ndarray:
    """numerics §3.1: PreempInit kernel (k0, k1) = (-alpha, 1)."""
    return np.array([-alpha, 1.0], dtype=np.float64)


def preemphasis(x: ArrayLike, kernel: ArrayLike) -> np.ndarray:
    """numerics §3.1: y[n] = k0 x[n] + k1 x[n+1] with x[T] = 0 (SAME, K=2), x [B, T]."""
    x = _f64(x)
    k0, k1 = _f64(kernel).reshape(-1)
    x_next = np.concatenate([x[:, 1:], np.zeros_like(x[:, :1])], axis=1)
    return k0 * x + k1 * x_next


# --------------------------------------------------------------------------
# Sections 1.2 / 1.4: complex conv and squared modulus.
# --------------------------------------------------------------------------


def _as_btc1(x: ArrayLike) -> np.ndarray:
    """[B, T] or [B, T, 1] -> [B, T, 1] float64."""
    x = _f64(x)
    if x.ndim == 2:
        x = x[:, :, None]
    if x.ndim != 3 or x.shape[2] != 1:
        raise ValueError(f"expected [B, T] or [B, T, 1], got {x.shape}")
    return x


def gabor_conv(x: ArrayLike, eta: ArrayLike, sigma: ArrayLike, K: int) -> np.ndarray:
    """numerics §3.2: constraint, then Re/Im-interleaved Gabor conv, stride 1, SAME -> [B,T,2C]."""
    eta_c, sigma_c = gabor_constraint(eta, sigma, K)
    kernel = _interleave_re_im(gabor_filters(eta_c, sigma_c, K))
    return conv1d_same(_as_btc1(x), kernel, stride=1)


def squared_modulus(y: ArrayLike) -> np.ndarray:
    """numerics §3.4: [B, T, 2C] -> [B, T, C], y[2n]^2 + y[2n+1]^2."""
    y = _f64(y)
    return y[..., 0::2] ** 2 + y[..., 1::2] ** 2


# --------------------------------------------------------------------------
# Section 1.5: Gaussian low-pass pooling.
# --------------------------------------------------------------------------


def gaussian_lowpass_windows(sigma_p: ArrayLike, K: int) -> np.ndarray:
    """numerics §3.5: [C, K] unnormalised Gaussians, sigma_p clipped to [2/K, 0.5]."""
    sigma = np.clip(_f64(sigma_p).reshape(-1), 2.0 / K, 0.5)[:, None]
    half = (K - 1) / 2.0
    j = np.arange(K, dtype=np.float64)[None, :]
    return np.exp(-0.5 * ((j - half) / (sigma * half)) ** 2)


def gaussian_lowpass(
    x: ArrayLike, sigma_p: ArrayLike, K: int, stride: int
) -> np.ndarray:
    """numerics §3.5: depthwise Gaussian conv, stride s, SAME zeros -> [B, ceil(T/s), C]."""
    x = _f64(x)
    windows = gaussian_lowpass_windows(_per_channel(sigma_p, x.shape[2]), K)  # [C, K]
    win = _same_windows(x, K, stride)  # [B, L, C, K]
    return np.einsum("blck,ck->blc", win, windows)


# --------------------------------------------------------------------------
# Section 2: TD-fbanks learnable pooling and LowpassInit.
# --------------------------------------------------------------------------


def lowpass_init(K: int) -> np.ndarray:
    """numerics §4.2: squared Hann evaluated at n-1, w(n) = (0.5 (1 - cos(2 pi (n-1)/(K-1))))^2."""
    n = np.arange(K, dtype=np.float64)
    return (0.5 * (1.0 - np.cos(2.0 * np.pi * (n - 1.0) / (K - 1)))) ** 2


def learnable_pooling(x: ArrayLike, h: ArrayLike, stride: int) -> np.ndarray:
    """numerics §4.2: one shared K-tap filter, VALID, L = (T-K)//s + 1 -> [B, L, C]."""
    x = _f64(x)
    h = _f64(h).reshape(-1)
    K = h.shape[0]
    batch, length, channels = x.shape
    if length < K:
        return np.zeros((batch, 0, channels))
    win = sliding_window_view(x, K, axis=1)[:, ::stride]  # [B, L, C, K]
    return np.einsum("blck,k->blc", win, h)


# --------------------------------------------------------------------------
# Section 3: SincNet pieces.
# --------------------------------------------------------------------------


def max_pooling_same(x: ArrayLike, K: int, stride: int) -> np.ndarray:
    """numerics §4.3: max pool K, stride s, SAME; padding does not participate."""
    win = _same_windows(_f64(x), K, stride, pad_value=-np.inf)
    return win.max(axis=-1)


def _hz_to_mel_htk(f: ArrayLike) -> np.ndarray:
    return 2595.0 * np.log10(1.0 + _f64(f) / 700.0)


def _mel_htk_to_hz(m: ArrayLike) -> np.ndarray:
    return 700.0 * (10.0 ** (_f64(m) / 2595.0) - 1.0)


def sinc_init(
    n_filters: int,
    sample_rate: float = 16000,
    min_low_hz: float = 50.0,
    min_band_hz: float = 50.0,
) -> tuple[np.ndarray, np.ndarray]:
    """numerics §3.11: SincInit, C+1 HTK-mel points in [mel(min_low), mel(sr/2 - min_low - min_band)]."""
    low = min_low_hz
    high = sample_rate / 2.0 - (min_low_hz + min_band_hz)
    mel = np.linspace(_hz_to_mel_htk(low), _hz_to_mel_htk(high), n_filters + 1)
    hz = _mel_htk_to_hz(mel)
    return hz[:-1].copy(), np.diff(hz)


def _sinc_lowpass(f: np.ndarray, t: np.ndarray) -> np.ndarray:
    """numerics §3.11: LP_f(t) = 2f sin(2 pi f t)/(2 pi f t), LP_f(0) = 2f; f [1, C], t [K', 1]."""
    arg = 2.0 * np.pi * f * t
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(arg == 0.0, 1.0, np.sin(arg) / np.where(arg == 0.0, 1.0, arg))
    return 2.0 * f * ratio


def _sinc_window(K: int) -> np.ndarray:
    """numerics §3.11: Hamming 0.54 - 0.46 cos(2 pi n / K) on the 2*(K//2)+1 taps.

    For odd K this is n = 0..K-1 as the contract states.  For even K the taps are K+1,
    and the contract does not say how the window reaches them; this oracle keeps the
    same formula (denominator K) over n = 0..K, a symmetric Hamming.
    """
    n = np.arange(2 * (K // 2) + 1, dtype=np.float64)
    return 0.54 - 0.46 * np.cos(2.0 * np.pi * n / K)


def sinc_filters(
    a: ArrayLike, b: ArrayLike, K: int, sample_rate: float = 16000
) -> np.ndarray:
    """numerics §3.11: [2*(K//2)+1, C] max-normalised band-pass taps times Hamming over K."""
    min_low_hz = 50.0
    min_band_hz = 50.0
    a = _f64(a).reshape(-1)
    b = _f64(b).reshape(-1)
    f_lo = min_low_hz + np.abs(a)
    f_hi = np.clip(f_lo + min_band_hz + np.abs(b), min_low_hz, sample_rate / 2.0)
    half = K // 2
    k = np.arange(-half, half + 1, dtype=np.float64)  # 2*(K//2)+1 taps
    t = (k / sample_rate)[:, None]
    band = _sinc_lowpass(f_hi[None, :], t) - _sinc_lowpass(f_lo[None, :], t)
    with np.errstate(divide="ignore", invalid="ignore"):
        band = band / band.max(axis=0, keepdims=True)
    return band * _sinc_window(K)[:, None]


def sinc_conv(
    x: ArrayLike, a: ArrayLike, b: ArrayLike, K: int, sample_rate: float = 16000
) -> np.ndarray:
    """numerics §3.11: SincConv1D, one real output per band, stride 1, SAME -> [B, T, C]."""
    taps = sinc_filters(a, b, K, sample_rate)  # [K', C]
    return conv1d_same(_as_btc1(x), taps[:, None, :], stride=1)


def leaky_relu(x: ArrayLike, alpha: float = 0.2) -> np.ndarray:
    """numerics §4.3: x if x >= 0 else alpha * x."""
    x = _f64(x)
    return np.where(x >= 0.0, x, alpha * x)


def layer_norm(
    x: ArrayLike, gamma: ArrayLike, beta: ArrayLike, epsilon: float = 1e-3
) -> np.ndarray:
    """numerics §4.3: LayerNormalization over the last axis, population variance."""
    x = _f64(x)
    mean = x.mean(axis=-1, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
    return (x - mean) / np.sqrt(var + epsilon) * _f64(gamma) + _f64(beta)


# --------------------------------------------------------------------------
# Sections 1 (step 5), 1.6, 1.7, 1.8: floor, PCEN, log, instance norm.
# --------------------------------------------------------------------------


def floor(x: ArrayLike, value: float = 1e-5) -> np.ndarray:
    """numerics §4.1 step 5: max(x, 1e-5)."""
    return np.maximum(_f64(x), value)


def ema(x: ArrayLike, smooth: ArrayLike) -> np.ndarray:
    """numerics §3.7: M[0] from state x0, M[t] = s x[t] + (1-s) M[t-1], s clipped to [0, 1]."""
    x = _f64(x)
    s = np.clip(_per_channel(smooth, x.shape[2]), 0.0, 1.0)
    out = np.empty_like(x)
    if x.shape[1] == 0:
        return out
    state = x[:, 0, :]
    for t in range(x.shape[1]):
        state = s * x[:, t, :] + (1.0 - s) * state
        out[:, t, :] = state
    return out


def pcen(
    x: ArrayLike,
    alpha: ArrayLike,
    delta: ArrayLike,
    root: ArrayLike,
    smooth: ArrayLike,
    floor: float = 1e-12,
) -> np.ndarray:
    """numerics §3.7: (x/(floor+M)^min(a,1) + d)^(1/max(r,1)) - d^(1/max(r,1))."""
    x = _f64(x)
    channels = x.shape[2]
    alpha_c = np.minimum(_per_channel(alpha, channels), 1.0)
    root_c = np.maximum(_per_channel(root, channels), 1.0)
    delta_c = _per_channel(delta, channels)
    smoothed = ema(x, smooth)
    one_over_root = 1.0 / root_c
    with np.errstate(all="ignore"):
        return (x / (floor + smoothed) ** alpha_c + delta_c) ** one_over_root - (
            delta_c**one_over_root
        )


def log_compression(x: ArrayLike, offset: float = 1e-5) -> np.ndarray:
    """numerics §3.8: ln(x + 1e-5)."""
    return np.log(_f64(x) + offset)


def instance_norm(
    x: ArrayLike, gamma: ArrayLike, beta: ArrayLike, epsilon: float = 1e-6
) -> np.ndarray:
    """numerics §3.9: per example and channel over frames, (x-mean)/sqrt(var+eps)*g + b."""
    x = _f64(x)
    mean = x.mean(axis=1, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=1, keepdims=True)
    return (x - mean) / np.sqrt(var + epsilon) * _f64(gamma) + _f64(beta)


# --------------------------------------------------------------------------
# Section 4: STFT for MelFilterbanks.
# --------------------------------------------------------------------------


def hann_window(K: int) -> np.ndarray:
    """numerics §4.5: tf.signal.hann_window(K, periodic=True): odd K / (K-1), even K / K."""
    if K == 1:
        return np.ones(1)
    denom = K if K % 2 == 0 else K - 1
    n = np.arange(K, dtype=np.float64)
    return 0.5 - 0.5 * np.cos(2.0 * np.pi * n / denom)


def stft_power(x: ArrayLike, K: int, stride: int, n_fft: int) -> np.ndarray:
    """numerics §4.5: |tf.signal.stft(pad_end=True)|^2, frames at l*s, L = ceil(T/s) -> [B, L, n_fft//2+1]."""
    x = _f64(x)
    if x.ndim == 3:
        x = _as_btc1(x)[:, :, 0]
    length = x.shape[1]
    num_frames = -(-length // stride)
    padded_len = max((num_frames - 1) * stride + K, length)
    xp = np.pad(x, ((0, 0), (0, padded_len - length)))
    frames = sliding_window_view(xp, K, axis=1)[:, ::stride][:, :num_frames]
    windowed = frames * hann_window(K)
    spectrum = np.fft.rfft(windowed, n=n_fft, axis=-1)  # crops when K > n_fft
    return spectrum.real**2 + spectrum.imag**2


# --------------------------------------------------------------------------
# Frontends (sections 1, 2, 3.2, 3.3, 4).
# --------------------------------------------------------------------------


def _compress(
    x: np.ndarray,
    compression: str,
    alpha: ArrayLike | None,
    delta: ArrayLike | None,
    root: ArrayLike | None,
    smooth: ArrayLike | None,
    pcen_floor: float,
) -> np.ndarray:
    if compression == "log":
        return log_compression(x)
    if compression == "pcen":
        return pcen(
            x,
            alpha=0.96 if alpha is None else alpha,
            delta=2.0 if delta is None else delta,
            root=2.0 if root is None else root,
            smooth=0.04 if smooth is None else smooth,
            floor=pcen_floor,
        )
    raise ValueError(f"unknown compression {compression!r}")


def leaf(
    x: ArrayLike,
    *,
    eta: ArrayLike,
    sigma: ArrayLike,
    pool_sigma: ArrayLike,
    K: int,
    stride: int,
    compression: str = "pcen",
    alpha: ArrayLike | None = None,
    delta: ArrayLike | None = None,
    root: ArrayLike | None = None,
    smooth: ArrayLike | None = None,
    pcen_floor: float = 1e-12,
    preemp_kernel: ArrayLike | None = None,
    mvn_gamma: ArrayLike | None = None,
    mvn_beta: ArrayLike | None = None,
) -> np.ndarray:
    """numerics §4.1: [preemp] -> Gabor -> |.|^2 -> Gaussian pool -> floor -> PCEN/log -> [inst. norm]."""
    x = _as_btc1(x)[:, :, 0]
    if preemp_kernel is not None:
        x = preemphasis(x, preemp_kernel)
    y = squared_modulus(gabor_conv(x, eta, sigma, K))
    y = floor(gaussian_lowpass(y, pool_sigma, K, stride))
    y = _compress(y, compression, alpha, delta, root, smooth, pcen_floor)
    if mvn_gamma is not None:
        channels = y.shape[2]
        beta = np.zeros(channels) if mvn_beta is None else mvn_beta
        y = instance_norm(
            y, _per_channel(mvn_gamma, channels), _per_channel(beta, channels)
        )
    return y


def mel_filterbanks(
    x: ArrayLike,
    *,
    n_filters: int = 40,
    sample_rate: float = 16000,
    n_fft: int = 512,
    K: int = 401,
    stride: int = 160,
    min_freq: float = 60.0,
    max_freq: float | None = 7800.0,
    compression: str = "log",
    alpha: ArrayLike | None = None,
    delta: ArrayLike | None = None,
    root: ArrayLike | None = None,
    smooth: ArrayLike | None = None,
    pcen_floor: float = 1e-12,
) -> np.ndarray:
    """numerics §4.5: STFT power @ mel matrix, then log(x + 1e-5) or PCEN (no 1e-5 floor)."""
    if not max_freq:
        max_freq = sample_rate / 2.0
    power = stft_power(x, K, stride, n_fft)
    mel = mel_weight_matrix(n_filters, n_fft // 2 + 1, sample_rate, min_freq, max_freq)
    y = power @ mel
    return _compress(y, compression, alpha, delta, root, smooth, pcen_floor)


def td_fbanks(
    x: ArrayLike, *, taps: ArrayLike, pool_h: ArrayLike, stride: int
) -> np.ndarray:
    """numerics §4.2: real conv SAME -> |.|^2 -> shared VALID pooling -> floor -> log."""
    y = squared_modulus(conv1d_same(_as_btc1(x), _f64(taps), stride=1))
    y = floor(learnable_pooling(y, pool_h, stride))
    return log_compression(y)


def sincnet(
    x: ArrayLike,
    *,
    a: ArrayLike,
    b: ArrayLike,
    K: int,
    stride: int,
    gamma: ArrayLike,
    beta: ArrayLike,
    sample_rate: float = 16000,
) -> np.ndarray:
    """numerics §4.3: sinc conv -> LeakyReLU(0.2) -> max pool SAME -> floor -> LayerNorm(1e-3)."""
    y = leaky_relu(sinc_conv(x, a, b, K, sample_rate), 0.2)
    y = floor(max_pooling_same(y, K, stride))
    return layer_norm(y, gamma, beta, epsilon=1e-3)


def sincnet_plus(
    x: ArrayLike,
    *,
    a: ArrayLike,
    b: ArrayLike,
    K: int,
    stride: int,
    pool_sigma: ArrayLike,
    alpha: ArrayLike,
    delta: ArrayLike,
    root: ArrayLike,
    smooth: ArrayLike,
    pcen_floor: float = 1e-12,
    sample_rate: float = 16000,
) -> np.ndarray:
    """numerics §4.4: sinc conv -> LeakyReLU(0.2) -> Gaussian pool -> floor -> PCEN."""
    y = leaky_relu(sinc_conv(x, a, b, K, sample_rate), 0.2)
    y = floor(gaussian_lowpass(y, pool_sigma, K, stride))
    return pcen(y, alpha, delta, root, smooth, floor=pcen_floor)


# --------------------------------------------------------------------------
# Section 6: the Wavegram (PANNs) as the reference's WaveGram builds it,
# inference mode (batch normalisation with its moving statistics).
# --------------------------------------------------------------------------


def _dilate(w: np.ndarray, rate: int) -> np.ndarray:
    """[K, Ci, Co] -> [(K-1)*rate+1, Ci, Co] with zeros between taps."""
    if rate == 1:
        return w
    out = np.zeros(((w.shape[0] - 1) * rate + 1, *w.shape[1:]))
    out[::rate] = w
    return out


def batch_norm(x: ArrayLike, gamma, beta, mean, variance, epsilon: float = 1e-3) -> np.ndarray:
    """Keras BatchNormalization at inference: (x - mean) / sqrt(var + eps) * gamma + beta."""
    return (_f64(x) - mean) / np.sqrt(_f64(variance) + epsilon) * gamma + beta


def wavegram(x: ArrayLike, conv_kernels: list, batch_norms: list) -> np.ndarray:
    """numerics §8, `WaveGram()` at inference, returned as [B, L, 64].

    `conv_kernels`: 9 kernels in order (stem [11,1,64]; 6 block convs [3,Ci,Co]
    with dilations 1, 2, 1, 2, 1, 2; 2 final [3,3,Ci,64] 2-D kernels);
    `batch_norms`: 9 tuples (gamma, beta, moving_mean, moving_variance) in the
    same order.
    """
    y = _as_btc1(x)
    bn = iter(batch_norms)
    kernels = iter(conv_kernels)
    y = np.maximum(batch_norm(conv1d_same(y, next(kernels), stride=5), *next(bn)), 0.0)
    for _ in range(3):
        for rate in (1, 2):
            y = np.maximum(batch_norm(conv1d_same(y, _dilate(_f64(next(kernels)), rate)), *next(bn)), 0.0)
        frames = y.shape[1] // 4  # MaxPool1D(4, 4), valid
        y = y[:, : frames * 4].reshape(y.shape[0], frames, 4, y.shape[2]).max(axis=2)
    # The [B, L, 1, C] image: a 3x3 SAME conv over a width of 1 only uses the
    # kernel's middle column.
    for _ in range(2):
        y = np.maximum(batch_norm(conv1d_same(y, _f64(next(kernels))[:, 1]), *next(bn)), 0.0)
    # AvgPool2D((2, 1), SAME): padding is excluded from the average.
    if y.shape[1] % 2:
        y = np.concatenate([y, y[:, -1:]], axis=1)
    return 0.5 * (y[:, 0::2] + y[:, 1::2])
