"""Pytest set-up shared by the tests and the docstring examples (`--doctest-modules`)."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import tensorflow as tf  # noqa: E402

import leaf_tf  # noqa: E402
from leaf_tf import layers  # noqa: E402


@pytest.fixture(autouse=True)
def doctest_globals(doctest_namespace):
    doctest_namespace.update(tf=tf, np=np, keras=keras, leaf_tf=leaf_tf, **{name: getattr(layers, name) for name in layers.__all__})
    doctest_namespace.update({name: getattr(leaf_tf, name) for name in leaf_tf.__all__})

# The command modules define absl flags when imported, and train's and eval's share names: doctest collection
# would import both into one process. They hold no doctests; the tests run them as subprocesses.
collect_ignore_glob = ["leaf_tf/commands/*.py"]
