"""The frontends' stages, each a Keras layer (registered for `.keras` and gin)."""

from leaf_tf.layers.activations import SquaredModulus
from leaf_tf.layers.compression import (
    ExponentialMovingAverage,
    LogCompression,
    PCENLayer,
    learnable_pcen,
    log_compression,
)
from leaf_tf.layers.gabor import GaborConstraint, GaborConv1D
from leaf_tf.layers.normalization import InstanceNormalization
from leaf_tf.layers.pooling import GaussianLowpass, LearnablePooling1D, MaxPooling1D
from leaf_tf.layers.preemphasis import PreEmphasis
from leaf_tf.layers.sinc import SincConv1D
from leaf_tf.layers.spec_augment import SpecAugment

__all__ = [
    "ExponentialMovingAverage",
    "GaborConstraint",
    "GaborConv1D",
    "GaussianLowpass",
    "InstanceNormalization",
    "LearnablePooling1D",
    "LogCompression",
    "MaxPooling1D",
    "PCENLayer",
    "PreEmphasis",
    "SincConv1D",
    "SpecAugment",
    "SquaredModulus",
    "learnable_pcen",
    "log_compression",
]
