"""Classifiers: waveform -> frontend -> encoder -> pooling -> linear head(s).

* `AudioClassifier`: one head (single-label softmax logits, or multi-label
  sigmoid logits for AudioSet).
* `MultiTaskClassifier`: one shared frontend and encoder, one linear head per
  task, outputs a dict of logits keyed by task name (the paper's Table 3).
* `describe(model)`: trainable parameters of frontend, encoder and heads.

Both classifiers output logits; `default_loss()` / `default_metrics()` give
the matching Keras losses and metrics, and `export(path)` writes a SavedModel
whose `serve` signature takes raw waveforms `[batch, samples]` of any length.
"""

from __future__ import annotations

import keras
import numpy as np

from leaf_tf import backend
from leaf_tf import encoders as encoders_lib
from leaf_tf import frontends as frontends_lib
from leaf_tf.frontends.base import deserialize, serialize
from leaf_tf.metrics import MaskedSparseCategoricalAccuracy
from leaf_tf.registry import register


@register()
class TimePooling(keras.layers.Layer):
    """Pools a `[batch, time, freq, channels]` map over time only, keeping frequency: `[batch, freq * channels]`.

    Global pooling over both axes (the reference) makes the classifier blind to
    absolute frequency, which tasks such as pitch need; pooling over time alone
    keeps it. Needs a static frequency size.

    Args:
      mode: "max" or "avg" over time.
    """

    def __init__(self, mode: str = "max", **kwargs):
        super().__init__(**kwargs)
        if mode not in ("max", "avg"):
            raise ValueError(f"TimePooling mode must be 'max' or 'avg', got {mode!r}.")
        self.mode = mode

    def call(self, inputs):
        pooled = keras.ops.max(inputs, axis=1) if self.mode == "max" else keras.ops.mean(inputs, axis=1)
        return keras.ops.reshape(pooled, (-1, pooled.shape[1] * pooled.shape[2]))

    def compute_output_shape(self, input_shape):
        return (input_shape[0], input_shape[2] * input_shape[3])

    def get_config(self) -> dict:
        return {**super().get_config(), "mode": self.mode}


_POOLINGS = {
    "max": keras.layers.GlobalMaxPooling2D,
    "avg": keras.layers.GlobalAveragePooling2D,
    "max_time": lambda name: TimePooling("max", name=name),
    "avg_time": lambda name: TimePooling("avg", name=name),
}

FEATURE_NORMALIZATIONS = (None, "batch")

# Label value marking "this example does not belong to this task" in multi-task batches.
IGNORED_LABEL = -1


def _as_frontend(frontend):
    return frontends_lib.build_frontend(frontend) if isinstance(frontend, str) else frontend


def _as_encoder(encoder):
    return encoders_lib.build_encoder(encoder) if isinstance(encoder, str) else encoder


class _Classifier(keras.Model):
    """Shared trunk: frontend -> channel axis -> encoder -> global pooling.

    Args:
      frontend: a frontend layer, a short name (`"leaf"`, `"mel"`, ...), or None
        when the inputs already are `[batch, frames, channels]` features.
      encoder: an encoder (`[B, frames, channels, 1]` -> feature map or
        embedding), a short name (`"efficientnet_b0"`, `"cnn14"`, `"pann"`,
        `"convnet"`), or None (pool the representation directly).
      pooling: pooling of a 4-D feature map: "max" or "avg" over time and
        frequency (global, the reference's "max"), or "max_time" / "avg_time"
        over time only, keeping frequency (`TimePooling`). Encoders that output
        an embedding (`CNN14`) are not pooled.
      feature_normalization: None (the reference: the representation goes
        straight into the encoder) or "batch": a `BatchNormalization` of each
        frequency channel over batch and time between frontend and encoder
        (as PANNs' `bn0`), so that every frontend reaches the encoder at unit
        scale. Per-channel statistics are pooled over clips, so differences
        between clips (the steady spectrum that pitch needs) are kept.
    """

    def __init__(self, frontend=None, encoder=None, pooling: str = "max", feature_normalization: str | None = None,
                 **kwargs):
        super().__init__(**kwargs)
        if pooling not in _POOLINGS:
            raise ValueError(f"Unknown pooling {pooling!r}; expected one of {', '.join(_POOLINGS)}.")
        if feature_normalization not in FEATURE_NORMALIZATIONS:
            raise ValueError(f"Unknown feature_normalization {feature_normalization!r}; expected one of "
                             f"{FEATURE_NORMALIZATIONS}.")
        self.frontend = _as_frontend(frontend)
        self.encoder = _as_encoder(encoder)
        self.pooling = pooling
        self._pool = _POOLINGS[pooling](name=f"{pooling}_pooling")
        self.feature_normalization = feature_normalization
        self.feature_norm = (keras.layers.BatchNormalization(axis=-1, name="feature_norm")
                             if feature_normalization == "batch" else None)
        self._min_frames, min_channels = encoders_lib.min_input_size(self.encoder)
        channels = getattr(self.frontend, "n_channels", None)
        if channels is not None and channels < min_channels:
            raise ValueError(
                f"{self.encoder.name} needs at least {min_channels} frequency channels, but the frontend "
                f"{self.frontend.name} outputs {channels}: use more filters or another encoder."
            )

    def min_samples(self) -> int:
        """Shortest waveform (in samples) the frontend and encoder accept together."""
        low = getattr(self.frontend, "min_samples", 1)
        if self.frontend is None or self.frontend.num_frames(low) >= self._min_frames:
            return low
        high = low
        while self.frontend.num_frames(high) < self._min_frames:
            high *= 2
        while low < high:  # num_frames is non-decreasing in the number of samples
            middle = (low + high) // 2
            if self.frontend.num_frames(middle) >= self._min_frames:
                high = middle
            else:
                low = middle + 1
        return low

    def _check_frames(self, features, num_samples) -> None:
        frames = features.shape[1]
        if isinstance(frames, int) and frames < self._min_frames:  # unknown or symbolic: no check
            needed = self.min_samples()
            rate = getattr(self.frontend, "sample_rate", None)
            seconds = f" ({needed / rate:.3f} s at {rate:g} Hz)" if rate else ""
            raise ValueError(
                f"{self.encoder.name} downsamples too much for {frames} frames (it needs at least "
                f"{self._min_frames}): inputs must have at least {needed} samples{seconds}, got {num_samples}."
            )

    def embed(self, inputs, training=None):
        """`[batch, samples]` waveforms -> pooled encoder features `[batch, features]`."""
        features = inputs if self.frontend is None else self.frontend(inputs, training=training)
        if self.feature_norm is not None:
            features = self.feature_norm(features, training=training)
        if len(features.shape) == 3:
            features = keras.ops.expand_dims(features, -1)
        self._check_frames(features, inputs.shape[1])
        if self.encoder is not None:
            features = self.encoder(features, training=training)
        if len(features.shape) == 4:
            features = self._pool(features)
        return features

    def export(self, filepath, format="tf_saved_model", verbose=None, input_signature=None, **kwargs):  # noqa: A002
        """Writes a SavedModel whose `serve` signature maps waveforms `[batch, samples]` (any length) to logits.

        On the TensorFlow backend. On JAX, Keras traces the model with a symbolic number of samples, which its
        own global pooling layers cannot handle yet; PyTorch has no SavedModel export. Save a `.keras` file and
        export it from a TensorFlow process (`.keras` files load on every backend).
        """
        if not backend.is_tensorflow() and format == "tf_saved_model":
            raise NotImplementedError(
                f"{type(self).__name__}.export writes a TensorFlow SavedModel for waveforms of any length, which "
                f"needs the TensorFlow backend (this process runs {backend.backend_name()}). Save the model with "
                "model.save('model.keras'), then load and export it with KERAS_BACKEND=tensorflow."
            )
        if input_signature is None and format == "tf_saved_model":
            import tensorflow as tf

            input_signature = [tf.TensorSpec([None, None], tf.float32, name="waveforms")]
        return super().export(filepath, format=format, verbose=verbose, input_signature=input_signature, **kwargs)

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "frontend": serialize(self.frontend),
            "encoder": serialize(self.encoder),
            "pooling": self.pooling,
            "feature_normalization": self.feature_normalization,
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        for key in ("frontend", "encoder"):
            config[key] = deserialize(config.get(key))
        return cls(**config)


@register()
class AudioClassifier(_Classifier):
    """Waveform classifier with one linear head (`num_outputs` logits).

    waveform `[B, T]` -> frontend `[B, frames, C]` -> `[B, frames, C, 1]` ->
    encoder -> global pooling -> `Dense(num_outputs)` (float32, also under a
    mixed-precision policy). `call`'s `training` follows the Keras convention
    (inference unless told otherwise; the reference defaulted to training).

    Args:
      num_outputs: number of classes (or labels, when `multi_label`).
      frontend, encoder, pooling: see `_Classifier`.
      multi_label: independent sigmoid outputs trained with binary
        cross-entropy (AudioSet) instead of one softmax.
    """

    def __init__(self, num_outputs: int, frontend=None, encoder=None, pooling: str = "max",
                 multi_label: bool = False, name: str = "audio_classifier", **kwargs):
        if int(num_outputs) < 1:
            raise ValueError(f"num_outputs must be at least 1, got {num_outputs}.")
        super().__init__(frontend, encoder, pooling, name=name, **kwargs)
        self.num_outputs = int(num_outputs)
        self.multi_label = multi_label
        self.head = keras.layers.Dense(self.num_outputs, name="head", dtype="float32")

    def call(self, inputs, training=None):
        return self.head(self.embed(inputs, training=training))

    def default_loss(self) -> keras.losses.Loss:
        if self.multi_label:
            return keras.losses.BinaryCrossentropy(from_logits=True)
        return keras.losses.SparseCategoricalCrossentropy(from_logits=True)

    def default_metrics(self) -> list:
        if self.multi_label:
            return [keras.metrics.AUC(multi_label=True, from_logits=True, name="auc")]
        return [keras.metrics.SparseCategoricalAccuracy(name="accuracy")]

    def probabilities(self, logits):
        """Sigmoid (multi-label) or softmax (single-label) of the logits."""
        return keras.ops.sigmoid(logits) if self.multi_label else keras.ops.softmax(logits)

    def get_config(self) -> dict:
        return {**super().get_config(), "num_outputs": self.num_outputs, "multi_label": self.multi_label}


@register()
class MultiTaskClassifier(_Classifier):
    """One shared frontend and encoder, one linear head per task (the paper's Table 3).

    Outputs `{task: logits [B, num_classes]}`. A batch mixes examples of all
    tasks: each example belongs to one task, and its labels for every other
    task are `IGNORED_LABEL` (-1). `default_loss()` gives each task a sparse
    cross-entropy that ignores -1, i.e. the mean over that task's examples in
    the batch (0 when the batch has none); Keras sums the tasks' losses, so the
    total is the sum of the per-task losses. `default_metrics()` likewise
    measures each task's accuracy on its own examples only.

    Args:
      tasks: `{task_name: num_classes}`; heads are created in this order.
      frontend, encoder, pooling: see `_Classifier`.
    """

    def __init__(self, tasks: dict, frontend=None, encoder=None, pooling: str = "max",
                 name: str = "multitask_classifier", **kwargs):
        if not tasks:
            raise ValueError("MultiTaskClassifier needs at least one task: tasks={name: num_classes}.")
        for task, classes in tasks.items():
            if int(classes) < 1:
                raise ValueError(f"Task {task!r} needs at least 1 class, got {classes}.")
        super().__init__(frontend, encoder, pooling, name=name, **kwargs)
        self.tasks = {str(task): int(classes) for task, classes in tasks.items()}
        self.heads = {task: keras.layers.Dense(n, name=f"head_{task}", dtype="float32") for task, n in self.tasks.items()}

    def call(self, inputs, training=None):
        embedding = self.embed(inputs, training=training)
        return {task: head(embedding) for task, head in self.heads.items()}

    def default_loss(self) -> dict:
        return {
            task: keras.losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=IGNORED_LABEL)
            for task in self.tasks
        }

    def default_metrics(self) -> dict:
        return {task: [MaskedSparseCategoricalAccuracy(name="accuracy")] for task in self.tasks}

    def probabilities(self, logits: dict) -> dict:
        return {task: keras.ops.softmax(value) for task, value in logits.items()}

    def get_config(self) -> dict:
        return {**super().get_config(), "tasks": self.tasks}


def _count(layers) -> int:
    return int(sum(np.prod(weight.shape) for layer in layers if layer is not None for weight in layer.trainable_weights))


def describe(model: _Classifier) -> dict[str, int]:
    """Trainable parameters of a classifier's frontend, encoder and head(s), and their total.

    The model must be built (called once).
    """
    heads = list(model.heads.values()) if isinstance(model, MultiTaskClassifier) else [model.head]
    # The feature normalisation (if any) is the encoder's input layer.
    counts = {"frontend": _count([model.frontend]), "encoder": _count([model.encoder, model.feature_norm]),
              "heads": _count(heads)}
    counts["total"] = sum(counts.values())
    return counts
