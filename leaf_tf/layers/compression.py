"""Compression stages: logarithm and (s)PCEN with its exponential moving average."""

from __future__ import annotations

import functools

import keras

from leaf_tf import backend, ops
from leaf_tf.registry import register

EMA_IMPLEMENTATIONS = ("auto", "scan", "parallel")


@register()
def log_compression(inputs, log_offset: float = 1e-5):
    """`ln(inputs + log_offset)`: the log compression of log-mel filterbanks."""
    return keras.ops.log(inputs + log_offset)


@register()
class LogCompression(keras.layers.Layer):
    """Layer form of `log_compression`: `ln(x + log_offset)`, shape preserved.

    Args:
      log_offset: added before the logarithm (1e-5).
    """

    def __init__(self, log_offset: float = 1e-5, **kwargs):
        super().__init__(**kwargs)
        self.log_offset = log_offset

    def call(self, inputs):
        return keras.ops.log(inputs + self.log_offset)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self) -> dict:
        return {**super().get_config(), "log_offset": self.log_offset}


@register()
class ExponentialMovingAverage(keras.layers.Layer):
    """Per-channel exponential moving average over the time axis.

    `M[t] = s x[t] + (1 - s) M[t-1]`, with `M[-1] = initial_state` (the first
    frame by default, so `M[0] = x[0]`). The weight `smooth` (`[C]` when
    `per_channel`, else `[1]`) is clipped to `[0, 1]` in `call`.

    Two formulations of the same recurrence:

    * "scan": the reference's sequential `tf.scan` over frames (`keras.ops.scan`
      on other backends);
    * "parallel": `ops.exponential_moving_average`, the closed form
      `M[t] = (1 - s)^(t+1) M[-1] + sum_{k <= t} s (1 - s)^(t-k) x[k]`
      evaluated as lower-triangular Toeplitz matrices of powers of `1 - s`
      within chunks of 16 frames plus the same recurrence across chunks (all
      matrix products; powers `exp(k log1p(-s))`, accurate for long memories,
      exact at `s = 0` and `s = 1`, finite gradients everywhere). All terms are
      non-negative for `x >= 0`: no cancellation, as accurate as the scan.

    "auto" (default) is "parallel": measured on a 2-core CPU, forward +
    backward, it is 2x (100 frames) to 20x (1000 frames) faster than the scan.

    Input `[batch, time, C]`; output the same shape.

    Args:
      coeff_init: initial smoothing coefficient `s`.
      per_channel: one coefficient per channel instead of one in all.
      trainable: learn the coefficient.
      implementation: "auto", "scan" or "parallel".
    """

    def __init__(
        self,
        coeff_init: float = 0.04,
        per_channel: bool = False,
        trainable: bool = False,
        implementation: str = "auto",
        **kwargs,
    ):
        kwargs.setdefault("name", "EMA")
        super().__init__(trainable=trainable, **kwargs)
        if implementation not in EMA_IMPLEMENTATIONS:
            raise ValueError(f"implementation must be one of {EMA_IMPLEMENTATIONS}, got {implementation!r}.")
        self.coeff_init = coeff_init
        self.per_channel = per_channel
        self.implementation = implementation
        # A fixed coefficient stays fixed when an enclosing model is frozen and unfrozen again.
        self.learn_coeff = trainable
        self.input_spec = keras.layers.InputSpec(ndim=3)

    def build(self, input_shape):
        self.smooth = self.add_weight(
            name="smooth",
            shape=(input_shape[-1],) if self.per_channel else (1,),
            initializer=keras.initializers.Constant(self.coeff_init),
            trainable=self.learn_coeff,
        )

    def call(self, inputs, initial_state=None):
        if initial_state is None:
            initial_state = inputs[:, 0]
        return moving_average(inputs, self.coefficient(), initial_state, self.formulation(inputs))

    def coefficient(self):
        """The smoothing coefficient `s` as used: the weight clipped to `[0, 1]`."""
        return backend.clip(keras.ops.convert_to_tensor(self.smooth), 0.0, 1.0)

    @property
    def resolved_implementation(self) -> str:
        """The formulation `call` uses: "scan", or "parallel" (also for "auto")."""
        return "scan" if self.implementation == "scan" else "parallel"

    def formulation(self, inputs) -> str:
        """The formulation used on `inputs`: `resolved_implementation`, except that a symbolic number of
        frames (a shape-polymorphic JAX export) has no chunking, so the scan runs."""
        symbolic = not backend.is_tensorflow() and not isinstance(inputs.shape[1], int)
        return "scan" if symbolic else self.resolved_implementation

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "coeff_init": self.coeff_init,
            "per_channel": self.per_channel,
            "implementation": self.implementation,
        }


def moving_average(inputs, coeff, initial_state, formulation: str):
    """`ExponentialMovingAverage`'s recurrence with coefficient `coeff` by `formulation` ("scan" or "parallel")."""
    if formulation == "scan":
        return ops.ema_scan(inputs, coeff, initial_state)
    return ops.exponential_moving_average(inputs, coeff, initial_state)


def pcen(inputs, coeff, alpha, delta, one_over_root, floor: float, formulation: str = "parallel"):
    """PCEN of `[B, T, C]` non-negative `inputs` with its parameters as tensors (see `PCENLayer`).

    `coeff`, `alpha`, `one_over_root` already constrained (`[0, 1]`, `<= 1`,
    `1 / max(root, 1)`), `delta` already floored at zero.
    """
    smoother = moving_average(inputs, coeff, inputs[:, 0], formulation)
    gain_normalised = inputs / (floor + smoother) ** alpha
    return _pow_of_nonnegative(gain_normalised + delta, one_over_root) - _pow_of_nonnegative(delta, one_over_root)


@functools.cache
def _compiled_pcen(floor: float):
    """`pcen` with the "parallel" smoother as one XLA computation (TensorFlow), forward and gradient;
    `PCENLayer` uses it when the number of frames is static.

    Its few dozen small operations (on `[B, frames, C]`, a few thousand
    values each) cost more to dispatch one by one than to compute, forward
    and backward; `benchmarks/frontends.py` measures whole frontends.
    """
    import tensorflow as tf

    def compute(inputs, coeff, alpha, delta, one_over_root):
        return pcen(inputs, coeff, alpha, delta, one_over_root, floor, "parallel")

    return tf.function(compute, jit_compile=True, autograph=False)


def _pow_of_nonnegative(base, exponent):
    """`base ** exponent` for `base >= 0`, with a zero (not infinite) gradient at `base = 0`."""
    positive = base > 0
    safe_base = keras.ops.where(positive, base, keras.ops.ones_like(base))
    return keras.ops.where(positive, keras.ops.power(safe_base, exponent), keras.ops.zeros_like(base))



@register()
class PCENLayer(keras.layers.Layer):
    """Per-channel energy normalisation (PCEN; sPCEN when its weights are learnt).

        M = EMA_s(x)                       (initial state: first frame)
        y = (x / (floor + M)^alpha' + delta)^(1/r') - delta^(1/r')

    with `alpha' = min(alpha, 1)`, `r' = max(root, 1)`, all per channel. Weights
    `alpha`, `delta`, `root` (`[C]`, trainable when `trainable=True`) and the
    smoother's `smooth`. With `learn_smooth_coef` the smoother is a trainable
    `ExponentialMovingAverage` (per channel if `per_channel_smooth_coef`);
    otherwise it is the same recurrence with the fixed scalar `smooth_coef`.

    `delta` is unconstrained, as in the reference. Where the reference would
    return NaN (`delta < 0`) this layer evaluates the formula at `delta = 0`
    (straight-through, so gradients still reach `delta`), and powers of zero get
    a zero gradient instead of an infinite one: outputs and gradients stay
    finite. Everywhere else the result is the reference's.

    Input `[batch, time, C]`, non-negative; output the same shape.

    Args:
      alpha: initial gain-normalisation exponent.
      smooth_coef: initial EMA coefficient `s`.
      delta: initial bias added before the root compression.
      root: initial root `r` (output ~ `x^(1/r)`).
      floor: added to the smoother to avoid division by zero (1e-6 here, 1e-12
        in LEAF).
      trainable: learn `alpha`, `delta` and `root`.
      learn_smooth_coef: learn the EMA coefficient.
      per_channel_smooth_coef: one learnt coefficient per channel.
      implementation: the smoother's formulation, "auto", "scan" or "parallel"
        (see `ExponentialMovingAverage`).
    """

    def __init__(
        self,
        alpha: float = 0.96,
        smooth_coef: float = 0.04,
        delta: float = 2.0,
        root: float = 2.0,
        floor: float = 1e-6,
        trainable: bool = False,
        learn_smooth_coef: bool = False,
        per_channel_smooth_coef: bool = False,
        implementation: str = "auto",
        **kwargs,
    ):
        kwargs.setdefault("name", "PCEN")
        # The layer itself stays trainable so that a learnt smoother can train
        # while alpha/delta/root are frozen (`trainable=False`, SincNet+ style).
        super().__init__(**kwargs)
        self.alpha_init = alpha
        self.smooth_coef = smooth_coef
        self.delta_init = delta
        self.root_init = root
        self.floor = floor
        self.learn_params = trainable
        self.learn_smooth_coef = learn_smooth_coef
        self.per_channel_smooth_coef = per_channel_smooth_coef
        self.implementation = implementation
        self.ema = ExponentialMovingAverage(
            coeff_init=smooth_coef,
            per_channel=per_channel_smooth_coef and learn_smooth_coef,
            trainable=learn_smooth_coef,
            implementation=implementation,
            dtype=self.dtype_policy.name,
        )
        self.input_spec = keras.layers.InputSpec(ndim=3)

    def build(self, input_shape):
        channels = input_shape[-1]

        def weight(name, value):
            return self.add_weight(
                name=name,
                shape=(channels,),
                initializer=keras.initializers.Constant(value),
                trainable=self.learn_params,
            )

        self.alpha = weight("alpha", self.alpha_init)
        self.delta = weight("delta", self.delta_init)
        self.root = weight("root", self.root_init)
        self.ema.build(input_shape)

    def call(self, inputs):
        alpha = backend.minimum(keras.ops.convert_to_tensor(self.alpha), 1.0)
        one_over_root = 1.0 / backend.maximum(keras.ops.convert_to_tensor(self.root), 1.0)
        delta = keras.ops.convert_to_tensor(self.delta)
        delta = delta + keras.ops.stop_gradient(keras.ops.relu(delta) - delta)
        formulation = self.ema.formulation(inputs)
        arguments = (inputs, self.ema.coefficient(), alpha, delta, one_over_root)
        # Compiled only for a static number of frames: XLA compiles once per shape, which a
        # graph traced for any length (e.g. inference on files of many lengths) would pay per file.
        if formulation == "parallel" and backend.is_tensorflow() and isinstance(inputs.shape[1], int):
            return _compiled_pcen(float(self.floor))(*arguments)
        return pcen(*arguments, floor=self.floor, formulation=formulation)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "alpha": self.alpha_init,
            "smooth_coef": self.smooth_coef,
            "delta": self.delta_init,
            "root": self.root_init,
            "floor": self.floor,
            "trainable": self.learn_params,
            "learn_smooth_coef": self.learn_smooth_coef,
            "per_channel_smooth_coef": self.per_channel_smooth_coef,
            "implementation": self.implementation,
        }


def learnable_pcen(name: str = "PCEN", **kwargs) -> PCENLayer:
    """LEAF's sPCEN: every parameter learnt per channel, floor 1e-12 (the paper's setting)."""
    settings = dict(
        alpha=0.96,
        smooth_coef=0.04,
        delta=2.0,
        root=2.0,
        floor=1e-12,
        trainable=True,
        learn_smooth_coef=True,
        per_channel_smooth_coef=True,
    )
    return PCENLayer(name=name, **{**settings, **kwargs})
