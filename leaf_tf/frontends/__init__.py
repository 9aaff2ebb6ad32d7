"""Frontends: waveform `[batch, samples]` -> representation `[batch, frames, channels]`."""

from __future__ import annotations

import gin
import numpy as np

from leaf_tf.frontends.base import Frontend
from leaf_tf.frontends.leaf import Leaf, SincNet, SincNetPlus, TimeDomainFilterbanks
from leaf_tf.frontends.mel import MelFilterbanks, MelPCEN
from leaf_tf.frontends.wavegram import Wavegram

# Short names, as used by configs, tables and the command line.
FRONTENDS: dict[str, type[Frontend]] = {
    "mel": MelFilterbanks,
    "mel_pcen": MelPCEN,
    "tdfbanks": TimeDomainFilterbanks,
    "sincnet": SincNet,
    "sincnet_plus": SincNetPlus,
    "leaf": Leaf,
    "wavegram": Wavegram,
}


def build_frontend(name: str, **kwargs) -> Frontend:
    """Builds a frontend by short name (`"leaf"`, `"mel"`, ...), passing `kwargs` to it."""
    try:
        cls = FRONTENDS[name]
    except KeyError:
        raise ValueError(f"Unknown frontend {name!r}; known frontends: {', '.join(FRONTENDS)}.") from None
    if cls is Wavegram:
        kwargs.pop("n_filters", None)  # a fixed architecture with 64 output channels
    return cls(**kwargs)


@gin.configurable
def configured_frontend(frontend: Frontend = gin.REQUIRED) -> Frontend:
    """The frontend a gin config selects, e.g. `configured_frontend.frontend = %FRONTEND`.

    Every file in `configs/frontends/` defines the macro `FRONTEND`; this
    function is bound to it by default, so `configured_frontend()` after
    parsing one of them returns a new instance of that frontend.
    """
    return frontend


def trainable_parameter_counts(n_filters: int = 64, sample_rate: int = 16000) -> dict[str, int]:
    """Trainable weights of every frontend (built on one second of silence)."""
    counts = {}
    for name in FRONTENDS:
        frontend = build_frontend(name, n_filters=n_filters, sample_rate=sample_rate)
        frontend(np.zeros((1, sample_rate), np.float32))
        counts[name] = int(sum(np.prod(w.shape) for w in frontend.trainable_weights))
    return counts


__all__ = [
    "FRONTENDS",
    "Frontend",
    "Leaf",
    "MelFilterbanks",
    "MelPCEN",
    "SincNet",
    "SincNetPlus",
    "TimeDomainFilterbanks",
    "Wavegram",
    "build_frontend",
    "configured_frontend",
    "trainable_parameter_counts",
]
