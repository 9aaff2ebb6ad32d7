"""One decorator that makes a class or function `.keras`-serializable and gin-configurable.

`@gin.configurable` applied directly to a Keras 3 layer replaces `__init__` by a
wrapper whose signature Keras' `Operation.__new__` may fail to read. We register
the class in place (gin keeps the same class object) and restore the original
signature, so Keras serialization, `isinstance` and gin all see one class.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import TypeVar

import gin
import keras

T = TypeVar("T")

PACKAGE = "leaf_tf"


def register(name: str | None = None, *, gin_module: str | None = None) -> Callable[[T], T]:
    """Registers a class or function for Keras serialization and as a gin configurable.

    Args:
      name: the gin name (defaults to `__name__`). The reference implementation's
        names are kept so that its gin files read the same here.
      gin_module: optional gin module, for names that would otherwise clash.

    Returns:
      A decorator returning the registered object (the same class for classes,
      gin's wrapper for functions).
    """

    def decorator(obj: T) -> T:
        gin_name = name or obj.__name__
        if inspect.isclass(obj):
            signature = inspect.signature(obj.__init__)
            obj = gin.configurable(gin_name, module=gin_module)(obj)
            obj.__init__.__signature__ = signature
        else:
            obj = gin.configurable(gin_name, module=gin_module)(obj)
        return keras.saving.register_keras_serializable(package=PACKAGE, name=obj.__name__)(obj)

    return decorator
