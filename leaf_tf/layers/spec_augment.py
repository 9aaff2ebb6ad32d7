"""SpecAugment: random time warping, time masks and frequency masks."""

from __future__ import annotations

from typing import Any

import keras
import tensorflow as tf

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
    differ between calls, also inside `tf.function`.

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
    >>> features = tf.ones([4, 100, 40])
    >>> augmented = layer(features, training=True)  # warped and masked
    >>> augmented.shape
    TensorShape([4, 100, 40])
    >>> bool(tf.reduce_all(layer(features) == features))  # inference: identity
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

    def call(self, inputs: tf.Tensor, training: bool | tf.Tensor | None = None) -> tf.Tensor:
        if training is None or isinstance(training, bool):
            return self._augment(inputs) if training else inputs
        return tf.cond(
            tf.cast(training, tf.bool),
            lambda: self._augment(inputs),
            lambda: tf.identity(inputs),
        )

    def _augment(self, inputs: tf.Tensor) -> tf.Tensor:
        shape = tf.shape(inputs)
        batch_size, num_frames, num_channels = shape[0], shape[1], shape[2]
        # One draw per call: column j of `uniforms` feeds the j-th random choice.
        num_draws = 2 + 2 * self.time_mask_count + 2 * self.freq_mask_count
        uniforms = keras.random.uniform(
            tf.stack([batch_size, num_draws]), dtype="float32", seed=self._seed_generator
        )
        outputs = inputs
        if self.time_warp_max_frames > 0 and self.time_warp_max_ratio > 0:
            outputs = self._time_warp(outputs, uniforms[:, 0], uniforms[:, 1])
        column = 2
        keep = tf.ones([batch_size, num_frames, num_channels], tf.bool)
        if self.time_mask_count > 0 and self.time_mask_max_frames > 0:
            max_length = tf.minimum(
                self.time_mask_max_frames,
                _floor_to_int(self.time_mask_max_ratio * tf.cast(num_frames, tf.float32)),
            )
            time_masked = _random_ranges(
                uniforms[:, column : column + 2 * self.time_mask_count], max_length, num_frames
            )
            keep &= ~time_masked[:, :, None]
        column += 2 * self.time_mask_count
        if self.freq_mask_count > 0 and self.freq_mask_max_bins > 0:
            freq_masked = _random_ranges(
                uniforms[:, column : column + 2 * self.freq_mask_count],
                tf.constant(self.freq_mask_max_bins, tf.int32),
                num_channels,
            )
            keep &= ~freq_masked[:, None, :]
        return tf.where(keep, outputs, tf.zeros_like(outputs))

    def _time_warp(
        self, inputs: tf.Tensor, shift_uniform: tf.Tensor, anchor_uniform: tf.Tensor
    ) -> tf.Tensor:
        num_frames = tf.shape(inputs)[1]
        length = tf.cast(num_frames, tf.float32)
        max_shift = tf.minimum(
            self.time_warp_max_frames, _floor_to_int(self.time_warp_max_ratio * length)
        )

        def warp() -> tf.Tensor:
            shift = (
                tf.clip_by_value(
                    _floor_to_int(shift_uniform * tf.cast(2 * max_shift + 1, tf.float32)),
                    0,
                    2 * max_shift,
                )
                - max_shift
            )
            anchor = 1 + _floor_to_int(anchor_uniform * tf.cast(num_frames - 2, tf.float32))
            destination = tf.clip_by_value(anchor + shift, 1, num_frames - 1)
            anchor = tf.cast(anchor, tf.float32)[:, None]
            destination = tf.cast(destination, tf.float32)[:, None]
            # Output position t reads source position `source[b, t]`.
            positions = tf.range(length)[None, :]
            source = tf.where(
                positions <= destination,
                positions * anchor / destination,
                anchor + (positions - destination) * (length - anchor) / (length - destination),
            )
            lower = tf.floor(source)
            weight = (source - lower)[:, :, None]
            lower_index = tf.clip_by_value(tf.cast(lower, tf.int32), 0, num_frames - 1)
            upper_index = tf.clip_by_value(lower_index + 1, 0, num_frames - 1)
            values = tf.cast(inputs, tf.float32)
            lower_values = tf.gather(values, lower_index, batch_dims=1)
            upper_values = tf.gather(values, upper_index, batch_dims=1)
            warped = lower_values + weight * (upper_values - lower_values)
            return tf.cast(warped, inputs.dtype)

        return tf.cond((num_frames >= 3) & (max_shift > 0), warp, lambda: tf.identity(inputs))

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


def _floor_to_int(x: tf.Tensor) -> tf.Tensor:
    return tf.cast(tf.floor(x), tf.int32)


def _random_ranges(uniforms: tf.Tensor, max_length: tf.Tensor, size: tf.Tensor) -> tf.Tensor:
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
    lengths = tf.clip_by_value(
        _floor_to_int(length_uniforms * tf.cast(max_length, tf.float32)),
        0,
        tf.minimum(tf.maximum(max_length - 1, 0), size),
    )
    starts = tf.clip_by_value(
        _floor_to_int(start_uniforms * tf.cast(size - lengths + 1, tf.float32)), 0, size - lengths
    )
    indices = tf.range(size)[None, :, None]
    inside = (indices >= starts[:, None, :]) & (indices < (starts + lengths)[:, None, :])
    return tf.reduce_any(inside, axis=-1)
