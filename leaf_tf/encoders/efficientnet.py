"""EfficientNetB0 on a one-channel time-frequency representation."""

from __future__ import annotations

import keras

from leaf_tf.registry import register

# Layers keras.applications puts in front of the stem for ImageNet images in [0, 255].
_IMAGE_PREPROCESSING = (keras.layers.Rescaling, keras.layers.Normalization)

# Five stride-2 stages, each flooring the size: 32 frames and channels give a 1 x 1 map.
_MIN_SIZE = 32


def _efficientnet_b0_trunk(name: str) -> keras.Model:
    base = keras.applications.EfficientNetB0(include_top=False, weights=None, input_shape=(None, None, 1))

    def without_preprocessing(layer):
        if isinstance(layer, _IMAGE_PREPROCESSING):
            return keras.layers.Identity(name=layer.name)
        return layer.__class__.from_config(layer.get_config())

    model = keras.models.clone_model(base, clone_function=without_preprocessing)
    return keras.Model(model.inputs[0], model.outputs[0], name=name)


@register()
class EfficientNetB0(keras.layers.Layer):
    """`keras.applications.EfficientNetB0` trunk for `[batch, frames, channels, 1]` inputs.

    `include_top=False`, `weights=None`, any number of frames and channels
    (input shape `(None, None, 1)`); output the last feature map
    `[batch, frames // 32, channels // 32, 1280]` (each of the five stride-2
    stages floors the size, so at least 32 frames and channels are needed; the
    classifier pools the map). The ImageNet preprocessing that
    `keras.applications` puts in front of the stem (`Rescaling(1/255)` and an
    un-adapted `Normalization`) is replaced by identities: a log-mel or PCEN
    representation is not an image in [0, 255], and those layers would shrink it
    tenfold. 4,006,972 trainable weights (4,048,988 with batch-norm statistics).

    Args:
      name: layer name.
    """

    min_input_size = (_MIN_SIZE, _MIN_SIZE)

    def __init__(self, name: str = "efficientnet_b0", **kwargs):
        super().__init__(name=name, **kwargs)
        self.network = _efficientnet_b0_trunk(name)

    def build(self, input_shape):
        self.network.build(input_shape)

    def call(self, inputs, training=None):
        frames, channels = inputs.shape[1], inputs.shape[2]
        # Known sizes only (None or a symbolic JAX export dimension: no check).
        if (isinstance(frames, int) and frames < _MIN_SIZE) or (isinstance(channels, int) and channels < _MIN_SIZE):
            # Smaller maps shrink to nothing; oneDNN kernels misbehave on empty tensors.
            raise ValueError(
                f"EfficientNetB0 needs at least {_MIN_SIZE} frames and {_MIN_SIZE} channels, got input shape {inputs.shape}."
            )
        return self.network(inputs, training=training)

    def compute_output_shape(self, input_shape):
        return self.network.compute_output_shape(input_shape)
