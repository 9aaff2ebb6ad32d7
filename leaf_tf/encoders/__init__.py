"""Encoders: `[batch, frames, channels, 1]` representation -> feature map or embedding."""

from __future__ import annotations

import gin

from leaf_tf.encoders.convnet import ConvBlock, ConvNet
from leaf_tf.encoders.efficientnet import EfficientNetB0
from leaf_tf.encoders.pann import CNN14, PANN, PANNConvBlock

# Short names, as used by configs, tables and the command line.
ENCODERS = {
    "efficientnet_b0": EfficientNetB0,
    "cnn14": CNN14,
    "pann": PANN,
    "convnet": ConvNet,
}


def build_encoder(name: str, **kwargs):
    """Builds an encoder by short name (`"efficientnet_b0"`, `"cnn14"`, `"pann"`, `"convnet"`)."""
    try:
        factory = ENCODERS[name]
    except KeyError:
        raise ValueError(f"Unknown encoder {name!r}; known encoders: {', '.join(ENCODERS)}.") from None
    return factory(**kwargs)


@gin.configurable
def configured_encoder(encoder=gin.REQUIRED):
    """The encoder a gin config selects (`configured_encoder.encoder = %ENCODER`, set by `configs/encoders/*.gin`)."""
    return encoder


def min_input_size(encoder) -> tuple[int, int]:
    """Smallest `(frames, channels)` an encoder accepts (1, 1 when it does not say)."""
    return tuple(getattr(encoder, "min_input_size", (1, 1)))


__all__ = [
    "CNN14",
    "ENCODERS",
    "PANN",
    "ConvBlock",
    "ConvNet",
    "EfficientNetB0",
    "PANNConvBlock",
    "build_encoder",
    "configured_encoder",
    "min_input_size",
]
