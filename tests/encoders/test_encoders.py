"""Encoders: architecture facts, parameter counts, shapes and serialization."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from leaf_tf import encoders


def _trainable(layer) -> int:
    return int(sum(np.prod(w.shape) for w in layer.trainable_weights))


def test_efficientnet_b0_has_no_image_preprocessing_and_one_input_channel():
    model = encoders.EfficientNetB0()
    layers = model.network.layers
    assert not any(isinstance(layer, (keras.layers.Rescaling, keras.layers.Normalization)) for layer in layers)
    stem = model.network.get_layer("stem_conv")
    assert stem.kernel.shape == (3, 3, 1, 32)
    features = model(np.random.default_rng(0).standard_normal((2, 100, 40, 1)).astype(np.float32))
    assert features.shape == (2, 3, 1, 1280)
    assert _trainable(model) == 4_006_972
    assert model.count_params() == 4_048_988
    assert model.min_input_size == (32, 32)
    assert model(np.zeros((1, 32, 32, 1), np.float32)).shape == (1, 1, 1, 1280)
    with pytest.raises(ValueError, match="at least 32 frames and 32 channels"):
        model(np.zeros((1, 31, 32, 1), np.float32))


def test_efficientnet_b0_feeds_the_representation_straight_into_the_stem():
    """Scaling the input scales the stem conv's output: nothing normalises in between."""
    network = encoders.EfficientNetB0().network
    stem = keras.Model(network.input, network.get_layer("stem_conv").output)
    x = np.random.default_rng(1).standard_normal((1, 32, 32, 1)).astype(np.float32)
    np.testing.assert_allclose(stem(3 * x), 3 * stem(x), rtol=1e-4, atol=1e-5)


def test_cnn14_has_the_published_parameter_count():
    """PANNs' CNN14 with 64 mel bins and 527 outputs: 80,753,615 parameters (Kong et al., 2020)."""
    cnn14 = encoders.CNN14()
    cnn14.build((None, None, 64, 1))
    head = 2048 * 527 + 527
    assert _trainable(cnn14) + head == 80_753_615


def test_cnn14_structure_and_pooling():
    cnn14 = encoders.CNN14(widths=(4, 4, 8, 8, 8, 16), embedding_size=32)
    x = np.random.default_rng(2).standard_normal((2, 100, 40, 1)).astype(np.float32)
    assert cnn14(x).shape == (2, 32)
    assert cnn14.min_input_size == (1, 1)
    valid = encoders.CNN14(widths=(4, 4, 8, 8, 8, 16), pool_padding="valid")
    assert valid.min_input_size == (32, 32)
    assert [block.pool_size for block in cnn14.blocks] == [(2, 2)] * 5 + [(1, 1)]


def test_pann_is_the_reference_trunk():
    pann = encoders.PANN()
    assert [block.filters for block in pann.blocks] == [64, 128, 256, 512, 1024, 2048]
    assert [block.pool_size for block in pann.blocks] == [(2, 2)] * 5 + [(1, 1)]
    deeper = encoders.PANN(depth=7)
    assert deeper.widths[-1] == 2048 and len(deeper.blocks) == 7
    tiny = encoders.PANN(depth=3, widths=(4, 8, 8))
    assert tiny(np.zeros((2, 100, 40, 1), np.float32)).shape == (2, 13, 5, 8)


def test_convnet_pools_in_blocks_0_1_3_5():
    convnet = encoders.ConvNet()
    assert [block.max_pooling for block in convnet.blocks] == [True, True, False, True, False, True]
    assert convnet.min_input_size == (16, 16)
    assert convnet(np.zeros((2, 100, 40, 1), np.float32)).shape == (2, 6, 2, 512)


def test_unknown_encoder_name():
    with pytest.raises(ValueError, match="Unknown encoder 'resnet'.*efficientnet_b0"):
        encoders.build_encoder("resnet")


@pytest.mark.parametrize(
    "encoder",
    [encoders.ConvNet(filters=(4, 8)), encoders.PANN(depth=2, widths=(4, 8)), encoders.CNN14(widths=(4,) * 6, embedding_size=8)],
    ids=lambda e: e.name,
)
def test_encoders_serialize(encoder):
    encoder(np.zeros((1, 40, 40, 1), np.float32))
    restored = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(encoder))
    assert restored.get_config() == encoder.get_config()


def test_encoder_configs_keep_every_argument_and_refuse_foreign_ones():
    cnn14 = encoders.CNN14(widths=(4,) * 6, embedding_size=8, pool_padding="valid")
    assert encoders.CNN14.from_config(cnn14.get_config()).pool_padding == "valid"
    assert "depth" not in cnn14.get_config() and "pool_padding" not in encoders.PANN(depth=2, widths=(4, 8)).get_config()
    with pytest.raises(TypeError, match="pool_padding"):
        encoders.PANN(depth=2, widths=(4, 8), pool_padding="valid")  # the reference's trunk always pads
    with pytest.raises(TypeError, match="depth"):
        encoders.CNN14(widths=(4,) * 6, depth=3)  # CNN14's depth is len(widths)
