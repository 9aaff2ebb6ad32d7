"""SincNet's parametrised band-pass filterbank."""

from __future__ import annotations

import keras
import numpy as np

from leaf_tf import backend, dsp
from leaf_tf.initializers import SincInit
from leaf_tf.layers.filterbank import ParametricConv1D
from leaf_tf.registry import register


@register()
class SincConv1D(ParametricConv1D):
    """Convolution with Hamming-windowed ideal band-pass (sinc) filters.

    The `C = filters // 2` filters (the reference's convention: `filters` counts
    two slots per filter, but each filter has **one** real output) are
    parametrised by a `kernel` `[C, 2]` in Hz:

        f_lo = min_low_hz + |a|,
        f_hi = clip(f_lo + min_band_hz + |b|, min_low_hz, sample_rate / 2),
        w[k] = (LP_{f_hi}(k / sr) - LP_{f_lo}(k / sr)) / max_k(...) * ham[k],

    with `LP_f(t) = 2 f sin(2 pi f t) / (2 pi f t)`, `k = -(K // 2) .. K // 2`
    (`K' = 2 (K // 2) + 1` taps: `K + 1` when `K` is even) and the Hamming window
    `ham[n] = 0.54 - 0.46 cos(2 pi n / K')`. No ordering constraint: `f_lo` above
    `sample_rate / 2` gives an inverted band, as in the reference.

    Input shape `[batch, samples, 1]`; output `[batch, ceil(samples / strides), C]`
    ("same" padding).

    Args:
      filters: `2 * n_filters` (one real output per filter).
      kernel_size: nominal filter length `K` in samples.
      strides: convolution stride.
      padding: "same" or "valid".
      use_bias: add a learnable bias `[C]`.
      kernel_initializer: `SincInit(sample_rate)` when None.
      kernel_regularizer: regularizer of the `[C, 2]` kernel.
      sample_rate: sample rate in Hz (the reference hard-wires 16000; identical
        at 16 kHz).
      min_low_hz: minimum low cutoff in Hz.
      min_band_hz: minimum bandwidth in Hz.
      implementation: how the correlation is computed, "auto" (default),
        "direct", "chunked" or "fft" (see `ParametricConv1D`).
    """

    def __init__(
        self,
        filters: int,
        kernel_size: int,
        sample_rate: float = 16000,
        min_low_hz: float = 50.0,
        min_band_hz: float = 50.0,
        **kwargs,
    ):
        self.sample_rate = sample_rate
        self.min_low_hz = min_low_hz
        self.min_band_hz = min_band_hz
        super().__init__(filters, kernel_size, **kwargs)
        self._window = np.float32(dsp.hamming_window(self.num_taps))

    @property
    def out_channels(self) -> int:
        return self.n_filters

    @property
    def num_taps(self) -> int:
        return 2 * (self.kernel_size // 2) + 1

    def default_initializer(self):
        return SincInit(sample_rate=self.sample_rate)

    def band_edges(self) -> tuple:
        """Effective `(f_lo, f_hi)` in Hz, each `[C]`."""
        kernel = keras.ops.convert_to_tensor(self.kernel)
        low = self.min_low_hz + keras.ops.abs(kernel[:, 0])
        high = backend.clip(
            low + self.min_band_hz + keras.ops.abs(kernel[:, 1]), self.min_low_hz, self.sample_rate / 2
        )
        return low, high

    def conv_kernel(self):
        """The windowed band-pass taps `[K', 1, C]`."""
        low, high = self.band_edges()
        taps = dsp.sinc_bandpass_filters(low, high, self.num_taps, self.sample_rate)
        return keras.ops.expand_dims(keras.ops.multiply(taps, self._window[:, np.newaxis]), 1)

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "sample_rate": self.sample_rate,
            "min_low_hz": self.min_low_hz,
            "min_band_hz": self.min_band_hz,
        }
