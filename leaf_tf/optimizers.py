"""Adam with a learning rate per variable (e.g. a slower frontend).

Adam moves every parameter by about the learning rate per step, whatever the
parameter's unit: a Gabor centre frequency in radians per sample, a pooling
width as a fraction of the window, PCEN's exponents and the encoder's weights
all move alike. `ScaledAdam` multiplies the learning rate of chosen variables
(`training.train(frontend_learning_rate_multiplier=...)` builds it for the
frontend's variables).
"""

from __future__ import annotations

from collections.abc import Sequence

import keras


@keras.saving.register_keras_serializable(package="leaf_tf")
class ScaledAdam(keras.optimizers.Adam):
    """`keras.optimizers.Adam` whose step for the i-th variable uses `learning_rate * multipliers[i]`.

    `multipliers` has one entry per variable of the list the optimizer is
    built with (`model.trainable_variables`, in that order; the order, unlike
    variable paths, is the same when a saved model is loaded again). With
    every multiplier 1 the updates are exactly Adam's. Build one from a
    `{variable: multiplier}` mapping with `ScaledAdam.for_variables`.

    Args:
      learning_rate: Adam's base learning rate (a float or a schedule).
      multipliers: learning-rate multipliers (>= 0), one per variable.
      **kwargs: the other arguments of `keras.optimizers.Adam`.
    """

    def __init__(self, learning_rate=0.001, multipliers: Sequence[float] = (), **kwargs):
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.multipliers = [float(value) for value in multipliers]
        bad = [value for value in self.multipliers if not value >= 0]
        if bad:
            raise ValueError(f"Learning-rate multipliers must be >= 0, got {bad}.")

    @classmethod
    def for_variables(cls, learning_rate, variables, multiplier_of: dict, **kwargs) -> ScaledAdam:
        """A `ScaledAdam` for `variables` (the list it will be built with): `multiplier_of[id(v)]`, else 1."""
        return cls(learning_rate, [multiplier_of.get(id(variable), 1.0) for variable in variables], **kwargs)

    def build(self, var_list):
        if len(var_list) != len(self.multipliers):
            raise ValueError(
                f"ScaledAdam has {len(self.multipliers)} learning-rate multipliers but is built with "
                f"{len(var_list)} variables: build it with the variable list its multipliers were made for."
            )
        super().build(var_list)

    def update_step(self, gradient, variable, learning_rate):
        scale = self.multipliers[self._get_variable_index(variable)]
        if scale != 1.0:
            learning_rate = learning_rate * scale
        super().update_step(gradient, variable, learning_rate)

    def get_config(self) -> dict:
        return {**super().get_config(), "multipliers": list(self.multipliers)}
