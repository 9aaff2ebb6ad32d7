"""`leaf_tf.inference`: predictions and features from a .keras file or a SavedModel, bad files skipped."""

from __future__ import annotations

from unittest import mock

import keras
import numpy as np
import pytest
import soundfile as sf

from leaf_tf import encoders, inference
from leaf_tf.models import AudioClassifier, MultiTaskClassifier


@pytest.fixture
def clips(tmp_path):
    rng = np.random.default_rng(0)
    folder = tmp_path / "clips"
    (folder / "nested").mkdir(parents=True)
    sf.write(str(folder / "a.wav"), (0.1 * rng.standard_normal(24000)).astype(np.float32), 16000)
    sf.write(str(folder / "nested" / "b.flac"), (0.1 * rng.standard_normal(16000)).astype(np.float32), 16000)
    sf.write(str(folder / "nan.wav"), np.full(8000, np.nan, np.float32), 16000, subtype="FLOAT")
    (folder / "notes.txt").write_text("not audio")
    return folder


def _model(multitask=False):
    keras.utils.set_random_seed(0)
    encoder = encoders.ConvNet(filters=(4, 4, 4, 4))
    model = MultiTaskClassifier({"x": 3, "y": 2}, "mel", encoder) if multitask else AudioClassifier(3, "mel", encoder)
    model(np.zeros([1, 16000], np.float32))
    return model


def test_keras_file_and_saved_model_give_the_same_predictions(clips, tmp_path):
    model = _model()
    model.save(tmp_path / "model.keras")
    model.export(tmp_path / "exported", verbose=False)
    with mock.patch.object(inference.logging, "warning") as warning:
        from_file = inference.predict(tmp_path / "model.keras", [clips], top_k=2)
    assert "Skipped 1 of 3 files" in warning.call_args.args[0] % warning.call_args.args[1:]
    assert [p["file"] for p in from_file] == [str(clips / "a.wav"), str(clips / "nested" / "b.flac")]
    first = from_file[0]
    assert first["task"] == "output" and len(first["top"]) == 2 and sum(first["scores"]) == pytest.approx(1.0)
    assert first["top"][0][0] == f"class_{int(np.argmax(first['scores']))}"
    assert first["top"][0][1] >= first["top"][1][1]
    from_saved_model = inference.predict(tmp_path / "exported", [clips / "a.wav", clips / "nested"], top_k=2)
    for ours, theirs in zip(from_file, from_saved_model):
        np.testing.assert_allclose(ours["scores"], theirs["scores"], atol=1e-6)
    with pytest.raises(ValueError, match="a SavedModel only gives logits"):
        inference.extract(tmp_path / "exported", [clips])


def test_features_and_multitask_predictions(clips, tmp_path):
    model = _model(multitask=True)
    model.save(tmp_path / "multi.keras")
    predictions = inference.predict(tmp_path / "multi.keras", [clips / "a.wav"], top_k=5)
    assert [(p["task"], len(p["top"])) for p in predictions] == [("x", 3), ("y", 2)]
    frontend = inference.extract(tmp_path / "multi.keras", [clips / "a.wav"], what="frontend")
    assert frontend[str(clips / "a.wav")].shape == (150, 40)  # 1.5 s at 100 frames a second, 40 mel bands
    embedding = inference.extract(tmp_path / "multi.keras", [clips / "a.wav"])
    windows = np.stack([np.asarray(model.embed(w[np.newaxis]))[0] for w in inference._windows(
        inference.load_predictor(tmp_path / "multi.keras"), sf.read(str(clips / "a.wav"), dtype="float32")[0])])
    np.testing.assert_allclose(embedding[str(clips / "a.wav")], windows.mean(axis=0), rtol=1e-5, atol=1e-6)


def test_bad_requests_are_clear(clips, tmp_path):
    with pytest.raises(FileNotFoundError, match="neither a training workdir"):
        inference.load_predictor(tmp_path)
    model = _model()
    model.save(tmp_path / "model.keras")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        inference.predict(tmp_path / "model.keras", [tmp_path / "missing.wav"])
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="No audio files"):
        inference.predict(tmp_path / "model.keras", [tmp_path / "empty"])
    with pytest.raises(ValueError, match="top_k must be at least 1"):
        inference.predict(tmp_path / "model.keras", [clips / "a.wav"], top_k=0)
    with pytest.raises(ValueError, match="what must be one of"):
        inference.extract(tmp_path / "model.keras", [clips / "a.wav"], what="spectrogram")
