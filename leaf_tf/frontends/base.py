"""What every frontend shares: input checks, float32 computation, output shapes."""

from __future__ import annotations

import inspect

import keras
import numpy as np

from leaf_tf import backend


def resolve_class(cls_or_name, kind: str) -> type:
    """A layer class from itself or its registered name (`"leaf_tf>GaborConv1D"`, `"Conv1D"`)."""
    if inspect.isclass(cls_or_name):
        return cls_or_name
    found = keras.saving.get_registered_object(cls_or_name)
    if found is None and isinstance(cls_or_name, str):
        found = getattr(keras.layers, cls_or_name.split(">")[-1], None)
    if not inspect.isclass(found):
        raise ValueError(f"Unknown {kind} class {cls_or_name!r}: pass a Keras layer class or its registered name.")
    return found


def class_name(cls: type) -> str:
    """The registered name `resolve_class` maps back to `cls`."""
    return keras.saving.get_registered_name(cls)


def accepts_argument(cls: type, name: str) -> bool:
    """Whether `cls.__init__` names the argument `name` explicitly."""
    return name in inspect.signature(cls.__init__).parameters


def serialize(obj):
    return None if obj is None else keras.saving.serialize_keras_object(obj)


def deserialize(config):
    """The object a `serialize` config describes; anything else (None, a name) is returned as is."""
    return keras.saving.deserialize_keras_object(config) if isinstance(config, dict) else config


def build_stage(stage, input_shape) -> tuple:
    """Builds `stage` (if it is an unbuilt layer) and returns its output shape.

    Plain callables (e.g. `log_compression`) are assumed to preserve the shape.
    """
    if not isinstance(stage, keras.layers.Layer):
        return tuple(input_shape)
    if not stage.built:
        stage.build(input_shape)
    try:
        return tuple(stage.compute_output_shape(input_shape))
    except NotImplementedError:  # infer it by tracing the layer symbolically
        return tuple(stage.compute_output_spec(keras.KerasTensor(input_shape)).shape)


class Frontend(keras.layers.Layer):
    """Base class: a layer mapping waveforms to a `[batch, frames, channels]` representation.

    Subclasses implement `compute_features(waveforms [B, T, 1], training)`,
    `num_frames(num_samples)` and set `self.n_channels`; this class validates the
    input (rank, channels, dtype, length, optionally NaN/inf) and computes in
    float32 whatever the global mixed-precision policy, so a frontend's output is
    always float32 (cast it once at the encoder).

    Args:
      sample_rate: expected sample rate of the input, in Hz.
      check_numerics: raise on NaN or inf samples (off by default: it costs a
        pass over the input).
    """

    def __init__(self, sample_rate: float = 16000, check_numerics: bool = False, **kwargs):
        kwargs.setdefault("dtype", "float32")
        super().__init__(**kwargs)
        if self.compute_dtype != "float32":
            raise ValueError(
                f"{type(self).__name__} computes in float32 (complex filters and STFTs have no float16 kernels); "
                f"got dtype={self.compute_dtype}. Leave the frontend's dtype alone and cast its output instead."
            )
        if sample_rate <= 0:
            raise ValueError(f"sample_rate must be positive, got {sample_rate}.")
        self.sample_rate = sample_rate
        self.check_numerics = check_numerics
        self.n_channels: int | None = None

    # ------------------------------------------------------------ subclass API

    @property
    def min_samples(self) -> int:
        """The shortest input (in samples) that yields at least one frame."""
        return 1

    def num_frames(self, num_samples: int) -> int:
        """Number of output frames for an input of `num_samples` samples."""
        raise NotImplementedError

    def compute_features(self, waveforms, training=None):
        raise NotImplementedError

    def stages(self) -> list:
        """The sub-layers (or callables) applied in order to `[B, T, 1]` waveforms."""
        return []

    def parameter_groups(self) -> dict[str, list]:
        """The trainable variables by role, for per-group learning rates and drift reports.

        Groups (empty ones left out): `"filters"` (pre-emphasis and
        filterbank), `"pooling"`, `"compression"` (e.g. PCEN) and `"other"`
        (whatever no named stage owns, e.g. Wavegram's convolutions or
        SincNet's layer norm). Built frontends only.
        """
        owners = {
            "filters": [getattr(self, "preemphasis", None), getattr(self, "filterbank", None)],
            "pooling": [getattr(self, "pooling", None)],
            "compression": [getattr(self, "compression", None)],
        }
        groups, claimed = {}, set()
        for group, stages in owners.items():
            variables = [v for stage in stages if isinstance(stage, keras.layers.Layer) for v in stage.trainable_variables]
            variables = [v for v in variables if id(v) not in claimed]
            claimed.update(id(v) for v in variables)
            if variables:
                groups[group] = variables
        other = [v for v in self.trainable_variables if id(v) not in claimed]
        if other:
            groups["other"] = other
        return groups

    # ------------------------------------------------------------ Keras API

    def build(self, input_shape):
        # Builds every stage from shapes alone, so that `.keras` loading (which
        # calls `build` before restoring weights) finds every weight in place.
        self._check_shape(tuple(input_shape))
        shape = (input_shape[0], input_shape[1], 1)
        for stage in self.stages():
            shape = build_stage(stage, shape)

    def call(self, inputs, training=None):
        return self.compute_features(self._prepare_waveforms(inputs), training=training)

    def compute_output_shape(self, input_shape):
        length = input_shape[1]
        frames = None if length is None else self.num_frames(length)
        return (input_shape[0], frames, self.n_channels)

    def get_config(self) -> dict:
        return {**super().get_config(), "sample_rate": self.sample_rate, "check_numerics": self.check_numerics}

    # ------------------------------------------------------------ checks

    def _prepare_waveforms(self, inputs):
        """Validates `[B, T]` / `[B, T, 1]` float waveforms and returns them as `[B, T, 1]` float32."""
        shape = tuple(inputs.shape)
        self._check_shape(shape)
        dtype = keras.backend.standardize_dtype(inputs.dtype)
        if "float" not in dtype:
            hint = " (e.g. keras.ops.cast(x, 'float32') / 32768.0 for int16 PCM)" if "int" in dtype else ""
            raise ValueError(f"{type(self).__name__} expects float waveforms in [-1, 1], got dtype {dtype}{hint}.")
        waveforms = keras.ops.cast(inputs, "float32")
        if len(shape) == 2:
            waveforms = keras.ops.expand_dims(waveforms, 2)
        if self.check_numerics:
            waveforms = self._check_finite(waveforms)
        return waveforms

    def _check_shape(self, shape: tuple) -> None:
        """Rank 2 or 3, one channel, enough samples for one frame (when the length is static)."""
        name = type(self).__name__
        shape = tuple(shape)
        if len(shape) not in (2, 3):
            raise ValueError(
                f"{name} expects waveforms of shape [batch, samples] or [batch, samples, 1]; got rank "
                f"{len(shape)} with shape {shape}. Add a batch axis with keras.ops.expand_dims(x, 0) for one clip."
            )
        if len(shape) == 3 and shape[-1] != 1:
            raise ValueError(
                f"{name} expects mono audio [batch, samples, 1]; got shape {shape} with {shape[-1]} channels. "
                "Mix down first, e.g. keras.ops.mean(x, axis=-1)."
            )
        length = shape[1]
        if isinstance(length, int) and length < self.min_samples:
            raise ValueError(
                f"{name} needs at least {self.min_samples} samples per example to produce one frame; "
                f"got {length} (shape {shape})."
            )

    def _check_finite(self, waveforms):
        message = f"{type(self).__name__} received NaN or inf audio samples"
        if backend.is_tensorflow():
            import tensorflow as tf

            if not tf.executing_eagerly():
                return tf.debugging.check_numerics(waveforms, message)
        try:
            values = keras.ops.convert_to_numpy(waveforms)
        except Exception:  # a traced value (jax.jit, torch.compile): no check possible there
            return waveforms
        finite = np.isfinite(values)
        if not finite.all():
            raise ValueError(f"{message} ({int((~finite).sum())} of {finite.size} samples).")
        return waveforms

    def _own(self, layer):
        """Puts a sub-layer created elsewhere (gin, a user) under this frontend's float32 policy."""
        if isinstance(layer, keras.layers.Layer):
            for sublayer in layer._flatten_layers(include_self=True):
                if sublayer.compute_dtype != self.compute_dtype:
                    sublayer.dtype_policy = self.dtype_policy
        return layer
