"""`load_audio`: formats, bit depths, down-mixing, resampling, errors."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf
import tensorflow as tf
import tensorflow_datasets as tfds

from leaf_tf.data import audio_io
from leaf_tf.data.audio_io import AudioDecodeError, load_audio, read_audio, resample, to_int16


def _tone(rate: int, freq_hz: float = 440.0, seconds: float = 0.25, amplitude: float = 0.5) -> np.ndarray:
    t = np.arange(int(rate * seconds)) / rate
    return (amplitude * np.sin(2 * np.pi * freq_hz * t)).astype(np.float32)


@pytest.mark.parametrize(
    "filename, kwargs",
    [
        ("pcm16.wav", {"subtype": "PCM_16"}),
        ("pcm24.wav", {"subtype": "PCM_24"}),
        ("pcm32.wav", {"subtype": "PCM_32"}),
        ("float.wav", {"subtype": "FLOAT"}),
        ("u8.wav", {"subtype": "PCM_U8"}),
        ("clip.flac", {}),
        ("clip.ogg", {"format": "OGG", "subtype": "VORBIS"}),
    ],
)
def test_formats_and_bit_depths(tmp_path, filename, kwargs):
    x = _tone(16000)
    sf.write(str(tmp_path / filename), x, 16000, **kwargs)
    y = load_audio(tmp_path / filename)
    assert y.dtype == np.float32 and y.shape == x.shape
    tolerance = {"u8.wav": 1e-2, "clip.ogg": 5e-2}.get(filename, 1e-4)
    np.testing.assert_allclose(y, x, atol=tolerance)


def test_16_bit_pcm_round_trips_exactly_through_int16(tmp_path):
    samples = np.array([0, 1, -1, 12345, -32768, 32767], dtype=np.int16)
    sf.write(str(tmp_path / "a.wav"), samples, 16000, subtype="PCM_16")
    y = load_audio(tmp_path / "a.wav")
    np.testing.assert_array_equal(y, samples / 32768.0)
    np.testing.assert_array_equal(to_int16(y), samples)


def test_same_rate_is_an_exact_no_op(tmp_path):
    x = np.random.default_rng(0).uniform(-0.9, 0.9, 8000).astype(np.float32)
    assert resample(x, 16000, 16000) is x
    sf.write(str(tmp_path / "a.wav"), x, 16000, subtype="FLOAT")
    np.testing.assert_array_equal(load_audio(tmp_path / "a.wav"), x)


def test_stereo_44k1_is_averaged_and_resampled(tmp_path):
    left, right = _tone(44100, 440.0, amplitude=0.6), _tone(44100, 440.0, amplitude=0.2)
    sf.write(str(tmp_path / "a.wav"), np.stack([left, right], axis=1), 44100, subtype="PCM_24")
    y = load_audio(tmp_path / "a.wav", sample_rate=16000)
    assert y.shape == (4000,)  # 0.25 s at 16 kHz
    expected = _tone(16000, 440.0, amplitude=0.4)
    np.testing.assert_allclose(y[200:-200], expected[200:-200], atol=2e-3)


@pytest.mark.parametrize("orig, target", [(48000, 16000), (44100, 16000), (8000, 16000), (22050, 32000)])
def test_resampler_keeps_in_band_tones_and_removes_aliases(orig, target):
    x = _tone(orig, 1000.0, seconds=0.5) + (_tone(orig, 0.45 * orig, seconds=0.5) if orig > target else 0)
    y = resample(x, orig, target)
    assert abs(len(y) - len(x) * target / orig) <= 1 and y.dtype == np.float32
    expected = _tone(target, 1000.0, seconds=len(y) / target)[: len(y)]
    edge = target // 50
    np.testing.assert_allclose(y[edge:-edge], expected[edge:-edge], atol=5e-3)


def test_scipy_fallback_without_soxr(monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_soxr(name, *args, **kwargs):
        if name == "soxr":
            raise ImportError("no soxr")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_soxr)
    x = _tone(44100, 1000.0, seconds=0.5)
    y = resample(x, 44100, 16000)
    assert len(y) == 8000 and y.dtype == np.float32
    np.testing.assert_allclose(y[400:-400], _tone(16000, 1000.0, seconds=0.5)[400:-400], atol=5e-3)


def test_float_files_are_clipped_to_unit_range(tmp_path):
    sf.write(str(tmp_path / "loud.wav"), np.array([0.0, 1.5, -2.0, 0.25], np.float32), 16000, subtype="FLOAT")
    np.testing.assert_array_equal(load_audio(tmp_path / "loud.wav"), [0.0, 1.0, -1.0, 0.25])


def test_read_audio_keeps_channels_and_rate(tmp_path):
    x = np.stack([_tone(22050), -_tone(22050)], axis=1)
    sf.write(str(tmp_path / "a.flac"), x, 22050)
    audio, rate = read_audio(tmp_path / "a.flac")
    assert rate == 22050 and audio.shape == x.shape


@pytest.mark.parametrize(
    "content, match",
    [
        (b"", "empty"),
        (b"RIFF\x24\x00\x00\x00WAVEfmt garbage that is not a wave file", "Could not decode"),
        (bytes(range(256)) * 4, "Could not decode"),
    ],
)
def test_unreadable_files_raise_audio_decode_error_naming_the_file(tmp_path, content, match):
    path = tmp_path / "bad.wav"
    path.write_bytes(content)
    with pytest.raises(AudioDecodeError, match=match) as error:
        load_audio(path)
    assert str(path) in str(error.value)
    assert "BytesIO" not in str(error.value)  # libsndfile's reason, not the in-memory file object
    assert isinstance(error.value, ValueError)


def test_zero_sample_file_raises(tmp_path):
    sf.write(str(tmp_path / "none.wav"), np.zeros((0,), np.float32), 16000)
    with pytest.raises(AudioDecodeError, match="no samples"):
        load_audio(tmp_path / "none.wav")


def test_non_finite_samples_raise(tmp_path):
    sf.write(str(tmp_path / "nan.wav"), np.array([0.0, np.nan, 0.1], np.float32), 16000, subtype="FLOAT")
    with pytest.raises(AudioDecodeError, match="NaN"):
        load_audio(tmp_path / "nan.wav")


def test_missing_file_raises_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError, match="nothing.wav"):
        load_audio(tmp_path / "nothing.wav")


def test_to_int16_rounds_clips_and_rejects_nan():
    np.testing.assert_array_equal(
        to_int16(np.array([0.0, 0.5, -1.0, 1.0, 2.0, -3.0, 1 / 65536], np.float32)),
        np.array([0, 16384, -32768, 32767, 32767, -32768, 0], np.int16),
    )
    with pytest.raises(ValueError, match="NaN"):
        to_int16(np.array([np.nan]))


def test_extensions_are_lower_case_with_dot():
    assert all(ext.startswith(".") and ext == ext.lower() for ext in audio_io.AUDIO_EXTENSIONS)


def test_to_float_audio():
    np.testing.assert_allclose(audio_io.to_float_audio(tf.constant([-32768, 16384], tf.int16)), [-1.0, 0.5])
    np.testing.assert_allclose(audio_io.to_float_audio(tf.constant([16384], tf.int64)), [0.5])
    np.testing.assert_allclose(audio_io.to_float_audio(tf.constant([0.25], tf.float32)), [0.25])


def test_int16_audio_stores_two_bytes_a_sample_and_round_trips():
    feature = audio_io.Int16Audio(sample_rate=16000)
    samples = np.array([0, 1, -1, 32767, -32768, 12345], np.int16)
    encoded = feature.encode_example(samples)
    assert isinstance(encoded, bytes) and len(encoded) == 2 * samples.size
    decoded = feature.decode_example(tf.constant(encoded))
    assert decoded.dtype == tf.int16
    np.testing.assert_array_equal(decoded.numpy(), samples)
    with pytest.raises(ValueError, match="int16"):
        feature.encode_example(samples.astype(np.int64))


def test_feature_registered_under_its_first_release_name():
    """Synthetic datasets prepared by the first release name the feature `leaf_tf.data.synthetic.Int16Audio`."""
    assert tfds.features.FeatureConnector.cls_from_name("leaf_tf.data.synthetic.Int16Audio") is audio_io.Int16Audio
