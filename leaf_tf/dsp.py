"""Pure DSP helpers: window sizes, mel scales, windows and impulse responses.

Everything here is a plain function. NumPy and TensorFlow functions run once,
when a layer is initialised; the `keras.ops` functions (impulse responses,
windows) run inside `call` on any Keras backend and follow the reference
implementation's float32 operation order, so that leaf_tf's outputs equal the
reference's to float32 round-off (see docs/numerics.md).
"""

from __future__ import annotations

import enum
import math

import gin
import keras
import numpy as np
import tensorflow as tf

from leaf_tf import backend

# Bounds of the Gabor time-envelope width, in units of sqrt(2 ln 2) / pi.
_SQRT_2_LN_2 = math.sqrt(2.0 * math.log(2.0))


@gin.constants_from_enum
class WindowType(enum.Enum):
    """Window shapes understood by `LowpassInit` (gin: `%WindowType.HAMMING`...)."""

    HAMMING = 1
    HANNING = 2
    SQUARED_HANNING = 3


# ---------------------------------------------------------------- sizes


def window_length_samples(sample_rate: float, window_ms: float) -> int:
    """Window length in samples: `int(sr * ms // 1000 + 1)` (401 at 16 kHz, 25 ms)."""
    return int(sample_rate * window_ms // 1000 + 1)


def window_stride_samples(sample_rate: float, stride_ms: float) -> int:
    """Window stride in samples: `int(sr * ms // 1000)` (160 at 16 kHz, 10 ms)."""
    return int(sample_rate * stride_ms // 1000)


def same_padding(length: int, kernel_size: int, stride: int) -> tuple[int, int, int]:
    """TF "SAME" padding: returns `(num_outputs, pad_left, pad_right)`.

    `num_outputs = ceil(length / stride)`, total padding
    `P = max((num_outputs - 1) * stride + kernel_size - length, 0)`, of which
    `P // 2` goes on the left.
    """
    num_outputs = -(-length // stride)
    total = max((num_outputs - 1) * stride + kernel_size - length, 0)
    return num_outputs, total // 2, total - total // 2


def next_power_of_two(n: int) -> int:
    """Smallest power of two `>= n`."""
    return 1 << max(int(n) - 1, 0).bit_length()


# ---------------------------------------------------------------- mel scales


def hz_to_mel(frequency_hz: np.ndarray | float) -> np.ndarray:
    """HTK mel scale, `2595 log10(1 + f / 700)` (used by SincNet's initialisation)."""
    return 2595.0 * np.log10(1.0 + np.asarray(frequency_hz, dtype=np.float64) / 700.0)


def mel_to_hz(mel: np.ndarray | float) -> np.ndarray:
    """Inverse of `hz_to_mel`."""
    return 700.0 * (np.power(10.0, np.asarray(mel, dtype=np.float64) / 2595.0) - 1.0)


def mel_weight_matrix(
    n_filters: int, n_fft: int, sample_rate: float, min_freq: float, max_freq: float
) -> tf.Tensor:
    """Triangular mel filterbank `[n_fft // 2 + 1, n_filters]`, float32.

    `tf.signal.linear_to_mel_weight_matrix`: triangles in the mel domain
    (`1127 ln(1 + f / 700)`), peak 1 at the exact band centre, DC row zero.
    """
    return tf.signal.linear_to_mel_weight_matrix(
        num_mel_bins=n_filters,
        num_spectrogram_bins=n_fft // 2 + 1,
        sample_rate=sample_rate,
        lower_edge_hertz=min_freq,
        upper_edge_hertz=max_freq,
    )


def mel_filter_areas(mel_filters: tf.Tensor, n_fft: int) -> tf.Tensor:
    """Approximate area of each mel triangle, `[C, 1]` for filters `[C, bins]`.

    `A_n = max_k M_n[k] * (#{k : M_n[k] > 0} + 2) * pi / n_fft`.
    """
    peaks = tf.reduce_max(mel_filters, axis=1, keepdims=True)
    support = tf.reduce_sum(tf.cast(mel_filters > 0, tf.float32), axis=1, keepdims=True)
    return peaks * (support + 2) * np.pi / n_fft


def gabor_params_from_mel(
    n_filters: int,
    sample_rate: float = 16000,
    min_freq: float = 0.0,
    max_freq: float = 8000.0,
    n_fft: int = 512,
    normalize_energy: bool = False,
) -> tf.Tensor:
    """Gabor parameters `[C, 2]` = (centre in rad/sample, envelope std in samples).

    Each filter matches one mel triangle: with `R = sqrt(M)`, the centre is the
    FFT bin of R's peak, `eta = bin * 2 pi / n_fft`, and the std follows from the
    number `w` of bins at or above half the peak,
    `sigma = sqrt(2 ln 2) * n_fft / (pi * w)`. Computed in float32 with the
    reference's operation order, so initial values are bit-identical.
    """
    mel_filters = tf.transpose(mel_weight_matrix(n_filters, n_fft, sample_rate, min_freq, max_freq))
    if normalize_energy:
        mel_filters = mel_filters / mel_filter_areas(mel_filters, n_fft)
    coeff = tf.math.sqrt(2.0 * tf.math.log(2.0)) * n_fft
    sqrt_filters = tf.math.sqrt(mel_filters)
    centres = tf.cast(tf.argmax(sqrt_filters, axis=1), tf.float32)
    half_peaks = tf.reduce_max(sqrt_filters, axis=1, keepdims=True) / 2.0
    widths = tf.reduce_sum(tf.cast(sqrt_filters >= half_peaks, tf.float32), axis=1)
    return tf.stack([centres * 2 * np.pi / n_fft, coeff / (np.pi * widths)], axis=1)


def gabor_sigma_bounds(kernel_size: int) -> tuple[float, float]:
    """Range of the Gabor envelope std: `[4, kernel_size] * sqrt(2 ln 2) / pi` samples."""
    return 4 * _SQRT_2_LN_2 / math.pi, kernel_size * _SQRT_2_LN_2 / math.pi


# ---------------------------------------------------------------- windows


def hamming_window(length: int) -> np.ndarray:
    """SincNet's Hamming window `0.54 - 0.46 cos(2 pi n / length)`, `n = 0..length-1`.

    The denominator is `length`, not `length - 1` (the reference's choice), so the
    window is very slightly asymmetric.
    """
    n = np.arange(length, dtype=np.float64)
    return 0.54 - 0.46 * np.cos(2 * np.pi * n / length)


def hanning_window(length: int) -> np.ndarray:
    """The reference's Hann window, evaluated at `n - 1`: `0.5 (1 - cos(2 pi (n-1)/(length-1)))`.

    The one-sample offset makes it peak at `n = length // 2 + 1`, with `w[1] = 0`.
    """
    n = np.arange(length, dtype=np.float64)
    return 0.5 * (1 - np.cos(2 * np.pi * (n - 1) / (length - 1)))


def window(window_type: WindowType | str, length: int) -> np.ndarray:
    """Window of `length` samples by type (float64)."""
    window_type = as_window_type(window_type)
    if window_type is WindowType.HAMMING:
        return hamming_window(length)
    if window_type is WindowType.HANNING:
        return hanning_window(length)
    return hanning_window(length) ** 2


def as_window_type(window_type: WindowType | str) -> WindowType:
    """Accepts a `WindowType` or its name (any case)."""
    if isinstance(window_type, WindowType):
        return window_type
    try:
        return WindowType[str(window_type).upper()]
    except KeyError:
        names = ", ".join(w.name for w in WindowType)
        raise ValueError(f"Unknown window type {window_type!r}; expected one of {names}.") from None


# ---------------------------------------------------------------- impulse responses


def gabor_tap_times(kernel_size: int):
    """Tap times `-(K // 2) ... ceil(K / 2) - 1` (centred for odd K), float32."""
    return keras.ops.arange(-(kernel_size // 2), (kernel_size + 1) // 2, dtype="float32")


# sqrt(2 pi) rounded to float32 from the float32 2 pi, as the reference's `tf.math.sqrt(2. * math.pi)`.
_SQRT_2_PI = float(np.sqrt(np.float32(2.0 * math.pi)))


def gabor_impulse_responses(params, kernel_size: int) -> tuple:
    """Real and imaginary parts `[C, K]` of complex Gabor filters.

    `phi_n(t) = exp(i eta_n t) * exp(-t^2 / (2 sigma_n^2)) / (sqrt(2 pi) sigma_n)`
    with `params[:, 0] = eta` (rad/sample) and `params[:, 1] = sigma` (samples).
    No clipping here. Computed in real float32 arithmetic (cos/sin of the same
    float32 phase the reference forms in complex64), so it also runs where
    complex types are unavailable.
    """
    params = keras.ops.convert_to_tensor(params, "float32")
    t = gabor_tap_times(kernel_size)
    centre, sigma = params[:, 0], params[:, 1]
    scale = keras.ops.expand_dims(1.0 / (sigma * _SQRT_2_PI), 1)
    envelope = keras.ops.exp(keras.ops.outer(1.0 / (2.0 * sigma**2), -(t**2)))
    phase = keras.ops.outer(centre, t)
    return scale * keras.ops.cos(phase) * envelope, scale * keras.ops.sin(phase) * envelope


def interleave_real_imag(real, imag):
    """`[C, K]` real and imaginary taps -> conv kernel `[K, 1, 2C]`, channel 2n real, 2n+1 imag."""
    stacked = keras.ops.stack([real, imag], axis=1)  # [C, 2, K]
    return keras.ops.expand_dims(keras.ops.transpose(keras.ops.reshape(stacked, (-1, real.shape[1]))), 1)


def gaussian_lowpass_windows(sigma, kernel_size: int):
    """Unnormalised Gaussian windows `exp(-((j - (K-1)/2) / (sigma (K-1)/2))^2 / 2)`.

    `sigma` (any shape, typically `[1, 1, C, 1]`) is the std as a fraction of the
    half window, clipped to `[2 / K, 0.5]`; the result has `kernel_size` along
    axis 1 (`[1, K, C, 1]` for a `[1, 1, C, 1]` sigma).
    """
    sigma = backend.clip(sigma, 2.0 / kernel_size, 0.5)
    t = keras.ops.reshape(keras.ops.arange(0, kernel_size, dtype="float32"), (1, kernel_size, 1, 1))
    numerator = t - 0.5 * (kernel_size - 1)
    denominator = sigma * 0.5 * (kernel_size - 1)
    return keras.ops.exp(-0.5 * (numerator / denominator) ** 2)


def _sinc_half(times, frequency):
    """`2 f sin(2 pi f t) / (2 pi f t)` for `t != 0`."""
    argument = 2 * math.pi * frequency * times
    return 2 * frequency * (keras.ops.sin(argument) / argument)


def sinc_bandpass_filters(low_hz, high_hz, num_taps: int, sample_rate: float):
    """Ideal band-pass responses `[num_taps, C]`, each normalised by its maximum.

    `BP(t) = LP_high(t) - LP_low(t)` with `LP_f(t) = 2 f sinc(2 pi f t)` sampled at
    `t = k / sample_rate`, `k = -(num_taps // 2) .. num_taps // 2` (so
    `2 * (num_taps // 2) + 1` taps). The two sides of `t = 0` are computed
    separately and the centre is `2 f`, as in the reference.
    """
    half = num_taps // 2
    sr = float(np.float32(sample_rate))
    left = keras.ops.expand_dims(keras.ops.arange(-half, 0, dtype="float32"), 1) / sr
    right = keras.ops.expand_dims(keras.ops.arange(1, half + 1, dtype="float32"), 1) / sr
    low_hz, high_hz = keras.ops.expand_dims(low_hz, 0), keras.ops.expand_dims(high_hz, 0)
    high = keras.ops.concatenate([_sinc_half(left, high_hz), 2 * high_hz, _sinc_half(right, high_hz)], axis=0)
    low = keras.ops.concatenate([_sinc_half(left, low_hz), 2 * low_hz, _sinc_half(right, low_hz)], axis=0)
    band = high - low
    return band / keras.ops.max(band, axis=0, keepdims=True)
