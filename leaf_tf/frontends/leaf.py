"""LEAF and the frontends built from its stages: TD-filterbanks, SincNet, SincNet+."""

from __future__ import annotations

import keras

from leaf_tf import backend, dsp, ops
from leaf_tf.frontends.base import Frontend, accepts_argument, class_name, deserialize, resolve_class, serialize
from leaf_tf.initializers import GaborInit, LowpassInit, SincInit
from leaf_tf.layers.activations import SquaredModulus
from leaf_tf.layers.compression import LogCompression, PCENLayer
from leaf_tf.layers.compression import learnable_pcen as _learnable_pcen
from leaf_tf.layers.filterbank import ParametricConv1D
from leaf_tf.layers.gabor import GaborConv1D
from leaf_tf.layers.normalization import InstanceNormalization
from leaf_tf.layers.pooling import GaussianLowpass, LearnablePooling1D, MaxPooling1D
from leaf_tf.layers.preemphasis import PreEmphasis
from leaf_tf.layers.sinc import SincConv1D
from leaf_tf.layers.spec_augment import SpecAugment
from leaf_tf.registry import register

# Backends on which `implementation="auto"` takes the fused pass (elsewhere it calls the stages in turn):
# TensorFlow's XLA pass, and `ops.portable_fused_filterbank_pooling` (jnp.fft / torch.fft) on JAX and PyTorch.
AUTO_FUSED_BACKENDS = ("tensorflow", "jax", "torch")

# The energy floor applied after pooling, before compression, in every LEAF-family frontend.
POOLING_FLOOR = 1e-5

# How `Leaf` computes its filterbank -> activation -> pooling stages (see `Leaf`).
IMPLEMENTATIONS = ("auto", "fused", "layers", "direct")

_NESTED = ("activation", "compression_fn", "preemp_init", "complex_conv_init", "pooling_init", "regularizer_fn")


def smoother_kwargs(implementation: str) -> dict:
    """Arguments of a PCEN built for a `Leaf` with this implementation: the sequential scan for "direct"."""
    return {"implementation": "scan"} if implementation == "direct" else {}


@register()
class Leaf(Frontend):
    """LEAF: a learnable audio frontend (Zeghidour et al., ICLR 2021).

    waveform `[B, T]` or `[B, T, 1]`
      -> optional pre-emphasis (`PreEmphasis`, `preemp=True`)
      -> filterbank `conv1d_cls` (complex Gabor filters: `[B, T, 2C]`)
      -> `activation` (squared modulus: `[B, T, C]`)
      -> `pooling_cls` (Gaussian lowpass, stride `window_stride`: `[B, ceil(T / s), C]`)
      -> `max(x, 1e-5)`
      -> `compression_fn` (sPCEN by default)
      -> optional instance normalisation (`mean_var_norm=True`)
      -> optional SpecAugment (only with `training=True`)
    output `[B, frames, C]` float32.

    With the defaults, frame `l` of a `T`-sample input is centred on sample
    `l * s + (K - 1) / 2 - pad_left`, with TF "SAME" padding
    `pad_left = ((ceil(T / s) - 1) * s + K - T) // 2` (sample `160 l + 80` for a
    multiple of 160 samples at 16 kHz): the alignment depends on `T mod s`, as
    in the reference implementation.

    Each instance builds its own stages (the reference shares one default PCEN
    between all its `Leaf` objects). The sample rate reaches every stage and
    initializer.

    Implementations (`implementation`), all computing the same values to
    float32 round-off (relative differences ~1e-6):

    * "fused": filterbank -> activation -> pooling as one overlap-save FFT pass
      (TensorFlow: `ops.fused_filterbank_pooling`, XLA-compiled, hand-written
      gradient; JAX and PyTorch: `ops.portable_fused_filterbank_pooling`, the
      backend's complex FFTs and automatic gradient), possible when the number
      of samples is static and the stages are a
      `GaborConv1D`, `SincConv1D` or plain Keras `Conv1D` filterbank (stride 1,
      "same", no bias), a `SquaredModulus` or `LeakyReLU` activation and a
      `GaussianLowpass` or `LearnablePooling1D` pooling (LEAF, TD-filterbanks,
      SincNet+); raises otherwise.
    * "layers": each stage called in turn, each with its own `implementation`
      (the stages `Leaf` creates use their defaults, "auto" unless gin binds
      e.g. `GaborConv1D.implementation`).
    * "direct": each stage in turn with the reference's formulation: the
      filterbank and default sPCEN this `Leaf` creates use `tf.nn.conv1d` and a
      sequential `tf.scan` (stages passed in keep their own setting).
    * "auto" (default): "fused" when possible, else "layers". Measured on a
      2-core CPU (medians of 3 runs, `benchmarks/frontends.py --runs 3`,
      README "Performance"), "fused" is the fastest path: against "direct",
      3.0x forward and 3.2x forward + backward at 8 x 1 s, 10x and 8x at
      1 x 10 s; forward + backward peak memory 74 MiB at 8 x 1 s. With no gradient tape recording (inference) it keeps no filter
      outputs. Not yet measured on a GPU (`benchmarks/frontends.py --device
      gpu`); XLA compiles the same pass there.

    Args:
      learn_pooling: train the pooling weights.
      learn_filters: train the pre-emphasis and filterbank weights.
      conv1d_cls: filterbank layer class, built as
        `conv1d_cls(filters=2 * n_filters, kernel_size=K, strides=1,
        padding="same", use_bias=False, kernel_initializer=..., ...)`.
      activation: layer (or callable) applied to the filterbank output;
        `SquaredModulus()` when None.
      pooling_cls: pooling layer class, built as
        `pooling_cls(kernel_size=K, strides=s, kernel_initializer=..., ...)`.
      n_filters: number of filters `C` (output channels).
      sample_rate: input sample rate in Hz.
      window_len: filter / pooling window length in ms
        (`K = int(sample_rate * window_len // 1000 + 1)`).
      window_stride: hop in ms (`s = int(sample_rate * window_stride // 1000)`).
      compression_fn: layer or callable compressing the pooled energies; LEAF's
        learnable per-channel sPCEN (`layers.compression.learnable_pcen()`) when None.
      preemp: apply a learnable pre-emphasis first.
      preemp_init: initializer of the pre-emphasis (`PreempInit()` when None).
      complex_conv_init: initializer of the filterbank; when None,
        `GaborInit(sample_rate, 60 Hz, min(7800 Hz, sample_rate / 2))`.
      pooling_init: initializer of the pooling; `Constant(0.4)` when None.
      regularizer_fn: regularizer attached to the learnt filterbank, pre-emphasis
        and pooling weights.
      mean_var_norm: instance-normalise each channel over time at the end.
      spec_augment: `True` for `SpecAugment()` (gin-configurable), or a
        `SpecAugment` layer.
      check_numerics: raise on NaN/inf input samples.
      implementation: "auto", "fused", "layers" or "direct" (above).
      recompute_in_backward: on the fused path, keep no filter outputs for
        the gradient: the backward pass computes them again, channel group by
        group (`ops.fused_filterbank_pooling`). Training needs less memory
        and takes longer; same values and gradients.
      name: layer name.

    Example:
      >>> leaf = Leaf(n_filters=64, window_len=32.0, sample_rate=24000, preemp=True,
      ...             compression_fn=LogCompression(), learn_pooling=False)
      >>> tuple(leaf(keras.ops.zeros((2, 24000))).shape)
      (2, 100, 64)
    """

    def __init__(
        self,
        learn_pooling: bool = True,
        learn_filters: bool = True,
        conv1d_cls=GaborConv1D,
        activation=None,
        pooling_cls=GaussianLowpass,
        n_filters: int = 40,
        sample_rate: float = 16000,
        window_len: float = 25.0,
        window_stride: float = 10.0,
        compression_fn=None,
        preemp: bool = False,
        preemp_init=None,
        complex_conv_init=None,
        pooling_init=None,
        regularizer_fn=None,
        mean_var_norm: bool = False,
        spec_augment=False,
        check_numerics: bool = False,
        implementation: str = "auto",
        recompute_in_backward: bool = False,
        name: str = "leaf",
        **kwargs,
    ):
        super().__init__(sample_rate=sample_rate, check_numerics=check_numerics, name=name, **kwargs)
        if n_filters < 1:
            raise ValueError(f"n_filters must be >= 1, got {n_filters}.")
        if implementation not in IMPLEMENTATIONS:
            raise ValueError(f"implementation must be one of {IMPLEMENTATIONS}, got {implementation!r}.")
        self.implementation = implementation
        self.recompute_in_backward = bool(recompute_in_backward)
        self.kernel_size = dsp.window_length_samples(sample_rate, window_len)
        self.stride = dsp.window_stride_samples(sample_rate, window_stride)
        if self.stride < 1:
            raise ValueError(
                f"window_stride={window_stride} ms is less than one sample at {sample_rate} Hz; use a longer stride."
            )
        self.learn_pooling = learn_pooling
        self.learn_filters = learn_filters
        self.conv1d_cls = resolve_class(conv1d_cls, "conv1d")
        self.pooling_cls = resolve_class(pooling_cls, "pooling")
        self.n_filters = self.n_channels = n_filters
        self.window_len = window_len
        self.window_stride = window_stride
        self.preemp = preemp
        self.mean_var_norm = mean_var_norm
        policy = self.dtype_policy.name

        self.preemp_init = keras.initializers.get(preemp_init) if preemp_init else None
        self.complex_conv_init = keras.initializers.get(complex_conv_init or self._default_filter_init())
        self.pooling_init = keras.initializers.get(pooling_init or keras.initializers.Constant(0.4))
        self.regularizer_fn = keras.regularizers.get(regularizer_fn)
        filter_regularizer = self.regularizer_fn if learn_filters else None
        pooling_regularizer = self.regularizer_fn if learn_pooling else None

        self._preemp = None
        if preemp:
            self._preemp = PreEmphasis(
                kernel_initializer=self.preemp_init,
                kernel_regularizer=filter_regularizer,
                trainable=learn_filters,
                name="tfbanks_preemp",
                dtype=policy,
            )
        conv_kwargs = dict(
            filters=2 * n_filters,
            kernel_size=self.kernel_size,
            strides=1,
            padding="same",
            use_bias=False,
            kernel_initializer=self.complex_conv_init,
            kernel_regularizer=filter_regularizer,
            trainable=learn_filters,
            name="tfbanks_complex_conv",
            dtype=policy,
        )
        if accepts_argument(self.conv1d_cls, "sample_rate"):
            conv_kwargs["sample_rate"] = sample_rate
        if implementation == "direct" and issubclass(self.conv1d_cls, ParametricConv1D):
            conv_kwargs["implementation"] = "direct"
        self._complex_conv = self.conv1d_cls(**conv_kwargs)
        self._activation = self._own(activation if activation is not None else SquaredModulus(dtype=policy))
        pooling_kwargs = dict(
            kernel_size=self.kernel_size, strides=self.stride, trainable=learn_pooling, name="learnable_pooling"
        )
        if accepts_argument(self.pooling_cls, "kernel_initializer"):
            pooling_kwargs.update(kernel_initializer=self.pooling_init, kernel_regularizer=pooling_regularizer)
        self._pooling = self.pooling_cls(dtype=policy, **pooling_kwargs)
        if compression_fn is None:
            compression_fn = _learnable_pcen(dtype=policy, **smoother_kwargs(implementation))
        self._compression = self._own(compression_fn)
        self._instance_norm = (
            InstanceNormalization(epsilon=1e-6, name="tfbanks_instancenorm", dtype=policy) if mean_var_norm else None
        )
        if spec_augment is True:
            spec_augment = SpecAugment(name="spec_augment", dtype=policy)
        self._spec_augment = self._own(spec_augment) if spec_augment else None

    def _default_filter_init(self):
        return GaborInit(sample_rate=self.sample_rate, min_freq=60.0, max_freq=min(7800.0, self.sample_rate / 2))

    # ------------------------------------------------------------ stages

    @property
    def preemphasis(self):
        return self._preemp

    @property
    def filterbank(self):
        return self._complex_conv

    @property
    def activation(self):
        return self._activation

    @property
    def pooling(self):
        return self._pooling

    @property
    def compression(self):
        return self._compression

    # ------------------------------------------------------------ Frontend API

    @property
    def _valid_pooling(self) -> bool:
        return getattr(self._pooling, "padding", "SAME").upper() == "VALID"

    @property
    def min_samples(self) -> int:
        return self.kernel_size if self._valid_pooling else 1

    def num_frames(self, num_samples: int) -> int:
        if self._valid_pooling:
            return max((num_samples - self.kernel_size) // self.stride + 1, 0)
        return -(-num_samples // self.stride)

    def stages(self) -> list:
        stages = [self._preemp, self._complex_conv, self._activation, self._pooling, self._compression,
                  self._instance_norm, self._spec_augment]
        return [stage for stage in stages if stage is not None]

    def compute_features(self, waveforms, training=None):
        outputs = waveforms
        if self._preemp is not None:
            outputs = self._preemp(outputs)
        if self.uses_fused_path(outputs):
            outputs = self._fused_filterbank_pooling(outputs)
        else:
            outputs = self._complex_conv(outputs)
            outputs = self._activation(outputs)
            outputs = self._pooling(outputs)
        outputs = backend.maximum(outputs, POOLING_FLOOR)
        outputs = self._compression(outputs)
        if self._instance_norm is not None:
            outputs = self._instance_norm(outputs)
        if self._spec_augment is not None:
            outputs = self._spec_augment(outputs, training=training)
        return outputs

    # ------------------------------------------------------------ fused path

    def fused_path_blocker(self) -> str | None:
        """Why the stages cannot run as one fused pass (None when they can, for static lengths)."""
        conv, activation, pooling = self._complex_conv, self._activation, self._pooling
        if isinstance(conv, ParametricConv1D):
            plain = conv.strides == 1 and conv.padding == "SAME" and not conv.use_bias
        elif type(conv) is keras.layers.Conv1D:
            plain = (
                tuple(conv.strides) == (1,)
                and tuple(conv.dilation_rate) == (1,)
                and conv.groups == 1
                and conv.padding == "same"
                and not conv.use_bias
                and conv.activation is keras.activations.linear
            )
        else:
            return f"filterbank {type(conv).__name__} is not a GaborConv1D, SincConv1D or Keras Conv1D"
        if not plain:
            return "the filterbank has a stride, dilation, bias, activation or non-'same' padding"
        if type(activation) is SquaredModulus:
            if conv.filters % 2:
                return "the squared modulus needs an even number of filters"
        elif type(activation) is not keras.layers.LeakyReLU:
            return f"activation {type(activation).__name__} is not SquaredModulus or LeakyReLU"
        if type(pooling) not in (GaussianLowpass, LearnablePooling1D):
            return f"pooling {type(pooling).__name__} is not GaussianLowpass or LearnablePooling1D"
        return None

    def uses_fused_path(self, waveforms) -> bool:
        """Whether `compute_features` runs the fused pass on `[B, T, 1]` waveforms (see `implementation`)."""
        if self.implementation in ("layers", "direct"):
            return False
        blocker = self.fused_path_blocker()
        if blocker is None and self.implementation == "auto" and backend.backend_name() not in AUTO_FUSED_BACKENDS:
            blocker = f"'auto' fuses on the TensorFlow, JAX and PyTorch backends, not {backend.backend_name()}"
        if blocker is None and not isinstance(waveforms.shape[1], int):
            blocker = "the number of samples is not static"
        dtype = keras.backend.standardize_dtype(waveforms.dtype)
        if blocker is None and dtype != "float32":
            blocker = f"the waveforms are {dtype}, not float32"
        if blocker is not None and self.implementation == "fused":
            raise ValueError(f"{type(self).__name__}(implementation='fused') cannot fuse its stages: {blocker}.")
        return blocker is None

    def _fused_weights(self):
        """The fused pass's `[F, K]` taps (for the squared modulus: the real parts, then the imaginary
        parts) and `[K_p, C]` pooling windows, from the stages' weights."""
        conv, pooling = self._complex_conv, self._pooling
        kernel = conv.conv_kernel() if isinstance(conv, ParametricConv1D) else keras.ops.convert_to_tensor(conv.kernel)
        taps = keras.ops.transpose(kernel[:, 0, :])  # [F, K]
        channels = taps.shape[0]
        if isinstance(self._activation, SquaredModulus):
            taps = keras.ops.concatenate([taps[0::2], taps[1::2]], axis=0)
            channels //= 2
        if isinstance(pooling, GaussianLowpass):
            return taps, pooling.windows()[0, :, :, 0]
        # One window shared by all channels.
        return taps, keras.ops.tile(keras.ops.convert_to_tensor(pooling.kernel)[0, :, :, 0], [1, channels])

    def _fused_filterbank_pooling(self, waveforms):
        """Filterbank -> activation -> pooling by `ops.fused_filterbank_pooling` (same values as the stages)."""
        activation, pooling = self._activation, self._pooling
        if backend.is_tensorflow():  # XLA-compiled with a hand-written gradient
            import tensorflow as tf

            if tf.executing_eagerly():
                taps, windows = self._fused_weights()
            else:
                # In a traced graph, the weights as one XLA computation too: their few dozen small
                # operations cost more to dispatch one by one than to compute. A function of this
                # trace only (one made once and called from several graphs broke SavedModel export).
                taps, windows = tf.function(self._fused_weights, jit_compile=True, autograph=False)()
            fused = ops.fused_filterbank_pooling
        else:  # JAX and PyTorch: keras.ops and autodiff
            taps, windows = self._fused_weights()
            fused = ops.portable_fused_filterbank_pooling
        if isinstance(activation, SquaredModulus):
            fused_activation, slope = "squared_modulus", 0.0
        else:
            fused_activation, slope = "leaky_relu", float(activation.negative_slope)
        return fused(
            waveforms[:, :, 0],
            taps,
            windows,
            stride=pooling.strides,
            pool_padding=pooling.padding,
            activation=fused_activation,
            negative_slope=slope,
            recompute_in_backward=self.recompute_in_backward,
        )

    # ------------------------------------------------------------ serialization

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "learn_pooling": self.learn_pooling,
            "learn_filters": self.learn_filters,
            "conv1d_cls": class_name(self.conv1d_cls),
            "activation": serialize(self._activation),
            "pooling_cls": class_name(self.pooling_cls),
            "n_filters": self.n_filters,
            "window_len": self.window_len,
            "window_stride": self.window_stride,
            "compression_fn": serialize(self._compression),
            "preemp": self.preemp,
            "preemp_init": serialize(self.preemp_init),
            "complex_conv_init": serialize(self.complex_conv_init),
            "pooling_init": serialize(self.pooling_init),
            "regularizer_fn": serialize(self.regularizer_fn),
            "mean_var_norm": self.mean_var_norm,
            "spec_augment": serialize(self._spec_augment) if self._spec_augment is not None else False,
            "implementation": self.implementation,
            "recompute_in_backward": self.recompute_in_backward,
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        for key in (*_NESTED, "spec_augment"):
            if isinstance(config.get(key), dict):
                config[key] = deserialize(config[key])
        return cls(**config)


@register()
class TimeDomainFilterbanks(Leaf):
    """Time-domain filterbanks (Zeghidour et al., 2018) as built by the LEAF reference.

    A plain real `Conv1D` with `2C` filters of `K` taps initialised as
    mel-matched Gabor filters (`GaborInit`'s rank-3 path) -> squared modulus of
    (real, imag) pairs -> `LearnablePooling1D` (one squared-Hann `K`-tap lowpass
    shared by all channels, **valid** padding: `(T - K) // s + 1` frames, frame
    `l` centred on sample `l * s + K // 2`) -> `max(x, 1e-5)` -> `ln(x + 1e-5)`.
    `2 C K + K` trainable weights (51,729 for `C = 64`).

    Args:
      sample_rate: sample rate in Hz (reaches every stage and initializer).
      name: layer name.
      **kwargs: any other `Leaf` argument (e.g. `n_filters`, `window_len`);
        the stages above are defaults that can be overridden.
    """

    def __init__(self, sample_rate: float = 16000, name: str = "tfbanks", **kwargs):
        window_len = kwargs.get("window_len", 25.0)
        defaults = dict(
            conv1d_cls=keras.layers.Conv1D,
            pooling_cls=LearnablePooling1D,
            complex_conv_init=GaborInit(
                sample_rate=sample_rate, min_freq=60.0, max_freq=min(7800.0, sample_rate / 2)
            ),
            pooling_init=LowpassInit(
                sample_rate=sample_rate, window_len=window_len, window_type=dsp.WindowType.SQUARED_HANNING
            ),
            compression_fn=LogCompression(log_offset=1e-5),
        )
        super().__init__(sample_rate=sample_rate, name=name, **{**defaults, **kwargs})


@register()
class SincNet(Leaf):
    """SincNet (Ravanelli & Bengio, 2018) as a LEAF-family frontend.

    `SincConv1D` band-pass filters (one real output each, mel-spaced
    initialisation) -> `LeakyReLU(0.2)` -> max pooling (window `K`, stride `s`,
    "same") -> `max(x, 1e-5)` -> `LayerNormalization` over channels (epsilon
    1e-3). `4C` trainable weights (256 for `C = 64`).

    Args:
      name: layer name.
      **kwargs: any other `Leaf` argument; the stages above are defaults.
    """

    def __init__(self, name: str = "sincnet", **kwargs):
        sample_rate = kwargs.get("sample_rate", 16000)
        defaults = dict(
            conv1d_cls=SincConv1D,
            complex_conv_init=SincInit(sample_rate=sample_rate),
            activation=keras.layers.LeakyReLU(negative_slope=0.2, name="leaky_relu"),
            pooling_cls=MaxPooling1D,
            compression_fn=keras.layers.LayerNormalization(epsilon=1e-3, name="layer_norm"),
        )
        super().__init__(name=name, **{**defaults, **kwargs})


@register()
class SincNetPlus(Leaf):
    """SincNet+: SincNet filters with LEAF's Gaussian pooling and PCEN compression.

    `SincConv1D` -> `LeakyReLU(0.2)` -> `GaussianLowpass` (init 0.4, learnt) ->
    `max(x, 1e-5)` -> PCEN. As in the paper (Table 4: 448 parameters at
    `C = 64`), the PCEN is LEAF's learnable per-channel sPCEN by default; the
    reference code's fixed PCEN (class defaults, floor 1e-6, not trained) is
    `learnable_pcen=False`.

    Args:
      learnable_pcen: LEAF's sPCEN (True) or the reference code's fixed PCEN.
      name: layer name.
      **kwargs: any other `Leaf` argument; the stages above are defaults.
    """

    def __init__(self, learnable_pcen: bool = True, name: str = "sincnet_plus", **kwargs):
        sample_rate = kwargs.get("sample_rate", 16000)
        defaults = dict(
            conv1d_cls=SincConv1D,
            complex_conv_init=SincInit(sample_rate=sample_rate),
            activation=keras.layers.LeakyReLU(negative_slope=0.2, name="leaky_relu"),
            pooling_cls=GaussianLowpass,
            pooling_init=keras.initializers.Constant(0.4),
            compression_fn=(_learnable_pcen if learnable_pcen else PCENLayer)(
                **smoother_kwargs(kwargs.get("implementation", "auto"))
            ),
        )
        super().__init__(name=name, **{**defaults, **kwargs})
        self.learnable_pcen = learnable_pcen

    def get_config(self) -> dict:
        return {**super().get_config(), "learnable_pcen": self.learnable_pcen}
