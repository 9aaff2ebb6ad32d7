"""Keras initializers for the learnable frontends' weights.

* `PreempInit`: pre-emphasis taps `(-alpha, 1)`.
* `GaborInit`: Gabor filters matched to a mel filterbank (LEAF), or real
  Gabor taps for a plain convolution (TD-filterbanks).
* `SincInit`: SincNet band edges spaced on the HTK mel scale.
* `LowpassInit`: a fixed window (squared Hann by default) for TD-filterbanks'
  learnable pooling.
"""

from __future__ import annotations

import math

import keras
import numpy as np
import tensorflow as tf

from leaf_tf import dsp
from leaf_tf.registry import register


def _check_shape(name: str, shape, expected: str, ok: bool) -> None:
    if not ok:
        raise ValueError(f"{name} cannot initialise a weight of shape {tuple(shape)}: expected {expected}.")


def _backend_tensor(values, dtype=None):
    """`values` (NumPy, a TensorFlow constant computed at initialisation, a backend tensor) as a tensor
    of the Keras backend in use."""
    return keras.ops.convert_to_tensor(np.asarray(values), dtype=dtype or "float32")


@register()
class PreempInit(keras.initializers.Initializer):
    """Pre-emphasis taps for a `[2, 1, 1]` kernel: `(k0, k1) = (-alpha, 1)`.

    With the pre-emphasis layer's alignment this gives `y[n] = x[n+1] - alpha x[n]`.

    Args:
      alpha: the pre-emphasis coefficient (0.97 in LEAF).
    """

    def __init__(self, alpha: float = 0.97):
        self.alpha = alpha

    def __call__(self, shape, dtype=None):
        _check_shape("PreempInit", shape, "(2, 1, 1)", tuple(shape) == (2, 1, 1))
        taps = np.array([-self.alpha, 1.0]).reshape(2, 1, 1)
        return _backend_tensor(taps, dtype)

    def get_config(self) -> dict:
        return {"alpha": self.alpha}


@register()
class GaborInit(keras.initializers.Initializer):
    """Gabor filters whose frequency responses match a mel filterbank.

    For a rank-2 shape `[C, 2]` (a `GaborConv1D` kernel) returns the parameters
    `(eta, sigma)` of `dsp.gabor_params_from_mel`: centres on the `n_fft`-point
    FFT bin of each mel triangle's peak (rad/sample), envelope std from the
    triangle's half-magnitude width (samples).

    For a rank-3 shape `[K, 1, 2C]` (a plain `Conv1D` kernel, TD-filterbanks)
    returns real taps: the same complex Gabor filters over `K` taps, scaled by
    `sqrt(A_n * 2 sqrt(pi) * sigma_n)` (`A_n` the mel triangle's area),
    real and imaginary parts interleaved on the output channels.

    Args:
      sample_rate: sample rate in Hz.
      min_freq: lowest mel-band edge in Hz.
      max_freq: highest mel-band edge in Hz.
      n_fft: FFT size of the mel filterbank being matched.
      normalize_energy: divide each mel triangle by its area first (does not
        change `(eta, sigma)`, only the rank-3 taps).
    """

    def __init__(
        self,
        sample_rate: float = 16000,
        min_freq: float = 0.0,
        max_freq: float = 8000.0,
        n_fft: int = 512,
        normalize_energy: bool = False,
    ):
        self.sample_rate = sample_rate
        self.min_freq = min_freq
        self.max_freq = max_freq
        self.n_fft = n_fft
        self.normalize_energy = normalize_energy

    def params(self, n_filters: int) -> np.ndarray:
        """`[n_filters, 2]` Gabor parameters (float32)."""
        with tf.init_scope():  # constants, computed eagerly even when a weight is built inside a tf.function
            return dsp.gabor_params_from_mel(
                n_filters, self.sample_rate, self.min_freq, self.max_freq, self.n_fft, self.normalize_energy
            ).numpy()

    def __call__(self, shape, dtype=None):
        shape = tuple(shape)
        if len(shape) == 2:
            _check_shape("GaborInit", shape, "[n_filters, 2]", shape[1] == 2)
            return _backend_tensor(self.params(shape[0]), dtype)
        _check_shape(
            "GaborInit", shape, "[kernel_size, 1, 2 * n_filters] or [n_filters, 2]",
            len(shape) == 3 and shape[1] == 1 and shape[2] % 2 == 0,
        )
        kernel_size, n_filters = shape[0], shape[2] // 2
        params = self.params(n_filters)
        with tf.init_scope():  # constants, as in `params`
            mel_filters = tf.transpose(
                dsp.mel_weight_matrix(n_filters, self.n_fft, self.sample_rate, self.min_freq, self.max_freq)
            )
            if self.normalize_energy:
                mel_filters = mel_filters / dsp.mel_filter_areas(mel_filters, self.n_fft)
            sqrt_pi = tf.math.sqrt(tf.constant(math.pi, tf.float32))
            gain = tf.math.sqrt(dsp.mel_filter_areas(mel_filters, self.n_fft) * 2 * sqrt_pi * params[:, 1:2])
            real, imag = dsp.gabor_impulse_responses(params, kernel_size)
            gain = keras.ops.convert_to_tensor(gain.numpy())
            return _backend_tensor(dsp.interleave_real_imag(real * gain, imag * gain), dtype)

    def get_config(self) -> dict:
        return {
            "sample_rate": self.sample_rate,
            "min_freq": self.min_freq,
            "max_freq": self.max_freq,
            "n_fft": self.n_fft,
            "normalize_energy": self.normalize_energy,
        }


@register()
class SincInit(keras.initializers.Initializer):
    """SincNet band edges `[C, 2]` = (low-cutoff parameter, band parameter), in Hz.

    `C + 1` points equally spaced on the HTK mel scale between `min_low_hz` and
    `sample_rate / 2 - (min_low_hz + min_band_hz)`; filter `n` gets
    `a_n = hz[n]`, `b_n = hz[n+1] - hz[n]`. `SincConv1D` adds `min_low_hz` and
    `min_band_hz` again, so the first effective band starts at
    `2 * min_low_hz` (100 Hz) and the last ends at `sample_rate / 2`.

    Args:
      sample_rate: sample rate in Hz.
      min_low_hz: minimum low cutoff (Hz).
      min_band_hz: minimum bandwidth (Hz).
    """

    def __init__(self, sample_rate: float = 16000, min_low_hz: float = 50.0, min_band_hz: float = 50.0):
        self.sample_rate = sample_rate
        self.min_low_hz = min_low_hz
        self.min_band_hz = min_band_hz

    def __call__(self, shape, dtype=None):
        shape = tuple(shape)
        _check_shape("SincInit", shape, "[n_filters, 2]", len(shape) == 2 and shape[1] == 2)
        high_hz = 0.5 * self.sample_rate - (self.min_low_hz + self.min_band_hz)
        mels = np.linspace(dsp.hz_to_mel(self.min_low_hz), dsp.hz_to_mel(high_hz), shape[0] + 1)
        edges = dsp.mel_to_hz(mels)
        return _backend_tensor(np.stack([edges[:-1], np.diff(edges)], axis=1), dtype)

    def get_config(self) -> dict:
        return {"sample_rate": self.sample_rate, "min_low_hz": self.min_low_hz, "min_band_hz": self.min_band_hz}


@register()
class LowpassInit(keras.initializers.Initializer):
    """A fixed window in every channel slot of a pooling kernel.

    Fills `[1, K, C, 1]` (or `[K, 1, C]`) kernels with `dsp.window(window_type, K)`,
    `K = window_length_samples(sample_rate, window_len)`. The squared Hann
    default is evaluated at `n - 1` (peak at `n = K // 2 + 1`), as in the
    reference.

    Args:
      sample_rate: sample rate in Hz.
      window_len: window length in ms; must give the kernel's length.
      window_type: a `dsp.WindowType` or its name.
    """

    def __init__(
        self,
        sample_rate: float = 16000,
        window_len: float = 25.0,
        window_type: dsp.WindowType | str = dsp.WindowType.SQUARED_HANNING,
    ):
        self.sample_rate = sample_rate
        self.window_len = window_len
        self.window_type = dsp.as_window_type(window_type)

    def __call__(self, shape, dtype=None):
        shape = tuple(shape)
        length = dsp.window_length_samples(self.sample_rate, self.window_len)
        rank4 = len(shape) == 4 and shape[0] == 1 and shape[3] == 1
        rank3 = len(shape) == 3 and shape[1] == 1
        _check_shape("LowpassInit", shape, "[1, K, C, 1] or [K, 1, C]", rank4 or rank3)
        kernel_size = shape[1] if rank4 else shape[0]
        if kernel_size != length:
            raise ValueError(
                f"LowpassInit(sample_rate={self.sample_rate}, window_len={self.window_len}) makes "
                f"{length}-tap windows but the kernel has {kernel_size} taps: give the initializer the "
                "frontend's sample_rate and window_len."
            )
        taps = dsp.window(self.window_type, length)
        if rank4:
            values = np.broadcast_to(taps[None, :, None, None], shape)
        else:
            values = np.broadcast_to(taps[:, None, None], shape)
        return _backend_tensor(values, dtype)

    def get_config(self) -> dict:
        return {"sample_rate": self.sample_rate, "window_len": self.window_len, "window_type": self.window_type.name}
