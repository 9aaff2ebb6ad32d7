"""leaf_tf: LEAF and other audio frontends as Keras 3 layers, faithful to the reference code."""

# First: TensorFlow without its start-up notices on stderr (leaf_tf/_startup.py).
from leaf_tf import _startup  # noqa: F401, I001

# Importing every module registers all gin configurables up front: gin refuses new
# configurables once a config has been parsed (and locked).
from leaf_tf import dsp, encoders, gin_externals, initializers, layers, metrics, models, optimizers  # noqa: F401
from leaf_tf.frontends import (
    Frontend,
    Leaf,
    MelFilterbanks,
    MelPCEN,
    SincNet,
    SincNetPlus,
    TimeDomainFilterbanks,
    Wavegram,
)
from leaf_tf.initializers import GaborInit, LowpassInit, PreempInit, SincInit

__version__ = "0.1.0"

__all__ = [
    "Frontend",
    "GaborInit",
    "Leaf",
    "LowpassInit",
    "MelFilterbanks",
    "MelPCEN",
    "PreempInit",
    "SincInit",
    "SincNet",
    "SincNetPlus",
    "TimeDomainFilterbanks",
    "Wavegram",
    "dsp",
    "encoders",
    "initializers",
    "layers",
    "metrics",
    "models",
]
