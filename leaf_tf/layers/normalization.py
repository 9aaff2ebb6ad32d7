"""Instance normalisation of a `[batch, time, channels]` representation."""

from __future__ import annotations

import keras

from leaf_tf.registry import register


@register()
class InstanceNormalization(keras.layers.GroupNormalization):
    """Normalises each (example, channel) over time, then a per-channel affine map.

    `y = (x - mean_t x) / sqrt(var_t x + epsilon) * gamma_c + beta_c`, population
    variance, `gamma` and `beta` of shape `[C]`. This is `GroupNormalization`
    with one group per channel, the Keras 3 replacement for tensorflow-addons'
    `InstanceNormalization(axis=2)` that LEAF's `mean_var_norm` uses.

    Input `[batch, time, C]`; output the same shape.

    Args:
      epsilon: added to the variance (1e-6 in LEAF).
      center: learn `beta`.
      scale: learn `gamma`.
    """

    def __init__(self, epsilon: float = 1e-6, center: bool = True, scale: bool = True, **kwargs):
        for fixed in ("groups", "axis"):
            kwargs.pop(fixed, None)
        super().__init__(groups=-1, axis=-1, epsilon=epsilon, center=center, scale=scale, **kwargs)

    def call(self, inputs):
        # Two passes (the mean, then the mean squared deviation from it), as `tf.nn.moments`: Keras' PyTorch
        # `moments` takes E[x^2] - E[x]^2, which loses ~5e-5 of the result to cancellation on log-compressed
        # energies (a large mean, a small spread).
        inputs = keras.ops.cast(inputs, self.compute_dtype)
        axes = tuple(range(1, len(inputs.shape) - 1))
        mean = keras.ops.mean(inputs, axis=axes, keepdims=True)
        centered = inputs - mean
        variance = keras.ops.mean(keras.ops.square(centered), axis=axes, keepdims=True)
        outputs = centered * keras.ops.rsqrt(variance + self.epsilon)
        if self.scale:
            outputs = outputs * self.gamma
        if self.center:
            outputs = outputs + self.beta
        return outputs

    def get_config(self) -> dict:
        config = super().get_config()
        config.pop("groups", None)
        config.pop("axis", None)
        return config
