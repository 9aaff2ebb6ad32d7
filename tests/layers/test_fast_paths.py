"""Every fast path equals its direct formulation, forward and backward, to float32 round-off.

Paths (see `leaf_tf.ops`): the filterbank convolution by overlapping chunks and
by overlap-save FFT, the PCEN smoother as a chunked matrix recurrence, and the
fused filterbank -> activation -> pooling pass of the LEAF-family frontends.
Each is compared with the direct formulation (`tf.nn.conv1d`, `tf.scan`,
stage-by-stage layers) on the tests' speech-like signals, at initialisation
and at random parameters, for 401, 12345, 16000 and 160000 samples:
`max |y - y_ref| / max |y_ref| <= 1e-5` for outputs and for the gradients with
respect to the input and every weight (docs/numerics.md's per-channel metric is used
for frontend outputs, whose channels all matter after PCEN).

Gradients are those of `sum(y * w)` with fixed positive weights `w`: a
well-conditioned scalar, so that the comparison measures the paths and not the
cancellation in a random-sign sum.

Where a frontend has a leaky ReLU after its filterbank (SincNet+), the
gradient jumps at filter outputs equal to zero; an output within round-off of
zero may fall on different sides of the kink in two exact formulations. The
fused leaky-ReLU pass is therefore checked exactly on signals whose filter
outputs stay away from zero (`test_fused_leaky_relu_pass`), and SincNet+ on
speech-like signals checks the gradients that cross the kink (input and
filter) to 1e-2, the others to the usual tolerance.
"""

from __future__ import annotations

import functools

import numpy as np
import pytest
import tensorflow as tf

import leaf_tf
from leaf_tf import layers, ops
from leaf_tf.layers.filterbank import ParametricConv1D, resolve_conv_implementation
from tests.helpers import assign_pcen, global_relative_error, make_signal, random_pcen_values, relative_error

K, S = 401, 160
LENGTHS = [401, 12345, 16000, 160000]
TOLERANCE = 1e-5


def _batch(num_samples: int) -> int:
    return 1 if num_samples > 100000 else 2


def _signal(num_samples: int) -> tf.Tensor:
    return tf.constant(make_signal(num_samples, batch=_batch(num_samples)))


def _upstream(shape, seed: int = 1) -> tf.Tensor:
    return tf.constant(np.random.default_rng(seed).uniform(0.5, 1.5, shape).astype(np.float32))


def _outputs_and_gradients(function, inputs, weights, upstream) -> list[np.ndarray]:
    """`[y, d/d inputs, d/d weights...]` of `sum(function(inputs) * upstream)`."""
    with tf.GradientTape() as tape:
        tape.watch(inputs)
        outputs = function(inputs)
        loss = tf.reduce_sum(outputs * upstream)
    return [np.asarray(outputs)] + [np.asarray(g) for g in tape.gradient(loss, [inputs, *weights])]


def _assert_close(actual: list, expected: list, names: list[str], per_channel_first: bool = False) -> None:
    for name, values in zip(names, actual):
        assert np.all(np.isfinite(values)), f"{name} is not finite"
    errors = {name: global_relative_error(a, e) for name, a, e in zip(names, actual, expected)}
    if per_channel_first:
        errors[names[0] + " (per channel)"] = relative_error(actual[0], expected[0])
    assert max(errors.values()) <= TOLERANCE, "; ".join(f"{k}: {v:.2e}" for k, v in errors.items())


# ---------------------------------------------------------------- plans and sizes


def test_fast_fft_length_and_plans():
    assert [ops.fast_fft_length(n) for n in (1, 3, 401, 16720)] == [2, 4, 432, 17280]
    for outputs, taps, align in [(16320, 401, 160), (12345, 401, 1), (160320, 401, 160), (480, 401, 160), (5, 3, 1)]:
        plan = ops.overlap_save_plan(outputs, taps, align)
        assert plan.hop % align == 0 and plan.hop >= align
        assert plan.fft_length >= plan.hop + taps - 1 and plan.fft_length % 2 == 0
        assert plan.num_blocks * plan.hop >= outputs > (plan.num_blocks - 1) * plan.hop


# ---------------------------------------------------------------- filterbank convolutions


def _conv_layer(cls, implementation: str, random_values: bool, num_samples: int):
    filters = 4 if num_samples > 100000 else 8
    layer = cls(filters=filters, kernel_size=K, implementation=implementation)
    layer.build((None, num_samples, 1))
    if random_values:
        rng = np.random.default_rng(num_samples)
        if cls is layers.GaborConv1D:
            values = np.stack([rng.uniform(0.02, 3.1, filters // 2), rng.uniform(2.0, 140.0, filters // 2)], 1)
        else:
            values = np.stack([rng.uniform(-7000, 7000, filters // 2), rng.uniform(-2000, 2000, filters // 2)], 1)
        layer.kernel.assign(values.astype(np.float32))
    return layer


def _float64_conv(layer, x, upstream) -> list[np.ndarray]:
    """`[y, d input, d kernel]` of the direct correlation in float64, from the layer's float32 taps."""
    with tf.GradientTape() as weights_tape:
        taps32 = layer.conv_kernel()
    x64, taps = tf.cast(x, tf.float64), tf.cast(taps32, tf.float64)
    with tf.GradientTape() as tape:
        tape.watch([x64, taps])
        outputs = tf.nn.conv1d(x64, taps, 1, "SAME")
        loss = tf.reduce_sum(outputs * tf.cast(upstream, tf.float64))
    d_x, d_taps = tape.gradient(loss, [x64, taps])
    d_kernel = weights_tape.gradient(taps32, layer.kernel, tf.cast(d_taps, tf.float32))
    return [np.asarray(outputs), np.asarray(d_x), np.asarray(d_kernel)]


@pytest.mark.parametrize("num_samples", LENGTHS)
@pytest.mark.parametrize("cls", [layers.GaborConv1D, layers.SincConv1D])
def test_filterbank_paths_match_direct_convolution(cls, num_samples):
    x = _signal(num_samples)[..., tf.newaxis]
    for random_values in (False, True):
        direct = _conv_layer(cls, "direct", random_values, num_samples)
        upstream = _upstream((x.shape[0], num_samples, direct.out_channels))
        expected = _outputs_and_gradients(direct, x, [direct.kernel], upstream)
        for implementation in ("chunked", "fft"):
            layer = _conv_layer(cls, implementation, random_values, num_samples)
            actual = _outputs_and_gradients(layer, x, [layer.kernel], upstream)
            names = [f"{implementation} output", "d input", "d kernel"]
            truth = functools.partial(_float64_conv, direct, x, upstream)
            _assert_as_exact_as_direct(actual, expected, names, truth, per_channel=False)


def test_conv_implementation_auto_rule():
    static = tf.zeros([2, 16000, 1])
    assert resolve_conv_implementation("auto", static) == "fft"
    assert resolve_conv_implementation("auto", static, strides=2) == "direct"
    assert resolve_conv_implementation("auto", tf.zeros([2, 16000, 1], tf.float64)) == "direct"
    assert resolve_conv_implementation("chunked", static) == "chunked"
    seen = []
    layer = layers.GaborConv1D(filters=4, kernel_size=K)
    layer.build((None, None, 1))

    @tf.function(input_signature=[tf.TensorSpec([None, None, 1])])
    def dynamic(x):
        seen.append(resolve_conv_implementation("auto", x))
        return layer(x)

    assert dynamic(static).shape == (2, 16000, 4) and seen == ["direct"]
    with pytest.raises(ValueError, match="implementation"):
        layers.GaborConv1D(filters=4, kernel_size=K, implementation="winograd")


# ---------------------------------------------------------------- PCEN smoother


@pytest.mark.parametrize("num_frames", [1, 5, 64, 65, 100, 1000])
def test_parallel_ema_matches_scan(num_frames):
    rng = np.random.default_rng(num_frames)
    x = tf.constant(np.exp(rng.uniform(-12, 3, (2, num_frames, 6))).astype(np.float32))
    # In range, both clip bounds (exactly 0 and 1) and beyond them.
    smooth = np.float32([0.04, 0.3, 0.0, 1.0, -0.2, 1.3])
    upstream = _upstream(x.shape)
    results = {}
    for implementation, dtype in (("scan", "float32"), ("parallel", "float32"), ("scan", "float64")):
        ema = layers.ExponentialMovingAverage(
            per_channel=True, trainable=True, implementation=implementation, dtype=dtype
        )
        ema.build(x.shape)
        ema.smooth.assign(smooth.astype(dtype))
        results[implementation, dtype] = _outputs_and_gradients(
            ema, tf.cast(x, dtype), [ema.smooth], tf.cast(upstream, dtype)
        )
    _assert_as_exact_as_direct(
        results["parallel", "float32"],
        results["scan", "float32"],
        ["output", "d input", "d smooth"],
        lambda: results["scan", "float64"],
        per_channel=False,
    )
    d_smooth = results["parallel", "float32"][2]
    assert np.all(np.isfinite(d_smooth)) and d_smooth[4] == 0 and d_smooth[5] == 0  # clipped: no gradient


def test_parallel_ema_scalar_coefficient_and_dynamic_length():
    x = tf.constant(np.exp(np.random.default_rng(0).uniform(-5, 3, (3, 777, 4))).astype(np.float32))
    scan = layers.ExponentialMovingAverage(coeff_init=0.1, implementation="scan")
    parallel = layers.ExponentialMovingAverage(coeff_init=0.1, implementation="parallel")
    expected = scan(x)
    dynamic = tf.function(parallel.call, input_signature=[tf.TensorSpec([None, None, 4])])
    for outputs in (parallel(x), dynamic(x)):
        assert global_relative_error(outputs, expected) <= TOLERANCE


@pytest.mark.parametrize("dynamic", [False, True])
def test_linear_recurrence_recursion_levels(dynamic):
    """Chunks of 4 steps: 200 steps need four levels of the chunked recursion."""
    rng = np.random.default_rng(3)
    x = tf.constant(rng.uniform(0.0, 2.0, (2, 200, 3)).astype(np.float32))
    decay = tf.constant([0.0, 0.5, 0.97], tf.float32)
    initial = tf.constant(rng.uniform(0.0, 2.0, (2, 3)).astype(np.float32))

    def recurrence(x):
        return ops.linear_recurrence(x, decay, initial, chunk_length=4)

    if dynamic:
        recurrence = tf.function(recurrence, input_signature=[tf.TensorSpec([None, None, 3])])
    expected = tf.scan(lambda z, u: decay * z + u, tf.transpose(x, (1, 0, 2)), initializer=initial)
    assert global_relative_error(recurrence(x), tf.transpose(expected, (1, 0, 2))) <= TOLERANCE


def test_linear_recurrence_with_a_dynamic_length_covers_max_dynamic_steps(monkeypatch):
    """A length known only at run time gets as many levels as `ops.MAX_DYNAMIC_STEPS` needs: with chunks
    of 4 and at most 64 steps, three levels, and 64 steps come out as the scan's."""
    monkeypatch.setattr(ops, "MAX_DYNAMIC_STEPS", 64)
    rng = np.random.default_rng(4)
    x = tf.constant(rng.uniform(0.0, 2.0, (2, 64, 3)).astype(np.float32))
    decay, initial = tf.constant([0.1, 0.6, 0.99], tf.float32), tf.zeros((2, 3))
    recurrence = tf.function(
        lambda x: ops.linear_recurrence(x, decay, initial, chunk_length=4),
        input_signature=[tf.TensorSpec([None, None, 3])],
    )
    expected = tf.scan(lambda z, u: decay * z + u, tf.transpose(x, (1, 0, 2)), initializer=initial)
    assert global_relative_error(recurrence(x), tf.transpose(expected, (1, 0, 2))) <= TOLERANCE


@pytest.mark.parametrize("dynamic", [False, True])
def test_compiled_pcen_equals_its_graph_operations(dynamic):
    """On TensorFlow, PCEN with the parallel smoother runs as one XLA computation when the number of frames
    is static (op by op otherwise: no compilation per length): the same outputs and gradients (input and every
    weight) as its operations run one by one, at random in-range parameters and at a negative delta (floored
    at zero, straight-through)."""
    from leaf_tf.layers.compression import _compiled_pcen, pcen

    rng = np.random.default_rng(11)
    frames = 256 if dynamic else 255  # a shape the compiled function has not seen in this process
    x = tf.constant(np.exp(rng.uniform(-12, 3, (3, frames, 5))).astype(np.float32))
    upstream = _upstream(x.shape)
    layer = layers.learnable_pcen()
    layer.build(x.shape)
    assign_pcen(layer, random_pcen_values(rng, 5, out_of_range=False))
    layer.delta.assign(np.float32([2.0, 0.5, -0.3, 0.01, 1.0]))
    weights = [layer.alpha, layer.delta, layer.root, layer.ema.smooth]
    compiled = tf.function(layer.call, input_signature=[tf.TensorSpec([None, None, 5])]) if dynamic else layer

    def graph_operations(inputs):
        delta = layer.delta + tf.stop_gradient(tf.nn.relu(layer.delta) - layer.delta)
        return pcen(inputs, layer.ema.coefficient(), tf.minimum(layer.alpha, 1.0), delta,
                    1.0 / tf.maximum(layer.root, 1.0), layer.floor)

    traces = _compiled_pcen(float(layer.floor)).experimental_get_tracing_count()
    results = [_outputs_and_gradients(function, x, weights, upstream) for function in (compiled, graph_operations)]
    compiled_traces = _compiled_pcen(float(layer.floor)).experimental_get_tracing_count() - traces
    assert compiled_traces == (0 if dynamic else 1)
    _assert_close(*results, ["output", "d input", "d alpha", "d delta", "d root", "d smooth"], per_channel_first=True)


def test_ema_and_pcen_implementation_round_trip():
    ema = layers.ExponentialMovingAverage(implementation="scan")
    assert ema.resolved_implementation == "scan"
    ema_clone = layers.ExponentialMovingAverage.from_config(
        layers.ExponentialMovingAverage(coeff_init=0.1, per_channel=True, implementation="scan").get_config()
    )
    assert (ema_clone.coeff_init, ema_clone.per_channel, ema_clone.implementation) == (0.1, True, "scan")
    assert layers.ExponentialMovingAverage().resolved_implementation == "parallel"
    pcen = layers.learnable_pcen(implementation="scan")
    clone = layers.PCENLayer.from_config(pcen.get_config())
    assert clone.implementation == "scan" and clone.ema.implementation == "scan"
    with pytest.raises(ValueError, match="implementation"):
        layers.ExponentialMovingAverage(implementation="cumsum")


# ---------------------------------------------------------------- fused frontends


def _randomize(frontend, num_samples: int) -> None:
    """Random in-range values for every weight of a LEAF-family frontend."""
    rng = np.random.default_rng(num_samples + 7)
    conv, pooling, channels = frontend.filterbank, frontend.pooling, frontend.n_filters
    if isinstance(conv, layers.GaborConv1D):
        values = np.stack([rng.uniform(0.02, 3.1, channels), rng.uniform(2.0, 140.0, channels)], 1)
    elif isinstance(conv, layers.SincConv1D):
        values = np.stack([rng.uniform(-7000, 7000, channels), rng.uniform(-2000, 2000, channels)], 1)
    else:
        values = 0.05 * rng.standard_normal(conv.kernel.shape)
    conv.kernel.assign(values.astype(np.float32))
    if isinstance(pooling, layers.GaussianLowpass):
        pooling.kernel.assign(rng.uniform(0.01, 0.5, (1, 1, channels, 1)).astype(np.float32))
    else:
        pooling.kernel.assign(rng.uniform(0.0, 1.0, pooling.kernel.shape).astype(np.float32))
    if isinstance(frontend.compression, layers.PCENLayer):
        assign_pcen(frontend.compression, random_pcen_values(rng, channels, out_of_range=False))


def _taps_and_windows(frontend) -> tuple[tf.Tensor, tf.Tensor]:
    conv, pooling = frontend.filterbank, frontend.pooling
    kernel = conv.conv_kernel() if isinstance(conv, ParametricConv1D) else tf.convert_to_tensor(conv.kernel)
    windows = pooling.windows() if isinstance(pooling, layers.GaussianLowpass) else tf.convert_to_tensor(pooling.kernel)
    return kernel, windows


def _float64_direct(frontend, x, upstream) -> list[np.ndarray]:
    """The direct stages of `frontend` in float64: `[y, d input, d weights...]` like `_outputs_and_gradients`.

    The taps and pooling windows are computed by the layers in float32 (the
    same numbers every path starts from), everything after them in float64;
    gradients reach the float32 weights through the same tap/window code.
    """
    conv, pooling, compression = frontend.filterbank, frontend.pooling, frontend.compression
    with tf.GradientTape(persistent=True) as weights_tape:
        kernel32, windows32 = _taps_and_windows(frontend)
    kernel, windows = tf.cast(kernel32, tf.float64), tf.cast(windows32, tf.float64)
    x64 = tf.cast(x, tf.float64)
    pcen = None
    if isinstance(compression, layers.PCENLayer):
        pcen = layers.PCENLayer.from_config({**compression.get_config(), "dtype": "float64", "implementation": "scan"})
        pcen.build((None, None, frontend.n_filters))
        pairs = [(pcen.alpha, compression.alpha), (pcen.delta, compression.delta), (pcen.root, compression.root),
                 (pcen.ema.smooth, compression.ema.smooth)]
        for copy, original in pairs:
            copy.assign(tf.cast(original, tf.float64))
    with tf.GradientTape() as tape:
        tape.watch([x64, kernel, windows])
        filtered = tf.nn.conv1d(x64[..., tf.newaxis], kernel, 1, "SAME")
        if isinstance(frontend.activation, layers.SquaredModulus):
            energies = tf.reduce_sum(tf.square(tf.reshape(filtered, [*filtered.shape[:2], -1, 2])), -1)
        else:
            energies = tf.nn.leaky_relu(filtered, frontend.activation.negative_slope)
        if isinstance(pooling, layers.GaussianLowpass):
            pooled = tf.nn.depthwise_conv2d(energies[:, tf.newaxis], windows, (1, S, S, 1), "SAME")[:, 0]
        else:
            channels_as_batch = tf.reshape(tf.transpose(energies, (0, 2, 1)), [-1, energies.shape[1], 1])
            pooled = tf.nn.conv1d(channels_as_batch, windows[0], S, "VALID")
            pooled = tf.transpose(tf.reshape(pooled, [energies.shape[0], energies.shape[2], -1]), (0, 2, 1))
        pooled = tf.maximum(pooled, 1e-5)
        outputs = pcen(pooled) if pcen is not None else tf.math.log(pooled + 1e-5)
        loss = tf.reduce_sum(outputs * tf.cast(upstream, tf.float64))
    pcen_weights = [pair[0] for pair in pairs] if pcen is not None else []
    d_x, d_kernel, d_windows, *d_pcen = tape.gradient(loss, [x64, kernel, windows, *pcen_weights])
    gradients = {
        id(conv.kernel): weights_tape.gradient(kernel32, conv.kernel, tf.cast(d_kernel, tf.float32)),
        id(pooling.kernel): weights_tape.gradient(windows32, pooling.kernel, tf.cast(d_windows, tf.float32)),
    }
    if pcen is not None:
        gradients.update({id(original): grad for (_, original), grad in zip(pairs, d_pcen)})
    return [np.asarray(outputs), np.asarray(d_x)] + [np.asarray(gradients[id(w)]) for w in frontend.trainable_weights]


def _frontend_pair(cls, x, random_values: bool):
    reference = cls(n_filters=8, implementation="direct")
    reference(x)
    if random_values:
        _randomize(reference, x.shape[1])
    return reference


def _fast_copy(reference, cls, implementation: str, x):
    fast = cls(n_filters=8, implementation=implementation)
    fast(x)
    fast.set_weights(reference.get_weights())
    return fast


def _assert_as_exact_as_direct(actual: list, direct: list, names: list[str], truth, per_channel: bool = True) -> None:
    """Each of `actual` within TOLERANCE of `direct`; where not, at least as close as `direct` to `truth()`.

    The second case is a long sum with cancellation (a filter or smoothing
    gradient over a 10 s clip) where the direct float32 formulation is itself
    further than TOLERANCE from the float64 value.
    """
    for name, values in zip(names, actual):
        assert np.all(np.isfinite(values)), f"{name} is not finite"
    metrics = {name: global_relative_error for name in names}
    if per_channel:
        names = [*names, names[0] + " (per channel)"]
        actual, direct = [*actual, actual[0]], [*direct, direct[0]]
        metrics[names[-1]] = relative_error
    errors = {name: metrics[name](a, d) for name, a, d in zip(names, actual, direct)}
    failing = [i for i, name in enumerate(names) if errors[name] > TOLERANCE]
    if not failing:
        return
    exact = truth()
    exact = [*exact, exact[0]] if per_channel else exact
    report = []
    for i in failing:
        metric = metrics[names[i]]
        fast_error, direct_error = metric(actual[i], exact[i]), metric(direct[i], exact[i])
        report.append(f"{names[i]}: vs direct {errors[names[i]]:.2e}, vs float64 {fast_error:.2e} (direct {direct_error:.2e})")
        assert fast_error <= max(direct_error, TOLERANCE), "; ".join(report)


@pytest.mark.parametrize("num_samples", LENGTHS)
@pytest.mark.parametrize(
    "cls, implementations",
    [(leaf_tf.Leaf, ("fused", "layers")), (leaf_tf.TimeDomainFilterbanks, ("fused",))],
    ids=["leaf", "tdfbanks"],
)
def test_frontend_paths_match_direct_stages(cls, implementations, num_samples):
    x = _signal(num_samples)
    for random_values in (False, True):
        reference = _frontend_pair(cls, x, random_values)
        names = ["output", "d input"] + [w.path for w in reference.trainable_weights]
        upstream = _upstream(reference(x).shape)
        expected = _outputs_and_gradients(reference, x, reference.trainable_weights, upstream)
        for implementation in implementations:
            fast = _fast_copy(reference, cls, implementation, x)
            assert fast.uses_fused_path(x[..., tf.newaxis]) == (implementation == "fused")
            actual = _outputs_and_gradients(fast, x, fast.trainable_weights, upstream)
            truth = functools.partial(_float64_direct, reference, x, upstream)
            _assert_as_exact_as_direct(actual, expected, names, truth)


@pytest.mark.parametrize("num_samples", LENGTHS[:3])  # 160000: test_fused_leaky_relu_pass
def test_sincnet_plus_fused_path(num_samples):
    """SincNet+'s leaky ReLU has a kink at zero: filter outputs within round-off of zero can fall on
    either side of it in two exact formulations, which moves the filter and input gradients by one
    sample's contribution (up to ~1e-3 of their maximum). The outputs and the pooling and PCEN
    gradients are compared as everywhere else; the filter and input gradients loosely here and
    exactly in `test_fused_leaky_relu_pass` (signals without outputs near the kink)."""
    x = _signal(num_samples)
    for random_values in (False, True):
        reference = _frontend_pair(leaf_tf.SincNetPlus, x, random_values)
        fast = _fast_copy(reference, leaf_tf.SincNetPlus, "fused", x)
        assert fast.uses_fused_path(x[..., tf.newaxis])
        names = ["output", "d input"] + [w.path for w in reference.trainable_weights]
        upstream = _upstream(reference(x).shape)
        expected = _outputs_and_gradients(reference, x, reference.trainable_weights, upstream)
        actual = _outputs_and_gradients(fast, x, fast.trainable_weights, upstream)
        kinked = [1, 2]  # d input, d filter kernel
        for i in kinked:
            assert global_relative_error(actual[i], expected[i]) <= 1e-2, names[i]
        keep = [i for i in range(len(names)) if i not in kinked]
        _assert_as_exact_as_direct(
            [actual[i] for i in keep],
            [expected[i] for i in keep],
            [names[i] for i in keep],
            functools.partial(_selected, keep, _float64_direct, reference, x, upstream),
        )


def _selected(indices, function, *args):
    results = function(*args)
    return [results[i] for i in indices]


@pytest.mark.parametrize("num_samples", [401, 12345, 160000])
def test_fused_leaky_relu_pass(num_samples):
    """The fused filterbank -> leaky ReLU -> Gaussian pooling pass against the direct stages, on
    filter outputs that stay away from the kink: random taps plus a DC gain of +1 (channels 0-3) or
    -1 (channels 4-7, the leaky branch) applied to the test signal plus an offset of 20."""
    x = _signal(num_samples) + 20.0
    rng = np.random.default_rng(num_samples)
    dc = np.float32([1.0] * 4 + [-1.0] * 4)[:, np.newaxis] / K
    taps = tf.constant((0.01 * rng.standard_normal((8, K)) + dc).astype(np.float32))
    windows = layers.GaussianLowpass(kernel_size=K, strides=S)
    windows.build((None, None, 8))
    windows.kernel.assign(rng.uniform(0.01, 0.5, (1, 1, 8, 1)).astype(np.float32))
    windows = windows.windows()[0, :, :, 0]
    filtered = np.asarray(tf.nn.conv1d(x[..., tf.newaxis], tf.transpose(taps)[:, tf.newaxis, :], 1, "SAME"))
    assert np.all(filtered[..., :4] > 1) and np.all(filtered[..., 4:] < -1)

    def direct(signal, taps, windows):
        filtered = tf.nn.conv1d(signal[..., tf.newaxis], tf.transpose(taps)[:, tf.newaxis, :], 1, "SAME")
        energies = tf.nn.leaky_relu(filtered, 0.2)[:, tf.newaxis]
        return tf.nn.depthwise_conv2d(energies, windows[tf.newaxis, :, :, tf.newaxis], (1, S, S, 1), "SAME")[:, 0]

    def fused(signal, taps, windows):
        return ops.fused_filterbank_pooling(signal, taps, windows, S, activation="leaky_relu", negative_slope=0.2)

    upstream = _upstream((x.shape[0], -(-num_samples // S), 8))

    def gradients(function, dtype):
        inputs = [tf.cast(t, dtype) for t in (x, taps, windows)]
        with tf.GradientTape() as tape:
            tape.watch(inputs)
            loss = tf.reduce_sum(function(*inputs) * tf.cast(upstream, dtype))
        return [np.asarray(g) for g in tape.gradient(loss, inputs)]

    names = ["d input", "d taps", "d windows"]
    expected = gradients(direct, tf.float32)
    truth = functools.partial(gradients, direct, tf.float64)
    _assert_as_exact_as_direct(gradients(fused, tf.float32), expected, names, truth, per_channel=False)


def _random_fused_arguments(num_samples: int, channels: int, parts: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    taps = tf.constant((0.05 * rng.standard_normal((parts * channels, K))).astype(np.float32))
    pooling = layers.GaussianLowpass(kernel_size=K, strides=S)
    pooling.build((None, None, channels))
    pooling.kernel.assign(rng.uniform(0.01, 0.5, (1, 1, channels, 1)).astype(np.float32))
    return _signal(num_samples), taps, pooling.windows()[0, :, :, 0]


@pytest.mark.parametrize(
    "activation, channels", [("squared_modulus", 40), ("squared_modulus", 9), ("leaky_relu", 7)]
)
@pytest.mark.parametrize("num_samples", [401, 16000])
def test_fused_forward_without_a_tape_matches_the_recorded_pass(activation, channels, num_samples):
    """With no tape recording (inference), the fused pass keeps no filter outputs: same values as the
    pass a tape records (which keeps them), and as the stages computed directly in float64. The
    channels split into two parts of 20 (groups of 4), 4 and 5 (groups of 4 and 1), 3 and 4 (groups of
    3 and 4)."""
    parts = 2 if activation == "squared_modulus" else 1
    x, taps, windows = _random_fused_arguments(num_samples, channels, parts)

    def fused(signal, taps, windows):
        return ops.fused_filterbank_pooling(signal, taps, windows, S, activation=activation, negative_slope=0.2)

    def direct(signal, taps, windows):
        filtered = tf.nn.conv1d(signal[..., tf.newaxis], tf.transpose(taps)[:, tf.newaxis, :], 1, "SAME")
        if activation == "squared_modulus":
            energies = tf.square(filtered[..., :channels]) + tf.square(filtered[..., channels:])
        else:
            energies = tf.nn.leaky_relu(filtered, 0.2)
        kernel = windows[tf.newaxis, :, :, tf.newaxis]
        return tf.nn.depthwise_conv2d(energies[:, tf.newaxis], kernel, (1, S, S, 1), "SAME")[:, 0]

    lean = np.asarray(fused(x, taps, windows))
    with tf.GradientTape() as tape:
        tape.watch(taps)
        recorded = np.asarray(fused(x, taps, windows))
    truth = np.asarray(direct(*(tf.cast(t, tf.float64) for t in (x, taps, windows))))
    assert lean.shape == recorded.shape == truth.shape
    assert global_relative_error(lean, truth) <= TOLERANCE
    assert global_relative_error(lean, recorded) <= TOLERANCE


def test_channel_parts_cover_every_channel_once():
    assert ops._channel_parts(40, 2) == [(0, 20), (20, 40)]
    assert ops._channel_parts(9, 2) == [(0, 4), (4, 9)]
    assert ops._channel_parts(1, 2) == [(0, 1)]
    assert ops._channel_parts(5, 1) == [(0, 5)]
    for channels in range(1, 12):
        for parts in range(1, 5):
            bounds = ops._channel_parts(channels, parts)
            assert [start for start, _ in bounds[1:]] == [stop for _, stop in bounds[:-1]]
            assert bounds[0][0] == 0 and bounds[-1][1] == channels
            assert all(stop > start for start, stop in bounds)


@pytest.mark.parametrize("activation, channels", [("squared_modulus", 9), ("leaky_relu", 7)])
def test_fused_pass_in_concurrent_parts_equals_one_part(activation, channels, monkeypatch):
    """The channels split into parts (each its own compiled pass and gradient, run side by side in
    a `tf.function`) give what one part gives: outputs and gradients for input, taps and windows,
    with and without a tape, eagerly and in a `tf.function`."""
    rows_per_channel = 2 if activation == "squared_modulus" else 1
    x, taps, windows = _random_fused_arguments(16000, channels, rows_per_channel, seed=7)
    upstream = _upstream((x.shape[0], 100, channels))

    def run(parts, compiled):
        monkeypatch.setattr(ops, "CONCURRENT_PARTS", parts)

        def values(*inputs):
            with tf.GradientTape() as tape:
                tape.watch(inputs)
                output = ops.fused_filterbank_pooling(*inputs, S, activation=activation, negative_slope=0.2)
                loss = tf.reduce_sum(output * upstream)
            lean = ops.fused_filterbank_pooling(*inputs, S, activation=activation, negative_slope=0.2)
            return [lean, output, *tape.gradient(loss, list(inputs))]

        function = tf.function(values) if compiled else values
        return [np.asarray(value) for value in function(x, taps, windows)]

    names = ["output without a tape", "output", "d input", "d taps", "d windows"]
    expected = run(1, compiled=False)
    for parts, compiled in ((2, False), (2, True), (3, True)):
        _assert_close(run(parts, compiled), expected, names)


def test_fused_gradient_of_a_graph_traced_without_a_tape():
    """A `tf.function` first traced without a tape (forward-only pass, nothing kept) and later
    differentiated recomputes the filter outputs: same gradients as a pass recorded from the start."""
    x, taps, windows = _random_fused_arguments(16000, 8, 2, seed=3)
    upstream = _upstream((x.shape[0], 100, 8))
    compiled = tf.function(lambda *arguments: ops.fused_filterbank_pooling(*arguments, S))
    compiled(x, taps, windows)  # traced here, outside any tape

    def gradients(function):
        inputs = [x, taps, windows]
        with tf.GradientTape() as tape:
            tape.watch(inputs)
            loss = tf.reduce_sum(function(*inputs) * upstream)
        return [np.asarray(g) for g in tape.gradient(loss, inputs)]

    expected = gradients(lambda *arguments: ops.fused_filterbank_pooling(*arguments, S))
    _assert_close(gradients(compiled), expected, ["d input", "d taps", "d windows"])


def test_leaf_auto_rule_and_fallbacks():
    x = tf.constant(make_signal(4000))[..., tf.newaxis]
    assert leaf_tf.Leaf(n_filters=4).uses_fused_path(x)
    assert leaf_tf.TimeDomainFilterbanks(n_filters=4).uses_fused_path(x)
    assert leaf_tf.SincNetPlus(n_filters=4).uses_fused_path(x)
    assert not leaf_tf.Leaf(n_filters=4, implementation="layers").uses_fused_path(x)
    sincnet = leaf_tf.SincNet(n_filters=4)  # max pooling is not linear: stage by stage
    assert not sincnet.uses_fused_path(x)
    with pytest.raises(ValueError, match="cannot fuse"):
        leaf_tf.SincNet(n_filters=4, implementation="fused").uses_fused_path(x)
    with pytest.raises(ValueError, match="implementation"):
        leaf_tf.Leaf(implementation="fast")

    leaf = leaf_tf.Leaf(n_filters=4)
    leaf.build((None, None))
    used = []

    @tf.function(input_signature=[tf.TensorSpec([None, None])])
    def dynamic(waveforms):
        used.append(leaf.uses_fused_path(waveforms[..., tf.newaxis]))
        return leaf(waveforms)

    assert dynamic(x[..., 0]).shape == (2, 25, 4) and used == [False]


def test_direct_leaf_builds_reference_stages_and_round_trips():
    leaf = leaf_tf.Leaf(n_filters=4, implementation="direct")
    assert leaf.filterbank.implementation == "direct"
    assert leaf.compression.ema.resolved_implementation == "scan"
    assert leaf_tf.SincNetPlus(n_filters=4, implementation="direct").compression.implementation == "scan"
    clone = leaf_tf.Leaf.from_config(leaf.get_config())
    assert clone.implementation == "direct" and clone.filterbank.implementation == "direct"


def test_implementations_are_gin_configurable():
    import gin

    gin.clear_config()
    try:
        gin.parse_config(
            ["GaborConv1D.implementation = 'chunked'", "PCENLayer.implementation = 'scan'", "Leaf.implementation = 'layers'"]
        )
        leaf = leaf_tf.Leaf(n_filters=4, conv1d_cls=gin.get_configurable("GaborConv1D"), compression_fn=layers.PCENLayer())
        assert leaf.implementation == "layers" and leaf.compression.ema.resolved_implementation == "scan"
        assert layers.GaborConv1D(filters=4, kernel_size=K).implementation == "chunked"
    finally:
        gin.clear_config()


def test_fused_path_with_dynamic_batch_size():
    """Keras' training loops trace with an unknown batch size: the fused pass still runs (static length)."""
    x = _signal(4000)
    reference = _frontend_pair(leaf_tf.Leaf, x, random_values=True)
    fast = _fast_copy(reference, leaf_tf.Leaf, "fused", x)
    upstream = _upstream(reference(x).shape)

    def gradients(frontend):
        @tf.function(input_signature=[tf.TensorSpec([None, 4000])])
        def run(waveforms):
            with tf.GradientTape() as tape:
                loss = tf.reduce_sum(frontend(waveforms) * upstream)
            return tape.gradient(loss, frontend.trainable_weights)

        return [np.asarray(g) for g in run(x)]

    expected = gradients(reference)
    for name, a, e in zip(["kernel", "pooling", "alpha", "delta", "root", "smooth"], gradients(fast), expected):
        assert global_relative_error(a, e) <= TOLERANCE, name


@pytest.mark.parametrize("activation, channels", [("squared_modulus", 40), ("leaky_relu", 7)])
def test_fused_recompute_in_backward_gives_the_same_values_and_gradients(activation, channels):
    """`recompute_in_backward=True` keeps no filter outputs: same output and gradients (input, taps,
    windows) as the pass that keeps them."""
    parts = 2 if activation == "squared_modulus" else 1
    x, taps, windows = _random_fused_arguments(16000, channels, parts, seed=5)
    upstream = _upstream((x.shape[0], 100, channels))

    def run(recompute):
        inputs = [x, taps, windows]
        with tf.GradientTape() as tape:
            tape.watch(inputs)
            output = ops.fused_filterbank_pooling(
                *inputs, S, activation=activation, negative_slope=0.2, recompute_in_backward=recompute
            )
            loss = tf.reduce_sum(output * upstream)
        return [np.asarray(output), *(np.asarray(g) for g in tape.gradient(loss, inputs))]

    _assert_close(run(True), run(False), ["output", "d input", "d taps", "d windows"])


def test_leaf_recompute_in_backward_trains_alike_and_round_trips():
    x = tf.constant(make_signal(8000))
    reference, lean = leaf_tf.Leaf(n_filters=10), leaf_tf.Leaf(n_filters=10, recompute_in_backward=True)
    reference.build(x.shape)
    lean.build(x.shape)
    lean.set_weights(reference.get_weights())

    def gradients(frontend):
        with tf.GradientTape() as tape:
            loss = tf.reduce_sum(tf.square(frontend(x)))
        return [np.asarray(g) for g in tape.gradient(loss, frontend.trainable_weights)]

    names = [w.path for w in reference.trainable_weights]
    _assert_close(gradients(lean), gradients(reference), names)
    clone = leaf_tf.Leaf.from_config(lean.get_config())
    assert clone.recompute_in_backward and not leaf_tf.Leaf.from_config(reference.get_config()).recompute_in_backward
