"""The shipped gin files in leaf_tf/configs/frontends build the frontends they describe."""

from __future__ import annotations

import json
import pathlib

import gin
import numpy as np
import pytest

import leaf_tf
from leaf_tf.frontends import FRONTENDS, build_frontend, configured_frontend
from tests.helpers import make_signal

CONFIGS = pathlib.Path(leaf_tf.__file__).resolve().parent / "configs" / "frontends"


@pytest.fixture(autouse=True)
def clear_gin():
    gin.clear_config()
    yield
    gin.clear_config()


def _parse(name, bindings=()):
    gin.parse_config_files_and_bindings([str(CONFIGS / f"{name}.gin")], list(bindings))


def _without_names(value):
    if isinstance(value, dict):
        return {k: _without_names(v) for k, v in value.items() if k != "name"}
    if isinstance(value, list):
        return [_without_names(v) for v in value]
    return value


def _config(frontend):
    """The config, minus layer names (Keras numbers repeated names: `pcen`, `pcen_1`...)."""
    return _without_names(json.loads(json.dumps(frontend.get_config())))


def test_every_frontend_has_a_config():
    assert sorted(p.stem for p in CONFIGS.glob("*.gin")) == sorted(FRONTENDS)


@pytest.mark.parametrize("name", list(FRONTENDS))
def test_config_builds_the_frontend_with_its_defaults(name):
    _parse(name)
    from_gin = configured_frontend()
    gin.clear_config()
    default = build_frontend(name)
    assert type(from_gin) is FRONTENDS[name]
    assert _config(from_gin) == _config(default)
    x = make_signal(4000)
    if name != "wavegram":  # deterministic initialisation: identical outputs
        np.testing.assert_array_equal(from_gin(x), default(x))


def test_each_call_builds_a_new_instance():
    _parse("leaf")
    assert configured_frontend() is not configured_frontend()


def test_bindings_override_the_files():
    _parse("leaf", ["Leaf.n_filters = 64", "SAMPLE_RATE = 24000", "PCENLayer.alpha = 0.5"])
    leaf = configured_frontend()
    y = leaf(make_signal(4800, sample_rate=24000))
    assert y.shape == (2, 20, 64)
    assert leaf.complex_conv_init.sample_rate == 24000
    np.testing.assert_allclose(leaf.compression.alpha.numpy(), 0.5)


def test_unknown_gin_name_is_reported():
    with pytest.raises(ValueError, match="No configurable matching 'Leafy'"):
        gin.parse_config("Leafy.n_filters = 3")


def test_gin_built_leaf_survives_keras_round_trip(tmp_path):
    import keras

    _parse("leaf", ["Leaf.n_filters = 8"])
    model = keras.Sequential([keras.Input((None,)), configured_frontend()])
    x = make_signal(1600)
    expected = model(x).numpy()
    model.save(tmp_path / "m.keras")
    gin.clear_config()
    np.testing.assert_array_equal(keras.models.load_model(tmp_path / "m.keras")(x), expected)
    assert isinstance(model.layers[0], leaf_tf.Leaf)


ENCODER_CLASSES = {"cnn14": "CNN14", "convnet": "ConvNet", "efficientnet_b0": "EfficientNetB0", "pann": "PANN"}


def test_every_encoder_config_selects_its_encoder():
    from leaf_tf import encoders

    paths = sorted((CONFIGS.parent / "encoders").glob("*.gin"))
    assert [p.stem for p in paths] == sorted(ENCODER_CLASSES)
    for path in paths:
        gin.clear_config()
        gin.parse_config_files_and_bindings([str(path)], [])
        encoder = encoders.configured_encoder()
        assert type(encoder) is getattr(encoders, ENCODER_CLASSES[path.stem]), path.name
        if path.stem == "cnn14":  # the file's values reach the layer
            assert encoder.widths == (64, 128, 256, 512, 1024, 2048) and encoder.pool_padding == "same"
