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


# The smallest normal float32; below it (subnormal numbers) CPU arithmetic can be many times slower.
FLOAT32_TINY = 1.1754944e-38


def flush_subnormals(x):
    """`x` with its subnormal float32 entries (`0 < |x| < 1.18e-38`) set to zero, as TensorFlow's CPU kernels
    treat them (flush-to-zero).

    A Gabor filter's Gaussian envelope underflows into that range at its tails; PyTorch's CPU convolution
    of LEAF's 80 x 401-tap filterbank on 8 x 1 s then took 5.0x (4.9-5.3) as long (544 vs 110 ms, median of
    3 processes on a 2-core CPU). The values change by less than 1.2e-38.
    """
    x = keras.ops.convert_to_tensor(x)
    return keras.ops.where(keras.ops.abs(x) < FLOAT32_TINY, keras.ops.zeros_like(x), x)
