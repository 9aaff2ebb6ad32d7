"""leaf_tf: LEAF and other audio frontends as Keras 3 layers, faithful to the reference code."""

from leaf_tf import dsp, gin_externals, initializers, layers  # noqa: F401 (gin_externals registers)
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
    "initializers",
    "layers",
]
