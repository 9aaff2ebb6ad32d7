"""The LEAF reference's small example encoder: a stack of separable-kernel conv blocks."""

from __future__ import annotations

from keras import layers

from leaf_tf.encoders.stack import LayerStack
from leaf_tf.registry import register

_NORMALIZATIONS = {
    "batch": layers.BatchNormalization,
    # Over frequency and channels, per example and frame (no batch statistics).
    "layer": lambda dtype: layers.LayerNormalization(axis=(-2, -1), dtype=dtype),
    # Over time, frequency and groups of 8 channels, per example (no batch statistics).
    "group": lambda dtype: layers.GroupNormalization(groups=8, dtype=dtype),
    None: None,
}


@register()
class ConvBlock(LayerStack):
    """Conv2D [3, 1] -> activation -> norm -> [dropout] -> Conv2D [1, 3] -> activation -> norm -> [dropout] -> [max pool 2x2].

    As in the reference, the activation comes before the normalisation (batch
    normalisation by default), the convolutions have biases and "same" padding,
    and the max pooling is 2x2 "valid".

    Args:
      num_filters: output channels.
      activation: Keras activation name.
      normalization: "batch" (the reference), "layer" (layer normalisation
        over frequency and channels of each frame: no batch statistics, so no
        train/inference difference; robust to the heavy tails of PCEN features
        in short runs) or None.
      dropout: dropout rate after each normalisation (0 for none).
      max_pooling: end with 2x2 max pooling.
    """

    def __init__(
        self,
        num_filters: int,
        activation: str = "relu",
        normalization: str | None = "batch",
        dropout: float = 0.0,
        max_pooling: bool = True,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if normalization not in _NORMALIZATIONS:
            raise ValueError(f"normalization must be one of {list(_NORMALIZATIONS)}, got {normalization!r}.")
        self.num_filters = num_filters
        self.activation = activation
        self.normalization = normalization
        self.dropout = dropout
        self.max_pooling = bool(max_pooling)
        policy = self.dtype_policy.name
        for kernel in ((3, 1), (1, 3)):
            self.stack += [
                layers.Conv2D(num_filters, kernel, padding="same", dtype=policy),
                layers.Activation(activation, dtype=policy),
            ]
            if normalization is not None:
                self.stack.append(_NORMALIZATIONS[normalization](dtype=policy))
            if dropout > 0:
                self.stack.append(layers.Dropout(dropout, dtype=policy))
        if self.max_pooling:
            self.stack.append(layers.MaxPooling2D(dtype=policy))

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "num_filters": self.num_filters,
            "activation": self.activation,
            "normalization": self.normalization,
            "dropout": self.dropout,
            "max_pooling": self.max_pooling,
        }


@register()
class ConvNet(LayerStack):
    """One `ConvBlock` per entry of `filters`, max pooling in blocks 0, 1, 3, 5, ... (not 2, 4, ...).

    The reference's `common.gin` uses `filters=[64, 128, 256, 256, 512, 512]`,
    ReLU and dropout 0.1 (the defaults here).

    Input `[batch, frames, channels, 1]`, at least `2^p` frames and channels for
    `p` pooling blocks; output `[batch, frames / 2^p, channels / 2^p, filters[-1]]`.

    Args:
      filters: output channels of each block.
      activation: Keras activation name.
      normalization: "batch" (the reference), "layer" or None (see `ConvBlock`).
      dropout: dropout rate in each block.
    """

    def __init__(
        self,
        filters=(64, 128, 256, 256, 512, 512),
        activation: str = "relu",
        normalization: str | None = "batch",
        dropout: float = 0.1,
        name: str = "convnet",
        **kwargs,
    ):
        super().__init__(name=name, **kwargs)
        self.filters = tuple(filters)
        self.activation = activation
        self.normalization = normalization
        self.dropout = dropout
        self.stack = [
            ConvBlock(width, activation, normalization, dropout, max_pooling=(not i or i % 2), dtype=self.dtype_policy.name)
            for i, width in enumerate(self.filters)
        ]

    @property
    def blocks(self) -> list[ConvBlock]:
        return self.stack

    @property
    def min_input_size(self) -> tuple[int, int]:
        side = 2 ** sum(block.max_pooling for block in self.blocks)
        return side, side

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "filters": self.filters,
            "activation": self.activation,
            "normalization": self.normalization,
            "dropout": self.dropout,
        }
