"""A layer made of a list of layers applied in order (the encoders' blocks)."""

from __future__ import annotations

import keras


class LayerStack(keras.layers.Layer):
    """Applies `self.stack` (a list of layers set by the subclass) in order.

    Builds every layer from shapes alone (so `.keras` loading restores all
    weights) and passes `training` to each. Unlike `keras.Sequential`, a
    subclass keeps its own constructor arguments and `get_config`.
    """

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.stack: list[keras.layers.Layer] = []

    def build(self, input_shape):
        shape = tuple(input_shape)
        for layer in self.stack:
            layer.build(shape)
            shape = tuple(layer.compute_output_shape(shape))

    def call(self, inputs, training=None):
        outputs = inputs
        for layer in self.stack:
            outputs = layer(outputs, training=training)
        return outputs

    def compute_output_shape(self, input_shape):
        shape = tuple(input_shape)
        for layer in self.stack:
            shape = tuple(layer.compute_output_shape(shape))
        return shape
