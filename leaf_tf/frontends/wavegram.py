"""Wavegram: PANNs' learnt time-domain frontend (Kong et al., 2020)."""

from __future__ import annotations

import keras

from leaf_tf.frontends.base import Frontend, build_stage
from leaf_tf.registry import register

# Conv stride 5, then three max-poolings by 4: one frame every 320 samples before
# the final (2, 1) average pooling.
_CONV_STRIDE = 5
_BLOCK_POOL = 4
_BLOCK_FILTERS = (64, 128, 128)


@register()
class Wavegram(Frontend):
    """PANNs' Wavegram, as the LEAF reference's `WaveGram` builds it.

    `Conv1D(64, 11, stride 5, same, no bias)` -> BN -> ReLU -> three blocks of
    [2 x (`Conv1D(k=3, dilation 1 then 2, same, no bias)` -> BN -> ReLU) ->
    `MaxPool1D(4)`] with 64, 128, 128 filters -> as a `[B, T/320, 1, 128]` image,
    2 x (`Conv2D(64, 3x3, same, no bias)` -> BN -> ReLU) -> `AvgPool2D((2, 1), same)`.
    One 64-channel frame per 640 samples (25 frames per second at 16 kHz);
    309,568 trainable weights (plus BN moving statistics). Batch normalisation
    makes the output depend on `training`.

    Input `[B, T]` or `[B, T, 1]`, `T >= 316`; output `[B, frames, 64]` float32.

    Args:
      sample_rate: sample rate in Hz (the architecture is fixed in samples).
      check_numerics: raise on NaN/inf input samples.
    """

    n_out_channels = 64

    def __init__(self, sample_rate: float = 16000, check_numerics: bool = False, name: str = "wavegram", **kwargs):
        super().__init__(sample_rate=sample_rate, check_numerics=check_numerics, name=name, **kwargs)
        self.n_channels = self.n_out_channels
        policy = self.dtype_policy.name
        layers = keras.layers
        stages = [
            layers.Conv1D(64, 11, strides=_CONV_STRIDE, padding="same", use_bias=False, dtype=policy),
            layers.BatchNormalization(dtype=policy),
            layers.ReLU(dtype=policy),
        ]
        for filters in _BLOCK_FILTERS:
            for dilation in (1, 2):
                stages += [
                    layers.Conv1D(
                        filters, 3, dilation_rate=dilation, padding="same", use_bias=False, dtype=policy
                    ),
                    layers.BatchNormalization(dtype=policy),
                    layers.ReLU(dtype=policy),
                ]
            stages.append(layers.MaxPooling1D(_BLOCK_POOL, _BLOCK_POOL, dtype=policy))
        self._wave_blocks = stages
        self._conv_block = []
        for _ in range(2):
            self._conv_block += [
                layers.Conv2D(self.n_out_channels, 3, padding="same", use_bias=False, dtype=policy),
                layers.BatchNormalization(dtype=policy),
                layers.ReLU(dtype=policy),
            ]
        self._conv_block.append(layers.AveragePooling2D((2, 1), (2, 1), padding="same", dtype=policy))

    @property
    def min_samples(self) -> int:
        return _CONV_STRIDE * (_BLOCK_POOL ** len(_BLOCK_FILTERS) - 1) + 1

    def num_frames(self, num_samples: int) -> int:
        frames = -(-num_samples // _CONV_STRIDE)
        for _ in _BLOCK_FILTERS:
            frames //= _BLOCK_POOL
        return -(-frames // 2)

    def build(self, input_shape):
        self._check_shape(tuple(input_shape))
        shape = (input_shape[0], input_shape[1], 1)
        for layer in self._wave_blocks:
            shape = build_stage(layer, shape)
        shape = (shape[0], shape[1], 1, shape[2])
        for layer in self._conv_block:
            shape = build_stage(layer, shape)

    def compute_features(self, waveforms, training=None):
        outputs = waveforms
        for layer in self._wave_blocks:
            outputs = layer(outputs, training=training)
        outputs = keras.ops.expand_dims(outputs, 2)
        for layer in self._conv_block:
            outputs = layer(outputs, training=training)
        return outputs[:, :, 0, :]
