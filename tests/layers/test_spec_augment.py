"""Tests for leaf_tf.layers.spec_augment."""

from __future__ import annotations

import gin
import keras
import numpy as np
import pytest

from leaf_tf.layers.spec_augment import SpecAugment
from tests.helpers import tensorflow_only, to_numpy

NO_WARP = {"time_warp_max_frames": 0}
WARP_ONLY = {"time_mask_count": 0, "freq_mask_count": 0}


@pytest.fixture(autouse=True)
def clean_gin():
    gin.clear_config()
    yield
    gin.clear_config()


@pytest.fixture
def mixed_float16():
    previous = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        yield
    finally:
        keras.mixed_precision.set_global_policy(previous)


def _runs(zero: np.ndarray) -> list[tuple[int, int]]:
    """(start, length) of each maximal run of True in a 1-D bool array."""
    runs = []
    start = None
    for i, value in enumerate(list(zero) + [False]):
        if value and start is None:
            start = i
        elif not value and start is not None:
            runs.append((start, i - start))
            start = None
    return runs


def _mask_structure(example: np.ndarray) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    """Checks an augmented ones input is 0 exactly on masked frames or channels."""
    zero = example == 0.0
    assert np.all((example == 0.0) | (example == 1.0))
    zero_frames = zero.all(axis=1)
    zero_channels = zero.all(axis=0)
    expected = zero_frames[:, None] | zero_channels[None, :]
    np.testing.assert_array_equal(zero, expected)
    return _runs(zero_frames), _runs(zero_channels)


def _ramp(batch: int, frames: int, channels: int):
    ramp = keras.ops.arange(frames, dtype="float32")[None, :, None]
    return keras.ops.tile(ramp, [batch, 1, channels])


@pytest.mark.parametrize("training", [False, None])
def test_identity_unless_training(training):
    layer = SpecAugment(seed=0)
    x = keras.random.normal((3, 40, 16))
    np.testing.assert_array_equal(to_numpy(layer(x, training=training)), to_numpy(x))
    np.testing.assert_array_equal(to_numpy(layer(x)), to_numpy(x))


def test_training_as_tensor():
    layer = SpecAugment(seed=0, **NO_WARP)
    x = keras.ops.ones((16, 40, 16))
    np.testing.assert_array_equal(to_numpy(layer(x, training=keras.ops.convert_to_tensor(False))), to_numpy(x))
    assert np.any(to_numpy(layer(x, training=keras.ops.convert_to_tensor(True))) == 0.0)


def test_single_masks_are_short_and_vary():
    layer = SpecAugment(
        freq_mask_max_bins=6,
        freq_mask_count=1,
        time_mask_max_frames=10,
        time_mask_count=1,
        seed=1,
        **NO_WARP,
    )
    y = to_numpy(layer(keras.ops.ones((300, 40, 20)), training=True))
    time_lengths, time_starts, freq_lengths, freq_starts = [], [], [], []
    for example in y:
        time_runs, freq_runs = _mask_structure(example)
        assert len(time_runs) <= 1 and len(freq_runs) <= 1
        for start, length in time_runs:
            assert length < 10
            time_lengths.append(length)
            time_starts.append(start)
        for start, length in freq_runs:
            assert length < 6
            freq_lengths.append(length)
            freq_starts.append(start)
        # A length-0 mask leaves no zero run.
        if not time_runs:
            time_lengths.append(0)
        if not freq_runs:
            freq_lengths.append(0)
    assert set(time_lengths) == set(range(10))
    assert set(freq_lengths) == set(range(6))
    assert len(set(time_starts)) > 15
    assert len(set(freq_starts)) > 8
    assert min(time_starts) == 0 or max(s + n for s, n in zip(time_starts, time_lengths)) == 40


def test_two_masks_per_axis():
    layer = SpecAugment(seed=2, **NO_WARP)  # 2 masks of length 0..9 per axis
    y = to_numpy(layer(keras.ops.ones((200, 50, 24)), training=True))
    counts = []
    for example in y:
        time_runs, freq_runs = _mask_structure(example)
        for runs in (time_runs, freq_runs):
            assert len(runs) <= 2
            assert sum(length for _, length in runs) <= 2 * 9
            if len(runs) == 2:  # disjoint masks: each one is a run
                assert all(length < 10 for _, length in runs)
            counts.append(len(runs))
    assert {0, 1, 2} <= set(counts)


def test_time_mask_max_ratio_bounds_length():
    layer = SpecAugment(
        time_mask_max_frames=100,
        time_mask_count=1,
        time_mask_max_ratio=0.1,
        freq_mask_count=0,
        seed=3,
        **NO_WARP,
    )
    y = to_numpy(layer(keras.ops.ones((100, 50, 4)), training=True))
    for example in y:
        time_runs, _ = _mask_structure(example)
        assert all(length < 5 for _, length in time_runs)


def test_freq_mask_longer_than_channels_is_clipped():
    layer = SpecAugment(
        freq_mask_max_bins=50, freq_mask_count=1, time_mask_count=0, seed=4, **NO_WARP
    )
    y = to_numpy(layer(keras.ops.ones((100, 5, 4)), training=True))
    assert np.all(np.isfinite(y))
    assert np.any(np.all(y == 0.0, axis=(1, 2)))  # some draw masks every channel


def test_examples_and_calls_get_different_masks():
    layer = SpecAugment(seed=5, **NO_WARP)
    x = keras.ops.ones((8, 60, 30))
    first = to_numpy(layer(x, training=True))
    second = to_numpy(layer(x, training=True))
    distinct = {example.tobytes() for example in first}
    assert len(distinct) > 1
    assert not np.array_equal(first, second)


def test_time_warp_on_ramp():
    frames = 30
    layer = SpecAugment(seed=6, **WARP_ONLY)
    x = _ramp(64, frames, 3)
    y = to_numpy(layer(x, training=True))
    assert np.all(np.diff(y, axis=1) >= -1e-5)  # monotone in time
    np.testing.assert_allclose(y[:, :, 1:], y[:, :, :1] * np.ones([1, 1, 2]))  # same per channel
    np.testing.assert_allclose(y[:, 0], 0.0, atol=1e-6)  # frame 0 is fixed
    # The map fixes 0 and `frames` (one past the last frame, as in lingvo), so
    # the last frame is kept when the anchor moves left (the source position
    # is then past the last frame and clamped) and reads an earlier frame,
    # never more than 8 back, when it moves right.
    last = y[:, -1, 0]
    assert np.all(last <= frames - 1 + 1e-4)
    assert np.all(last >= frames - 1 - 8 - 1e-4)
    assert np.sum(np.abs(last - (frames - 1)) < 1e-5) > 5
    changed = np.any(np.abs(y - to_numpy(x)) > 1e-3, axis=(1, 2))
    assert changed.sum() > len(changed) // 2
    # The shift is at most 8 frames, so no frame moves by more than 8.
    assert np.all(np.abs(y - to_numpy(x)) <= 8 + 1e-4)


def test_time_warp_moves_anchor_by_integer_shift():
    layer = SpecAugment(time_warp_max_frames=3, seed=7, **WARP_ONLY)
    x = _ramp(64, 20, 1)
    y = to_numpy(layer(x, training=True))[:, :, 0]
    # Each warped ramp has one kink: at the integer destination d, the value is
    # the integer anchor a, with |a - d| <= 3.
    kinked = 0
    for row in y:
        slopes = np.diff(row)
        kinks = np.flatnonzero(np.abs(np.diff(slopes)) > 1e-4) + 1
        if len(kinks) == 0:  # no shift, or a destination at the last frame: the ramp stays one straight line
            continue
        kinked += 1
        destination = kinks[0]
        assert abs(row[destination] - round(row[destination])) < 1e-4
        assert abs(row[destination] - destination) <= 3 + 1e-4
    assert kinked > len(y) // 2  # shifts are uniform in [-3, 3]: most rows are warped


def test_the_warp_comes_before_the_masks():
    """Masks after the warp stay exact zeros over whole frames; a warp after them would blur their edges."""
    layer = SpecAugment(time_warp_max_frames=6, seed=12)
    y = to_numpy(layer(keras.ops.ones((200, 50, 24)), training=True))
    masked = 0
    for example in y:
        time_runs, freq_runs = _mask_structure(example)  # values 0 or 1 only, zero exactly on masked rows/columns
        masked += bool(time_runs)
    assert masked > 100
    warped_ramp = to_numpy(SpecAugment(time_warp_max_frames=6, seed=12)(_ramp(200, 50, 24) + 1.0, training=True))
    assert np.any(np.abs(warped_ramp - (to_numpy(_ramp(200, 50, 24)) + 1.0)) > 1e-3)  # the warp did act


def test_time_warp_ratio_zero_disables():
    layer = SpecAugment(time_warp_max_ratio=0.0, seed=8, **WARP_ONLY)
    x = _ramp(8, 20, 2)
    np.testing.assert_array_equal(to_numpy(layer(x, training=True)), to_numpy(x))


@tensorflow_only
@pytest.mark.parametrize("frames", [0, 1, 2, 3, 4, 17, 100])
def test_dynamic_shapes_in_tf_function(frames):
    import tensorflow as tf

    layer = SpecAugment(seed=9)
    warp_only = SpecAugment(seed=9, **WARP_ONLY)

    @tf.function(input_signature=[tf.TensorSpec([None, None, 8])])
    def augment(x):
        return layer(x, training=True), warp_only(x, training=True)

    x = _ramp(5, frames, 8) + 1.0
    y, warped = augment(x)
    assert y.shape == (5, frames, 8)
    assert np.all(np.isfinite(to_numpy(y)))
    assert np.all(np.isfinite(to_numpy(warped)))
    if frames < 3:
        np.testing.assert_array_equal(to_numpy(warped), to_numpy(x))
    # Draws still change between calls of the traced function.
    if frames >= 17:
        assert not np.array_equal(to_numpy(augment(x)[0]), to_numpy(augment(x)[0]))


def test_mixed_float16(mixed_float16):
    layer = SpecAugment(seed=10)
    x = keras.ops.cast(keras.random.normal((4, 64, 40)) * 100.0, "float16")
    y = layer(x, training=True)
    assert keras.backend.standardize_dtype(y.dtype) == "float16"
    assert np.all(np.isfinite(to_numpy(y)))
    assert np.any(to_numpy(y) == 0.0)
    np.testing.assert_array_equal(to_numpy(layer(x, training=False)), to_numpy(x))


def test_compute_output_shape():
    assert SpecAugment().compute_output_shape((None, None, 40)) == (None, None, 40)


def test_negative_argument_is_rejected():
    with pytest.raises(ValueError, match="freq_mask_count"):
        SpecAugment(freq_mask_count=-1)


def test_config_round_trip():
    layer = SpecAugment(
        freq_mask_max_bins=8,
        freq_mask_count=1,
        time_mask_max_frames=5,
        time_mask_count=3,
        time_mask_max_ratio=0.5,
        time_warp_max_frames=4,
        time_warp_max_ratio=0.2,
        seed=11,
        name="augment",
    )
    config = layer.get_config()
    for key in (
        "freq_mask_max_bins",
        "freq_mask_count",
        "time_mask_max_frames",
        "time_mask_count",
        "time_mask_max_ratio",
        "time_warp_max_frames",
        "time_warp_max_ratio",
        "seed",
    ):
        assert key in config
    assert SpecAugment.from_config(config).get_config() == config


def test_keras_save_and_load(tmp_path):
    model = keras.Sequential([keras.Input((None, 8)), SpecAugment(freq_mask_max_bins=3, seed=12)])
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    layer = loaded.layers[0]
    assert isinstance(layer, SpecAugment)
    assert layer.get_config() == model.layers[0].get_config()
    x = keras.random.normal((2, 20, 8))
    np.testing.assert_array_equal(to_numpy(loaded(x)), to_numpy(x))
    assert loaded(x, training=True).shape == (2, 20, 8)


def test_gin_binding():
    assert gin.get_configurable("SpecAugment") is SpecAugment
    gin.parse_config("SpecAugment.freq_mask_max_bins = 3")
    assert SpecAugment().freq_mask_max_bins == 3


def test_gin_scoped_binding():
    gin.parse_config("f/SpecAugment.freq_mask_max_bins = 3")
    with gin.config_scope("f"):
        layer = SpecAugment()
    assert layer.freq_mask_max_bins == 3
    assert SpecAugment().freq_mask_max_bins == 10
