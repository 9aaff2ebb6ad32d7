"""SpecAugment: random time warping, time masks and frequency masks."""

from __future__ import annotations

from typing import Any

import keras

from leaf_tf import backend
from leaf_tf.registry import register


@register()
class SpecAugment(keras.layers.Layer):
    """Random time warp, time masks and frequency masks (Park et al., 2019).

    Applied only when called with `training=True`; otherwise the input is
    returned unchanged. Each example of the batch gets its own random draws.
    With `L` frames and `C` channels, in this order:

    1. Time warp. `W = min(time_warp_max_frames, floor(time_warp_max_ratio * L))`,
       an integer shift `s` uniform in `[-W, W]`, an anchor
       `a = 1 + floor(u * max(L - 2, 0))` and a destination
       `d = clip(a + s, 1, L - 1)`. Output frame `t` reads the input at the
       source position of the piecewise-linear map fixing 0 and `L` that sends
       `a` to `d`: `t * a / d` for `t <= d`, else
       `a + (t - d) * (L - a) / (L - d)`, with linear interpolation between the
       two neighbouring frames (indices clamped to `[0, L - 1]`). A no-op when
       `L < 3` or `W = 0`. As in lingvo the fixed end is `L`, one past the last
       frame, so frame 0 is always kept but the last frame may read up to `W`
       frames earlier when the anchor moves right.
    2. `time_mask_count` time masks, each of length
       `floor(u * min(time_mask_max_frames, floor(time_mask_max_ratio * L)))`
       starting at `floor(u * (L - length + 1))`; masked frames are set to 0.
    3. `freq_mask_count` frequency masks, each of length
       `min(floor(u * freq_mask_max_bins), C)` starting at
       `floor(u * (C - length + 1))`; masked channels are set to 0.

    `u` is a fresh uniform draw in `[0, 1)` each time. As in lingvo, a mask
    of maximum length `n` has a length in `0 ... n - 1` (so
    `freq_mask_max_bins=10` never masks 10 bins, and a length of 0 masks
    nothing). Randomness comes from a `keras.random.SeedGenerator`: draws
    differ between calls, also inside `tf.function` or `jax.jit` (Keras threads the
    generator's state through a compiled step).

    Args:
      freq_mask_max_bins: exclusive upper bound on a frequency mask's length.
      freq_mask_count: number of frequency masks per example.
      time_mask_max_frames: exclusive upper bound on a time mask's length.
      time_mask_count: number of time masks per example.
      time_mask_max_ratio: a time mask's length bound is also at most this
        fraction of the number of frames.
      time_warp_max_frames: largest shift of the warp anchor, in frames; 0
        disables time warping.
      time_warp_max_ratio: the largest shift is also at most this fraction of
        the number of frames.
      seed: optional integer seed of the layer's random generator.
      **kwargs: standard `keras.layers.Layer` arguments (`name`, `dtype`...).

    Input shape:
      `[batch, frames, channels]`, floating point; `batch` and `frames` may be
      unknown.

    Output shape:
      Same as the input, in the layer's compute dtype.

    Example:

    >>> layer = SpecAugment(freq_mask_max_bins=8)
    >>> features = keras.ops.ones((4, 100, 40))
    >>> augmented = layer(features, training=True)  # warped and masked
    >>> tuple(augmented.shape)
    (4, 100, 40)
    >>> bool(keras.ops.all(layer(features) == features))  # inference: identity
    True
    """

    def __init__(
        self,
        freq_mask_max_bins: int = 10,
        freq_mask_count: int = 2,
        time_mask_max_frames: int = 10,
        time_mask_count: int = 2,
        time_mask_max_ratio: float = 1.0,
        time_warp_max_frames: int = 8,
        time_warp_max_ratio: float = 1.0,
        seed: int | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        for arg_name, value in (
            ("freq_mask_max_bins", freq_mask_max_bins),
            ("freq_mask_count", freq_mask_count),
            ("time_mask_max_frames", time_mask_max_frames),
            ("time_mask_count", time_mask_count),
            ("time_mask_max_ratio", time_mask_max_ratio),
            ("time_warp_max_frames", time_warp_max_frames),
            ("time_warp_max_ratio", time_warp_max_ratio),
        ):
            if value < 0:
                raise ValueError(
                    f"SpecAugment: `{arg_name}` must be >= 0, got {value}. "
                    "Use 0 to disable that augmentation."
                )
        self.freq_mask_max_bins = int(freq_mask_max_bins)
        self.freq_mask_count = int(freq_mask_count)
        self.time_mask_max_frames = int(time_mask_max_frames)
        self.time_mask_count = int(time_mask_count)
        self.time_mask_max_ratio = float(time_mask_max_ratio)
        self.time_warp_max_frames = int(time_warp_max_frames)
        self.time_warp_max_ratio = float(time_warp_max_ratio)
        self.seed = seed
        self._seed_generator = keras.random.SeedGenerator(seed)

    def call(self, inputs, training=None):
        if training is not None and not isinstance(training, bool) and not backend.is_tensorflow():
            # A concrete flag on JAX / PyTorch (Keras passes Python booleans itself): the random state
            # cannot be advanced inside a traced branch there.
            training = bool(keras.ops.convert_to_numpy(training))
        if training is None or isinstance(training, bool):
            return self._augment(inputs) if training else inputs
        return keras.ops.cond(keras.ops.cast(training, "bool"), lambda: self._augment(inputs), lambda: inputs)

    def _augment(self, inputs):
        # Static sizes where known (always on JAX and PyTorch); tensors for unknown ones in TensorFlow graphs.
        shape = keras.ops.shape(inputs)
        batch_size, num_frames, num_channels = shape[0], shape[1], shape[2]
        # One draw per call: column j of `uniforms` feeds the j-th random choice.
        num_draws = 2 + 2 * self.time_mask_count + 2 * self.freq_mask_count
        uniforms = keras.random.uniform((batch_size, num_draws), dtype="float32", seed=self._seed_generator)
        outputs = inputs
        if self.time_warp_max_frames > 0 and self.time_warp_max_ratio > 0:
            outputs = self._time_warp(outputs, uniforms[:, 0], uniforms[:, 1])
        column = 2
        keep = None
        if self.time_mask_count > 0 and self.time_mask_max_frames > 0:
            max_length = _minimum(
                self.time_mask_max_frames,
                _floor_to_int(self.time_mask_max_ratio * keras.ops.cast(num_frames, "float32")),
            )
            time_masked = _random_ranges(
                uniforms[:, column : column + 2 * self.time_mask_count], max_length, num_frames
            )
            keep = keras.ops.logical_not(time_masked[:, :, None])
        column += 2 * self.time_mask_count
        if self.freq_mask_count > 0 and self.freq_mask_max_bins > 0:
            freq_masked = _random_ranges(
                uniforms[:, column : column + 2 * self.freq_mask_count], self.freq_mask_max_bins, num_channels
            )
            kept_channels = keras.ops.logical_not(freq_masked[:, None, :])
            keep = kept_channels if keep is None else keras.ops.logical_and(keep, kept_channels)
        if keep is None:
            return outputs
        return keras.ops.where(keep, outputs, keras.ops.zeros_like(outputs))

    def _time_warp(self, inputs, shift_uniform, anchor_uniform):
        num_frames = keras.ops.shape(inputs)[1]
        length = keras.ops.cast(num_frames, "float32")
        max_shift = _minimum(self.time_warp_max_frames, _floor_to_int(self.time_warp_max_ratio * length))

        def warp():
            shift = (
                keras.ops.clip(
                    _floor_to_int(shift_uniform * keras.ops.cast(2 * max_shift + 1, "float32")), 0, 2 * max_shift
                )
                - max_shift
            )
            anchor = 1 + _floor_to_int(anchor_uniform * keras.ops.cast(num_frames - 2, "float32"))
            destination = keras.ops.clip(anchor + shift, 1, num_frames - 1)
            anchor = keras.ops.cast(anchor, "float32")[:, None]
            destination = keras.ops.cast(destination, "float32")[:, None]
            # Output position t reads source position `source[b, t]`.
            positions = keras.ops.arange(num_frames, dtype="float32")[None, :]
            source = keras.ops.where(
                positions <= destination,
                positions * anchor / destination,
                anchor + (positions - destination) * (length - anchor) / (length - destination),
            )
            lower = keras.ops.floor(source)
            weight = (source - lower)[:, :, None]
            lower_index = keras.ops.clip(keras.ops.cast(lower, "int32"), 0, num_frames - 1)
            upper_index = keras.ops.clip(lower_index + 1, 0, num_frames - 1)
            values = keras.ops.cast(inputs, "float32")
            lower_values = keras.ops.take_along_axis(values, lower_index[:, :, None], axis=1)
            upper_values = keras.ops.take_along_axis(values, upper_index[:, :, None], axis=1)
            warped = lower_values + weight * (upper_values - lower_values)
            return keras.ops.cast(warped, inputs.dtype)

        if isinstance(num_frames, int):  # static: no branch in the graph, and no warp of too few frames
            return warp() if num_frames >= 3 and max_shift > 0 else inputs
        return keras.ops.cond(keras.ops.logical_and(num_frames >= 3, max_shift > 0), warp, lambda: inputs)

    def compute_output_shape(self, input_shape: tuple[int | None, ...]) -> tuple[int | None, ...]:
        return tuple(input_shape)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(
            {
                "freq_mask_max_bins": self.freq_mask_max_bins,
                "freq_mask_count": self.freq_mask_count,
                "time_mask_max_frames": self.time_mask_max_frames,
                "time_mask_count": self.time_mask_count,
                "time_mask_max_ratio": self.time_mask_max_ratio,
                "time_warp_max_frames": self.time_warp_max_frames,
                "time_warp_max_ratio": self.time_warp_max_ratio,
                "seed": self.seed,
            }
        )
        return config


def _floor_to_int(x):
    return keras.ops.cast(keras.ops.floor(x), "int32")


def _minimum(a, b):
    """`min(a, b)` of integers, a Python int when both are."""
    if isinstance(a, int) and isinstance(b, int):
        return min(a, b)
    return keras.ops.minimum(a, b)


def _maximum(a, b):
    """`max(a, b)` of integers, a Python int when both are."""
    if isinstance(a, int) and isinstance(b, int):
        return max(a, b)
    return keras.ops.maximum(a, b)


def _random_ranges(uniforms, max_length, size):
    """Union of random index ranges, as a boolean mask.

    Args:
      uniforms: `[batch, 2 * count]` draws in [0, 1): columns `2i` and `2i + 1`
        give the length and the start of range `i`.
      max_length: scalar int; each length is `floor(u * max_length)`, clipped
        to `size`.
      size: scalar int, the length of the masked axis.

    Returns:
      `[batch, size]` bool, True inside any of the ranges.
    """
    length_uniforms, start_uniforms = uniforms[:, 0::2], uniforms[:, 1::2]
    # The clips only guard against float rounding of u * n up to n.
    lengths = keras.ops.clip(
        _floor_to_int(length_uniforms * keras.ops.cast(max_length, "float32")),
        0,
        _minimum(_maximum(max_length - 1, 0), size),
    )
    starts = keras.ops.clip(
        _floor_to_int(start_uniforms * keras.ops.cast(size - lengths + 1, "float32")), 0, size - lengths
    )
    indices = keras.ops.arange(size)[None, :, None]
    inside = keras.ops.logical_and(indices >= starts[:, None, :], indices < (starts + lengths)[:, None, :])
    return keras.ops.any(inside, axis=-1)
