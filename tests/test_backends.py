"""The same model on every Keras backend: a `.keras` file written on one backend loads on another.

A child process on another backend (each one installed here: TensorFlow
always, JAX and PyTorch when importable) builds a LEAF + ConvNet classifier,
gives it weights drawn from a fixed seed, saves it with its outputs on a fixed
input; this process, on the backend KERAS_BACKEND selects, loads the file and
computes the same outputs.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest

from tests.helpers import make_signal, to_numpy

BACKENDS = [
    name
    for name, module in (("tensorflow", "tensorflow"), ("jax", "jax"), ("torch", "torch"))
    if importlib.util.find_spec(module) is not None
]

SAVE = textwrap.dedent(
    """
    import sys

    import keras
    import numpy as np

    import leaf_tf
    from leaf_tf import encoders
    from leaf_tf.models import AudioClassifier
    from tests.helpers import make_signal

    path, outputs_path = sys.argv[1:3]
    model = AudioClassifier(
        num_outputs=3,
        frontend=leaf_tf.Leaf(n_filters=8),
        encoder=encoders.ConvNet(filters=(8, 8), dropout=0.0),
    )
    x = make_signal(4000)
    model(x)
    rng = np.random.default_rng(0)
    for weight in model.weights:
        value = keras.ops.convert_to_numpy(weight)
        weight.assign((value * (1 + 0.05 * rng.standard_normal(value.shape))).astype(value.dtype))
    np.save(outputs_path, keras.ops.convert_to_numpy(model(x, training=False)))
    model.save(path)
    """
)


@pytest.mark.slow
@pytest.mark.parametrize("source", BACKENDS)
def test_keras_file_from_another_backend_gives_the_same_outputs(source, tmp_path):
    path, outputs_path = tmp_path / f"{source}.keras", tmp_path / f"{source}.npy"
    environment = {**os.environ, "KERAS_BACKEND": source, "TF_CPP_MIN_LOG_LEVEL": "2"}
    subprocess.run(
        [sys.executable, "-c", SAVE, str(path), str(outputs_path)],
        check=True, env=environment, cwd=os.path.dirname(os.path.dirname(__file__)),
    )
    restored = keras.models.load_model(path)
    actual = to_numpy(restored(make_signal(4000), training=False))
    expected = np.load(outputs_path)
    # The same float32 sums, in each backend's own order: equal to round-off.
    np.testing.assert_allclose(actual, expected, rtol=1e-5, atol=1e-6)


# The tests that hold on every backend: the numbers (oracle faithfulness, gradients, initialisation), the
# stages, SpecAugment, the frontends' behaviour, `.keras` files across backends, the README's usage examples,
# 20 training steps of LEAF and a multi-task run evaluated on full clips.
BACKEND_SUITE = [
    "tests/frontends/test_faithfulness.py",
    "tests/frontends/test_gradient_faithfulness.py",
    "tests/test_initializers.py",
    "tests/layers/test_stages.py",
    "tests/layers/test_spec_augment.py",
    "tests/frontends/test_frontends.py",
    "tests/test_backends.py::test_keras_file_from_another_backend_gives_the_same_outputs",
    "tests/test_readme.py::test_readme_usage_examples_run_on_this_backend",
    "tests/training/test_training.py::test_twenty_steps_for_every_frontend_reduce_the_loss[leaf]",
    "tests/training/test_training.py::test_multitask_run_with_three_tasks_then_eval_and_report",
]


@pytest.mark.slow
@pytest.mark.parametrize("backend", [name for name in BACKENDS if name != keras.backend.backend()])
def test_backend_suite_passes_on(backend):
    """The backend-neutral tests, run again in a process on each other installed backend (JAX in CI;
    PyTorch where a developer installed it)."""
    root = os.path.dirname(os.path.dirname(__file__))
    environment = {**os.environ, "KERAS_BACKEND": backend, "TF_CPP_MIN_LOG_LEVEL": "2"}
    environment.pop("PYTEST_XDIST_WORKER", None)
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:xdist", *BACKEND_SUITE],
        env=environment, cwd=root, capture_output=True, text=True,
    )
    summary = result.stdout.strip().splitlines()[-1] if result.stdout.strip() else ""
    print(f"KERAS_BACKEND={backend}: {summary}")
    assert result.returncode == 0, result.stdout[-5000:] + result.stderr[-2000:]
