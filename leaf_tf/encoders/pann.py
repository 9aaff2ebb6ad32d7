"""PANNs' CNN14 (Kong et al., 2020), as the LEAF paper's Table 4 uses it and as published."""

from __future__ import annotations

import keras
from keras import layers

from leaf_tf.encoders.stack import LayerStack
from leaf_tf.registry import register

_CNN14_WIDTHS = (64, 128, 256, 512, 1024, 2048)


@register()
class PANNConvBlock(LayerStack):
    """Two [3x3 conv (no bias) -> batch norm -> ReLU], then 2-D average pooling.

    Input `[batch, time, freq, c]`; output `[batch, time / p_t, freq / p_f, filters]`.

    Args:
      filters: output channels of both convolutions.
      pool_size: average-pooling window and stride `(time, freq)`.
      pool_padding: "same" (the LEAF reference's `PANN`) or "valid" (PANNs'
        own CNN14, PyTorch `avg_pool2d`).
    """

    def __init__(self, filters: int, pool_size=(2, 2), pool_padding: str = "same", **kwargs):
        super().__init__(**kwargs)
        self.filters = filters
        self.pool_size = tuple(pool_size)
        self.pool_padding = pool_padding
        for _ in range(2):
            self.stack += [
                layers.Conv2D(filters, 3, padding="same", use_bias=False, dtype=self.dtype_policy.name),
                layers.BatchNormalization(dtype=self.dtype_policy.name),
                layers.ReLU(dtype=self.dtype_policy.name),
            ]
        self.stack.append(
            layers.AveragePooling2D(self.pool_size, self.pool_size, padding=pool_padding, dtype=self.dtype_policy.name)
        )

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "filters": self.filters,
            "pool_size": self.pool_size,
            "pool_padding": self.pool_padding,
        }


class _BlockStack(keras.layers.Layer):
    """Input batch norm over frequency bins, then PANN conv blocks each followed by dropout."""

    def __init__(self, depth: int, dropout_rate: float, widths=None, pool_padding: str = "same", **kwargs):
        super().__init__(**kwargs)
        self.pool_padding = pool_padding
        self.depth = depth
        self.dropout_rate = dropout_rate
        self.widths = tuple(widths) if widths else tuple(min(64 * 2**i, 2048) for i in range(depth))
        if len(self.widths) != depth:
            raise ValueError(f"widths {self.widths} must have `depth`={depth} entries.")
        policy = self.dtype_policy.name
        self.input_norm = layers.BatchNormalization(axis=2, name="frequency_norm", dtype=policy)
        self.blocks = [
            PANNConvBlock(width, (2, 2) if i < 5 else (1, 1), self.pool_padding, dtype=policy)
            for i, width in enumerate(self.widths)
        ]
        self.dropouts = [layers.Dropout(dropout_rate, dtype=policy) for _ in self.widths]

    @property
    def min_input_size(self) -> tuple[int, int]:
        """Smallest `(frames, channels)` giving a non-empty feature map."""
        if self.pool_padding == "same":
            return 1, 1
        side = 2 ** min(self.depth, 5)
        return side, side

    def build(self, input_shape):
        shape = tuple(input_shape)
        self.input_norm.build(shape)
        for block in self.blocks:
            block.build(shape)
            shape = block.compute_output_shape(shape)

    def call_trunk(self, inputs, training=None):
        outputs = self.input_norm(inputs, training=training)
        for block, dropout in zip(self.blocks, self.dropouts):
            outputs = dropout(block(outputs, training=training), training=training)
        return outputs

    def get_config(self) -> dict:
        return {**super().get_config(), "dropout_rate": self.dropout_rate, "widths": self.widths}


@register()
class PANN(_BlockStack):
    """The LEAF reference's CNN14 trunk ("CNN14 (ours)" in the paper's Table 4).

    `BatchNormalization` over frequency bins, then `depth` `PANNConvBlock`s of
    `min(64 * 2^i, 2048)` filters ((2, 2) "same" average pooling, (1, 1) from
    the sixth block on), each followed by dropout. No fully connected layer: the
    classifier's global max pooling follows the last feature map.

    Input `[batch, frames, channels, 1]` (channels known at build);
    output `[batch, ~frames / 32, ~channels / 32, widths[-1]]`.

    Args:
      depth: number of conv blocks (6 is CNN14).
      dropout_rate: dropout after each block.
      widths: optional filters per block (tests use tiny widths).
    """

    def __init__(self, depth: int = 6, dropout_rate: float = 0.2, widths=None, name: str = "pann", **kwargs):
        super().__init__(depth, dropout_rate, widths, "same", name=name, **kwargs)  # "same", as in the reference

    def call(self, inputs, training=None):
        return self.call_trunk(inputs, training=training)

    def compute_output_shape(self, input_shape):
        shape = tuple(input_shape)
        for block in self.blocks:
            shape = block.compute_output_shape(shape)
        return shape

    def get_config(self) -> dict:
        return {**super().get_config(), "depth": self.depth}


@register()
class CNN14(_BlockStack):
    """PANNs' CNN14 (Kong et al., 2020) up to its 2048-d embedding.

    `BatchNormalization` over frequency bins -> six blocks of two 3x3 convs (no
    bias) + BN + ReLU, 2x2 average pooling (1x1 for the last block) and dropout
    0.2 -> mean over frequency -> max + mean over time -> dropout 0.5 ->
    Dense(2048) + ReLU (the embedding) -> dropout 0.5. With 64 mel bins and a
    527-way head this is 80,753,615 trainable weights, PANNs' published count.

    The pooling pads ("same") by default, so that short inputs work (Wavegram
    gives 25 frames per second, which PANNs' flooring `avg_pool2d` would reduce
    to nothing after five poolings); `pool_padding="valid"` is PyTorch's exact
    behaviour and needs at least 32 frames and channels. The two differ only in
    the last row/column of odd-sized maps.

    Input `[batch, frames, channels, 1]`; output `[batch, embedding_size]` (the
    classifier adds the head, no pooling).

    Args:
      dropout_rate: dropout after each conv block (0.2).
      embedding_dropout: dropout before and after the embedding layer (0.5).
      embedding_size: width of the embedding layer (2048).
      widths: optional filters per block (tests use tiny widths).
      pool_padding: "same" or "valid" (see above).
    """

    def __init__(
        self,
        dropout_rate: float = 0.2,
        embedding_dropout: float = 0.5,
        embedding_size: int = 2048,
        widths=_CNN14_WIDTHS,
        pool_padding: str = "same",
        name: str = "cnn14",
        **kwargs,
    ):
        super().__init__(len(widths), dropout_rate, widths, pool_padding, name=name, **kwargs)
        self.embedding_dropout = embedding_dropout
        self.embedding_size = embedding_size
        policy = self.dtype_policy.name
        self.pre_embedding_dropout = layers.Dropout(embedding_dropout, dtype=policy)
        self.embedding = layers.Dense(embedding_size, activation="relu", name="embedding", dtype=policy)
        self.post_embedding_dropout = layers.Dropout(embedding_dropout, dtype=policy)

    def build(self, input_shape):
        super().build(input_shape)
        self.embedding.build((input_shape[0], self.widths[-1]))

    def call(self, inputs, training=None):
        features = self.call_trunk(inputs, training=training)  # [B, T', F', C]
        features = keras.ops.mean(features, axis=2)
        pooled = keras.ops.max(features, axis=1) + keras.ops.mean(features, axis=1)
        embedding = self.embedding(self.pre_embedding_dropout(pooled, training=training))
        return self.post_embedding_dropout(embedding, training=training)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.embedding_size)

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "pool_padding": self.pool_padding,
            "embedding_dropout": self.embedding_dropout,
            "embedding_size": self.embedding_size,
        }
