"""The embedded `leaf_synthetic` dataset: builds offline, deterministic, well-formed, and its classes are separable.

Builds tiny versions (`make_config(task, TINY)`) in temporary directories; the
full sizes are exercised by `benchmarks/synthetic_baseline.py`.
"""

from __future__ import annotations

import pathlib

import numpy as np
import pytest
import tensorflow_datasets as tfds

from leaf_tf.data import synthetic

TINY = {"train": 16, "validation": 4, "test": 4}  # 16 >= 8 classes: every label appears in train
SAMPLE_RATE_HZ = 16000


class LeafSyntheticBuilderTest(tfds.testing.DatasetBuilderTestCase):
    """TFDS's own harness: download_and_prepare (nothing downloaded), as_dataset, reload, split sizes."""

    DATASET_CLASS = synthetic.LeafSynthetic
    BUILDER_CONFIG_NAMES_TO_TEST = [synthetic.make_config(task, TINY) for task in synthetic.TASKS]
    SPLITS = TINY
    EXAMPLE_DIR = str(pathlib.Path(__file__).parent)  # the harness wants a fake download dir; nothing is read
    SKIP_CHECKSUMS = True  # no URLs


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> dict[str, dict[str, list[dict]]]:
    """`{task: {split: [examples sorted by id]}}` read back through TFDS from a tiny build of every task."""
    data_dir = tmp_path_factory.mktemp("tfds")
    out = {}
    for task in synthetic.TASKS:
        builder = tfds.builder("leaf_synthetic", config=synthetic.make_config(task, TINY), data_dir=str(data_dir))
        builder.download_and_prepare()
        out[task] = {"_builder": builder}
        for split in synthetic.SPLITS:
            examples = list(tfds.as_numpy(builder.as_dataset(split=split)))
            out[task][split] = sorted(examples, key=lambda ex: ex["id"])
    return out


def test_registered_under_its_task_names(tmp_path):
    assert "leaf_synthetic" in tfds.list_builders()
    assert synthetic.TASKS == ("pitch", "timbre", "scene", "modulation", "event")
    assert [c.name for c in synthetic.LeafSynthetic.BUILDER_CONFIGS] == list(synthetic.TASKS)
    builder = tfds.builder("leaf_synthetic/modulation", data_dir=str(tmp_path))
    assert isinstance(builder, synthetic.LeafSynthetic)
    assert builder.builder_config.task == "modulation"
    assert builder.builder_config.examples_per_split == synthetic.DEFAULT_EXAMPLES_PER_SPLIT
    assert builder.info.features["label"].names == list(synthetic.MODULATION_CLASSES)


@pytest.mark.parametrize("task", synthetic.TASKS)
def test_features_dtypes_and_lengths(tiny, task):
    builder = tiny[task]["_builder"]
    audio_feature = builder.info.features["audio"]
    assert isinstance(audio_feature, tfds.features.Audio)
    assert audio_feature.sample_rate == SAMPLE_RATE_HZ and audio_feature.shape == (None,)
    assert audio_feature.np_dtype == np.int16
    assert builder.info.supervised_keys == ("audio", "label")
    classes = synthetic.SYNTHETIC_TASKS[task].classes
    assert builder.info.features["label"].names == list(classes)
    for split in synthetic.SPLITS:
        examples = tiny[task][split]
        assert [ex["id"].decode() for ex in examples] == [f"{task}/{split}/{i:05d}" for i in range(TINY[split])]
        for ex in examples:
            audio = ex["audio"]
            assert audio.dtype == np.int16 and audio.ndim == 1
            assert SAMPLE_RATE_HZ <= audio.size <= 3 * SAMPLE_RATE_HZ and audio.size % 160 == 0
            peak = np.abs(audio.astype(np.int32)).max()
            assert 0.02 * 32768 < peak <= 0.99 * 32768 + 1  # audible, never clipped
            rms_dbfs = 20 * np.log10(np.sqrt(np.mean((audio / 32768.0) ** 2)))
            assert -39.0 < rms_dbfs < -13.0
    train_labels = [int(ex["label"]) for ex in tiny[task]["train"]]
    assert set(train_labels) == set(range(len(classes)))  # every class appears
    assert np.bincount(train_labels).max() - np.bincount(train_labels).min() <= 1  # balanced


@pytest.mark.parametrize("task", synthetic.TASKS)
def test_tfds_examples_are_the_generator_outputs(tiny, task):
    """What TFDS stores is `generate_example(task, split, i)`: bit-exact, whatever the split size."""
    for split in synthetic.SPLITS:
        for i, ex in enumerate(tiny[task][split]):
            audio, label = synthetic.generate_example(task, split, i)
            np.testing.assert_array_equal(ex["audio"], audio)
            assert int(ex["label"]) == label


def test_reloads_from_its_directory(tiny):
    """`builder_from_directory` rebuilds the features (`Int16Audio`) from `features.json`."""
    builder = tiny["scene"]["_builder"]
    reloaded = tfds.builder_from_directory(builder.data_dir)
    assert isinstance(reloaded.info.features["audio"], synthetic.Int16Audio)
    assert reloaded.info.features["audio"].sample_rate == SAMPLE_RATE_HZ
    examples = sorted(tfds.as_numpy(reloaded.as_dataset(split="validation")), key=lambda ex: ex["id"])
    for a, b in zip(tiny["scene"]["validation"], examples, strict=True):
        np.testing.assert_array_equal(a["audio"], b["audio"])


def test_two_builds_are_identical(tiny, tmp_path):
    config = synthetic.make_config("event", TINY)
    builder = tfds.builder("leaf_synthetic", config=config, data_dir=str(tmp_path))
    builder.download_and_prepare()
    for split in synthetic.SPLITS:
        again = sorted(tfds.as_numpy(builder.as_dataset(split=split)), key=lambda ex: ex["id"])
        for a, b in zip(tiny["event"][split], again, strict=True):
            assert a["id"] == b["id"] and a["label"] == b["label"]
            np.testing.assert_array_equal(a["audio"], b["audio"])


@pytest.mark.parametrize("task", synthetic.TASKS)
def test_splits_and_examples_differ(task):
    clips = [synthetic.generate_example(task, split, i)[0] for split in synthetic.SPLITS for i in range(4)]
    for i, a in enumerate(clips):
        for b in clips[i + 1 :]:
            assert a.size != b.size or not np.array_equal(a, b)


def test_make_config_names_and_errors():
    assert synthetic.make_config("pitch").name == "pitch"
    config = synthetic.make_config("scene", {"train": 8, "validation": 2, "test": 3})
    assert config.name == "scene_8_2_3" and config.task == "scene"
    with pytest.raises(ValueError, match="Unknown leaf_synthetic task"):
        synthetic.make_config("speech")
    with pytest.raises(ValueError, match="examples_per_split"):
        synthetic.make_config("pitch", {"train": 8})
    with pytest.raises(ValueError, match="Unknown split"):
        synthetic.generate_example("pitch", "dev", 0)


def test_prepare_builds_once_and_returns_loadable_names(tmp_path):
    """Full size, one small task (~3 s): a second call finds it prepared."""
    names = synthetic.prepare(tmp_path, ["modulation"])
    assert names == ["leaf_synthetic/modulation"]
    builder = tfds.builder(names[0], data_dir=str(tmp_path))
    assert builder.is_prepared()
    assert {s: builder.info.splits[s].num_examples for s in synthetic.SPLITS} == synthetic.DEFAULT_EXAMPLES_PER_SPLIT
    stamp = (pathlib.Path(builder.data_dir) / "dataset_info.json").stat().st_mtime_ns
    assert synthetic.prepare(tmp_path, ["modulation"]) == names
    assert (pathlib.Path(builder.data_dir) / "dataset_info.json").stat().st_mtime_ns == stamp


# --------------------------------------------------------------------------- #
# Each task's classes are separable by a simple hand-made feature.
# --------------------------------------------------------------------------- #


def _power_spectrogram(audio: np.ndarray, window: int, hop: int) -> np.ndarray:
    x = audio / 32768.0
    frames = np.lib.stride_tricks.sliding_window_view(x, window)[::hop] * np.hanning(window)
    return np.abs(np.fft.rfft(frames, axis=1)) ** 2


def _clips(task: str, n: int = 48) -> list[tuple[np.ndarray, int]]:
    return [synthetic.generate_example(task, "test", i) for i in range(n)]


def test_pitch_matches_a_subharmonic_summation_estimate():
    """f0 = argmax over a 1/8-semitone grid of the summed (positive) log-spectrum at its first 8 harmonics."""
    freqs_per_bin = SAMPLE_RATE_HZ / 4096
    candidates = 440.0 * 2.0 ** ((np.arange(40.0, 84.0, 0.125) - 69.0) / 12.0)
    harmonics = np.arange(1, 9)
    correct = 0
    for audio, label in _clips("pitch"):
        spectrum = _power_spectrogram(audio, 4096, 1024).mean(axis=0)
        log_spectrum = np.log(spectrum + 1e-12 * spectrum.max())
        salience = np.maximum(log_spectrum - np.median(log_spectrum), 0.0)
        bins = np.round(np.outer(candidates, harmonics) / freqs_per_bin).astype(int)
        scores = (salience[np.minimum(bins, salience.size - 1)] * 0.9 ** (harmonics - 1)).sum(axis=1)
        midi = 69.0 + 12.0 * np.log2(candidates[np.argmax(scores)] / 440.0)
        correct += int(np.argmin(np.abs(np.array(synthetic.PITCH_MIDI) - midi))) == label
    assert correct / 48 >= 0.75  # measured 0.92; chance 0.125


def test_modulation_rate_is_the_peak_of_the_modulation_spectrum():
    """Log-energy of 32 bands every 5 ms, Fourier transformed over time, summed over bands: the peak is the rate."""
    hop = 80
    correct = 0
    for audio, label in _clips("modulation"):
        power = _power_spectrogram(audio, 256, hop)
        edges = np.linspace(0, power.shape[1] - 1, 33).astype(int)[:-1]
        bands = np.log(np.add.reduceat(power, edges, axis=1) + 1e-10)
        bands -= bands.mean(axis=0)
        spectrum = (np.abs(np.fft.rfft(bands * np.hanning(len(bands))[:, None], n=4096, axis=0)) ** 2).sum(axis=1)
        rates_hz = np.fft.rfftfreq(4096, hop / SAMPLE_RATE_HZ)
        in_range = spectrum[(rates_hz > 1.5) & (rates_hz < 60.0)]
        if in_range.max() / np.median(in_range) < 8.0:
            predicted = 0  # no peak: steady
        else:
            peaks = [
                spectrum[(rates_hz > 0.9 * r) & (rates_hz < 1.1 * r)].max() for r in synthetic.MODULATION_RATES_HZ[1:]
            ]
            predicted = 1 + int(np.argmax(peaks))
        correct += predicted == label
    assert correct / 48 >= 0.85  # measured 1.0; chance 0.17


def test_events_are_tonal_peaks_among_noise_bursts():
    """95th percentile over frames of the 1.8-7.5 kHz peak-to-mean ratio: chirps are tonal, distractors are not."""
    freqs = np.fft.rfftfreq(512, 1.0 / SAMPLE_RATE_HZ)
    band = (freqs > 1800.0) & (freqs < 7500.0)
    scores = {0: [], 1: []}
    for audio, label in _clips("event"):
        power = _power_spectrogram(audio, 512, 128)[:, band]
        scores[label].append(np.percentile(power.max(axis=1) / (power.mean(axis=1) + 1e-20), 95))
    auc = np.mean(np.array(scores[1])[:, None] > np.array(scores[0])[None, :])
    assert auc >= 0.8  # measured 0.94


def test_struck_timbres_decay_and_sustained_ones_do_not():
    """Median frame-to-frame change of the log energy: < -0.1 dB per 10 ms for plucked / mallet only."""
    struck = {synthetic.TIMBRE_CLASSES.index("plucked"), synthetic.TIMBRE_CLASSES.index("mallet")}
    correct = 0
    for audio, label in _clips("timbre"):
        log_energy = 10 * np.log10(_power_spectrogram(audio, 400, 160).sum(axis=1) + 1e-10)
        correct += (np.median(np.diff(log_energy)) < -0.1) == (label in struck)
    assert correct / 48 >= 0.9  # measured 1.0


def test_scene_spectral_centroids_rank_traffic_lowest_and_rain_highest():
    freqs = np.fft.rfftfreq(1024, 1.0 / SAMPLE_RATE_HZ)
    centroids: dict[str, list[float]] = {}
    for audio, label in _clips("scene"):
        spectrum = _power_spectrogram(audio, 1024, 512).mean(axis=0)
        centroids.setdefault(synthetic.SCENE_CLASSES[label], []).append(np.sum(spectrum * freqs) / np.sum(spectrum))
    medians = {scene: np.median(c) for scene, c in centroids.items()}
    ranked = sorted(medians, key=medians.get)
    assert ranked[0] == "traffic" and ranked[-1] == "rain", medians


def test_every_second_of_an_event_clip_holds_a_whole_event():
    """The schedule behind `present` clips: any 1 s window, hence any 1 s training crop, contains an event."""
    window = SAMPLE_RATE_HZ
    length = int(synthetic.EVENT_MAX_S * SAMPLE_RATE_HZ)
    for seed in range(300):
        rng = np.random.default_rng(seed)
        n = int(rng.integers(100, 301)) * 160
        onsets = np.array(synthetic.event_onsets(rng, n))
        assert len(onsets) and onsets.max() + length <= n
        for start in range(0, n - window + 1, 160):
            assert np.any((onsets >= start) & (onsets + length <= start + window)), (seed, n, start)
