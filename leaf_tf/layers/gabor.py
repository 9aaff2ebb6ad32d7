"""Complex Gabor filterbank: LEAF's first stage."""

from __future__ import annotations

import math

import keras

from leaf_tf import backend, dsp
from leaf_tf.initializers import GaborInit
from leaf_tf.layers.filterbank import ParametricConv1D
from leaf_tf.registry import register


@register()
class GaborConstraint(keras.constraints.Constraint):
    """Projects a `[C, 2]` Gabor kernel onto its valid range.

    `eta <- clip(eta, 0, pi)` (rad/sample) and
    `sigma <- clip(sigma, 4 sqrt(2 ln 2) / pi, K sqrt(2 ln 2) / pi)` (samples;
    `[1.4991, 150.287]` for `K = 401`). Gradients pass only inside the range
    (bounds included), as with `tf.clip_by_value`.

    Args:
      kernel_size: the filter length `K` in samples.
    """

    def __init__(self, kernel_size: int):
        self.kernel_size = kernel_size

    def __call__(self, kernel):
        sigma_lo, sigma_hi = dsp.gabor_sigma_bounds(self.kernel_size)
        eta = backend.clip(kernel[:, 0], 0.0, math.pi)
        sigma = backend.clip(kernel[:, 1], sigma_lo, sigma_hi)
        return keras.ops.stack([eta, sigma], axis=1)

    def get_config(self) -> dict:
        return {"kernel_size": self.kernel_size}


@register()
class GaborConv1D(ParametricConv1D):
    """Convolution with complex Gabor filters, real and imaginary parts interleaved.

    Each of the `C = filters // 2` filters has two parameters, stored in one
    `kernel` of shape `[C, 2]`: the centre frequency `eta_n` in radians per
    sample and the std `sigma_n` (in samples) of the Gaussian time envelope:

        phi_n(t) = exp(i eta_n t) exp(-t^2 / (2 sigma_n^2)) / (sqrt(2 pi) sigma_n),
        t = -(K // 2) .. ceil(K / 2) - 1.

    The kernel is clipped by `GaborConstraint` in `call` (and, being the
    variable's constraint, by every Keras optimizer after each step). Output
    channel `2n` is the cross-correlation of the input with `Re phi_n`, channel
    `2n + 1` with `Im phi_n`, stride `strides`, TF "SAME" padding.

    Input shape: `[batch, samples, 1]`. Output shape: `[batch, out, filters]`,
    `out = ceil(samples / strides)` for "same" padding.

    Args:
      filters: number of real output channels, `2 * n_filters`.
      kernel_size: filter length `K` in samples (401 for 25 ms at 16 kHz).
      strides: convolution stride (LEAF uses 1).
      padding: "same" or "valid".
      use_bias: add a learnable bias `[filters]`.
      kernel_initializer: initializer of the `[C, 2]` kernel (`GaborInit()`,
        mel-matched at 16 kHz, when None).
      kernel_regularizer: regularizer of the `[C, 2]` parameter matrix.
      sort_filters: reorder the filters by clipped centre frequency before use.
      implementation: how the correlation is computed, "auto" (default),
        "direct", "chunked" or "fft" (see `ParametricConv1D`); all give the
        same values to float32 round-off.

    Example:
      >>> conv = GaborConv1D(filters=80, kernel_size=401)
      >>> tuple(conv(keras.ops.zeros((2, 16000, 1))).shape)
      (2, 16000, 80)
    """

    def __init__(self, filters: int, kernel_size: int, sort_filters: bool = False, **kwargs):
        super().__init__(filters, kernel_size, **kwargs)
        self.sort_filters = sort_filters

    @property
    def out_channels(self) -> int:
        return self.filters

    def default_initializer(self):
        return GaborInit()

    def kernel_constraint(self):
        return GaborConstraint(self.kernel_size)

    def clipped_kernel(self):
        """The `[C, 2]` parameters the forward pass uses (clipped, optionally sorted)."""
        kernel = self.kernel.constraint(keras.ops.convert_to_tensor(self.kernel))
        if self.sort_filters:
            kernel = keras.ops.take(kernel, keras.ops.argsort(kernel[:, 0]), axis=0)
        return kernel

    def conv_kernel(self):
        """The real convolution kernel `[K, 1, 2C]`."""
        real, imag = dsp.gabor_impulse_responses(self.clipped_kernel(), self.kernel_size)
        kernel = dsp.interleave_real_imag(real, imag)
        # TensorFlow's CPU kernels flush subnormal numbers to zero; elsewhere they slow the convolution down.
        return kernel if backend.is_tensorflow() else backend.flush_subnormals(kernel)

    def get_config(self) -> dict:
        return {**super().get_config(), "sort_filters": self.sort_filters}
