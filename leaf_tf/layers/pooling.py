"""Pooling stages: LEAF's Gaussian lowpass, TD-filterbanks' learnable lowpass, max pooling.

All three take the same construction arguments (`kernel_size`, `strides`,
`padding`, ...), so a frontend can swap one for another with `pooling_cls`.
"""

from __future__ import annotations

import keras

from leaf_tf import backend, dsp, ops
from leaf_tf.initializers import LowpassInit
from leaf_tf.registry import register


def _get_config_with_weights(layer) -> dict:
    return {
        "kernel_size": layer.kernel_size,
        "strides": layer.strides,
        "padding": layer.padding.lower(),
        "kernel_initializer": keras.initializers.serialize(layer.kernel_initializer),
        "kernel_regularizer": keras.regularizers.serialize(layer.kernel_regularizer),
    }


@register()
class GaussianLowpass(keras.layers.Layer):
    """Depthwise pooling by one learnable Gaussian window per channel.

    Weight `kernel` `[1, 1, C, 1]`: the window's std as a fraction of the half
    window `(K - 1) / 2`, clipped to `[2 / K, 0.5]` in `call` (the stored value is
    not projected; its gradient is zero outside the range). The window

        g_n(j) = exp(-0.5 ((j - (K-1)/2) / (sigma_n (K-1)/2))^2),  j = 0..K-1,

    peaks at 1 and is **not** normalised (sum ~198 for sigma = 0.4, K = 401).
    `out[l, n] = sum_j g_n(j) x[l * strides + j - pad_left, n]` with TF "SAME"
    zero padding, so `ceil(T / strides)` frames whose centres depend on
    `T mod strides`. Computed by a strided depthwise convolution, which
    evaluates the window only at the output frames (on a 2-core CPU this
    measured 2-8x faster than a framed contraction in plain TensorFlow; `Leaf`'s
    fused path computes the framed form inside its XLA-compiled pass).

    Input `[batch, time, C]`; output `[batch, ceil(time / strides), C]`.

    Args:
      kernel_size: window length `K` in samples.
      strides: hop in samples.
      padding: "same" (LEAF) or "valid".
      kernel_initializer: initial std fraction (`Constant(0.4)` when None).
      kernel_regularizer: regularizer of the `[1, 1, C, 1]` kernel.
    """

    def __init__(
        self,
        kernel_size: int,
        strides: int = 1,
        padding: str = "same",
        kernel_initializer=None,
        kernel_regularizer=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.kernel_size = kernel_size
        self.strides = strides
        self.padding = padding.upper()
        self.kernel_initializer = keras.initializers.get(kernel_initializer or keras.initializers.Constant(0.4))
        self.kernel_regularizer = keras.regularizers.get(kernel_regularizer)
        self.input_spec = keras.layers.InputSpec(ndim=3)

    def build(self, input_shape):
        self.kernel = self.add_weight(
            name="kernel",
            shape=(1, 1, input_shape[-1], 1),
            initializer=self.kernel_initializer,
            regularizer=self.kernel_regularizer,
            trainable=True,
        )

    def windows(self):
        """The pooling windows `[1, K, C, 1]` (after clipping)."""
        return dsp.gaussian_lowpass_windows(self.kernel, self.kernel_size)

    def call(self, inputs):
        # A strided depthwise convolution: channel c is correlated with its own window.
        if backend.is_tensorflow() or not isinstance(inputs.shape[1], int):
            return keras.ops.depthwise_conv(inputs, self.windows()[0], strides=self.strides, padding=self.padding.lower())
        return ops.strided_window_pooling(inputs, self.windows()[0, :, :, 0], self.strides, self.padding)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], _pooled_length(input_shape[1], self), input_shape[2])

    def get_config(self) -> dict:
        return {**super().get_config(), **_get_config_with_weights(self)}


@register()
class LearnablePooling1D(keras.layers.Layer):
    """One learnable `K`-tap lowpass filter shared by all channels, "valid" padding.

    The TD-filterbanks pooling: `out[l, n] = sum_j h[j] x[l * strides + j, n]`,
    `L = (T - K) // strides + 1` frames (98 for one second at 16 kHz), frame `l`
    centred on sample `l * strides + K // 2`. The weight `kernel` has the
    reference's Conv2D layout `[1, K, 1, 1]`. Only "valid" padding exists
    (the reference accepts and ignores other values).

    Input `[batch, time, C]`; output `[batch, (time - K) // strides + 1, C]`.

    Args:
      kernel_size: filter length `K`.
      strides: hop in samples.
      padding: must be "valid".
      kernel_initializer: initial taps (`LowpassInit()`, squared Hann, when None).
      kernel_regularizer: regularizer of the kernel.
    """

    def __init__(
        self,
        kernel_size: int,
        strides: int = 1,
        padding: str = "valid",
        kernel_initializer=None,
        kernel_regularizer=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if padding.lower() != "valid":
            raise ValueError(
                f"LearnablePooling1D only supports padding='valid' (as the TD-filterbanks reference), got {padding!r}."
            )
        self.kernel_size = kernel_size
        self.strides = strides
        self.padding = "VALID"
        self.kernel_initializer = keras.initializers.get(kernel_initializer or LowpassInit())
        self.kernel_regularizer = keras.regularizers.get(kernel_regularizer)
        self.input_spec = keras.layers.InputSpec(ndim=3)

    def build(self, input_shape):
        self.kernel = self.add_weight(
            name="kernel",
            shape=(1, self.kernel_size, 1, 1),
            initializer=self.kernel_initializer,
            regularizer=self.kernel_regularizer,
            trainable=True,
        )

    def call(self, inputs):
        # The one window, repeated for every channel of a depthwise convolution.
        windows = keras.ops.tile(self.kernel[0], (1, inputs.shape[-1], 1))  # [K, C, 1]
        if backend.is_tensorflow() or not isinstance(inputs.shape[1], int):
            return keras.ops.depthwise_conv(inputs, windows, strides=self.strides, padding="valid")
        return ops.strided_window_pooling(inputs, windows[:, :, 0], self.strides, "VALID")

    def compute_output_shape(self, input_shape):
        return (input_shape[0], _pooled_length(input_shape[1], self), input_shape[2])

    def get_config(self) -> dict:
        return {**super().get_config(), **_get_config_with_weights(self)}


@register()
class MaxPooling1D(keras.layers.MaxPooling1D):
    """Max pooling with the frontends' pooling signature (SincNet).

    `pool_size = kernel_size`, stride `strides`, "same" padding (padded samples
    never win the max). Has no weights.

    Input `[batch, time, C]`; output `[batch, ceil(time / strides), C]`.
    """

    def __init__(self, kernel_size: int, strides: int = 1, padding: str = "same", **kwargs):
        kwargs.pop("pool_size", None)
        super().__init__(pool_size=kernel_size, strides=strides, padding=padding, **kwargs)
        self.kernel_size = kernel_size

    def get_config(self) -> dict:
        config = super().get_config()
        config.pop("pool_size", None)
        config.pop("data_format", None)
        return {**config, "kernel_size": self.kernel_size}


def _pooled_length(length: int | None, layer) -> int | None:
    if length is None:
        return None
    if layer.padding == "SAME":
        return -(-length // layer.strides)
    return (length - layer.kernel_size) // layer.strides + 1
