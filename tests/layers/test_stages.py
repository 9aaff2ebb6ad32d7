"""Each stage layer against the float64 NumPy oracle, at init and at random (also out-of-range) values."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from leaf_tf import layers
from leaf_tf.initializers import GaborInit
from tests import numpy_reference as ref
from tests.helpers import assert_matches_reference, assign_pcen, gradients, make_signal, random_pcen_values, to_numpy

K, S = 401, 160


def _f32(values) -> np.ndarray:
    return np.asarray(values, dtype=np.float32)


def _energies(num_frames: int, channels: int, seed: int = 0) -> np.ndarray:
    """Positive, bursty `[2, frames, channels]` energies spanning several decades."""
    rng = np.random.default_rng(seed)
    return _f32(np.exp(rng.uniform(-12, 3, (2, num_frames, channels))))


def _gradients_nonzero(layer, inputs) -> dict[str, bool]:
    shape = tuple(layer(inputs).shape)
    weights = keras.ops.convert_to_tensor(np.random.default_rng(1).standard_normal(shape).astype(np.float32))
    grads = gradients(layer, layer.trainable_weights, lambda outputs: keras.ops.sum(outputs * weights), inputs)
    return {w.path: g is not None and bool(np.any(g != 0)) and bool(np.all(np.isfinite(g)))
            for w, g in zip(layer.trainable_weights, grads)}


def _round_trip(layer):
    return type(layer).from_config(layer.get_config())


# ------------------------------------------------------------------ pre-emphasis


def test_preemphasis_at_init_is_advanced_first_difference():
    x = make_signal(1000)
    layer = layers.PreEmphasis()
    y = to_numpy(layer(x[..., None]))[..., 0]
    expected = ref.preemphasis(x, ref.preemp_init())
    assert_matches_reference(y, expected, 1e-5)
    np.testing.assert_allclose(y[:, :-1], x[:, 1:] - 0.97 * x[:, :-1], atol=1e-6)


def test_preemphasis_random_kernel_and_gradient():
    x = make_signal(777)
    layer = layers.PreEmphasis()
    layer.build((None, None, 1))
    kernel = _f32([[[-1.7]], [[0.4]]])
    layer.kernel.assign(kernel)
    assert_matches_reference(layer(x[..., None])[..., 0], ref.preemphasis(x, kernel.ravel()), 1e-5)
    assert all(_gradients_nonzero(layer, x[..., None]).values())
    assert _round_trip(layer).get_config() == layer.get_config()


# ------------------------------------------------------------------ Gabor filterbank


@pytest.mark.parametrize("num_samples", [16000, 12345])
def test_gabor_conv_at_mel_init(num_samples):
    x = make_signal(num_samples)
    layer = layers.GaborConv1D(filters=128, kernel_size=K, kernel_initializer=GaborInit(min_freq=60.0, max_freq=7800.0))
    y = to_numpy(layer(x[..., None]))
    eta, sigma = ref.gabor_init_params(64, 16000, 60.0, 7800.0)
    assert_matches_reference(y, ref.gabor_conv(x, eta, sigma, K))


@pytest.mark.parametrize("implementation", ["direct", "fft"])
def test_gabor_conv_formulations_match_oracle_and_train(implementation):
    """Each formulation on the backend in use (on JAX and PyTorch "fft" is `ops.portable_fft_conv1d`)."""
    rng = np.random.default_rng(5)
    x = make_signal(3000)
    layer = layers.GaborConv1D(filters=16, kernel_size=K, implementation=implementation)
    layer.build((None, None, 1))
    eta, sigma = _f32(rng.uniform(0.1, 3.0, 8)), _f32(rng.uniform(3.0, 120.0, 8))
    layer.kernel.assign(np.stack([eta, sigma], 1))
    assert_matches_reference(layer(x[..., None]), ref.gabor_conv(x, eta, sigma, K))
    assert all(_gradients_nonzero(layer, x[..., None]).values())


def test_gabor_kernel_has_no_subnormal_taps():
    """The default filters' Gaussian tails underflow into subnormal floats: TensorFlow's CPU kernels flush them
    to zero, and on the other backends the kernel is built without them (PyTorch kept 620 of them in this
    kernel and convolved several times slower)."""
    from leaf_tf.layers.filterbank import resolve_conv_implementation

    layer = layers.GaborConv1D(filters=80, kernel_size=401)
    layer.build((None, None, 1))
    kernel = to_numpy(layer.conv_kernel())
    subnormal = (kernel != 0) & (np.abs(kernel) < np.finfo(np.float32).tiny)
    assert not subnormal.any()
    # "auto" per backend (resolve_conv_implementation's docstring gives the measurement).
    expected = {"tensorflow": "fft", "jax": "direct", "torch": "fft"}[keras.backend.backend()]
    assert resolve_conv_implementation("auto", keras.ops.zeros((2, 16000, 1))) == expected


@pytest.mark.parametrize("kernel_size", [401, 552])
def test_gabor_conv_out_of_range_parameters_are_clipped(kernel_size):
    rng = np.random.default_rng(3)
    x = make_signal(4000)
    layer = layers.GaborConv1D(filters=32, kernel_size=kernel_size)
    layer.build((None, None, 1))
    eta = _f32(rng.uniform(-0.5, 3.6, 16))
    sigma = _f32(rng.uniform(0.2, 220.0, 16))
    layer.kernel.assign(np.stack([eta, sigma], 1))
    expected = ref.gabor_conv(x, eta, sigma, kernel_size)
    assert_matches_reference(layer(x[..., None]), expected)


def test_gabor_constraint_projects_and_blocks_gradient_outside_range():
    layer = layers.GaborConv1D(filters=6, kernel_size=K)
    layer.build((None, None, 1))
    lo, hi = ref.gabor_sigma_bounds(K)
    layer.kernel.assign(_f32([[-1.0, 10.0], [1.0, 500.0], [1.0, 20.0]]))
    clipped = to_numpy(layer.clipped_kernel())
    np.testing.assert_allclose(clipped, [[0.0, 10.0], [1.0, hi], [1.0, 20.0]], rtol=1e-6)
    [grad] = gradients(layer, [layer.kernel], lambda y: keras.ops.sum(y**2), make_signal(2000)[..., None])
    assert grad[0, 0] == 0 and grad[1, 1] == 0  # outside: no gradient
    assert np.all(grad[2] != 0) and grad[0, 1] != 0 and grad[1, 0] != 0
    # The constraint is the variable's: optimizers project after each step.
    projected = to_numpy(layer.kernel.constraint(layer.kernel))
    assert lo <= projected[:, 1].min() and projected[:, 1].max() <= hi + 1e-4


def test_gabor_conv_sort_filters_orders_by_centre():
    layer = layers.GaborConv1D(filters=6, kernel_size=K, sort_filters=True)
    layer.build((None, None, 1))
    layer.kernel.assign(_f32([[2.0, 10.0], [0.5, 20.0], [1.0, 30.0]]))
    np.testing.assert_allclose(to_numpy(layer.clipped_kernel())[:, 0], [0.5, 1.0, 2.0])
    assert _round_trip(layer).get_config() == layer.get_config()


# ------------------------------------------------------------------ Sinc filterbank


@pytest.mark.parametrize("random_values", [False, True])
def test_sinc_conv_matches_oracle(random_values):
    x = make_signal(6000)
    layer = layers.SincConv1D(filters=80, kernel_size=K)
    layer.build((None, None, 1))
    if random_values:
        rng = np.random.default_rng(5)
        # Negative values (|.| is taken), low cutoffs above Nyquist, huge bands.
        kernel = _f32(np.stack([rng.uniform(-9000, 9000, 40), rng.uniform(-3000, 3000, 40)], 1))
        layer.kernel.assign(kernel)
    a, b = to_numpy(layer.kernel).T
    expected = ref.sinc_conv(x, a, b, K)
    assert_matches_reference(layer(x[..., None]), expected)
    assert all(_gradients_nonzero(layer, x[..., None]).values())


def test_sinc_conv_even_kernel_has_one_more_tap():
    layer = layers.SincConv1D(filters=4, kernel_size=552)
    layer.build((None, None, 1))
    assert layer.conv_kernel().shape == (553, 1, 2)


# ------------------------------------------------------------------ activation and pooling


def test_squared_modulus():
    y = np.random.default_rng(0).standard_normal((2, 50, 8)).astype(np.float32)
    np.testing.assert_allclose(layers.SquaredModulus()(y), ref.squared_modulus(y), rtol=1e-6)
    with pytest.raises(ValueError, match="even number"):
        layers.SquaredModulus()(np.zeros([1, 5, 3], np.float32))


@pytest.mark.parametrize("num_samples", [16000, 12345, 401, 100])
@pytest.mark.parametrize("random_values", [False, True])
def test_gaussian_lowpass(num_samples, random_values):
    x = _energies(num_samples, 6)
    layer = layers.GaussianLowpass(kernel_size=K, strides=S)
    layer.build(x.shape)
    sigma = np.full(6, 0.4, np.float32)
    if random_values:
        sigma = _f32([-0.1, 0.0, 0.003, 0.2, 0.5, 0.9])  # both clip bounds crossed
        layer.kernel.assign(sigma.reshape(1, 1, 6, 1))
    y = layer(x)
    assert y.shape == (2, -(-num_samples // S), 6)
    assert_matches_reference(y, ref.gaussian_lowpass(x, sigma, K, S))


def test_gaussian_lowpass_gradient_only_inside_clip_range():
    layer = layers.GaussianLowpass(kernel_size=K, strides=S)
    x = _energies(3000, 3)
    layer.build(x.shape)
    layer.kernel.assign(_f32([0.0, 0.3, 0.8]).reshape(1, 1, 3, 1))
    [grad] = gradients(layer, [layer.kernel], keras.ops.sum, x)
    grad = grad.ravel()
    assert grad[0] == 0 and grad[2] == 0 and grad[1] != 0


@pytest.mark.parametrize("num_samples, frames", [(16000, 98), (40000, 248), (12345, 75), (401, 1)])
def test_learnable_pooling_valid_shared_filter(num_samples, frames):
    x = _energies(num_samples, 4)
    layer = layers.LearnablePooling1D(kernel_size=K, strides=S)
    y = layer(x)
    assert y.shape == (2, frames, 4)
    assert_matches_reference(y, ref.learnable_pooling(x, ref.lowpass_init(K), S))
    taps = _f32(np.random.default_rng(2).standard_normal(K))
    layer.kernel.assign(taps.reshape(1, K, 1, 1))
    assert_matches_reference(layer(x), ref.learnable_pooling(x, taps, S))
    with pytest.raises(ValueError, match="valid"):
        layers.LearnablePooling1D(kernel_size=K, padding="same")


def test_max_pooling_same():
    x = np.random.default_rng(1).standard_normal((2, 1234, 5)).astype(np.float32)
    layer = layers.MaxPooling1D(kernel_size=K, strides=S)
    np.testing.assert_array_equal(layer(x), ref.max_pooling_same(x, K, S))
    assert _round_trip(layer).get_config() == layer.get_config()


# ------------------------------------------------------------------ compression


@pytest.mark.parametrize("per_channel", [False, True])
def test_exponential_moving_average(per_channel):
    x = _energies(60, 4)
    layer = layers.ExponentialMovingAverage(coeff_init=0.3, per_channel=per_channel, trainable=True)
    layer.build(x.shape)
    coeff = _f32([-0.5, 0.2, 0.7, 1.5]) if per_channel else _f32([0.3])
    layer.smooth.assign(coeff)
    expected = ref.ema(x, coeff if per_channel else coeff[0])
    assert_matches_reference(layer(x), expected, 1e-5)


@pytest.mark.parametrize("out_of_range", [False, True])
def test_learnable_pcen(out_of_range):
    x = _energies(100, 8)
    layer = layers.learnable_pcen()
    expected = ref.pcen(x, np.full(8, 0.96), np.full(8, 2.0), np.full(8, 2.0), np.full(8, 0.04), floor=1e-12)
    assert_matches_reference(layer(x), expected)
    values = random_pcen_values(np.random.default_rng(7), 8, out_of_range)
    assign_pcen(layer, values)
    assert_matches_reference(layer(x), ref.pcen(x, floor=1e-12, **values))
    grads = _gradients_nonzero(layer, x)
    assert len(grads) == 4 and all(grads.values()), grads


def test_fixed_pcen_has_no_trainable_weights_and_reference_defaults():
    x = _energies(50, 5)
    layer = layers.PCENLayer()
    y = layer(x)
    assert layer.trainable_weights == []
    assert_matches_reference(y, ref.pcen(x, 0.96, 2.0, 2.0, 0.04, floor=1e-6))


def test_fixed_pcen_stays_fixed_when_its_frontend_is_frozen_then_unfrozen():
    """Fine-tuning unfreezes a model (`trainable = True` on every sublayer): a fixed PCEN must not start
    learning its smoother, while a learnable one learns again."""
    import leaf_tf

    waveforms = np.random.default_rng(0).uniform(-1, 1, (1, 1600)).astype(np.float32)
    fixed = leaf_tf.SincNetPlus(n_filters=8, learnable_pcen=False)
    learnt = leaf_tf.Leaf(n_filters=8)
    for frontend in (fixed, learnt):
        frontend(waveforms)
        before = {id(v) for v in frontend.trainable_weights}
        frontend.trainable = False
        assert frontend.trainable_weights == []
        frontend.trainable = True
        assert {id(v) for v in frontend.trainable_weights} == before
    assert not any("smooth" in v.path for v in fixed.trainable_weights)
    assert any("smooth" in v.path for v in learnt.trainable_weights)


def test_pcen_stays_finite_where_the_reference_is_nan():
    x = np.concatenate([_energies(40, 4), np.zeros((2, 10, 4), np.float32)], axis=1)
    layer = layers.learnable_pcen()
    layer.build(x.shape)
    layer.delta.assign(_f32([-1.0, 0.0, 1e-8, 2.0]))
    with np.errstate(all="ignore"):
        expected = ref.pcen(x, np.full(4, 0.96), to_numpy(layer.delta), np.full(4, 2.0), np.full(4, 0.04), floor=1e-12)
    y = to_numpy(layer(x))
    assert np.isnan(expected[..., 0]).any()  # the reference formula gives NaN for delta < 0 ...
    assert np.all(np.isfinite(y))  # ... we do not
    finite = np.isfinite(expected)
    np.testing.assert_allclose(to_numpy(y)[finite], expected[finite], rtol=1e-4, atol=1e-6)
    grads = gradients(layer, layer.trainable_weights, keras.ops.sum, x)
    for grad in grads:
        assert np.all(np.isfinite(grad))
    # The documented value: where delta < 0 the formula is evaluated at delta = 0 ...
    at_zero = ref.pcen(x, np.full(4, 0.96), np.zeros(4), np.full(4, 2.0), np.full(4, 0.04), floor=1e-12)
    np.testing.assert_allclose(to_numpy(y)[..., 0], at_zero[..., 0], rtol=1e-4, atol=1e-6)
    # ... straight through: delta still gets a gradient there, the one it has at delta = 0.
    (delta_grad,) = [g for w, g in zip(layer.trainable_weights, grads) if w is layer.delta]
    assert to_numpy(delta_grad)[0] != 0


def test_log_compression():
    x = _energies(20, 3)
    np.testing.assert_allclose(layers.log_compression(x), ref.log_compression(x), rtol=1e-6)
    np.testing.assert_allclose(layers.LogCompression()(x), ref.log_compression(x), rtol=1e-6)


def test_instance_normalization():
    x = _energies(64, 6)
    layer = layers.InstanceNormalization()
    layer.build(x.shape)
    gamma, beta = _f32(np.linspace(0.5, 2, 6)), _f32(np.linspace(-1, 1, 6))
    layer.gamma.assign(gamma)
    layer.beta.assign(beta)
    assert_matches_reference(layer(x), ref.instance_norm(x, gamma, beta, epsilon=1e-6), 1e-5)
    assert _round_trip(layer).get_config() == layer.get_config()


@pytest.mark.parametrize(
    "layer",
    [
        layers.GaborConv1D(filters=8, kernel_size=101),
        layers.SincConv1D(filters=8, kernel_size=101, sample_rate=8000),
        layers.GaussianLowpass(kernel_size=101, strides=40),
        layers.LearnablePooling1D(kernel_size=101, strides=40, kernel_initializer=keras.initializers.Ones()),
        layers.PCENLayer(alpha=0.8, floor=1e-9, trainable=True, learn_smooth_coef=True),
        layers.ExponentialMovingAverage(coeff_init=0.1, per_channel=True),
        layers.PreEmphasis(),
        layers.SquaredModulus(),
        layers.LogCompression(log_offset=1e-3),
    ],
    ids=lambda layer: type(layer).__name__,
)
def test_stage_layers_serialize(layer):
    restored = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(layer))
    assert type(restored) is type(layer)
    assert restored.get_config() == layer.get_config()
