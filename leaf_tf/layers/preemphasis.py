"""Learnable pre-emphasis: a 2-tap filter in front of the filterbank."""

from __future__ import annotations

import keras

from leaf_tf.initializers import PreempInit
from leaf_tf.registry import register


@register()
class PreEmphasis(keras.layers.Layer):
    """Learnable first-order pre-emphasis `y[n] = k0 x[n] + k1 x[n+1]` (`x[T] = 0`).

    This is the reference's `Conv1D(1, kernel_size=2, padding="same")`: with
    "same" padding a 2-tap kernel looks one sample ahead, so at the default
    initialisation `(k0, k1) = (-0.97, 1)` it computes `x[n+1] - 0.97 x[n]`, a
    standard pre-emphasis advanced by one sample. The weight `kernel` keeps the
    Conv1D layout `[2, 1, 1]`; no constraint.

    Input `[batch, samples, 1]`; output the same shape.

    Args:
      kernel_initializer: `PreempInit()` (alpha 0.97) when None.
      kernel_regularizer: regularizer of the kernel.
    """

    def __init__(self, kernel_initializer=None, kernel_regularizer=None, **kwargs):
        super().__init__(**kwargs)
        self.kernel_initializer = keras.initializers.get(kernel_initializer or PreempInit())
        self.kernel_regularizer = keras.regularizers.get(kernel_regularizer)
        self.input_spec = keras.layers.InputSpec(ndim=3, axes={-1: 1})

    def build(self, input_shape):
        self.kernel = self.add_weight(
            name="kernel",
            shape=(2, 1, 1),
            initializer=self.kernel_initializer,
            regularizer=self.kernel_regularizer,
            trainable=True,
        )

    def call(self, inputs):
        following = keras.ops.pad(inputs[:, 1:], [[0, 0], [0, 1], [0, 0]])
        return self.kernel[0, 0, 0] * inputs + self.kernel[1, 0, 0] * following

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
            "kernel_regularizer": keras.regularizers.serialize(self.kernel_regularizer),
        }
