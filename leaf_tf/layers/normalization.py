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

    def get_config(self) -> dict:
        config = super().get_config()
        config.pop("groups", None)
        config.pop("axis", None)
        return config
