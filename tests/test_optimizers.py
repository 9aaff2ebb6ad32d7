"""ScaledAdam: per-variable learning rates on top of Keras' Adam."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from leaf_tf.optimizers import ScaledAdam


def _variables():
    return [keras.Variable(np.array([1.0, -2.0], np.float32), name="a"), keras.Variable(np.array([3.0], np.float32), name="b")]


def _steps(optimizer, variables, steps=3):
    gradients = [np.array([0.5, -0.25], np.float32), np.array([2.0], np.float32)]
    optimizer.build(variables)
    for step in range(steps):
        optimizer.apply([g * (step + 1) for g in gradients], variables)
    return [v.numpy() for v in variables]


def test_multipliers_of_one_are_exactly_adam():
    expected = _steps(keras.optimizers.Adam(0.01), _variables())
    scaled = _steps(ScaledAdam(0.01, [1.0, 1.0]), _variables())
    for a, b in zip(expected, scaled):
        np.testing.assert_array_equal(a, b)


def test_a_multiplier_scales_that_variables_steps_only():
    start = [v.numpy() for v in _variables()]
    adam = _steps(keras.optimizers.Adam(0.01), _variables())
    scaled = _steps(ScaledAdam.for_variables(0.01, variables := _variables(), {id(variables[0]): 0.1}), variables)
    # Adam's step does not depend on the gradient's scale: a tenth of the learning rate is a tenth of the move.
    np.testing.assert_allclose(scaled[0] - start[0], 0.1 * (adam[0] - start[0]), rtol=0, atol=1e-6)  # float32 round-off
    np.testing.assert_array_equal(scaled[1], adam[1])
    frozen = _steps(ScaledAdam(0.01, [0.0, 1.0]), _variables())
    np.testing.assert_array_equal(frozen[0], start[0])


def test_serialization_and_checks():
    optimizer = ScaledAdam(0.02, [0.5, 1.0], beta_1=0.8)
    restored = keras.optimizers.deserialize(keras.optimizers.serialize(optimizer))
    assert isinstance(restored, ScaledAdam) and restored.multipliers == [0.5, 1.0] and restored.beta_1 == 0.8
    with pytest.raises(ValueError, match="2 learning-rate multipliers but is built with 3"):
        ScaledAdam(0.01, [1.0, 1.0]).build([*_variables(), keras.Variable(np.zeros(1, np.float32))])
    with pytest.raises(ValueError, match=">= 0"):
        ScaledAdam(0.01, [-1.0])
