"""Classifiers: every frontend x encoder trains, multi-task losses, saving, export, errors."""

from __future__ import annotations

import gin
import keras
import numpy as np
import pytest

from leaf_tf import encoders
from leaf_tf.frontends import FRONTENDS, build_frontend
from leaf_tf.models import IGNORED_LABEL, AudioClassifier, MultiTaskClassifier, describe
from tests.helpers import make_signal, tensorflow_only, to_numpy

ONE_SECOND = make_signal(16000, batch=2)


def _tiny_encoder(name):
    """Narrow versions of the encoders for fast tests (EfficientNetB0 is tested at full size)."""
    return {
        "efficientnet_b0": lambda: encoders.EfficientNetB0(),
        "cnn14": lambda: encoders.CNN14(widths=(4, 4, 8, 8, 8, 16), embedding_size=16),
        "convnet": lambda: encoders.ConvNet(filters=(4, 8, 8, 8)),
        "pann": lambda: encoders.PANN(depth=3, widths=(4, 8, 8)),
    }[name]()


def _train_step(model, x, y):
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss=model.default_loss(), run_eagerly=True)
    return model.train_on_batch(x, y)


@pytest.mark.parametrize("frontend", list(FRONTENDS))
@pytest.mark.parametrize("encoder", ["convnet", "cnn14", "pann", pytest.param("efficientnet_b0", marks=pytest.mark.slow)])
def test_every_frontend_and_encoder_runs_forward_and_a_training_step(frontend, encoder):
    model = AudioClassifier(5, build_frontend(frontend, n_filters=40), _tiny_encoder(encoder))
    x = ONE_SECOND
    if model.min_samples() > 16000:  # Wavegram's 25 frames/s are too few for EfficientNetB0's 5 halvings
        with pytest.raises(ValueError, match=f"at least {model.min_samples()} samples"):
            model(x)
        x = make_signal(model.min_samples(), batch=2)
    logits = model(x)
    assert logits.shape == (2, 5) and keras.backend.standardize_dtype(logits.dtype) == "float32"
    weights_before = [to_numpy(w).copy() for w in model.trainable_weights]
    loss = _train_step(model, x, np.array([1, 3]))
    assert np.isfinite(loss)
    changed = [not np.array_equal(a, to_numpy(w)) for a, w in zip(weights_before, model.trainable_weights)]
    assert all(changed[-2:]), "the head did not train"
    assert sum(changed) > len(changed) // 2


def test_frontend_and_head_params_are_separated():
    model = AudioClassifier(10, build_frontend("leaf", n_filters=64), _tiny_encoder("convnet"))
    model(ONE_SECOND)
    counts = describe(model)
    assert counts["frontend"] == 448
    assert counts["heads"] == 8 * 10 + 10
    assert counts["total"] == sum(int(np.prod(w.shape)) for w in model.trainable_weights)


def test_pooling_is_configurable_and_validated():
    x = ONE_SECOND
    features = AudioClassifier(3, "mel", _tiny_encoder("convnet"), pooling="avg")
    assert features(x).shape == (2, 3)
    with pytest.raises(ValueError, match="Unknown pooling 'median'"):
        AudioClassifier(3, "mel", "convnet", pooling="median")


def test_time_pooling_keeps_frequency_position():
    from leaf_tf.models import TimePooling

    low, high = np.zeros((1, 5, 4, 2), np.float32), np.zeros((1, 5, 4, 2), np.float32)
    low[0, 2, 0, :], high[0, 2, 3, :] = 1.0, 1.0  # the same event at two frequencies
    pooled = TimePooling("max")(np.concatenate([low, high]))
    assert pooled.shape == (2, 8) and not np.array_equal(pooled[0], pooled[1])
    flat = keras.layers.GlobalMaxPooling2D()(np.concatenate([low, high]))
    np.testing.assert_array_equal(flat[0], flat[1])  # global pooling cannot tell them apart
    model = AudioClassifier(3, "mel", _tiny_encoder("convnet"), pooling="avg_time")
    assert model(ONE_SECOND).shape == (2, 3)
    assert TimePooling.from_config(TimePooling("avg").get_config()).mode == "avg"


def test_multi_label_mode():
    model = AudioClassifier(6, "mel", _tiny_encoder("pann"), multi_label=True)
    assert isinstance(model.default_loss(), keras.losses.BinaryCrossentropy)
    labels = np.array([[1, 0, 1, 0, 0, 0], [0, 0, 0, 0, 1, 1]], np.float32)
    assert np.isfinite(_train_step(model, ONE_SECOND, labels))
    probabilities = to_numpy(model.probabilities(model(ONE_SECOND)))
    assert probabilities.shape == (2, 6) and (0 < probabilities).all() and (probabilities < 1).all()
    assert not np.allclose(probabilities.sum(axis=1), 1.0)  # independent sigmoids, not a softmax


def test_multitask_shares_one_frontend_across_eight_heads_and_masks_losses():
    tasks = {f"task{i}": n for i, n in enumerate([10, 2, 6, 251, 11, 128, 35, 6])}
    frontend = build_frontend("leaf", n_filters=16)
    model = MultiTaskClassifier(tasks, frontend, _tiny_encoder("convnet"))
    x = make_signal(16000, batch=8)
    outputs = model(x)
    assert set(outputs) == set(tasks)
    assert all(outputs[t].shape == (8, n) for t, n in tasks.items())
    assert model.frontend is frontend and len(frontend.trainable_weights) == 4 + 2  # one shared frontend

    # Example i belongs to task i (mod 8) except that task7 has no example in this batch.
    task_of_example = np.array([0, 1, 2, 3, 4, 5, 6, 0])
    rng = np.random.default_rng(0)
    labels = {}
    for t, (task, n) in enumerate(tasks.items()):
        labels[task] = np.where(task_of_example == t, rng.integers(0, n, 8), IGNORED_LABEL)
    model.compile(optimizer="adam", loss=model.default_loss(), metrics=model.default_metrics(), run_eagerly=True)
    logs = model.evaluate(x, labels, batch_size=8, verbose=0, return_dict=True)

    logits = {task: to_numpy(value) for task, value in model(x).items()}
    expected_total = 0.0
    for task in tasks:
        mine = labels[task] >= 0
        if not mine.any():
            assert logs[f"{task}_loss"] == pytest.approx(0.0, abs=1e-6)
            continue
        log_probs = logits[task][mine] - np.log(np.exp(logits[task][mine]).sum(axis=1, keepdims=True))
        expected = -log_probs[np.arange(mine.sum()), labels[task][mine]].mean()
        assert logs[f"{task}_loss"] == pytest.approx(expected, rel=1e-4)
        accuracy = (logits[task][mine].argmax(axis=1) == labels[task][mine]).mean()
        assert logs[f"{task}_accuracy"] == pytest.approx(accuracy)
        expected_total += expected
    assert logs["loss"] == pytest.approx(expected_total, rel=1e-4)
    assert np.isfinite(model.train_on_batch(x, labels, return_dict=True)["loss"])


def _families():
    return {
        "single_label": lambda: AudioClassifier(4, build_frontend("leaf", n_filters=16), _tiny_encoder("convnet")),
        "multi_label": lambda: AudioClassifier(4, build_frontend("sincnet_plus", n_filters=16), _tiny_encoder("cnn14"), multi_label=True),
        "multi_task": lambda: MultiTaskClassifier({"a": 3, "b": 5}, build_frontend("mel_pcen", n_filters=16), _tiny_encoder("pann")),
        "efficientnet": lambda: AudioClassifier(4, build_frontend("mel", n_filters=32), "efficientnet_b0"),
    }


def _perturb(model):
    rng = np.random.default_rng(0)
    for w in model.weights:
        w.assign((to_numpy(w) + 0.01 * rng.standard_normal(w.shape)).astype(w.dtype))


def _as_arrays(outputs):
    return {k: to_numpy(v) for k, v in outputs.items()} if isinstance(outputs, dict) else {"logits": to_numpy(outputs)}


@pytest.mark.parametrize("family", list(_families()))
def test_keras_save_and_load_give_identical_logits(family, tmp_path):
    model = _families()[family]()
    model(ONE_SECOND)
    _perturb(model)
    expected = _as_arrays(model(ONE_SECOND))
    model.save(tmp_path / "model.keras")
    restored = keras.models.load_model(tmp_path / "model.keras")
    actual = _as_arrays(restored(ONE_SECOND))
    for key in expected:
        np.testing.assert_array_equal(actual[key], expected[key])
    assert describe(restored) == describe(model)


@tensorflow_only
@pytest.mark.parametrize("family", ["single_label", "multi_task"])
def test_export_serves_raw_waveforms_of_any_length(family, tmp_path):
    import tensorflow as tf

    model = _families()[family]()
    model(ONE_SECOND)
    _perturb(model)
    model.export(str(tmp_path / "saved"), verbose=False)
    serve = tf.saved_model.load(str(tmp_path / "saved")).signatures["serve"]
    for batch, length in [(1, 16000), (3, 23456)]:
        x = make_signal(length, batch=batch)
        served = serve(tf.constant(x))
        expected = _as_arrays(model(x))
        values = list(served.values()) if family == "single_label" else [served[k] for k in sorted(served)]
        for value, key in zip(values, sorted(expected)):
            np.testing.assert_allclose(to_numpy(value), expected[key], rtol=1e-5, atol=1e-5)


def test_gin_builds_classifiers_from_frontend_and_encoder_files():
    configs = "configs"
    gin.clear_config()
    try:
        gin.parse_config_files_and_bindings(
            [f"{configs}/frontends/leaf.gin", f"{configs}/encoders/convnet.gin"],
            ["AudioClassifier.frontend = %FRONTEND", "AudioClassifier.encoder = %ENCODER", "AudioClassifier.num_outputs = 7",
             "Leaf.n_filters = 16", "ConvNet.filters = (4, 8)"],
        )
        model = AudioClassifier()
        assert model(ONE_SECOND).shape == (2, 7)
        assert model.frontend.n_filters == 16 and isinstance(model.encoder, encoders.ConvNet)
        with pytest.raises(ValueError, match="No configurable matching reference '@EfficientNetB7\\(\\)'"):
            gin.parse_config("AudioClassifier.encoder = @EfficientNetB7()")
    finally:
        gin.clear_config()


def test_bad_configurations_raise_clear_errors():
    with pytest.raises(ValueError, match="num_outputs must be at least 1"):
        AudioClassifier(0, "mel", "convnet")
    with pytest.raises(ValueError, match="Unknown encoder 'efficientnet_b9'"):
        AudioClassifier(3, "mel", "efficientnet_b9")
    with pytest.raises(ValueError, match="at least one task"):
        MultiTaskClassifier({}, "mel", "convnet")
    with pytest.raises(ValueError, match="convnet needs at least 16 frequency channels.*outputs 8"):
        AudioClassifier(3, build_frontend("mel", n_filters=8), "convnet")
    model = AudioClassifier(3, "mel", encoders.ConvNet(filters=(4, 4, 4, 4)))  # pools 3 times: 8 frames
    with pytest.raises(ValueError, match=r"5 frames \(it needs at least 8\).*at least 1121 samples \(0\.070 s at 16000 Hz\), got 800"):
        model(make_signal(800))
    assert model(make_signal(1121)).shape == (2, 3)
    assert model.min_samples() == 1121


def test_feature_normalization_standardises_each_channel_and_survives_saving(tmp_path):
    model = MultiTaskClassifier({"a": 3}, build_frontend("leaf", n_filters=16), _tiny_encoder("convnet"),
                                "max_time", feature_normalization="batch")
    model(ONE_SECOND)
    plain = MultiTaskClassifier({"a": 3}, build_frontend("leaf", n_filters=16), _tiny_encoder("convnet"), "max_time")
    plain(ONE_SECOND)
    assert describe(model)["encoder"] == describe(plain)["encoder"] + 2 * 16  # gamma and beta per channel
    features = model.frontend(ONE_SECOND)
    normalised = to_numpy(model.feature_norm(features, training=True))
    np.testing.assert_allclose(normalised.mean(axis=(0, 1)), 0.0, atol=1e-4)
    np.testing.assert_allclose(normalised.std(axis=(0, 1)), 1.0, atol=2e-2)  # BatchNormalization's epsilon
    model.save(tmp_path / "model.keras")
    restored = keras.models.load_model(tmp_path / "model.keras")
    assert restored.feature_normalization == "batch"
    np.testing.assert_allclose(restored(ONE_SECOND)["a"], model(ONE_SECOND)["a"], rtol=1e-5, atol=1e-5)
    with pytest.raises(ValueError, match="Unknown feature_normalization 'layer'"):
        AudioClassifier(3, "mel", None, feature_normalization="layer")
