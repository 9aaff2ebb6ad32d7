"""SincNet's parametrised band-pass filterbank."""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from leaf_tf import dsp
from leaf_tf.initializers import SincInit
from leaf_tf.registry import register


@register()
class SincConv1D(keras.layers.Layer):
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
    """

    def __init__(
        self,
        filters: int,
        kernel_size: int,
        strides: int = 1,
        padding: str = "same",
        use_bias: bool = False,
        kernel_initializer=None,
        kernel_regularizer=None,
        sample_rate: float = 16000,
        min_low_hz: float = 50.0,
        min_band_hz: float = 50.0,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if filters < 2 or filters % 2:
            raise ValueError(f"SincConv1D expects filters = 2 * n_filters (even), got {filters}.")
        self.filters = filters
        self.kernel_size = kernel_size
        self.strides = strides
        self.padding = padding.upper()
        self.use_bias = use_bias
        self.sample_rate = sample_rate
        self.min_low_hz = min_low_hz
        self.min_band_hz = min_band_hz
        self.kernel_initializer = keras.initializers.get(kernel_initializer or SincInit(sample_rate=sample_rate))
        self.kernel_regularizer = keras.regularizers.get(kernel_regularizer)
        self.num_taps = 2 * (kernel_size // 2) + 1
        self._window = np.float32(dsp.hamming_window(self.num_taps))
        self.input_spec = keras.layers.InputSpec(ndim=3, axes={-1: 1})

    @property
    def n_filters(self) -> int:
        return self.filters // 2

    def build(self, input_shape):
        self.kernel = self.add_weight(
            name="kernel",
            shape=(self.n_filters, 2),
            initializer=self.kernel_initializer,
            regularizer=self.kernel_regularizer,
            trainable=True,
        )
        self.bias = (
            self.add_weight(name="bias", shape=(self.n_filters,), initializer="zeros") if self.use_bias else None
        )

    def band_edges(self) -> tuple[tf.Tensor, tf.Tensor]:
        """Effective `(f_lo, f_hi)` in Hz, each `[C]`."""
        low = self.min_low_hz + tf.abs(self.kernel[:, 0])
        high = tf.clip_by_value(
            low + self.min_band_hz + tf.abs(self.kernel[:, 1]), self.min_low_hz, self.sample_rate / 2
        )
        return low, high

    def conv_kernel(self) -> tf.Tensor:
        """The windowed band-pass taps `[K', 1, C]`."""
        low, high = self.band_edges()
        taps = dsp.sinc_bandpass_filters(low, high, self.num_taps, self.sample_rate)
        return (taps * self._window[:, np.newaxis])[:, tf.newaxis, :]

    def call(self, inputs):
        outputs = tf.nn.conv1d(inputs, self.conv_kernel(), stride=self.strides, padding=self.padding)
        if self.bias is not None:
            outputs = tf.nn.bias_add(outputs, self.bias)
        return outputs

    def compute_output_shape(self, input_shape):
        length = input_shape[1]
        if length is not None:
            if self.padding == "SAME":
                length = -(-length // self.strides)
            else:
                length = (length - self.num_taps) // self.strides + 1
        return (input_shape[0], length, self.n_filters)

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "filters": self.filters,
            "kernel_size": self.kernel_size,
            "strides": self.strides,
            "padding": self.padding.lower(),
            "use_bias": self.use_bias,
            "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
            "kernel_regularizer": keras.regularizers.serialize(self.kernel_regularizer),
            "sample_rate": self.sample_rate,
            "min_low_hz": self.min_low_hz,
            "min_band_hz": self.min_band_hz,
        }
