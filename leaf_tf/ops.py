"""Exact fast paths for the frontends' heavy operations (pure TensorFlow functions).

Each function here computes **the same quantity** as a direct formulation used
by a layer (a `tf.nn.conv1d`, a `tf.scan`, a strided depthwise convolution),
reorganised so that it runs faster; none approximates anything (no truncated
spectra, no dropped taps). Results differ from the direct formulation only by
float32 round-off (relative error ~1e-6; `tests/layers/test_fast_paths.py`
checks <= 1e-5 on outputs and gradients). The layers select them with an
`implementation` argument (see each layer's docstring for its "auto" rule).

* `chunked_conv1d`: a long signal is cut into overlapping chunks (overlap
  `K - 1`) folded into the batch; TensorFlow's CPU convolution is several times
  faster per sample on a batch of short signals than on one long one.
* `fft_conv1d`: overlap-save FFT correlation (blocks of a few thousand samples).
* `fused_filterbank_pooling`: filterbank -> squared modulus (or leaky ReLU) ->
  linear pooling in one overlap-save pass: the filter outputs never leave the
  block layout of the FFT, the nonlinearity and the pooling are evaluated only
  where an output frame needs them (the pooling as a contraction of blocks of
  `stride` samples with the window's blocks), and the whole pass is compiled
  by XLA with a hand-written gradient (it keeps the filter outputs for the
  backward pass rather than recomputing them).
* `linear_recurrence`: `z[t] = d z[t-1] + u[t]` (the PCEN smoother) in a
  chunked matrix form (lower-triangular Toeplitz matrices of powers of `d`
  within chunks, the same recurrence one level up across chunks): every step
  is a parallel matrix product instead of a sequential scan.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import keras
import numpy as np
import tensorflow as tf

from leaf_tf import backend, dsp

# ---------------------------------------------------------------- shapes


def static_length(tensor: tf.Tensor, axis: int = 1) -> int | None:
    """The static size of `axis`, or None when it is only known at run time."""
    return tf.TensorShape(tensor.shape)[axis]


# ---------------------------------------------------------------- FFT sizes

# Largest overlap-save block. The plan minimises the number of FFT points, which
# favours long blocks (less overlap); measured on a 2-core CPU, blocks of up to 8640
# points made LEAF's fused pass 15-20 % faster forward + backward on 1 x 10 s than
# blocks of 12000 (fewer points, slower per point), and no slower at 8 x 1 s or 1 x 60 s.
DEFAULT_MAX_FFT_LENGTH = 8640


@functools.cache
def _fast_lengths(limit: int) -> tuple[int, ...]:
    """Even numbers `2^a 3^b 5^c <= limit` (sizes every FFT library handles fast), sorted."""
    out = []
    p2 = 2
    while p2 <= limit:
        p3 = p2
        while p3 <= limit:
            p5 = p3
            while p5 <= limit:
                out.append(p5)
                p5 *= 5
            p3 *= 3
        p2 *= 2
    return tuple(sorted(out))


def fast_fft_length(n: int) -> int:
    """Smallest even `2^a 3^b 5^c >= n`."""
    return next(length for length in _fast_lengths(max(dsp.next_power_of_two(n), 2)) if length >= n)


@dataclass(frozen=True)
class OverlapSavePlan:
    """Blocks of an overlap-save correlation.

    Block `i` computes outputs `i * hop ... (i + 1) * hop - 1` from input samples
    `i * hop ... i * hop + fft_length - 1` (of the padded input) with one FFT of
    `fft_length`; `num_blocks * hop >= num_outputs`.
    """

    fft_length: int
    hop: int
    num_blocks: int

    @property
    def cost(self) -> int:
        return self.num_blocks * self.fft_length


@functools.lru_cache(maxsize=256)
def overlap_save_plan(
    num_outputs: int, num_taps: int, align: int = 1, max_fft_length: int = DEFAULT_MAX_FFT_LENGTH
) -> OverlapSavePlan:
    """The cheapest overlap-save blocking for `num_outputs` outputs of a `num_taps`-tap correlation.

    A block of FFT size `N` yields `hop = floor((N - num_taps + 1) / align) * align`
    outputs (a multiple of `align`, so that blocks line up with pooling frames).
    Among fast FFT sizes `N <= max(max_fft_length, smallest usable)`, picks the
    one minimising the number of FFT points `num_blocks * N` (measured: on CPU
    the cost of the FFTs and of the elementwise passes is proportional to it,
    for sizes up to ~16k), the smaller `N` on ties.
    """
    min_length = num_taps - 1 + align
    limit = max(max_fft_length, fast_fft_length(min_length))
    best = None
    for length in _fast_lengths(limit):
        if length < min_length:
            continue
        hop = (length - num_taps + 1) // align * align
        plan = OverlapSavePlan(length, hop, -(-num_outputs // hop))
        if best is None or plan.cost < best.cost:
            best = plan
    return best


def _slice(tensor: tf.Tensor, axis: int, start: int, size: int) -> tf.Tensor:
    """`tensor[..., start : start + size, ...]` along `axis` with `tf.slice`, whose gradient is a
    pad (Python slicing's `StridedSliceGrad` is many times slower on large CPU tensors)."""
    begin, sizes = [0] * tensor.shape.rank, [-1] * tensor.shape.rank
    begin[axis], sizes[axis] = start, size
    return tf.slice(tensor, begin, sizes)


def _frames(padded: tf.Tensor, frame_length: int, hop: int, num_frames: int) -> tf.Tensor:
    """Overlapping frames along axis 1: `[B, T, ...]` -> `[B, num_frames, frame_length, ...]`.

    Frame `i` is `padded[:, i * hop : i * hop + frame_length]` (`padded` must hold
    `(num_frames + m - 1) * hop` samples, `m = ceil(frame_length / hop)`). Built
    from `m` shifted views of `hop`-sample blocks joined by `concat`, whose
    gradient is a sum of pads (`tf.signal.frame`'s is a scatter, several times
    slower on CPU).
    """
    shifts = -(-frame_length // hop)
    num_blocks = num_frames + shifts - 1
    blocks = tf.reshape(_slice(padded, 1, 0, num_blocks * hop), [-1, num_blocks, hop, *padded.shape[2:]])
    last = frame_length - (shifts - 1) * hop  # samples taken from the last block
    parts = [_slice(blocks, 1, i, num_frames) for i in range(shifts - 1)]
    parts.append(_slice(_slice(blocks, 1, shifts - 1, num_frames), 2, 0, last))
    return tf.concat(parts, axis=2) if len(parts) > 1 else parts[0]


def _overlap_save_frames(signals: tf.Tensor, left_pad: int, plan: OverlapSavePlan) -> tf.Tensor:
    """`[B, T]` -> `[B, num_blocks, fft_length]` overlapping blocks of the zero-padded signal."""
    length = static_length(signals)
    shifts = -(-plan.fft_length // plan.hop)
    total = (plan.num_blocks + shifts - 1) * plan.hop
    padded = tf.pad(signals, [[0, 0], [left_pad, max(total - left_pad - length, 0)]])
    return _frames(padded, plan.fft_length, plan.hop, plan.num_blocks)


def _filter_spectra(taps: tf.Tensor, fft_length: int) -> tf.Tensor:
    """`[F, K]` real taps -> `conj(rfft(taps, N))` `[F, N // 2 + 1]`, so that
    `irfft(rfft(x) * spectra)[m] = sum_j taps[j] x[m + j]` (circular)."""
    padded = tf.pad(taps, [[0, 0], [0, fft_length - taps.shape[1]]])
    return tf.math.conj(tf.signal.rfft(padded, fft_length=[fft_length]))


def _same_left_pad(num_taps: int) -> int:
    """Left zero padding of a stride-1 TF "SAME" convolution."""
    return (num_taps - 1) // 2


def _conv_output_range(length: int, num_taps: int, padding: str) -> tuple[int, int]:
    """`(num_outputs, left_pad)` of a stride-1 `tf.nn.conv1d` with this padding."""
    if padding.upper() == "SAME":
        return length, _same_left_pad(num_taps)
    return length - num_taps + 1, 0


# ---------------------------------------------------------------- convolutions


def chunked_conv1d(inputs: tf.Tensor, kernel: tf.Tensor, padding: str = "SAME", chunk_length: int = 4000) -> tf.Tensor:
    """`tf.nn.conv1d(inputs, kernel, 1, padding)` computed on overlapping chunks.

    The (padded) signal is cut into `n = ceil(T_out / chunk_length)` windows of
    `chunk_length + K - 1` samples with hop `chunk_length`, folded into the
    batch, convolved with "VALID" padding and unfolded: output sample `m` is
    `sum_j w[j] x[m + j - pad_left]` exactly as in the direct convolution, with
    the same taps and the same input samples.

    Args:
      inputs: `[B, T, 1]` float32 with a static `T`.
      kernel: `[K, 1, C_out]`.
      padding: "SAME" or "VALID".
      chunk_length: output samples per chunk.

    Returns:
      `[B, T_out, C_out]`, `T_out = T` ("SAME") or `T - K + 1` ("VALID").
    """
    num_taps, channels = kernel.shape[0], kernel.shape[-1]
    num_outputs, left = _conv_output_range(static_length(inputs), num_taps, padding)
    num_chunks = -(-num_outputs // chunk_length)
    plan = OverlapSavePlan(chunk_length + num_taps - 1, chunk_length, num_chunks)
    frames = _overlap_save_frames(inputs[:, :, 0], left, plan)  # [B, n, chunk + K - 1]
    outputs = tf.nn.conv1d(tf.reshape(frames, [-1, plan.fft_length, 1]), kernel, 1, "VALID")
    return _slice(tf.reshape(outputs, [-1, num_chunks * chunk_length, channels]), 1, 0, num_outputs)


def fft_conv1d(
    inputs: tf.Tensor, kernel: tf.Tensor, padding: str = "SAME", max_fft_length: int = DEFAULT_MAX_FFT_LENGTH
) -> tf.Tensor:
    """`tf.nn.conv1d(inputs, kernel, 1, padding)` by overlap-save FFT correlation.

    For blocks of `N` input samples (`N` from `overlap_save_plan`),
    `y_block = irfft(rfft(x_block) * conj(rfft(w, N)))[:hop]`, which equals
    `y[m] = sum_j w[j] x[m + j - pad_left]` (no circular wrap-around reaches the
    kept outputs). Real taps, any number of output channels.

    Args:
      inputs: `[B, T, 1]` float32 with a static `T`.
      kernel: `[K, 1, C_out]`.
      padding: "SAME" or "VALID".
      max_fft_length: largest block FFT size considered.

    Returns:
      `[B, T_out, C_out]`.
    """
    num_taps, channels = kernel.shape[0], kernel.shape[-1]
    num_outputs, left = _conv_output_range(static_length(inputs), num_taps, padding)
    plan = overlap_save_plan(num_outputs, num_taps, 1, max_fft_length)
    frames = _overlap_save_frames(inputs[:, :, 0], left, plan)
    spectra = _filter_spectra(tf.transpose(kernel[:, 0, :]), plan.fft_length)  # [C_out, F]
    blocks = tf.signal.irfft(
        tf.signal.rfft(frames)[:, :, tf.newaxis, :] * spectra, fft_length=[plan.fft_length]
    )  # [B, n, C_out, N]
    blocks = tf.transpose(blocks[..., : plan.hop], (0, 1, 3, 2))
    outputs = tf.reshape(blocks, [-1, plan.num_blocks * plan.hop, channels])
    return outputs[:, :num_outputs]


def _portable_overlap_save_frames(signals, left_pad: int, plan: OverlapSavePlan):
    """`_overlap_save_frames` in `keras.ops`: `[B, T]` (static `T`) -> `[B, num_blocks, fft_length]`."""
    length = signals.shape[1]
    total = (plan.num_blocks - 1) * plan.hop + plan.fft_length
    padded = keras.ops.pad(signals, [[0, 0], [left_pad, max(total - left_pad - length, 0)]])
    samples = np.arange(plan.num_blocks)[:, None] * plan.hop + np.arange(plan.fft_length)[None, :]
    return keras.ops.take(padded, samples, axis=1)


def portable_fft_conv1d(inputs, kernel, padding: str = "SAME", max_fft_length: int = DEFAULT_MAX_FFT_LENGTH):
    """`fft_conv1d` (same arguments and result) written with `keras.ops`, for the JAX and PyTorch backends.

    The same overlap-save blocks and the same sums; the complex products are
    spelled out on real and imaginary parts (`keras.ops.rfft` returns them
    apart) and the gradient is the backend's own, so no long-kernel
    convolution (and no XLA CPU gradient of one) is involved.
    """
    num_taps, channels = kernel.shape[0], kernel.shape[-1]
    num_outputs, left = _conv_output_range(inputs.shape[1], num_taps, padding)
    plan = overlap_save_plan(num_outputs, num_taps, 1, max_fft_length)
    fft_length, hop, num_blocks = plan.fft_length, plan.hop, plan.num_blocks
    frames = _portable_overlap_save_frames(inputs[:, :, 0], left, plan)
    signal_real, signal_imag = keras.ops.rfft(frames)  # [B, n, N/2+1]
    taps = keras.ops.pad(keras.ops.transpose(kernel[:, 0, :]), [[0, 0], [0, fft_length - num_taps]])
    filter_real, filter_imag = keras.ops.rfft(taps)  # [C_out, N/2+1]; the correlation takes its conjugate
    signal_real, signal_imag = signal_real[:, :, None, :], signal_imag[:, :, None, :]
    product_real = signal_real * filter_real + signal_imag * filter_imag
    product_imag = signal_imag * filter_real - signal_real * filter_imag
    blocks = keras.ops.irfft((product_real, product_imag), fft_length=fft_length)[..., :hop]  # [B, n, C_out, hop]
    outputs = keras.ops.reshape(keras.ops.transpose(blocks, (0, 1, 3, 2)), (-1, num_blocks * hop, channels))
    return outputs[:, :num_outputs]


@functools.cache
def _compiled_fft_conv1d(padding: str, max_fft_length: int):
    return tf.function(
        functools.partial(fft_conv1d, padding=padding, max_fft_length=max_fft_length),
        jit_compile=True,
        autograph=False,
    )


def jit_fft_conv1d(
    inputs: tf.Tensor, kernel: tf.Tensor, padding: str = "SAME", max_fft_length: int = DEFAULT_MAX_FFT_LENGTH
) -> tf.Tensor:
    """`fft_conv1d` compiled by XLA (one compilation per input shape), gradient included."""
    return _compiled_fft_conv1d(padding.upper(), int(max_fft_length))(inputs, kernel)


# ---------------------------------------------------------------- pooling


def _pooling_geometry(length: int, pool_size: int, stride: int, padding: str) -> tuple[int, int]:
    """`(num_frames, left_pad)` of a strided pooling with TF padding semantics."""
    if padding.upper() == "SAME":
        frames, left, _ = dsp.same_padding(length, pool_size, stride)
        return frames, left
    return max((length - pool_size) // stride + 1, 0), 0


def _block_windows(windows: tf.Tensor, stride: int) -> tf.Tensor:
    """`[K_p, C]` windows -> `[nq, stride, C]`, zero-padded to `nq = ceil(K_p / stride)` blocks."""
    pool_size, channels = windows.shape
    num_blocks = -(-pool_size // stride)
    padded = tf.pad(windows, [[0, num_blocks * stride - pool_size], [0, 0]])
    return tf.reshape(padded, [num_blocks, stride, channels])


def strided_window_pooling(inputs, windows, stride: int, padding: str = "SAME"):
    """Per-channel strided pooling `out[l, c] = sum_i windows[i, c] x[l * s + i - pad_left, c]` (TF padding).

    The same sums as a strided depthwise convolution, written with `keras.ops`
    as a contraction of `s`-sample blocks of the input with the windows'
    blocks (as in the fused pass). Its gradient with respect to the input is
    an einsum too, where XLA's CPU gradient of a strided long-window
    depthwise convolution dominated LEAF's training step on JAX.

    Args:
      inputs: `[B, T, C]` with a static `T`.
      windows: `[K, C]`.
      stride: `s`.
      padding: "SAME" or "VALID".

    Returns:
      `[B, L, C]`.
    """
    length, channels = inputs.shape[1], inputs.shape[2]
    pool_size = windows.shape[0]
    num_frames, left = _pooling_geometry(length, pool_size, stride, padding)
    num_window_blocks = -(-pool_size // stride)
    span = (num_frames + num_window_blocks - 1) * stride
    padded = keras.ops.pad(inputs, [[0, 0], [left, max(span - left - length, 0)], [0, 0]])[:, :span]
    blocks = keras.ops.reshape(padded, (-1, num_frames + num_window_blocks - 1, stride, channels))
    window_blocks = keras.ops.reshape(
        keras.ops.pad(windows, [[0, num_window_blocks * stride - pool_size], [0, 0]]), (num_window_blocks, stride, channels)
    )
    partial = keras.ops.einsum("bnsc,qsc->bnqc", blocks, window_blocks)
    return sum(partial[:, q : q + num_frames, q, :] for q in range(num_window_blocks))


# ---------------------------------------------------------------- fused filterbank -> energy -> pooling


def fused_pass_plan(
    length: int,
    num_taps: int,
    pool_size: int,
    stride: int,
    pool_padding: str = "SAME",
    max_fft_length: int = DEFAULT_MAX_FFT_LENGTH,
) -> OverlapSavePlan:
    """The overlap-save blocks `fused_filterbank_pooling` uses for one `length`-sample waveform.

    The blocks cover the energies every output frame needs (from the first
    frame's left padding to the last frame's window end), with a hop that is a
    multiple of the pooling `stride`. The pass runs one inverse FFT of
    `fft_length` per filter and block forward, and one FFT per filter and block
    for the weight gradient.
    """
    num_frames, _ = _pooling_geometry(length, pool_size, stride, pool_padding.upper())
    span = (num_frames + -(-pool_size // stride) - 1) * stride
    return overlap_save_plan(span, num_taps, stride, max_fft_length)


ACTIVATIONS = ("squared_modulus", "leaky_relu")

# The fused pass splits the channels into this many parts, each its own XLA computation, which
# TensorFlow's executor runs side by side (on a CPU: XLA runs an FFT inside a loop on one core, and
# runs independent loops of one computation one after the other). Each part goes through its
# channels group after group, in groups of `GROUP_CHANNELS` (the largest divisor of its channel
# count up to that), so that one group's spectra products and filter outputs exist at a time.
# LEAF on a 2-core CPU, against one part whose groups of 8 ran side by side in training: forward
# 1.75x -> 2.5-3.2x faster than the reference code at 8 x 1 s, forward + backward peak memory
# 192 -> 74 MiB (README, "Performance"). Fixed rather than one per core, so that every machine
# computes the same sums (the input gradient adds the parts' contributions in this order).
CONCURRENT_PARTS = 2
GROUP_CHANNELS = 4
# The portable pass (JAX, PyTorch: one computation, groups unrolled) keeps groups of 8.
PORTABLE_GROUP_CHANNELS = 8


def _group_size(channels: int, limit: int) -> int:
    """The largest divisor of `channels` up to `limit`."""
    return max(size for size in range(1, min(channels, limit) + 1) if channels % size == 0)


def _gradient_may_be_recorded() -> bool:
    """Whether a gradient tape is recording (eagerly, or while a `tf.function` is traced).

    Keras' `fit` traces its training step under a tape; `predict` and `evaluate` do not.
    Where this private helper is missing (a TensorFlow that moved it): True, the safe answer.
    """
    try:
        from tensorflow.python.eager import record
    except ImportError:  # pragma: no cover - present in every TensorFlow this package supports
        return True
    return bool(record.could_possibly_record())


def fused_filterbank_pooling(
    waveforms: tf.Tensor,
    taps: tf.Tensor,
    windows: tf.Tensor,
    stride: int,
    pool_padding: str = "SAME",
    activation: str = "squared_modulus",
    negative_slope: float = 0.2,
    max_fft_length: int = DEFAULT_MAX_FFT_LENGTH,
    jit_compile: bool = True,
    recompute_in_backward: bool = False,
) -> tf.Tensor:
    """Filterbank ("SAME" correlation) -> activation -> strided linear pooling, in one pass.

    With `y_f[m] = sum_j taps[f, j] x[m + j - (K - 1) // 2]` (a stride-1 "SAME"
    `tf.nn.conv1d`), the energies are

    * `"squared_modulus"`: `e_c[m] = y_c[m]^2 + y_{C + c}[m]^2` (taps given as
      `C` real parts followed by `C` imaginary parts), or
    * `"leaky_relu"`: `e_c[m] = max(y_c[m], 0) + negative_slope * min(y_c[m], 0)`,

    and the output is the strided pooling
    `out[l, c] = sum_i g_c[i] e_c[l * s + i - pad_left]` (energies outside
    `[0, T)` are zero, TF padding semantics). The filter outputs are computed by
    overlap-save FFT in blocks aligned with the pooling stride, and the
    activation and pooling are evaluated in that block layout (no transpose, no
    `[B, T, F]` tensor). Forward and backward are XLA-compiled (`jit_compile`);
    the backward pass reuses the saved filter outputs and needs one FFT per
    filter and block, like the forward pass. The gradient with respect to the
    waveforms is a separate computation (one more FFT per filter and block),
    which a `tf.function` prunes when it is not needed.

    The channels are split into `CONCURRENT_PARTS` contiguous parts, each its
    own compiled pass with its own gradient, which TensorFlow's executor runs
    side by side inside a `tf.function` (one after another when called
    eagerly). Within a part the channels go group after group
    (`GROUP_CHANNELS`). Every channel's output is the same sums whatever the
    split.

    Memory: one group's spectra products and filter outputs exist at a time
    per part. With a gradient recorded, the filter outputs at the pooling hop
    are kept for the backward pass. `recompute_in_backward=True` keeps none:
    the backward pass computes each group's filter outputs again just before
    it needs them (one more FFT per filter and block, a third more FFTs in
    all): the training pass then needs a fraction of the memory, and takes
    longer (`benchmarks/frontends.py --frontends leaf leaf_recompute` measures
    both).

    Args:
      waveforms: `[B, T]` float32, static `T`.
      taps: `[F, K]` real filters (`F = 2C` for "squared_modulus", `C` otherwise).
      windows: `[K_p, C]` pooling windows.
      stride: pooling hop `s`.
      pool_padding: "SAME" or "VALID".
      activation: "squared_modulus" or "leaky_relu".
      negative_slope: slope of the leaky ReLU.
      max_fft_length: largest block FFT size considered.
      jit_compile: compile with XLA (the plain TensorFlow graph gives the same
        values, several times slower on CPU).
      recompute_in_backward: keep no filter outputs for the backward pass
        (above).

    Returns:
      `[B, L, C]` pooled energies.
    """
    if activation not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {ACTIVATIONS}, got {activation!r}.")
    length = static_length(waveforms)
    if length is None:
        raise ValueError("fused_filterbank_pooling needs a static number of samples.")
    channels = int(windows.shape[1])
    rows_per_channel = 2 if activation == "squared_modulus" else 1  # real and imaginary parts
    results = []
    for start, stop in _channel_parts(channels, CONCURRENT_PARTS):
        # The filters of channels [start, stop): their real parts (then their imaginary parts).
        rows = [taps[row * channels + start : row * channels + stop] for row in range(rows_per_channel)]
        part_taps = tf.concat(rows, axis=0) if rows_per_channel > 1 else rows[0]
        function = _fused_function(
            length,
            int(taps.shape[1]),
            rows_per_channel * (stop - start),
            int(windows.shape[0]),
            stop - start,
            int(stride),
            pool_padding.upper(),
            activation,
            float(negative_slope),
            int(max_fft_length),
            bool(jit_compile),
            bool(recompute_in_backward),
        )
        results.append(function(waveforms, part_taps, windows[:, start:stop]))
    return tf.concat(results, axis=-1) if len(results) > 1 else results[0]


def _channel_parts(channels: int, parts: int) -> list[tuple[int, int]]:
    """`[start, stop)` ranges of `parts` contiguous ranges of channels of near-equal sizes (one per
    channel when there are fewer channels than parts)."""
    count = max(1, min(parts, channels))
    bounds = [channels * index // count for index in range(count + 1)]
    return list(zip(bounds[:-1], bounds[1:]))


@functools.lru_cache(maxsize=64)
def _fused_function(
    length: int,
    num_taps: int,
    num_filters: int,
    pool_size: int,
    channels: int,
    stride: int,
    pool_padding: str,
    activation: str,
    negative_slope: float,
    max_fft_length: int,
    jit_compile: bool,
    recompute_in_backward: bool,
):
    """Builds (once per static configuration) the custom-gradient fused pass."""
    num_frames, pool_left = _pooling_geometry(length, pool_size, stride, pool_padding)
    num_window_blocks = -(-pool_size // stride)
    plan = fused_pass_plan(length, num_taps, pool_size, stride, pool_padding, max_fft_length)
    hop, fft_length = plan.hop, plan.fft_length
    blocks_per_hop = hop // stride
    # Energy sample r of block i sits at m = i * hop + r - pool_left; outside [0, T) it is padding.
    positions = np.arange(plan.num_blocks)[:, None] * hop + np.arange(hop)[None, :] - pool_left
    mask = ((positions >= 0) & (positions < length)).astype(np.float32)[:, np.newaxis, :]  # [n, 1, hop]

    # Channels are processed group after group (an XLA loop: one group's spectra products and
    # energies exist at a time; with a gradient recorded, each group's filter outputs are kept for
    # the backward pass). Filter f = p * C + c (part p -- real, imaginary -- of channel c) is row
    # p * g + c % g of group c // g.
    parts = 2 if activation == "squared_modulus" else 1
    group = _group_size(channels, GROUP_CHANNELS)
    groups = channels // group
    bins = fft_length // 2 + 1
    # Gradient of irfft(Z, N) with respect to Z: rfft(dy) * mask / N, the mask doubling the
    # bins whose conjugates rfft leaves out (as TensorFlow's own IRFFT gradient).
    irfft_adjoint = np.full(bins, 2.0 / fft_length, np.float32)
    irfft_adjoint[0] = irfft_adjoint[-1] = 1.0 / fft_length

    def signal_spectra(waveforms):
        """`[B, T]` -> `[B, n, N/2+1]` spectra of the overlap-save blocks."""
        return tf.signal.rfft(_overlap_save_frames(waveforms, _same_left_pad(num_taps) + pool_left, plan))

    def grouped_weights(taps, windows):
        """`[G, parts * g, N/2+1]` conjugate filter spectra and `[G, K_p, g]` pooling windows."""
        spectra = tf.reshape(_filter_spectra(taps, fft_length), [parts, groups, group, bins])
        spectra = tf.reshape(tf.transpose(spectra, (1, 0, 2, 3)), [groups, parts * group, bins])
        return spectra, tf.transpose(tf.reshape(windows, [-1, groups, group]), (1, 0, 2))

    def grouped_channels(tensor):
        """`[B, L, C]` -> `[G, B, L, g]`."""
        return tf.transpose(tf.reshape(tensor, [-1, num_frames, groups, group]), (2, 0, 1, 3))

    def filter_outputs(spectra, filter_spectra):
        """`[B, n, N/2+1]` x `[F', N/2+1]` -> `[B, n, F', hop]` filter outputs kept by overlap-save."""
        products = spectra[:, :, tf.newaxis, :] * filter_spectra
        return tf.signal.irfft(products, fft_length=[fft_length])[..., :hop]

    def pooled(outputs, windows):
        """`[B, n, F', hop]` filter outputs (`F'` = `parts` x the windows' channels) -> `[B, L, C']`."""
        channels = windows.shape[1]
        if activation == "squared_modulus":
            energies = tf.square(outputs[:, :, :channels]) + tf.square(outputs[:, :, channels:])
        else:
            energies = tf.nn.leaky_relu(outputs, negative_slope)
        energies = tf.reshape(energies * mask, [-1, plan.num_blocks, channels, blocks_per_hop, stride])
        window_blocks = tf.transpose(_block_windows(windows, stride), (2, 0, 1))  # [C, nq, s]
        # A contraction (an XLA dot) rather than a broadcast product and a reduction:
        # measured 1.6x faster forward + backward on CPU.
        partial = tf.einsum("bncjs,cqs->bncjq", energies, window_blocks)  # [B, n, C, h, nq]
        partial = tf.transpose(partial, (0, 1, 3, 2, 4))
        partial = tf.reshape(partial, [-1, plan.num_blocks * blocks_per_hop, channels, num_window_blocks])
        return tf.add_n([partial[:, q : q + num_frames, :, q] for q in range(num_window_blocks)])

    def ungroup(result):
        """`[G, B, L, g]` -> `[B, L, C]` (any group size)."""
        return tf.reshape(tf.transpose(result, (1, 2, 0, 3)), [-1, num_frames, channels])

    @tf.function(jit_compile=jit_compile, autograph=False)
    def forward(waveforms, taps, windows):
        """The pooled energies and every group's filter outputs `[G, B, n, parts * g, hop]` (for the
        backward pass)."""
        spectra = signal_spectra(waveforms)

        def one_group(arguments):
            outputs = filter_outputs(spectra, arguments[0])
            return pooled(outputs, arguments[1]), outputs

        signature = (tf.float32, tf.float32)
        result, outputs = tf.map_fn(one_group, grouped_weights(taps, windows), fn_output_signature=signature)
        return ungroup(result), outputs

    @tf.function(jit_compile=jit_compile, autograph=False)
    def forward_lean(waveforms, taps, windows):
        """The pooled energies alone, group after group, no filter outputs kept (no gradient will be
        asked for)."""
        spectra = signal_spectra(waveforms)
        one_group = lambda arguments: pooled(filter_outputs(spectra, arguments[0]), arguments[1])  # noqa: E731
        return ungroup(tf.map_fn(one_group, grouped_weights(taps, windows), fn_output_signature=tf.float32))

    @tf.function(jit_compile=jit_compile, autograph=False)
    def recomputed_outputs(waveforms, taps, windows):
        return forward(waveforms, taps, windows)[1]

    def d_outputs_and_windows(outputs, windows, upstream):
        with tf.GradientTape() as tape:
            tape.watch([outputs, windows])
            result = pooled(outputs, windows)
        return tape.gradient(result, [outputs, windows], output_gradients=upstream)

    def d_products(d_outputs):
        """Gradient with respect to the spectra products of one group, `[B * n, F', N/2+1]`."""
        d_outputs = tf.signal.rfft(d_outputs, fft_length=[fft_length]) * tf.cast(irfft_adjoint, tf.complex64)
        return tf.reshape(d_outputs, [-1, *d_outputs.shape[2:]])

    def sum_rows(rows):
        """Sum over examples x blocks as explicit additions (XLA turns them into one pass, ~2x faster
        than a reduction over a leading axis)."""
        count = rows.shape[0]  # None for a dynamic batch size
        if count is not None and count <= 256:
            return tf.add_n([rows[i] for i in range(count)])
        return tf.reduce_sum(rows, axis=0)

    def over_groups(function, elements, outputs, output_signature):
        """`function` over the groups in an XLA loop, each given `(*elements, outputs)` for its group,
        or `(*elements,)` when `outputs` is None (no filter outputs kept, `recompute_in_backward`:
        each group computes its own again)."""
        if outputs is not None:
            elements = (*elements, outputs)
        return tf.map_fn(function, elements, fn_output_signature=output_signature)

    @tf.function(jit_compile=jit_compile, autograph=False)
    def backward_weights(waveforms, taps, windows, outputs, upstream):
        """Gradients for taps and windows; `outputs` the saved filter outputs, or None to recompute them."""
        spectra = signal_spectra(waveforms)
        conjugate_spectra = tf.reshape(tf.math.conj(spectra), [-1, 1, bins])
        with tf.GradientTape() as tape:
            tape.watch([taps, windows])
            weights = grouped_weights(taps, windows)

        def one_group(arguments):
            group_filter_spectra, group_windows, group_upstream, *saved = arguments
            group_outputs = saved[0] if saved else filter_outputs(spectra, group_filter_spectra)
            d_outputs, d_windows = d_outputs_and_windows(group_outputs, group_windows, group_upstream)
            return sum_rows(conjugate_spectra * d_products(d_outputs)), d_windows

        elements = (*weights, grouped_channels(upstream))
        d_weights = over_groups(one_group, elements, outputs, (tf.complex64, tf.float32))
        return tape.gradient(weights, [taps, windows], output_gradients=list(d_weights))

    @tf.function(jit_compile=jit_compile, autograph=False)
    def backward_input(waveforms, taps, windows, outputs, upstream):
        """Gradient for the waveforms; `outputs` the saved filter outputs, or None to recompute them."""
        with tf.GradientTape() as tape:
            tape.watch(waveforms)
            spectra = signal_spectra(waveforms)
        constant_spectra = tf.stop_gradient(spectra)  # recomputed outputs are constants here
        filter_spectra, grouped_windows = grouped_weights(taps, windows)

        def one_group(arguments):
            group_filter_spectra, group_windows, group_upstream, *saved = arguments
            group_outputs = saved[0] if saved else filter_outputs(constant_spectra, group_filter_spectra)
            d_outputs, _ = d_outputs_and_windows(group_outputs, group_windows, group_upstream)
            d_group = tf.reshape(d_products(d_outputs), [-1, plan.num_blocks, parts * group, bins])
            return tf.reduce_sum(d_group * tf.math.conj(group_filter_spectra), axis=2)  # [B, n, N/2+1]

        elements = (filter_spectra, grouped_windows, grouped_channels(upstream))
        d_spectra = over_groups(one_group, elements, outputs, tf.complex64)
        return tape.gradient(spectra, waveforms, output_gradients=tf.reduce_sum(d_spectra, axis=0))

    @tf.custom_gradient
    def fused(waveforms, taps, windows):
        # The gradient is `gradient` below. Without the stops, an eager tape would also record the
        # compiled calls and make them hand out their intermediates for a gradient never taken
        # (which the XLA loop of `forward_lean` cannot do at all).
        arguments = [tf.stop_gradient(tensor) for tensor in (waveforms, taps, windows)]
        if _gradient_may_be_recorded() and not recompute_in_backward:
            result, saved = forward(*arguments)
        else:
            result, saved = forward_lean(*arguments), None

        def gradient(upstream):
            if recompute_in_backward:
                outputs = None  # each group's filter outputs computed again, group after group
            else:
                # A graph traced without a tape can still be differentiated later: then the
                # filter outputs are computed again (one more FFT per filter and block).
                outputs = saved if saved is not None else recomputed_outputs(waveforms, taps, windows)
            d_taps, d_windows = backward_weights(waveforms, taps, windows, outputs, upstream)
            # A separate computation: inside a tf.function it is pruned when nothing
            # asks for the gradient with respect to the waveforms (training a frontend
            # without pre-emphasis).
            d_waveforms = backward_input(waveforms, taps, windows, outputs, upstream)
            return d_waveforms, d_taps, d_windows

        return result, gradient

    return fused


class _ComplexFFT:
    """The complex FFT operations of the JAX or PyTorch backend (keras.ops has no complex tensors)."""

    def __init__(self, name: str):
        if name == "jax":
            import jax.numpy as jnp

            self.rfft = lambda x, n: jnp.fft.rfft(x, n=n, axis=-1)
            self.irfft = lambda z, n: jnp.fft.irfft(z, n=n, axis=-1)
            self.conj, self.concatenate = jnp.conj, lambda parts: jnp.concatenate(parts, axis=0)
        elif name == "torch":
            import torch

            self.rfft = lambda x, n: torch.fft.rfft(x, n=n, dim=-1)
            self.irfft = lambda z, n: torch.fft.irfft(z, n=n, dim=-1)
            self.conj, self.concatenate = torch.conj, lambda parts: torch.cat(parts, dim=0)
        else:
            raise NotImplementedError(f"portable_fused_filterbank_pooling runs on JAX and PyTorch, not {name}.")


def portable_fused_filterbank_pooling(
    waveforms,
    taps,
    windows,
    stride: int,
    pool_padding: str = "SAME",
    activation: str = "squared_modulus",
    negative_slope: float = 0.2,
    max_fft_length: int = DEFAULT_MAX_FFT_LENGTH,
    recompute_in_backward: bool = False,
):
    """`fused_filterbank_pooling` for the JAX and PyTorch backends.

    The same sums in the same block layout: overlap-save FFT blocks aligned
    with the pooling stride, the activation and the pooling evaluated in that
    layout (no `[B, T, F]` filter outputs), channels in groups of
    `GROUP_CHANNELS`. The spectra are the backend's own complex tensors
    (`jnp.fft` / `torch.fft`: spelling the products out on real and imaginary
    parts measured 2.5x slower forward + backward on JAX), everything else is
    `keras.ops`, and the gradient is the backend's automatic one.
    `recompute_in_backward=True` wraps each group in `keras.remat`: its filter
    outputs are computed again in the backward pass instead of being kept.

    Args and returns: as `fused_filterbank_pooling` (`[B, T]` waveforms with a
    static `T`, `[F, K]` taps, `[K_p, C]` windows -> `[B, L, C]`).
    """
    if activation not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {ACTIVATIONS}, got {activation!r}.")
    length = waveforms.shape[1]
    if not isinstance(length, int):
        raise ValueError("portable_fused_filterbank_pooling needs a static number of samples.")
    fft = _ComplexFFT(keras.backend.backend())
    num_filters, num_taps = taps.shape
    pool_size, channels = windows.shape
    pool_padding = pool_padding.upper()
    num_frames, pool_left = _pooling_geometry(length, pool_size, stride, pool_padding)
    num_window_blocks = -(-pool_size // stride)
    plan = fused_pass_plan(length, num_taps, pool_size, stride, pool_padding, max_fft_length)
    hop, fft_length, num_blocks = plan.hop, plan.fft_length, plan.num_blocks
    blocks_per_hop = hop // stride
    # Energy sample r of block i sits at m = i * hop + r - pool_left; outside [0, T) it is padding.
    positions = np.arange(num_blocks)[:, None] * hop + np.arange(hop)[None, :] - pool_left
    mask = keras.ops.convert_to_tensor(((positions >= 0) & (positions < length)).astype(np.float32)[:, None, :])

    frames = _portable_overlap_save_frames(waveforms, _same_left_pad(num_taps) + pool_left, plan)
    spectra = fft.rfft(frames, fft_length)[:, :, None, :]  # [B, n, 1, N/2+1]
    # The correlation multiplies by the filters' conjugate spectra.
    filter_spectra = fft.conj(fft.rfft(keras.ops.pad(taps, [[0, 0], [0, fft_length - num_taps]]), fft_length))
    window_blocks = keras.ops.reshape(
        keras.ops.pad(windows, [[0, num_window_blocks * stride - pool_size], [0, 0]]),
        (num_window_blocks, stride, channels),
    )
    window_blocks = keras.ops.transpose(window_blocks, (2, 0, 1))  # [C, nq, s]
    parts = 2 if activation == "squared_modulus" else 1
    group = _group_size(channels, PORTABLE_GROUP_CHANNELS)

    def one_group(group_filter_spectra, group_windows):
        """Pooled energies `[B, L, g]` of one group: filter spectra `[parts * g, N/2+1]`, windows `[g, nq, s]`."""
        outputs = fft.irfft(spectra * group_filter_spectra, fft_length)[..., :hop]  # [B, n, parts * g, hop]
        if activation == "squared_modulus":
            energies = keras.ops.square(outputs[:, :, :group]) + keras.ops.square(outputs[:, :, group:])
        else:
            energies = keras.ops.leaky_relu(outputs, negative_slope)
        energies = keras.ops.reshape(energies * mask, (-1, num_blocks, group, blocks_per_hop, stride))
        partial = keras.ops.einsum("bncjs,cqs->bncjq", energies, group_windows)  # [B, n, g, h, nq]
        partial = keras.ops.transpose(partial, (0, 1, 3, 2, 4))
        partial = keras.ops.reshape(partial, (-1, num_blocks * blocks_per_hop, group, num_window_blocks))
        return sum(partial[:, q : q + num_frames, :, q] for q in range(num_window_blocks))

    if recompute_in_backward:
        one_group = keras.remat(one_group)
    results = []
    for start in range(0, channels, group):
        # The group's filters: its real parts (then, for the squared modulus, its imaginary parts).
        rows = [filter_spectra[part * channels + start : part * channels + start + group] for part in range(parts)]
        results.append(one_group(fft.concatenate(rows), window_blocks[start : start + group]))
    return keras.ops.concatenate(results, axis=-1) if len(results) > 1 else results[0]


# ---------------------------------------------------------------- linear recurrences (PCEN smoother)


# Steps per chunk of `linear_recurrence` (`benchmarks/pcen_chunks.py` times other lengths; README,
# "Performance"). A number of steps known only at run time is solved with as many levels as
# `MAX_DYNAMIC_STEPS` needs.
EMA_CHUNK_LENGTH = 16
MAX_DYNAMIC_STEPS = 2**24  # 46 hours of frames at 100 per second


def _powers(decay, log_decay, count: int):
    """`[count, C]` powers `decay^0 .. decay^(count - 1)`, `decay >= 0`.

    `decay^k = exp(k log(decay))` for `k >= 2`: its relative error,
    ~`k |log(decay)|` ulps, is far below the ~`k` ulps of repeated
    multiplication when `decay` is close to 1 (the long memories where the
    tail matters). `decay^0 = 1` and `decay^1 = decay` are exact, and `decay = 0`
    gives exact zeros with the right gradients (no `log(0)` reaches them).
    """
    positive = decay > 0
    safe_log = keras.ops.where(positive, log_decay, keras.ops.zeros_like(log_decay))
    exponents = keras.ops.arange(2, max(count, 2), dtype=keras.backend.standardize_dtype(decay.dtype))[:, None]
    higher = keras.ops.where(positive, keras.ops.exp(exponents * safe_log), keras.ops.zeros_like(exponents * safe_log))
    return keras.ops.concatenate([keras.ops.ones_like(decay)[None], decay[None], higher], axis=0)[:count]


def _within_chunks(inputs, powers):
    """`[B, n, Q, C]` -> `local[i] = sum_{j <= i} d^(i - j) inputs[j]` within each chunk (`powers`: `[Q + 1, C]`)."""
    chunk = powers.shape[0] - 1
    lags = np.subtract.outer(np.arange(chunk), np.arange(chunk))
    lower = (lags >= 0).astype(np.float32)[:, :, np.newaxis]
    toeplitz = keras.ops.multiply(keras.ops.take(powers, np.maximum(lags, 0), axis=0), lower)  # [Q, Q, C]
    return keras.ops.einsum("ijc,bnjc->bnic", toeplitz, inputs)


def linear_recurrence(
    inputs,
    decay,
    initial_state,
    chunk_length: int | None = None,
    log_decay=None,
    _depth: int = 0,
):
    """`z[t] = decay * z[t-1] + inputs[t]` along axis 1, `z[-1] = initial_state`, without a scan.

    Chunked matrix form: with chunks of `Q` steps, inside each chunk
    `local[i] = sum_{j <= i} d^(i-j) u[j]` (a `Q x Q` lower-triangular Toeplitz
    matrix of powers of `d`, per channel); the states at chunk ends follow the
    same recurrence with decay `d^Q` over `ceil(T / Q)` steps, solved the same
    way (recursively); then `z[i] = local[i] + d^(i+1) z_end[previous chunk]`.
    Every term is a product of non-negative numbers when `d, u >= 0` (the PCEN
    case), so no cancellation occurs; the powers are `exp(k log d)` (see
    `_powers`), accurate to ~`k |log d|` ulps. Written with `keras.ops`: the
    same computation on every Keras backend.

    Args:
      inputs: `[B, T, C]` (`T` may be dynamic on TensorFlow; up to
        `MAX_DYNAMIC_STEPS` steps then).
      decay: `[C]` or `[1]` (broadcast against channels), `>= 0`.
      initial_state: `[B, C]`.
      chunk_length: `Q` (default `EMA_CHUNK_LENGTH`).
      log_decay: `log(decay)`, when a more accurate value than `log(decay)`
        is at hand (e.g. `log1p(-s)` for `decay = 1 - s`).

    Returns:
      `[B, T, C]`.
    """
    chunk_length = chunk_length or EMA_CHUNK_LENGTH
    channels = inputs.shape[-1]
    dtype = keras.backend.standardize_dtype(inputs.dtype)
    decay = keras.ops.broadcast_to(keras.ops.convert_to_tensor(decay, dtype), (channels,))
    if log_decay is None:
        log_decay = keras.ops.log(keras.ops.where(decay > 0, decay, keras.ops.ones_like(decay)))
    log_decay = keras.ops.broadcast_to(keras.ops.convert_to_tensor(log_decay, dtype), (channels,))
    length = inputs.shape[1]
    dynamic_length = keras.ops.shape(inputs)[1]  # a tensor on TensorFlow when `length` is None
    powers = _powers(decay, log_decay, chunk_length + 1)  # [Q + 1, C]
    last_level = chunk_length ** (_depth + 1) >= MAX_DYNAMIC_STEPS  # a dynamic length's deepest level
    if (length is not None and length <= chunk_length) or (length is None and last_level):
        padded = keras.ops.pad(inputs, [[0, 0], [0, chunk_length - dynamic_length], [0, 0]])
        local = _within_chunks(padded[:, None], powers)[:, 0]
        states = local + powers[1:] * initial_state[:, None, :]
        return states[:, :dynamic_length]
    num_chunks = (dynamic_length + chunk_length - 1) // chunk_length
    padded = keras.ops.pad(inputs, [[0, 0], [0, num_chunks * chunk_length - dynamic_length], [0, 0]])
    chunks = keras.ops.reshape(padded, (-1, num_chunks, chunk_length, channels))
    local = _within_chunks(chunks, powers)
    ends = linear_recurrence(
        local[:, :, -1], powers[-1], initial_state, chunk_length, chunk_length * log_decay, _depth + 1
    )
    previous = keras.ops.concatenate([initial_state[:, None], ends[:, :-1]], axis=1)
    states = local + powers[1:] * previous[:, :, None, :]
    return keras.ops.reshape(states, (-1, num_chunks * chunk_length, channels))[:, :dynamic_length]


def exponential_moving_average(inputs, coeff, initial_state, chunk_length: int | None = None):
    """`M[t] = s x[t] + (1 - s) M[t-1]`, `M[-1] = initial_state`, as a `linear_recurrence`.

    `coeff` (`s`, `[C]` or `[1]`) must lie in `[0, 1]`.
    """
    # log(1 - s), finite (and with a finite gradient) at s = 1, where the decay is 0 and unused.
    log_decay = keras.ops.log1p(-keras.ops.where(coeff < 1.0, coeff, keras.ops.zeros_like(coeff)))
    return linear_recurrence(coeff * inputs, 1.0 - coeff, initial_state, chunk_length, log_decay)


def ema_scan(inputs, coeff, initial_state):
    """The reference's sequential formulation of `exponential_moving_average`: a `tf.scan` on
    TensorFlow, `keras.ops.scan` (the same step, frame after frame) on other backends."""
    frames = keras.ops.transpose(inputs, (1, 0, 2))
    if backend.is_tensorflow():
        smoothed = tf.scan(
            lambda state, frame: coeff * frame + (1.0 - coeff) * state, frames, initializer=initial_state
        )
    else:

        def step(state, frame):
            state = coeff * frame + (1.0 - coeff) * state
            return state, state

        smoothed = keras.ops.scan(step, initial_state, frames)[1]
    return keras.ops.transpose(smoothed, (1, 0, 2))
