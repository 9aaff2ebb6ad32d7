"""Frontends: waveform `[batch, samples]` -> representation `[batch, frames, channels]`."""

from leaf_tf.frontends.base import Frontend
from leaf_tf.frontends.leaf import Leaf, SincNet, SincNetPlus, TimeDomainFilterbanks
from leaf_tf.frontends.mel import MelFilterbanks, MelPCEN
from leaf_tf.frontends.wavegram import Wavegram

__all__ = [
    "Frontend",
    "Leaf",
    "MelFilterbanks",
    "MelPCEN",
    "SincNet",
    "SincNetPlus",
    "TimeDomainFilterbanks",
    "Wavegram",
]
