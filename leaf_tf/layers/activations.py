"""Activations between the filterbank and the pooling."""

from __future__ import annotations

import keras

from leaf_tf.registry import register


@register()
class SquaredModulus(keras.layers.Layer):
    """Squared modulus of complex channels stored as interleaved (real, imag) pairs.

    `[batch, time, 2C] -> [batch, time, C]`, `y[..., n] = x[..., 2n]^2 + x[..., 2n+1]^2`.
    Computed from the even and odd channels instead of the reference's
    transpose + average pooling; the result is identical (halving and doubling
    are exact).
    """

    def call(self, inputs):
        channels = inputs.shape[-1]
        if channels is None or channels % 2:
            raise ValueError(
                f"SquaredModulus expects an even number of interleaved real/imag channels, got shape {inputs.shape}."
            )
        return keras.ops.square(inputs[..., 0::2]) + keras.ops.square(inputs[..., 1::2])

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], input_shape[-1] // 2)
