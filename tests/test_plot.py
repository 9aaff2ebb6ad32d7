"""`leaf_tf.plot` and `leaf_tf.inspection`: figures, exports, errors and the TensorBoard callback."""

from __future__ import annotations

import logging
import pathlib

import keras
import numpy as np
import pytest
import tensorflow as tf

import leaf_tf
from leaf_tf import inspection, plot
from leaf_tf.models import AudioClassifier
from leaf_tf.signals import speech_like

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
N_FILTERS = 8
# Perturbed frontend weights saved in the workdir fixture.
POOLING_SIGMA = 0.3
PCEN_ALPHA = np.linspace(0.5, 1.2, N_FILTERS)  # the last values exceed 1: clipped in call


def _classifier() -> AudioClassifier:
    model = AudioClassifier(3, leaf_tf.Leaf(n_filters=N_FILTERS), leaf_tf.encoders.ConvNet(filters=(4, 4)))
    model(np.zeros((1, 3200), np.float32))
    return model


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> pathlib.Path:
    """A training workdir whose `final.keras` holds a classifier with a perturbed LEAF."""
    directory = tmp_path_factory.mktemp("workdir")
    model = _classifier()
    frontend = model.frontend
    kernel = frontend.filterbank.kernel.numpy()
    frontend.filterbank.kernel.assign(kernel * np.array([[1.1, 0.7]], np.float32))
    frontend.pooling.kernel.assign(np.full((1, 1, N_FILTERS, 1), POOLING_SIGMA, np.float32))
    frontend.compression.alpha.assign(PCEN_ALPHA.astype(np.float32))
    model.save(directory / "final.keras")
    return directory


@pytest.fixture(scope="module")
def audio_file(tmp_path_factory) -> pathlib.Path:
    import soundfile

    path = tmp_path_factory.mktemp("audio") / "speech.wav"
    soundfile.write(path, speech_like(1.0, 16000), 16000)
    return path


def _assert_png(path: pathlib.Path) -> None:
    data = path.read_bytes()
    assert data[:8] == PNG_MAGIC
    assert len(data) > 20_000, len(data)


# ---------------------------------------------------------------- commands


def test_filters_command_on_fresh_and_trained_frontends(tmp_path, workdir, capsys):
    fresh = tmp_path / "fresh.png"
    assert plot.main(["filters", "--frontend", "leaf", "--n_filters", "16", "--output", str(fresh)]) == 0
    _assert_png(fresh)
    trained = tmp_path / "figures" / "trained.png"  # parent directories are created
    assert plot.main(["filters", "--workdir", str(workdir), "--output", str(trained)]) == 0
    _assert_png(trained)
    from_file = tmp_path / "from_file.png"
    assert plot.main(["filters", "--model", str(workdir / "final.keras"), "--output", str(from_file)]) == 0
    _assert_png(from_file)
    assert f"wrote {trained}" in capsys.readouterr().out


def test_features_command(tmp_path, workdir, audio_file):
    output = tmp_path / "features.png"
    argv = ["features", "--audio", str(audio_file), "--workdir", str(workdir), "--frontends", "mel", "sincnet_plus",
            "--n_filters", "16", "--output", str(output)]
    assert plot.main(argv) == 0
    _assert_png(output)


def test_export_json_and_csv_round_trip(tmp_path, workdir):
    expected = inspection.describe_filters(inspection.load_frontend(workdir))
    for suffix in ("json", "csv"):
        path = tmp_path / f"filters.{suffix}"
        assert plot.main(["export-filters", "--workdir", str(workdir), "--output", str(path)]) == 0
        exported = inspection.read_filters(path)
        keys = inspection.per_channel_keys(expected)
        assert set(keys) <= set(exported)
        for key in keys:
            np.testing.assert_array_equal(exported[key], expected[key], err_msg=key)
    assert exported["n_filters"] == N_FILTERS
    # The saved (perturbed) weights are what comes out, in physical units.
    np.testing.assert_allclose(exported["pooling_width_ms"], POOLING_SIGMA * 200 / 16000 * 1000, rtol=1e-6)
    np.testing.assert_allclose(exported["pcen_alpha_raw"], PCEN_ALPHA, rtol=1e-6)
    np.testing.assert_allclose(exported["pcen_alpha"], np.minimum(PCEN_ALPHA, 1.0), rtol=1e-6)
    np.testing.assert_allclose(exported["center_hz"], 1.1 * exported["mel_init_center_hz"], rtol=1e-5)


def test_untrained_leaf_centres_lie_on_the_mel_scale(tmp_path):
    path = tmp_path / "leaf.json"
    assert plot.main(["export-filters", "--frontend", "leaf", "--output", str(path)]) == 0
    exported = inspection.read_filters(path)
    # Independently: the FFT bin of each sqrt(mel triangle)'s peak, 512-point FFT at 16 kHz, 60-7800 Hz.
    mel = tf.signal.linear_to_mel_weight_matrix(40, 257, 16000, 60.0, 7800.0).numpy().T
    expected_hz = np.argmax(np.sqrt(mel), axis=1) * 16000 / 512
    bin_hz = 16000 / 512
    assert np.all(np.abs(exported["center_hz"] - expected_hz) <= bin_hz)
    assert np.all(np.abs(exported["mel_init_center_hz"] - expected_hz) <= bin_hz)
    # ... and within one bin of the exact mel-band centres (1127 ln(1 + f / 700), 42 equally spaced edges).
    mels = np.linspace(1127 * np.log1p(60 / 700), 1127 * np.log1p(7800 / 700), 42)[1:-1]
    assert np.all(np.abs(exported["center_hz"] - 700 * np.expm1(mels / 1127)) <= bin_hz)


# ---------------------------------------------------------------- errors


def _write(path: pathlib.Path, text: str) -> pathlib.Path:
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    "make_argv, message",
    [
        (lambda d: ["filters", "--workdir", str(d / "missing")], "does not exist"),
        (lambda d: ["filters", "--workdir", str(d)],
         "has no checkpoint (final.keras or best.keras): train first or pass a .keras file"),
        (lambda d: ["export-filters", "--workdir", str(d), "--output", str(d / "x.json")], "has no checkpoint"),
        (lambda d: ["filters", "--model", str(_write(d / "model.h5", "x"))], "is not a .keras file"),
        (lambda d: ["filters", "--model", str(_write(d / "broken.keras", "x"))], "could not load"),
        (lambda d: ["filters", "--frontend", "wavegram"], "Wavegram has no per-channel filter parameters"),
        (lambda d: ["features", "--audio", str(d / "missing.wav")], "does not exist"),
        (lambda d: ["features", "--audio", str(_write(d / "text.wav", "not audio"))], "Could not decode"),
        (lambda d: ["export-filters", "--frontend", "leaf", "--output", str(d / "x.txt")], ".json or .csv"),
        (lambda d: ["filters", "--model", str(d / "m.keras"), "--n_filters", "8"], "applies to --frontend only"),
    ],
    ids=["missing-workdir", "empty-workdir", "export-empty-workdir", "not-keras", "broken-keras", "wavegram",
         "missing-audio", "bad-audio", "bad-export-suffix", "n-filters-with-checkpoint"],
)
def test_errors_are_one_line_with_exit_status_2(tmp_path, capsys, make_argv, message):
    with pytest.raises(SystemExit) as exit_info:
        plot.main(make_argv(tmp_path))
    assert exit_info.value.code == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith("leaf-tf plot: error: ") and message in lines[0], lines[0]


# ---------------------------------------------------------------- inspection


@pytest.mark.parametrize("name", ["mel", "mel_pcen", "tdfbanks", "sincnet", "sincnet_plus"])
def test_describe_filters_of_every_frontend(name):
    frontend = inspection.load_frontend(name, n_filters=N_FILTERS)
    info = inspection.describe_filters(frontend)
    assert np.all(np.diff(info["center_hz"]) > 0) and np.all(info["bandwidth_hz"] > 0)
    assert ("pcen_alpha" in info) == (name in ("mel_pcen", "sincnet_plus"))
    assert ("pooling_width_ms" in info) == (name in ("tdfbanks", "sincnet_plus"))
    assert ("mel_init_center_hz" in info) == (name not in ("mel", "mel_pcen"))
    freqs, magnitude = inspection.frequency_responses(frontend, n_fft=1024)
    assert freqs.shape == (513,) and freqs[-1] == 8000 and magnitude.shape == (N_FILTERS, 513)
    # Each response peaks inside its filter's band.
    peaks = freqs[np.argmax(magnitude, axis=1)]
    assert np.all(np.abs(peaks - info["center_hz"]) <= info["bandwidth_hz"] / 2 + 16000 / 1024)


def test_gabor_bandwidth_formula_matches_the_measured_response():
    frontend = inspection.load_frontend("leaf")
    info = inspection.describe_filters(frontend)
    centres, widths = inspection._peak_and_fwhm(*inspection.frequency_responses(frontend, n_fft=16384))
    np.testing.assert_allclose(centres, info["center_hz"], atol=1.0)
    untruncated = info["gabor_sigma_samples"] < 70  # envelopes that fit in the 401-tap window
    np.testing.assert_allclose(widths[untruncated], info["bandwidth_hz"][untruncated], rtol=0.02)


def test_wavegram_has_no_filter_parameters():
    with pytest.raises(ValueError, match="Wavegram has no per-channel filter parameters"):
        inspection.describe_filters(inspection.load_frontend("wavegram"))


def test_load_frontend_sources(tmp_path, workdir):
    (tmp_path / "best.keras").write_bytes((workdir / "final.keras").read_bytes())
    frontend = inspection.load_frontend(tmp_path)  # best.keras when there is no final.keras
    np.testing.assert_allclose(frontend.pooling.kernel.numpy(), POOLING_SIGMA)
    sequential = keras.Sequential([keras.Input((None,)), leaf_tf.Leaf(n_filters=4), keras.layers.Dense(2)])
    assert isinstance(inspection.find_frontend(sequential), leaf_tf.Leaf)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        inspection.load_frontend(tmp_path / "nope")


# ---------------------------------------------------------------- TensorBoard


def _image_summaries(log_dir: pathlib.Path) -> dict[int, bytes]:
    images = {}
    for events in log_dir.rglob("events.out.tfevents.*"):
        for event in tf.compat.v1.train.summary_iterator(str(events)):
            for value in event.summary.value:
                if value.tag == "frontend/filters":
                    images[event.step] = value.tensor.string_val[2]  # [width, height, PNG]
    return images


def test_filter_plot_callback_logs_images(tmp_path):
    model = _classifier()
    model.compile(optimizer="adam", loss=model.default_loss())
    audio = np.random.default_rng(0).uniform(-1, 1, (4, 3200)).astype(np.float32)
    labels = np.array([0, 1, 2, 0])
    callback = plot.FilterPlotCallback(tmp_path / "tensorboard", every_n_steps=1)
    model.fit(audio, labels, batch_size=2, epochs=1, verbose=0, callbacks=[callback])
    images = _image_summaries(tmp_path / "tensorboard")
    assert sorted(images) == [1, 2]  # every step; the end of training (step 2) is not logged twice
    assert all(png[:8] == PNG_MAGIC for png in images.values())


def test_filter_plot_callback_without_matplotlib(tmp_path, monkeypatch, caplog):
    def missing():
        raise plot.PlotError("plotting needs matplotlib")

    monkeypatch.setattr(plot, "_matplotlib", missing)
    with caplog.at_level(logging.WARNING, logger="leaf_tf.plot"):
        callback = plot.FilterPlotCallback(tmp_path, every_n_steps=1)
        callback.set_model(_classifier())
        for batch in range(3):
            callback.on_train_batch_end(batch)
        callback.on_train_end()
    assert len([r for r in caplog.records if "matplotlib" in r.getMessage()]) == 1
    assert not list(tmp_path.iterdir())


def test_drift_command_groups_runs_by_label(tmp_path, workdir, capsys):
    import json
    import shutil

    compare_dir = tmp_path / "compare"
    for label, seed in (("leaf", 0), ("leaf", 1), ("leaf_slow", 0)):
        run = compare_dir / label / f"seed-{seed}"
        run.mkdir(parents=True)
        shutil.copy(workdir / "final.keras", run / "final.keras")
        (run / "run.json").write_text(json.dumps({"frontend": "leaf", "label": label, "seed": seed}))
    runs = plot._trained_frontends_by_label([compare_dir])
    assert {label: len(infos) for label, infos in runs.items()} == {"leaf": 2, "leaf_slow": 1}
    change = runs["leaf"][0]["center_hz"] - runs["leaf"][0]["mel_init_center_hz"]
    np.testing.assert_allclose(change, 0.1 * runs["leaf"][0]["mel_init_center_hz"], rtol=1e-4)  # the fixture's x1.1
    output = tmp_path / "drift.png"
    assert plot.main(["drift", str(compare_dir), "--output", str(output)]) == 0
    _assert_png(output)
    assert plot.main(["drift", str(tmp_path / "compare" / "leaf" / "seed-0"), "--output", str(output)]) == 0
    with pytest.raises(SystemExit):
        plot.main(["drift", str(tmp_path / "nothing"), "--output", str(output)])
    assert "holds no training run" in capsys.readouterr().err
