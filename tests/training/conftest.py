"""Shared fixtures: the embedded synthetic dataset, built once for all tests (and xdist workers)."""

from __future__ import annotations

import fcntl
import os
import pathlib
import tempfile

import gin
import keras
import pytest

from leaf_tf.data import synthetic

SHARED_DATA_DIR = pathlib.Path(tempfile.gettempdir()) / f"leaf_tf_test_data_{synthetic.LeafSynthetic.VERSION}"


@pytest.fixture(scope="session")
def data_dir() -> str:
    """The full synthetic dataset (≈170 MB), generated once per machine and shared between test processes."""
    SHARED_DATA_DIR.mkdir(parents=True, exist_ok=True)
    with open(SHARED_DATA_DIR / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        synthetic.prepare(SHARED_DATA_DIR)
        fcntl.flock(lock, fcntl.LOCK_UN)
    return str(SHARED_DATA_DIR)


@pytest.fixture(autouse=True)
def clean_gin_and_policy():
    gin.clear_config()
    yield
    gin.clear_config()
    keras.mixed_precision.set_global_policy("float32")


def subprocess_env() -> dict:
    env = dict(os.environ)
    env["TF_CPP_MIN_LOG_LEVEL"] = "2"
    env["PYTHONPATH"] = str(pathlib.Path(__file__).resolve().parents[2]) + os.pathsep + env.get("PYTHONPATH", "")
    return env
