"""The few operations whose gradient differs between Keras backends, with TensorFlow's semantics.

The stages are written with `keras.ops` and run on TensorFlow, JAX and PyTorch.
Their values agree everywhere; gradients agree too, except where an operation
meets a tie or a bound exactly, where each framework picks its own
subgradient. The reference is TensorFlow code, and the projections that keep
LEAF's parameters in range (`GaborConstraint`) leave them exactly on a bound,
so there the choice matters: `jnp.clip` passes no gradient at a bound and a
parameter clipped there would never move again. These helpers give every
backend TensorFlow's choice (and on TensorFlow are its own operations).
"""

from __future__ import annotations

import keras


def backend_name() -> str:
    """The Keras backend in use: "tensorflow", "jax" or "torch"."""
    return keras.backend.backend()


def is_tensorflow() -> bool:
    """Whether Keras runs on TensorFlow (where leaf_tf's XLA fast paths are available)."""
    return backend_name() == "tensorflow"


def clip(x, low, high):
    """`min(max(x, low), high)`, its gradient 1 where `low <= x <= high` (bounds included), as `tf.clip_by_value`."""
    if is_tensorflow():
        import tensorflow as tf

        return tf.clip_by_value(x, low, high)
    x = keras.ops.convert_to_tensor(x)  # a variable too
    inside = keras.ops.logical_and(x >= low, x <= high)
    return keras.ops.where(inside, x, keras.ops.clip(x, low, high))


def minimum(x, bound):
    """`min(x, bound)`, its gradient reaching `x` at a tie, as `tf.minimum`'s."""
    if is_tensorflow():
        import tensorflow as tf

        return tf.minimum(x, bound)
    x = keras.ops.convert_to_tensor(x)
    return keras.ops.where(x <= bound, x, bound)


def maximum(x, bound):
    """`max(x, bound)`, its gradient reaching `x` at a tie, as `tf.maximum`'s."""
    if is_tensorflow():
        import tensorflow as tf

        return tf.maximum(x, bound)
    x = keras.ops.convert_to_tensor(x)
    return keras.ops.where(x >= bound, x, bound)
