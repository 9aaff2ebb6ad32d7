"""Speed and memory of every frontend, and of an EfficientNetB0 training step on top of it.

For each frontend (40 filters, 16 kHz, 25 ms windows, 10 ms hop; Wavegram has
its fixed 64 channels) and each input size (batch 8 x 1 s and batch 1 x 10 s):

* forward: `frontend(x)` in a `tf.function`;
* forward + backward: the forward pass and the gradient of
  `mean(output^2)` with respect to the frontend's trainable weights (Mel has
  none: its column repeats the forward time);
* peak memory of one forward + backward call (see `PeakMemory`);

each the median of `--repeats` calls after warm-up (tracing, XLA
compilation), the frontends timed in turn, round after round, so that load
changes on the machine hit all of them alike; then one full training step
(forward, backward, Adam update) of frontend -> EfficientNetB0 (`keras.applications`, `weights=None`,
`include_top=False`, its image `Rescaling` and `Normalization` removed) ->
global max pooling -> Dense(10) on batch 8 x 1 s, compiled with `tf.function`.
Times are reported with their ratio to Mel measured in the same run.

"leaf_reference" is LEAF computed the way the reference implementation
computes it: `tf.nn.conv1d` with the 401-tap Gabor kernel, the squared modulus
as transpose -> average pooling of squares over channel pairs -> transpose,
the Gaussian pooling as a strided depthwise convolution and the PCEN smoother
as a sequential `tf.scan`. Same weights, same outputs (to float32 round-off)
as "leaf", which uses leaf_tf's default fast paths. "leaf_recompute" (only
when named in `--frontends`) is "leaf" with `recompute_in_backward=True`: no
filter outputs kept for the gradient, less memory, a slower backward pass.

`--backend tensorflow|jax|torch` runs the same measurement on another Keras
backend (it sets `KERAS_BACKEND` before Keras is imported): the forward pass
and forward + gradient are `jax.jit`-compiled functions of the layer's
`stateless_call` on JAX, and eager calls (the forward under `torch.no_grad`,
the gradient by `torch.autograd.grad`) on PyTorch; the training step is Keras'
own `train_on_batch` there (compiled with `jax.jit` on JAX). Peak memory is
read from TensorFlow's allocator, so it is reported on TensorFlow only.

Absolute times on shared machines drift by 2-3x between hours; ratios measured
in one run are what can be compared. `--runs N` repeats the whole interleaved
measurement in N separate processes, one after another, and reports each
ratio's median and range over the runs.

Usage:
  python benchmarks/frontends.py [--backend tensorflow|jax|torch] [--device cpu|gpu] [--repeats 10] [--settings 8x1s 1x10s 1x60s]
                                 [--runs 3] [--json results.json]
  python benchmarks/frontends.py --quick   # a smoke run: tiny inputs, a tiny encoder
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

BACKENDS = ("tensorflow", "jax", "torch")


def _backend_from_argv(argv: list[str]) -> str | None:
    """The value of `--backend` in `argv`, if any (read before Keras is imported, which fixes the backend)."""
    for index, argument in enumerate(argv):
        if argument == "--backend" and index + 1 < len(argv):
            return argv[index + 1]
        if argument.startswith("--backend="):
            return argument.partition("=")[2]
    return None


if __name__ == "__main__" and _backend_from_argv(sys.argv[1:]) in BACKENDS:
    os.environ["KERAS_BACKEND"] = _backend_from_argv(sys.argv[1:])

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

tf.get_logger().setLevel("ERROR")  # every frontend and setting traces its own functions: no retracing warnings

import leaf_tf  # noqa: E402
from leaf_tf.layers import SquaredModulus  # noqa: E402

SAMPLE_RATE = 16000
N_FILTERS = 40

# name -> (batch, samples)
# The first setting is the baseline of the cost-per-second comparison.
SETTINGS = {"8x1s": (8, SAMPLE_RATE), "1x10s": (1, 10 * SAMPLE_RATE), "1x60s": (1, 60 * SAMPLE_RATE)}
DEFAULT_SETTINGS = ("8x1s", "1x10s")
QUICK_SETTINGS = {"2x0.2s": (2, SAMPLE_RATE // 5), "1x0.5s": (1, SAMPLE_RATE // 2)}
TRAIN_SETTING = (8, SAMPLE_RATE)
QUICK_TRAIN_SETTING = (2, SAMPLE_RATE // 2)


# ---------------------------------------------------------------- the reference's formulation


@keras.saving.register_keras_serializable(package="leaf_tf_benchmarks")
class TransposedSquaredModulus(SquaredModulus):
    """The reference's squared modulus: transpose, average-pool the squares of channel pairs, x2, transpose back."""

    def call(self, inputs):
        if keras.backend.backend() == "tensorflow":  # the reference's own operations
            squares = tf.square(tf.transpose(inputs, (0, 2, 1)))  # [B, 2C, T]
            pooled = 2.0 * tf.nn.avg_pool1d(squares, ksize=2, strides=2, padding="VALID")
            return tf.transpose(pooled, (0, 2, 1))
        squares = keras.ops.square(keras.ops.transpose(inputs, (0, 2, 1)))
        # Pooled over axis 1 (the 2C channels), as `tf.nn.avg_pool1d` pools the transposed tensor.
        pooled = 2.0 * keras.ops.average_pool(squares, pool_size=2, strides=2, padding="valid")
        return keras.ops.transpose(pooled, (0, 2, 1))


def reference_leaf() -> leaf_tf.Leaf:
    """LEAF as the reference computes it (direct conv, transposes, tf.scan): see the module docstring."""
    return leaf_tf.Leaf(n_filters=N_FILTERS, implementation="direct", activation=TransposedSquaredModulus())


def _frontends() -> dict[str, Callable[[], keras.layers.Layer]]:
    """Every registered frontend at `N_FILTERS` filters, with `leaf_reference` and `leaf_recompute` after `leaf`."""
    builders = {}
    for name in leaf_tf.frontends.FRONTENDS:
        builders[name] = functools.partial(leaf_tf.frontends.build_frontend, name, n_filters=N_FILTERS)
        if name == "leaf":
            builders["leaf_reference"] = reference_leaf
            builders["leaf_recompute"] = functools.partial(
                leaf_tf.frontends.build_frontend, name, n_filters=N_FILTERS, recompute_in_backward=True
            )
    return builders


FRONTENDS = _frontends()
# Measured when asked for (--frontends ... leaf_recompute): LEAF keeping no filter outputs for its gradient.
DEFAULT_FRONTENDS = [name for name in FRONTENDS if name != "leaf_recompute"]


# ---------------------------------------------------------------- measuring


def _materialize(result) -> None:
    """Waits for every tensor in `result` (a GPU or JAX computation is asynchronous until read)."""
    backend = keras.backend.backend()
    for tensor in keras.tree.flatten(result):
        if tensor is None or isinstance(tensor, (int, float)):
            continue
        if backend == "tensorflow":
            tensor.numpy()
        elif backend == "jax":
            tensor.block_until_ready()
        elif backend == "torch" and tensor.is_cuda:
            import torch

            torch.cuda.synchronize(tensor.device)


def interleaved_median_ms(calls: dict[str, tuple[Callable, tuple]], repeats: int, warmup: int = 2) -> dict:
    """Median wall time (ms) of each `function(*args)`, timed in turn, round after round.

    Every function is warmed up first (tracing, XLA compilation); then each
    round times one call of each, so that a change of load on the machine
    affects all of them alike and the ratios stay meaningful. Each round
    starts one function further along the list, so that the functions take
    the places in the order in turn (on calls of a few milliseconds, the
    first call of a round was seen to take longer than the same call later
    in a round).
    """
    for function, args in calls.values():
        for _ in range(warmup):
            _materialize(function(*args))
    times = {name: [] for name in calls}
    names = list(calls)
    for round_index in range(repeats):
        first = round_index % len(names)
        for name in names[first:] + names[:first]:
            function, args = calls[name]
            start = time.perf_counter()
            _materialize(function(*args))
            times[name].append(time.perf_counter() - start)
    return {name: 1e3 * statistics.median(values) for name, values in times.items()}


class PeakMemory:
    """Peak memory of one call, in MiB, from TensorFlow's allocator statistics.

    `tf.config.experimental.reset_memory_stats(device)` then, after the call,
    `get_memory_info(device)["peak"]` minus the memory in use before it: every
    buffer TensorFlow allocates on that device (CPU or GPU) during the call,
    XLA's included: saved activations, gradients, temporaries. (The process's
    resident set is no measure here: TensorFlow keeps freed memory for reuse.)
    """

    def __init__(self, device: str):
        self.device = "GPU:0" if device == "gpu" else "CPU:0"

    def measure(self, function: Callable, args: tuple) -> float | None:
        if keras.backend.backend() != "tensorflow":
            return None
        try:
            tf.config.experimental.reset_memory_stats(self.device)
            before = tf.config.experimental.get_memory_info(self.device)["current"]
        except (ValueError, tf.errors.OpError):
            return None
        _materialize(function(*args))
        return (tf.config.experimental.get_memory_info(self.device)["peak"] - before) / 2**20


def _signal(batch: int, samples: int, seed: int = 0):
    """Uniform noise in [-0.5, 0.5), `[batch, samples]`, a tensor of the Keras backend in use."""
    rng = np.random.default_rng(seed)
    return keras.ops.convert_to_tensor(rng.uniform(-0.5, 0.5, (batch, samples)).astype(np.float32))


def frontend_functions(frontend) -> tuple[Callable, Callable]:
    """Functions computing the forward pass, and forward + gradient w.r.t. the trainable weights.

    TensorFlow: `tf.function`s; JAX: `jax.jit` of the layer's `stateless_call`
    (and of `jax.value_and_grad` of it); PyTorch: eager calls, the forward under
    `torch.no_grad`, the gradient by `torch.autograd.grad`.
    """
    backend = keras.backend.backend()
    if backend == "jax":
        return _jax_frontend_functions(frontend)
    if backend == "torch":
        return _torch_frontend_functions(frontend)

    @tf.function
    def forward(waveforms):
        return frontend(waveforms)

    @tf.function
    def forward_backward(waveforms):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(tf.square(frontend(waveforms)))
        return loss, tape.gradient(loss, frontend.trainable_weights)

    return forward, (forward_backward if frontend.trainable_weights else forward)


def _jax_frontend_functions(frontend) -> tuple[Callable, Callable]:
    import jax

    trainable = [v.value for v in frontend.trainable_variables]
    non_trainable = [v.value for v in frontend.non_trainable_variables]

    def outputs(trainable_values, waveforms):
        return frontend.stateless_call(trainable_values, non_trainable, waveforms)[0]

    def loss(trainable_values, waveforms):
        return keras.ops.mean(keras.ops.square(outputs(trainable_values, waveforms)))

    jit_forward = jax.jit(outputs)
    jit_forward_backward = jax.jit(jax.value_and_grad(loss))

    def forward(waveforms):
        return jit_forward(trainable, waveforms)

    def forward_backward(waveforms):
        return jit_forward_backward(trainable, waveforms)

    return forward, (forward_backward if trainable else forward)


def _torch_frontend_functions(frontend) -> tuple[Callable, Callable]:
    import torch

    weights = [v.value for v in frontend.trainable_variables]

    def forward(waveforms):
        with torch.no_grad():
            return frontend(waveforms)

    def forward_backward(waveforms):
        loss = keras.ops.mean(keras.ops.square(frontend(waveforms)))
        return loss, torch.autograd.grad(loss, weights)

    return forward, (forward_backward if weights else forward)


# ---------------------------------------------------------------- training step


def efficientnet_b0(input_shape: tuple[int, int, int]) -> keras.Model:
    """`keras.applications.EfficientNetB0` (no weights, no top) without its image preprocessing layers."""
    base = keras.applications.EfficientNetB0(include_top=False, weights=None, input_shape=input_shape)

    def clone(layer):
        if isinstance(layer, (keras.layers.Rescaling, keras.layers.Normalization)):
            return keras.layers.Identity(name=layer.name)
        return layer.__class__.from_config(layer.get_config())

    return keras.models.clone_model(base, clone_function=clone)


def tiny_encoder(input_shape: tuple[int, int, int]) -> keras.Model:
    """A two-layer CNN standing in for EfficientNetB0 in `--quick` runs."""
    inputs = keras.Input(input_shape)
    outputs = keras.layers.Conv2D(8, 3, padding="same", activation="relu")(inputs)
    outputs = keras.layers.BatchNormalization()(outputs)
    return keras.Model(inputs, keras.layers.Conv2D(16, 3, strides=2, padding="same")(outputs))


def train_step(frontend, encoder_fn, batch: int, samples: int) -> tuple[Callable, tuple] | None:
    """One Adam training step of frontend -> encoder -> max pooling -> Dense(10), and its arguments."""
    waveforms = _signal(batch, samples, seed=1)
    features = frontend(waveforms)
    frames, channels = features.shape[1], features.shape[2]
    if encoder_fn is efficientnet_b0 and min(frames, channels) < 32:
        return None  # EfficientNetB0's five stride-2 stages need 32 frames and channels
    inputs = keras.Input((samples,), batch_size=batch)
    outputs = keras.ops.expand_dims(frontend(inputs), -1)
    outputs = encoder_fn((frames, channels, 1))(outputs)
    outputs = keras.layers.Dense(10)(keras.layers.GlobalMaxPooling2D()(outputs))
    model = keras.Model(inputs, outputs)
    optimizer = keras.optimizers.Adam(1e-4)
    loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    labels = keras.ops.convert_to_tensor(np.arange(batch) % 10)
    if keras.backend.backend() != "tensorflow":
        # Keras' own step: `jax.jit`-compiled on JAX, eager on PyTorch.
        model.compile(optimizer=optimizer, loss=loss_fn)
        return model.train_on_batch, (waveforms, labels)
    optimizer.build(model.trainable_variables)

    @tf.function
    def step(waveforms, labels):
        with tf.GradientTape() as tape:
            loss = loss_fn(labels, model(waveforms, training=True))
        gradients = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(gradients, model.trainable_variables))
        return loss

    return step, (waveforms, labels)


# ---------------------------------------------------------------- running


@dataclass
class Result:
    frontend: str
    forward_ms: dict = field(default_factory=dict)
    forward_backward_ms: dict = field(default_factory=dict)
    peak_mib: dict = field(default_factory=dict)  # forward + backward
    forward_peak_mib: dict = field(default_factory=dict)
    train_step_ms: float | None = None


def benchmark(
    frontends: list[str],
    settings: dict[str, tuple[int, int]],
    train_setting: tuple[int, int] | None,
    encoder_fn,
    repeats: int,
    device: str,
    log=print,
) -> list[Result]:
    """Times every frontend at every setting (all interleaved, see `interleaved_median_ms`) and
    measures its peak memory (forward, and forward + backward), then times the training steps (interleaved too)."""
    memory = PeakMemory(device)
    results = {name: Result(name) for name in frontends}
    forward_calls, backward_calls = {}, {}
    for setting, (batch, samples) in settings.items():
        waveforms = _signal(batch, samples)
        for name in frontends:
            frontend = FRONTENDS[name]()
            frontend(waveforms)  # builds the weights
            forward, forward_backward = frontend_functions(frontend)
            forward_calls[name, setting] = (forward, (waveforms,))
            backward_calls[name, setting] = (forward_backward, (waveforms,))
    calls = {("forward", *key): call for key, call in forward_calls.items()}
    calls.update({("forward_backward", *key): call for key, call in backward_calls.items()})
    milliseconds = interleaved_median_ms(calls, repeats)
    for (name, setting), call in backward_calls.items():
        result = results[name]
        result.forward_peak_mib[setting] = memory.measure(*forward_calls[name, setting])
        result.forward_ms[setting] = milliseconds["forward", name, setting]
        result.forward_backward_ms[setting] = milliseconds["forward_backward", name, setting]
        result.peak_mib[setting] = memory.measure(*call)
        log(
            f"  {name:15s} {setting:7s} forward {result.forward_ms[setting]:8.1f} ms   "
            f"forward+backward {result.forward_backward_ms[setting]:8.1f} ms   "
            f"peak {_format(result.forward_peak_mib[setting])} / {_format(result.peak_mib[setting])} MiB",
            flush=True,
        )
    if train_setting is not None:
        steps = {name: train_step(FRONTENDS[name](), encoder_fn, *train_setting) for name in frontends}
        step_ms = interleaved_median_ms({name: step for name, step in steps.items() if step is not None}, repeats)
        for name, milliseconds in step_ms.items():
            results[name].train_step_ms = milliseconds
            log(f"  {name:15s} training step {milliseconds:8.1f} ms", flush=True)
    return list(results.values())


def _format(value: float | None, digits: int = 1) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def _ratio(value: float | None, baseline: float | None) -> str:
    return "n/a" if value is None or not baseline else f"{value / baseline:.1f}×"


def table(results: list[Result], settings: dict[str, tuple[int, int]], encoder_name: str) -> str:
    """A Markdown table of the results, with ratios to Mel (when measured)."""
    mel = next((r for r in results if r.frontend == "mel"), None)
    header = ["frontend"]
    for setting in settings:
        header += [f"{setting} fwd ms", "÷ mel", f"{setting} fwd+bwd ms", "÷ mel"]
        header += [f"{setting} fwd peak MiB", f"{setting} fwd+bwd peak MiB"]
    header += [f"{encoder_name} step ms", "÷ mel"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for result in results:
        row = [result.frontend]
        for setting in settings:
            baseline_fwd = mel.forward_ms.get(setting) if mel else None
            baseline_bwd = mel.forward_backward_ms.get(setting) if mel else None
            row += [
                _format(result.forward_ms[setting]),
                _ratio(result.forward_ms[setting], baseline_fwd),
                _format(result.forward_backward_ms[setting]),
                _ratio(result.forward_backward_ms[setting], baseline_bwd),
                _format(result.forward_peak_mib.get(setting), 0),
                _format(result.peak_mib[setting], 0),
            ]
        row += [_format(result.train_step_ms), _ratio(result.train_step_ms, mel.train_step_ms if mel else None)]
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)


def ratios(results: list[Result], settings: dict[str, tuple[int, int]]) -> dict[str, float]:
    """Every ratio the benchmark reports, by name: the figures that can be compared across runs.

    * `"<frontend> <setting> fwd"` / `"... fwd+bwd"` / `"<frontend> step"`: time ÷ Mel's;
    * `"speed-up <setting> fwd"` / `"... fwd+bwd"`: leaf_reference's time ÷ leaf's;
    * `"<frontend> per-second <setting> fwd"` / `"... fwd+bwd"`: cost per second of audio at
      `<setting>` ÷ at the first setting.
    """
    by_name = {r.frontend: r for r in results}
    mel, leaf, reference = by_name.get("mel"), by_name.get("leaf"), by_name.get("leaf_reference")
    (first, (batch, samples)), *others = settings.items()
    out = {}
    for result in results:
        for setting in settings:
            if mel:
                out[f"{result.frontend} {setting} fwd"] = result.forward_ms[setting] / mel.forward_ms[setting]
                out[f"{result.frontend} {setting} fwd+bwd"] = (
                    result.forward_backward_ms[setting] / mel.forward_backward_ms[setting]
                )
        if mel and result.train_step_ms and mel.train_step_ms:
            out[f"{result.frontend} step"] = result.train_step_ms / mel.train_step_ms
        for setting, (other_batch, other_samples) in others:
            audio = (other_batch * other_samples) / (batch * samples)  # seconds of audio, relative to `first`
            for kind, times in (("fwd", result.forward_ms), ("fwd+bwd", result.forward_backward_ms)):
                out[f"{result.frontend} per-second {setting} {kind}"] = times[setting] / audio / times[first]
    recompute = by_name.get("leaf_recompute")
    if leaf and recompute:
        for setting in settings:
            out[f"recompute {setting} fwd+bwd"] = recompute.forward_backward_ms[setting] / leaf.forward_backward_ms[setting]
    if leaf and reference:
        for setting in settings:
            out[f"speed-up {setting} fwd"] = reference.forward_ms[setting] / leaf.forward_ms[setting]
            out[f"speed-up {setting} fwd+bwd"] = reference.forward_backward_ms[setting] / leaf.forward_backward_ms[setting]
    return out


def _spread(values: list[float], digits: int = 2, unit: str = "×") -> str:
    """`median` for one value, `median (min–max)` for several."""
    if not values:
        return "n/a"
    median = f"{statistics.median(values):.{digits}f}{unit}"
    if len(values) == 1:
        return median
    return f"{median} ({min(values):.{digits}f}–{max(values):.{digits}f})"


def summary(ratio_runs: dict[str, list[float]], frontends: list[str], settings: dict[str, tuple[int, int]]) -> str:
    """Speed-ups of LEAF over its reference formulation, the training-step ratios and per-second costs.

    `ratio_runs` maps each name of `ratios` to its values over the runs (one value for one run);
    several values print as `median (min–max)`.
    """
    lines = []
    first, *others = settings
    for setting in settings:
        if f"speed-up {setting} fwd" in ratio_runs:
            lines.append(
                f"LEAF vs reference-equivalent LEAF, {setting}: forward {_spread(ratio_runs[f'speed-up {setting} fwd'], 1)} "
                f"faster, forward+backward {_spread(ratio_runs[f'speed-up {setting} fwd+bwd'], 1)} faster"
            )
    for setting in settings:
        if f"recompute {setting} fwd+bwd" in ratio_runs:
            lines.append(
                f"LEAF recomputing its filter outputs in the backward pass, {setting}: forward+backward "
                f"{_spread(ratio_runs[f'recompute {setting} fwd+bwd'])} leaf's time"
            )
    for name in ("leaf", "leaf_reference", "leaf_recompute"):
        if f"{name} step" in ratio_runs:
            lines.append(f"Training step {name} / mel: {_spread(ratio_runs[f'{name} step'])}")
    if others:
        lines.append(f"Cost per second of audio relative to {first} (forward, forward+backward):")
        for name in frontends:
            cells = [
                f"{setting}: {_spread(ratio_runs[f'{name} per-second {setting} fwd'])}, "
                f"{_spread(ratio_runs[f'{name} per-second {setting} fwd+bwd'])}"
                for setting in others
            ]
            lines.append(f"  {name:15s} " + "   ".join(cells))
    return "\n".join(lines)


def runs_table(runs: list[list[Result]], settings: dict[str, tuple[int, int]], encoder_name: str) -> str:
    """A Markdown table of each ratio to Mel and of the peak memory (MiB), median and range over the runs."""
    ratio_runs = collect(runs, settings)
    header = ["frontend"]
    for setting in settings:
        header += [f"{setting} fwd ÷ mel", f"{setting} fwd+bwd ÷ mel", f"{setting} fwd peak MiB"]
        header += [f"{setting} fwd+bwd peak MiB"]
    header += [f"{encoder_name} step ÷ mel"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for index, result in enumerate(runs[0]):
        row = [result.frontend]
        for setting in settings:
            row += [
                _spread(ratio_runs.get(f"{result.frontend} {setting} fwd", []), 1),
                _spread(ratio_runs.get(f"{result.frontend} {setting} fwd+bwd", []), 1),
            ]
            for kind in ("forward_peak_mib", "peak_mib"):
                peaks = [getattr(run[index], kind).get(setting) for run in runs]
                row.append(_spread([peak for peak in peaks if peak is not None], 0, ""))
        row.append(_spread(ratio_runs.get(f"{result.frontend} step", [])))
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)


def collect(runs: list[list[Result]], settings: dict[str, tuple[int, int]]) -> dict[str, list[float]]:
    """Each ratio of `ratios` over the runs."""
    ratio_runs: dict[str, list[float]] = {}
    for results in runs:
        for name, value in ratios(results, settings).items():
            ratio_runs.setdefault(name, []).append(value)
    return ratio_runs


CPU_FEATURES = ("sse4_2", "avx", "avx2", "fma", "avx512f", "avx512_vnni", "avx512_bf16", "amx_tile", "asimd", "sve")


def backend_version() -> str:
    """The Keras backend in use and its framework's version, e.g. "jax (jax 0.10.2)"."""
    backend = keras.backend.backend()
    if backend == "jax":
        import jax

        return f"jax (jax {jax.__version__})"
    if backend == "torch":
        import torch

        return f"torch (PyTorch {torch.__version__}, {torch.get_num_threads()} threads)"
    return backend


def tensorflow_cpu_runtime() -> str:
    """Whether TensorFlow's oneDNN kernels are on (its default on CPUs with AVX-512 only) and which CPU memory
    allocator it uses (`import leaf_tf` makes it the BFC pool unless `TF_CPU_ALLOCATOR_USE_BFC` says otherwise)."""
    try:
        from tensorflow.python.util import _pywrap_util_port

        onednn = "on" if _pywrap_util_port.IsMklEnabled() else "off"
    except (ImportError, AttributeError):  # pragma: no cover - a TensorFlow that moved it
        onednn = "unknown"
    pool = os.environ.get("TF_CPU_ALLOCATOR_USE_BFC", "").lower() in ("1", "true")
    return f"oneDNN {onednn}, CPU allocator {'BFC pool' if pool or onednn == 'on' else 'default'}"


def machine_description(device: str) -> str:
    """CPU model, core count, vector instruction sets, TensorFlow and Keras versions, the backend (and the GPU)."""
    fields = {}  # the first value of each /proc/cpuinfo field (the first core's)
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                key, _, value = line.partition(":")
                fields.setdefault(key.strip(), value.strip())
    except OSError:
        pass
    cpu = fields.get("model name") or platform.processor() or platform.machine()
    flags = set((fields.get("flags") or fields.get("Features") or "").split())
    features = " ".join(feature for feature in CPU_FEATURES if feature in flags) or "unknown"
    text = (
        f"{cpu}, {os.cpu_count()} CPU cores (instruction sets: {features}), "
        f"TensorFlow {tf.__version__} ({tensorflow_cpu_runtime()}), Keras {keras.__version__}, "
        f"backend {backend_version()}"
    )
    if device == "gpu" and keras.backend.backend() == "tensorflow":
        details = tf.config.experimental.get_device_details(tf.config.list_physical_devices("GPU")[0])
        text += f", GPU: {details.get('device_name', 'unknown')}"
    return text


def _default_device() -> str:
    """"gpu" where the Keras backend in use computes on a GPU by default, else "cpu"."""
    backend = keras.backend.backend()
    if backend == "jax":
        import jax

        return "gpu" if jax.default_backend() == "gpu" else "cpu"
    if backend == "torch":
        import torch

        return "gpu" if torch.cuda.is_available() else "cpu"
    return "gpu" if tf.config.list_physical_devices("GPU") else "cpu"


def load_average() -> str:
    return " / ".join(f"{value:.1f}" for value in os.getloadavg())


def _run_in_processes(argv: list[str], runs: int, log=print, script: str = __file__) -> list[dict]:
    """Runs `script` (this one) `runs` times, one process after another, and returns each run's JSON."""
    outputs = []
    with tempfile.TemporaryDirectory() as folder:
        for run in range(runs):
            path = os.path.join(folder, f"run{run}.json")
            log(f"Run {run + 1}/{runs} (separate process)", flush=True)
            subprocess.run([sys.executable, os.path.abspath(script), *argv, "--runs", "1", "--json", path], check=True)
            with open(path) as file:
                outputs.append(json.load(file))
    return outputs


def timed_run(calls: dict, repeats: int, **checks) -> dict:
    """One run's results: the interleaved median ms of `calls` (keyed `(pass, name, setting)`), the machine,
    its load average and `checks` (JSON-serialisable)."""
    milliseconds = interleaved_median_ms(calls, repeats)
    return {
        "machine": machine_description("cpu"),
        "load_average": load_average(),
        **checks,
        "milliseconds": {" ".join(key): value for key, value in milliseconds.items()},
    }


def timed_variants(build: Callable, variants: list, settings: list[str], repeats: int) -> dict:
    """`timed_run` of variants of one computation: `build(variant, setting)` gives its forward and forward +
    backward calls (`(function, args)` each) and its outputs; every call is timed interleaved, keyed
    `(pass, str(variant), setting)`, and `disagreement` holds each variant's largest difference from the
    first variant's outputs ÷ their largest value."""
    calls, disagreement = {}, {}
    for setting in settings:
        reference = None
        for variant in variants:
            forward, forward_backward, outputs = build(variant, setting)
            calls["fwd", str(variant), setting], calls["fwd+bwd", str(variant), setting] = forward, forward_backward
            reference = outputs if reference is None else reference
            difference = np.max(np.abs(outputs - reference)) / np.max(np.abs(reference))
            disagreement[f"{variant} {setting}"] = float(difference)
    return timed_run(calls, repeats, disagreement=disagreement)


def variants_report(runs: list[dict], variants: list[str], settings: list[str], what: str, compared: str,
                    digits: int = 1) -> str:
    """A table of runs of variants of one computation (`timed_run`s keyed `pass variant setting`, with a
    `disagreement` check): each variant's median time and its time ÷ the first variant's in the same run,
    median (min–max) over the runs. `what` heads the variants' column, `compared` names what was checked."""
    first = variants[0]
    lines = [f"Over {len(runs)} run(s), median (min–max), time ÷ the time of {what} {first} in the same run:"]
    lines += sorted({f"  {run['machine']}" for run in runs})
    lines += ["", f"| setting | pass | {what} | ms | ÷ {first} |", "|---|---|---|---:|---|"]
    for setting in settings:
        for kind in ("fwd", "fwd+bwd"):
            base = [run["milliseconds"][f"{kind} {first} {setting}"] for run in runs]
            for variant in variants:
                times = [run["milliseconds"][f"{kind} {variant} {setting}"] for run in runs]
                ratio = _spread([t / b for t, b in zip(times, base)])
                lines.append(f"| {setting} | {kind} | {variant} | {np.median(times):.{digits}f} | {ratio} |")
    worst = max(value for run in runs for value in run["disagreement"].values())
    lines += ["", f"{compared} vs {first}'s: largest difference ÷ largest value {worst:.1e}"]
    return "\n".join(lines)


def measured_runs(measure_once, child_argv: list[str], runs: int, json_path: str | None, script: str) -> list[dict]:
    """`[measure_once()]` when `runs == 1`; otherwise `script` run `runs` times with `child_argv`, each in
    its own process, and their results. Written to `json_path` too when given (one run: its dict)."""
    results = _run_in_processes(child_argv, runs, script=script) if runs > 1 else [measure_once()]
    if json_path:
        with open(json_path, "w") as file:
            json.dump(results if runs > 1 else results[0], file, indent=2)
    return results


def main(argv: list[str] | None = None) -> list[list[Result]]:
    """Runs the benchmark (`--runs` times) and prints its tables; returns each run's results."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--backend", choices=BACKENDS, default=keras.backend.backend(),
        help="the Keras backend to measure (run as a program: it sets KERAS_BACKEND before Keras is imported)",
    )
    parser.add_argument("--device", choices=("cpu", "gpu"), default="cpu")
    parser.add_argument("--repeats", type=int, default=10, help="timed calls per measurement (median)")
    parser.add_argument("--frontends", nargs="+", choices=list(FRONTENDS), default=DEFAULT_FRONTENDS)
    parser.add_argument(
        "--settings", nargs="+", choices=list(SETTINGS), default=list(DEFAULT_SETTINGS),
        help="input sizes (batch x seconds); the first is the baseline of the cost per second",
    )
    parser.add_argument("--runs", type=int, default=1, help="repeat everything in this many separate processes")
    parser.add_argument("--no-train-step", action="store_true", help="skip the EfficientNetB0 training steps")
    parser.add_argument("--quick", action="store_true", help="smoke run: tiny inputs, a tiny encoder, 2 repeats")
    parser.add_argument("--json", help="also write the results to this file")
    args = parser.parse_args(argv)

    if args.runs < 1:
        parser.error(f"--runs must be at least 1, got {args.runs}.")
    if args.backend != keras.backend.backend():
        parser.error(
            f"--backend {args.backend}: Keras was imported with the {keras.backend.backend()} backend; run the script "
            f"as a program (`python benchmarks/frontends.py --backend {args.backend}`) or set KERAS_BACKEND."
        )
    # TensorFlow places each computation where it is told; JAX and PyTorch compute on their default device.
    placeable = args.backend == "tensorflow" and args.device == "cpu"
    if args.device != _default_device() and not placeable:
        parser.error(
            f"--device {args.device}: the {args.backend} backend computes on the {_default_device().upper()} here."
        )
    settings = QUICK_SETTINGS if args.quick else {name: SETTINGS[name] for name in args.settings}
    encoder_name = "tiny CNN" if args.quick else "EfficientNetB0"
    if args.runs > 1:
        child_argv = [
            "--backend", args.backend, "--device", args.device, "--repeats", str(args.repeats), "--frontends", *args.frontends,
            "--settings", *args.settings,
            *(["--no-train-step"] if args.no_train_step else []), *(["--quick"] if args.quick else []),
        ]
        outputs = _run_in_processes(child_argv, args.runs)
        runs = [[Result(**result) for result in output["results"]] for output in outputs]
        print(f"\nRatios over {args.runs} runs, each in its own process: median (min–max)")
        for index, output in enumerate(outputs):
            print(f"  run {index + 1}: {output['machine']}; load average {output['load_average']}")
        print()
        print(runs_table(runs, settings, encoder_name))
        print()
        print(summary(collect(runs, settings), args.frontends, settings))
        if args.json:
            with open(args.json, "w") as file:
                json.dump({"runs": outputs}, file, indent=2)
        return runs

    train_setting = None if args.no_train_step else (QUICK_TRAIN_SETTING if args.quick else TRAIN_SETTING)
    encoder_fn = tiny_encoder if args.quick else efficientnet_b0
    repeats = 2 if args.quick else args.repeats
    start_load = load_average()
    print(f"Machine: {machine_description(args.device)}; device {args.device}; load average {start_load}", flush=True)
    placement = tf.device("/GPU:0" if args.device == "gpu" else "/CPU:0") if args.backend == "tensorflow" else None
    with placement or contextlib.nullcontext():
        results = benchmark(args.frontends, settings, train_setting, encoder_fn, repeats, args.device)
    print()
    print(table(results, settings, encoder_name))
    print()
    print(summary(collect([results], settings), args.frontends, settings))
    end_load = load_average()
    print(f"Load average at the end: {end_load}")
    if args.json:
        with open(args.json, "w") as output:
            json.dump(
                {"machine": machine_description(args.device), "device": args.device, "backend": args.backend,
                 "load_average": f"{start_load} at the start, {end_load} at the end",
                 "results": [asdict(r) for r in results]},
                output,
                indent=2,
            )
    return [results]


if __name__ == "__main__":
    main()
