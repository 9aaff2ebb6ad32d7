"""leaf_tf: LEAF and other audio frontends as Keras 3 layers, faithful to the reference code.

`import leaf_tf` imports TensorFlow and every module, which registers each layer
for `keras.models.load_model` and each configurable with gin: import leaf_tf
before loading a `.keras` file that holds one of its layers. The `leaf-tf`
commands defer that import until their arguments are parsed (`load`).
"""

# First: TensorFlow without its start-up notices on stderr (leaf_tf/_startup.py).
from leaf_tf import _startup  # noqa: I001

__version__ = "0.2.0"

# Public names and the module each comes from (resolved on first use when a command defers the imports).
_EXPORTS = {
    "Frontend": "leaf_tf.frontends",
    "Leaf": "leaf_tf.frontends",
    "MelFilterbanks": "leaf_tf.frontends",
    "MelPCEN": "leaf_tf.frontends",
    "SincNet": "leaf_tf.frontends",
    "SincNetPlus": "leaf_tf.frontends",
    "TimeDomainFilterbanks": "leaf_tf.frontends",
    "Wavegram": "leaf_tf.frontends",
    "GaborInit": "leaf_tf.initializers",
    "LowpassInit": "leaf_tf.initializers",
    "PreempInit": "leaf_tf.initializers",
    "SincInit": "leaf_tf.initializers",
}
_MODULES = ("dsp", "encoders", "gin_externals", "initializers", "layers", "metrics", "models", "optimizers")

__all__ = sorted([*_EXPORTS, "dsp", "encoders", "initializers", "layers", "metrics", "models", "load"])


def load() -> None:
    """Imports TensorFlow and every module (idempotent).

    Every gin configurable and Keras serializable is registered up front: gin
    refuses new configurables once a config has been parsed (and locked), and
    `keras.models.load_model` finds only registered classes.

    Raises:
      ImportError: TensorFlow is not installed (the message names the pip extras).
    """
    import importlib

    _startup.import_tensorflow()
    for name in _MODULES:
        importlib.import_module(f"leaf_tf.{name}")
    importlib.import_module("leaf_tf.frontends")
    # Scripts written for the former layout (`gin.parse_config_file("configs/leaf.gin")`) keep working.
    importlib.import_module("leaf_tf.configs").add_search_paths()


def __getattr__(name: str):
    import importlib

    if name in _EXPORTS:
        load()
        value = getattr(importlib.import_module(_EXPORTS[name]), name)
    elif name in _MODULES:
        load()
        value = importlib.import_module(f"leaf_tf.{name}")
    else:
        raise AttributeError(f"module 'leaf_tf' has no attribute {name!r}")
    globals()[name] = value
    return value


if not _startup.COMMAND:
    load()
    from leaf_tf import dsp, encoders, initializers, layers, metrics, models  # noqa: F401
    from leaf_tf.frontends import (  # noqa: F401
        Frontend,
        Leaf,
        MelFilterbanks,
        MelPCEN,
        SincNet,
        SincNetPlus,
        TimeDomainFilterbanks,
        Wavegram,
    )
    from leaf_tf.initializers import GaborInit, LowpassInit, PreempInit, SincInit  # noqa: F401
