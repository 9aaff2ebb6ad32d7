"""Initializers and DSP helpers against the float64 NumPy oracle (docs/numerics.md sections 2, 3.1, 3.3, 3.11, 4.2)."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from leaf_tf import dsp
from leaf_tf.initializers import GaborInit, LowpassInit, PreempInit, SincInit
from tests import numpy_reference as ref
from tests.helpers import relative_error


@pytest.mark.parametrize("sample_rate", [8000, 16000, 22050, 24000, 44100])
@pytest.mark.parametrize("window_ms, stride_ms", [(25.0, 10.0), (32.0, 8.0)])
def test_window_sizes_match_reference_formula(sample_rate, window_ms, stride_ms):
    assert dsp.window_length_samples(sample_rate, window_ms) == ref.window_length(sample_rate, window_ms)
    assert dsp.window_stride_samples(sample_rate, stride_ms) == ref.window_stride(sample_rate, stride_ms)


@pytest.mark.parametrize("length", [1, 159, 160, 401, 12345, 16000])
@pytest.mark.parametrize("kernel, stride", [(401, 160), (552, 220), (2, 1)])
def test_same_padding(length, kernel, stride):
    assert dsp.same_padding(length, kernel, stride) == ref.same_padding(length, kernel, stride)


@pytest.mark.parametrize("n_filters", [40, 64, 80])
@pytest.mark.parametrize("sample_rate, min_freq, max_freq", [(16000, 60.0, 7800.0), (16000, 0.0, 8000.0), (24000, 60.0, 7800.0)])
def test_gabor_init_params_match_mel_matrix(n_filters, sample_rate, min_freq, max_freq):
    init = GaborInit(sample_rate=sample_rate, min_freq=min_freq, max_freq=max_freq)
    params = np.asarray(init((n_filters, 2)))
    eta, sigma = ref.gabor_init_params(n_filters, sample_rate, min_freq, max_freq)
    # Centres sit exactly on FFT bins; widths are bin counts: only float32 rounding differs.
    np.testing.assert_allclose(params[:, 0], eta, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(params[:, 1], sigma, rtol=1e-6)


def test_gabor_init_normalize_energy_keeps_parameters():
    plain = np.asarray(GaborInit(min_freq=60.0, max_freq=7800.0)((40, 2)))
    normalized = np.asarray(GaborInit(min_freq=60.0, max_freq=7800.0, normalize_energy=True)((40, 2)))
    np.testing.assert_array_equal(plain, normalized)


def test_gabor_init_64_filters_start_outside_the_constraint():
    sigma = np.asarray(GaborInit(min_freq=60.0, max_freq=7800.0)((64, 2)))[:, 1]
    _, upper = dsp.gabor_sigma_bounds(401)
    assert sigma.max() == pytest.approx(191.89, abs=0.01)
    assert sigma.max() > upper


@pytest.mark.parametrize("n_filters, kernel_size", [(40, 401), (8, 552)])
def test_gabor_init_rank3_gives_area_scaled_real_taps(n_filters, kernel_size):
    taps = np.asarray(GaborInit(min_freq=60.0, max_freq=7800.0)((kernel_size, 1, 2 * n_filters)))
    expected = ref.gabor_td_taps(n_filters, kernel_size, 16000, 60.0, 7800.0)
    assert taps.shape == expected.shape
    assert relative_error(taps, expected) < 1e-4


def test_sinc_init_matches_oracle():
    values = np.asarray(SincInit()((40, 2)))
    a, b = ref.sinc_init(40)
    np.testing.assert_allclose(values[:, 0], a, rtol=1e-6)
    np.testing.assert_allclose(values[:, 1], b, rtol=1e-6)


@pytest.mark.parametrize("shape", [(1, 401, 1, 1), (1, 401, 3, 1), (401, 1, 5)])
def test_lowpass_init_squared_hann_with_offset(shape):
    values = np.asarray(LowpassInit()(shape))
    expected = ref.lowpass_init(401)
    taps = values[0, :, 0, 0] if len(shape) == 4 else values[:, 0, 0]
    np.testing.assert_allclose(taps, expected, atol=1e-7)
    assert int(np.argmax(taps)) == 201
    assert taps.sum() == pytest.approx(150.0, rel=1e-5)


def test_lowpass_init_rejects_a_kernel_of_another_length():
    with pytest.raises(ValueError, match="401-tap windows but the kernel has 552"):
        LowpassInit()((1, 552, 1, 1))


def test_preemp_init():
    np.testing.assert_allclose(np.asarray(PreempInit()((2, 1, 1))).ravel(), ref.preemp_init(0.97), rtol=1e-7)
    with pytest.raises(ValueError, match="PreempInit"):
        PreempInit()((3, 1, 1))


def test_initializer_shape_errors_name_the_expected_shape():
    with pytest.raises(ValueError, match=r"GaborInit.*\[n_filters, 2\]"):
        GaborInit()((40, 3))
    with pytest.raises(ValueError, match="SincInit"):
        SincInit()((40,))


@pytest.mark.parametrize(
    "initializer",
    [PreempInit(0.9), GaborInit(sample_rate=24000, min_freq=30.0), SincInit(min_band_hz=20.0), LowpassInit(window_type="hamming")],
)
def test_initializers_serialize(initializer):
    restored = keras.initializers.deserialize(keras.initializers.serialize(initializer))
    assert type(restored) is type(initializer)
    assert restored.get_config() == initializer.get_config()


def test_windows():
    assert dsp.hamming_window(401)[0] == pytest.approx(0.08)
    assert dsp.as_window_type("squared_hanning") is dsp.WindowType.SQUARED_HANNING
    with pytest.raises(ValueError, match="Unknown window type"):
        dsp.as_window_type("blackman")
