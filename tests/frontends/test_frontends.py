"""Frontend behaviour: shapes, parameter counts, saving, graphs, mixed precision, bad input."""

from __future__ import annotations

import json

import keras
import numpy as np
import pytest

import leaf_tf
from leaf_tf.frontends import FRONTENDS, build_frontend, trainable_parameter_counts
from leaf_tf.layers import LogCompression, PCENLayer
from tests.helpers import global_relative_error, gradients, make_signal, tensorflow_only, to_numpy

NAMES = list(FRONTENDS)


def _build(name, **kwargs):
    return build_frontend(name, **kwargs)


@pytest.fixture
def restore_policy():
    yield
    keras.mixed_precision.set_global_policy("float32")


# ------------------------------------------------------------------ shapes


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("num_samples", [16000, 40000, 401])
def test_output_shapes_and_frame_counts(name, num_samples):
    frontend = _build(name)
    x = make_signal(num_samples)
    y = frontend(x)
    expected_frames = {
        "tdfbanks": (num_samples - 401) // 160 + 1,  # valid pooling
        "wavegram": -(-(-(-num_samples // 5) // 64) // 2),
    }.get(name, -(-num_samples // 160))
    channels = 64 if name == "wavegram" else 40
    assert y.shape == (2, expected_frames, channels)
    assert frontend.num_frames(num_samples) == expected_frames
    assert frontend.compute_output_shape((2, num_samples)) == (2, expected_frames, channels)
    assert keras.backend.standardize_dtype(y.dtype) == "float32"
    # [B, T, 1] is the same as [B, T].
    np.testing.assert_array_equal(to_numpy(frontend(x[..., None])), to_numpy(y))


def test_frames_per_second_at_16khz():
    assert _build("leaf")(np.zeros((1, 16000), np.float32)).shape[1] == 100
    assert _build("mel")(np.zeros((1, 16000), np.float32)).shape[1] == 100
    assert _build("tdfbanks")(np.zeros((1, 16000), np.float32)).shape[1] == 98
    assert _build("wavegram")(np.zeros((1, 16000), np.float32)).shape[1] == 25


def test_trainable_parameter_counts_at_64_filters():
    assert trainable_parameter_counts(n_filters=64) == {
        "mel": 0,
        "mel_pcen": 256,
        "tdfbanks": 51_729,
        "sincnet": 256,
        "sincnet_plus": 448,
        "leaf": 448,
        "wavegram": 309_568,
    }


def test_reference_variants_parameter_counts():
    leaf_log = leaf_tf.Leaf(n_filters=64, preemp=True, compression_fn=LogCompression())
    leaf_log(np.zeros((1, 1000), np.float32))
    assert sum(np.prod(w.shape) for w in leaf_log.trainable_weights) == 194
    fixed = leaf_tf.SincNetPlus(n_filters=64, learnable_pcen=False)
    fixed(np.zeros((1, 1000), np.float32))
    assert sum(np.prod(w.shape) for w in fixed.trainable_weights) == 192


def test_unknown_frontend_name():
    with pytest.raises(ValueError, match="Unknown frontend 'melspec'.*leaf"):
        build_frontend("melspec")


# ------------------------------------------------------------------ what LEAF computes


def test_leaf_at_init_with_log_compression_approximates_log_mel():
    """LEAF's Gabor init matches a mel filterbank: its log output tracks log-mel."""
    x = make_signal(32000, batch=1)
    leaf = leaf_tf.Leaf(compression_fn=LogCompression())
    mel = leaf_tf.MelFilterbanks()
    a, b = to_numpy(leaf(x))[0], to_numpy(mel(x))[0]
    # Mel frame l is centred on 160 l + 200, LEAF's on 160 l + 80: compare LEAF frame l + 1 with mel frame l.
    a, b = a[1:], b[:-1]
    overall = np.corrcoef(a.ravel(), b.ravel())[0, 1]
    per_channel = [np.corrcoef(a[:, c], b[:, c])[0, 1] for c in range(a.shape[1])]
    assert overall > 0.9, overall
    assert np.median(per_channel) > 0.85, per_channel


@pytest.mark.parametrize("name", NAMES)
def test_silence_gives_finite_outputs(name):
    y = to_numpy(_build(name)(np.zeros((2, 16000), np.float32)))
    assert np.all(np.isfinite(y))


def test_silence_values():
    leaf_log = leaf_tf.Leaf(compression_fn=LogCompression())
    np.testing.assert_allclose(to_numpy(leaf_log(np.zeros((1, 1600), np.float32))), np.log(2e-5), rtol=1e-6)
    np.testing.assert_allclose(leaf_tf.MelFilterbanks()(np.zeros((1, 1600), np.float32)), np.log(1e-5), rtol=1e-6)


@pytest.mark.parametrize(
    "name, options",
    [("leaf", {}), ("leaf", {"recompute_in_backward": True}), ("tdfbanks", {}), ("sincnet_plus", {})],
)
def test_fused_pass_equals_the_stages_on_this_backend(name, options):
    """The fused filterbank -> activation -> pooling pass (XLA on TensorFlow, `ops.portable_fused_filterbank_pooling`
    on JAX and PyTorch) gives the stages' outputs and gradients, at perturbed weights and a length that is not a
    multiple of the hop (LEAF and SincNet+ pool with "SAME" padding, TD-filterbanks with "VALID")."""
    x = make_signal(4037)
    fused = _build(name, n_filters=16, implementation="fused", **options)
    stages = _build(name, n_filters=16, implementation="layers")
    fused(x), stages(x)
    rng = np.random.default_rng(1)
    stages.set_weights([w * (1 + 0.05 * rng.standard_normal(w.shape)).astype(w.dtype) for w in stages.get_weights()])
    fused.set_weights(stages.get_weights())
    assert fused.uses_fused_path(x[..., None]) and not stages.uses_fused_path(x[..., None])
    assert global_relative_error(fused(x), to_numpy(stages(x))) <= 1e-5

    def loss(y):
        return keras.ops.mean(keras.ops.square(y))

    expected = gradients(stages, stages.trainable_variables, loss, x)
    actual = gradients(fused, fused.trainable_variables, loss, x)
    assert len(actual) == len(expected) >= 2  # filters and pooling (and PCEN)
    for variable, got, want in zip(fused.trainable_variables, actual, expected):
        assert global_relative_error(got, want) <= 1e-4, variable.path


# ------------------------------------------------------------------ training


@pytest.mark.parametrize("name", NAMES)
def test_gradients_reach_every_trainable_weight(name):
    frontend = _build(name, n_filters=16)
    x = make_signal(8000)
    y = frontend(x)
    weights = keras.ops.convert_to_tensor(np.random.default_rng(3).standard_normal(tuple(y.shape)).astype(np.float32))
    grads = gradients(frontend, frontend.trainable_weights, lambda y: keras.ops.sum(y * weights), x)
    assert frontend.trainable_weights or name == "mel"
    for weight, grad in zip(frontend.trainable_weights, grads):
        assert grad is not None, weight.path
        assert np.all(np.isfinite(grad)), weight.path
        assert np.any(grad != 0), weight.path


def test_leaf_learn_flags_freeze_stages():
    leaf = leaf_tf.Leaf(n_filters=8, learn_filters=False, learn_pooling=False, preemp=True)
    leaf(np.zeros((1, 1000), np.float32))
    names = sorted(w.path.split("/")[-1] for w in leaf.trainable_weights)
    assert names == ["alpha", "delta", "root", "smooth"]


def test_optimizer_projects_gabor_parameters():
    leaf = leaf_tf.Leaf(n_filters=64)
    x = make_signal(4000)
    leaf(x)
    _, upper = leaf_tf.dsp.gabor_sigma_bounds(401)
    assert to_numpy(leaf.filterbank.kernel)[:, 1].max() > upper  # 64-filter init starts outside
    optimizer = keras.optimizers.Adam(1e-3)
    grads = gradients(leaf, leaf.trainable_weights, keras.ops.mean, x)
    optimizer.apply([keras.ops.convert_to_tensor(g) for g in grads], leaf.trainable_weights)
    assert to_numpy(leaf.filterbank.kernel)[:, 1].max() <= upper + 1e-4


def test_fit_a_small_model_end_to_end():
    model = keras.Sequential(
        [keras.Input((None,)), leaf_tf.Leaf(n_filters=8), keras.layers.GlobalAveragePooling1D(), keras.layers.Dense(2)]
    )
    model.compile(keras.optimizers.Adam(1e-2), keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    x, labels = make_signal(4000, batch=8), np.array([0, 1] * 4)
    losses = model.fit(x, labels, epochs=3, batch_size=8, verbose=0).history["loss"]
    assert np.all(np.isfinite(losses)) and losses[-1] < losses[0]


# ------------------------------------------------------------------ instances, SpecAugment, BatchNorm


def test_each_instance_owns_its_stages():
    first, second = leaf_tf.Leaf(), leaf_tf.Leaf()
    assert first.compression is not second.compression
    first(np.zeros((1, 1600), np.float32))
    wide = leaf_tf.Leaf(n_filters=64)  # the reference crashes here (shared PCEN of 40 channels)
    assert wide(np.zeros((1, 1600), np.float32)).shape == (1, 10, 64)
    first.compression.alpha.assign(np.full(40, 0.5, np.float32))
    second(np.zeros((1, 1600), np.float32))
    assert np.all(to_numpy(second.compression.alpha) == np.float32(0.96))


def test_spec_augment_only_in_training():
    leaf = leaf_tf.Leaf(n_filters=40, spec_augment=True)
    x = make_signal(16000)
    inference = to_numpy(leaf(x))
    np.testing.assert_array_equal(to_numpy(leaf(x, training=False)), inference)
    trained = to_numpy(leaf(x, training=True))
    assert not np.array_equal(trained, inference)
    assert (trained == 0).any()


def test_wavegram_depends_on_training_flag():
    wavegram = leaf_tf.Wavegram()
    x = make_signal(16000)
    assert not np.allclose(to_numpy(wavegram(x, training=True)), to_numpy(wavegram(x, training=False)))


# ------------------------------------------------------------------ graphs and serialization


@tensorflow_only
@pytest.mark.parametrize("name", NAMES)
def test_tf_function_with_unknown_batch_and_length(name):
    import tensorflow as tf

    frontend = _build(name)
    fn = tf.function(frontend, input_signature=[tf.TensorSpec([None, None], tf.float32)])
    for batch, num_samples in [(1, 16000), (3, 12345), (2, 401)]:
        x = make_signal(num_samples, batch=batch)
        np.testing.assert_allclose(fn(x), frontend(x), rtol=1e-5, atol=1e-5)


def _normalized(config):
    """Configs compare equal up to tuples becoming lists in a `.keras` file."""
    return json.loads(json.dumps(config))


def _perturb(model, seed=0):
    rng = np.random.default_rng(seed)
    for weight in model.trainable_weights:
        value = to_numpy(weight)
        weight.assign((value * (1 + 0.05 * rng.standard_normal(value.shape))).astype(value.dtype))


@pytest.mark.parametrize("name", NAMES + ["leaf_all_options"])
def test_keras_save_load_round_trip(name, tmp_path):
    if name == "leaf_all_options":
        frontend = leaf_tf.Leaf(
            n_filters=16, preemp=True, mean_var_norm=True, spec_augment=True,
            compression_fn=PCENLayer(alpha=0.9, trainable=True), regularizer_fn=keras.regularizers.L2(1e-4),
        )
    else:
        frontend = _build(name, n_filters=24)
    model = keras.Sequential(
        [keras.Input((None,)), frontend, keras.layers.GlobalAveragePooling1D(), keras.layers.Dense(3)]
    )
    x = make_signal(8000)
    model(x)
    _perturb(model)
    expected = to_numpy(model(x, training=False))
    path = tmp_path / f"{name}.keras"
    model.save(path)
    restored = keras.models.load_model(path)
    np.testing.assert_array_equal(to_numpy(restored(x, training=False)), expected)
    assert type(restored.layers[0]) is type(frontend)
    assert _normalized(restored.layers[0].get_config()) == _normalized(frontend.get_config())


@pytest.mark.parametrize("name", NAMES)
def test_from_config_round_trip(name):
    frontend = _build(name, n_filters=8, sample_rate=16000)
    clone = type(frontend).from_config(frontend.get_config())
    assert _normalized(clone.get_config()) == _normalized(frontend.get_config())


# ------------------------------------------------------------------ mixed precision


@pytest.mark.parametrize("name", NAMES)
def test_mixed_float16_policy_keeps_frontends_float32(name, restore_policy):
    keras.mixed_precision.set_global_policy("mixed_float16")
    frontend = _build(name, n_filters=16)
    model = keras.Sequential([keras.Input((None,)), frontend, keras.layers.Dense(4)])
    x = make_signal(8000)
    features = frontend(x)
    assert keras.backend.standardize_dtype(features.dtype) == "float32" and np.all(np.isfinite(to_numpy(features)))
    logits = model(x)
    assert keras.backend.standardize_dtype(logits.dtype) == "float16" and np.all(np.isfinite(to_numpy(logits)))
    assert all(w.dtype == "float32" for w in frontend.weights)


def test_mixed_precision_gin_style_compression_layer_is_put_in_float32(restore_policy):
    keras.mixed_precision.set_global_policy("mixed_float16")
    leaf = leaf_tf.Leaf(n_filters=8, compression_fn=PCENLayer(trainable=True))
    keras.mixed_precision.set_global_policy("float32")
    assert leaf.compression.compute_dtype == "float32"


def test_frontend_rejects_float16_compute():
    with pytest.raises(ValueError, match="computes in float32"):
        leaf_tf.Leaf(dtype="mixed_float16")


# ------------------------------------------------------------------ bad input


@pytest.mark.parametrize("name", NAMES)
def test_bad_inputs_raise_value_errors(name):
    frontend = _build(name)
    with pytest.raises(ValueError, match="rank 1"):
        frontend(np.zeros(16000, np.float32))
    with pytest.raises(ValueError, match="rank 4"):
        frontend(np.zeros((1, 16000, 1, 1), np.float32))
    with pytest.raises(ValueError, match="2 channels"):
        frontend(np.zeros((1, 16000, 2), np.float32))
    with pytest.raises(ValueError, match="int16.*32768"):
        frontend(np.zeros((1, 16000), np.int16))
    with pytest.raises(ValueError, match="complex64"):
        frontend(np.zeros((1, 16000), np.complex64))


@pytest.mark.parametrize("name, too_short", [("tdfbanks", 400), ("wavegram", 315)])
def test_too_short_inputs(name, too_short):
    frontend = _build(name)
    with pytest.raises(ValueError, match=f"at least {too_short + 1} samples"):
        frontend(np.zeros((1, too_short), np.float32))
    assert frontend(np.zeros((1, too_short + 1), np.float32)).shape[1] == 1


def test_check_numerics_is_opt_in():
    x = make_signal(1600)
    x[0, 10] = np.nan
    leaf_tf.Leaf()(x)  # off by default: no check, no cost
    checked = leaf_tf.Leaf(check_numerics=True)
    with pytest.raises(ValueError, match="NaN or inf audio samples \\(1 of 3200"):
        checked(x)
    if keras.backend.backend() == "tensorflow":  # in a graph, TensorFlow's own check raises
        import tensorflow as tf

        graph = tf.function(checked, input_signature=[tf.TensorSpec([None, None], tf.float32)])
        with pytest.raises(tf.errors.InvalidArgumentError, match="NaN or inf audio samples"):
            graph(x)
    x[0, 10] = np.inf
    with pytest.raises(ValueError, match="NaN or inf"):
        leaf_tf.MelFilterbanks(check_numerics=True)(x)


def test_bad_constructor_arguments():
    with pytest.raises(ValueError, match="n_filters"):
        leaf_tf.Leaf(n_filters=0)
    with pytest.raises(ValueError, match="window_stride"):
        leaf_tf.Leaf(window_stride=0.01)
    with pytest.raises(ValueError, match="max_freq"):
        leaf_tf.MelFilterbanks(sample_rate=8000, max_freq=7800.0)
    with pytest.raises(ValueError, match="Unknown conv1d class"):
        leaf_tf.Leaf(conv1d_cls="NoSuchConv")


EXPECTED_GROUPS = {
    "mel": {},
    "mel_pcen": {"compression": 4},
    "tdfbanks": {"filters": 1, "pooling": 1},
    "sincnet": {"filters": 1, "compression": 2},  # its layer norm sits where the others compress
    "sincnet_plus": {"filters": 1, "pooling": 1, "compression": 4},
    "leaf": {"filters": 1, "pooling": 1, "compression": 4},
    "wavegram": {"other": None},
}


@pytest.mark.parametrize("name", list(FRONTENDS))
def test_parameter_groups_partition_the_trainable_variables(name):
    frontend = build_frontend(name, n_filters=16)
    frontend(make_signal(16000))
    groups = frontend.parameter_groups()
    expected = EXPECTED_GROUPS[name]
    assert set(groups) == set(expected)
    for group, count in expected.items():
        if count is not None:
            assert len(groups[group]) == count, group
    grouped = [id(v) for variables in groups.values() for v in variables]
    assert sorted(grouped) == sorted(id(v) for v in frontend.trainable_variables)  # each exactly once
