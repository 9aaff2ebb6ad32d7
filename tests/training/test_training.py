"""Training runs end to end on the embedded synthetic data (tiny models)."""

from __future__ import annotations

import json
import pathlib

import gin
import keras
import numpy as np
import pytest

import leaf_tf
from leaf_tf import evaluation, report, training
from leaf_tf.frontends import FRONTENDS

TINY = [
    "configured_encoder.encoder = @ConvNet()",
    "ConvNet.filters = (8, 16)",
    "ConvNet.dropout = 0.0",
    "N_FILTERS = 16",
]


def _configure(frontend: str, extra=()):
    gin.parse_config_files_and_bindings([f"configs/frontends/{frontend}.gin"], [*TINY, *extra])


@pytest.mark.parametrize("frontend", list(FRONTENDS))
def test_twenty_steps_for_every_frontend_reduce_the_loss(frontend, data_dir, tmp_path):
    _configure(frontend)
    summary = training.train(str(tmp_path), data_dir, tasks="synthetic_scene", batch_size=8, steps=20,
                             steps_per_epoch=10, learning_rate=3e-3, validation_clips=12, verbose=0)
    losses = summary["history"]["loss"]
    assert summary["steps"] == 20 and len(losses) == 2
    assert np.isfinite(losses).all() and losses[1] < losses[0], losses
    for name in ("config.gin", "operative_config.gin", "final.keras", "best.keras", "run.json"):
        assert (tmp_path / name).exists(), name
    assert sorted(p.name for p in (tmp_path / "backup").iterdir()) == ["epoch-1", "epoch-2"]
    run = json.loads((tmp_path / "run.json").read_text())
    assert run["frontend"] == frontend and run["tasks"] == ["synthetic_scene"]


def test_multitask_run_with_three_tasks_then_eval_and_report(data_dir, tmp_path):
    _configure("mel")
    names = ["synthetic_pitch", "synthetic_scene", "synthetic_event"]
    summary = training.train(str(tmp_path), data_dir, tasks=names, batch_size=9, steps=20, steps_per_epoch=10,
                             learning_rate=3e-3, validation_clips=6, verbose=0)
    assert summary["tasks"] == names
    history = summary["history"]
    assert all(f"val_{n}_accuracy" in history for n in names) and "val_accuracy" in history
    results = evaluation.evaluate(tmp_path, data_dir, max_clips=20)
    assert set(results["tasks"]) == set(names)
    for result in results["tasks"].values():
        assert result["count"] == 20 and 0 <= result["low"] <= result["accuracy"] <= result["high"] <= 1
    table = report.make_report([tmp_path])
    assert table.splitlines()[0] == "| task | mel |" and "| average |" in table
    assert (tmp_path / "results.json").exists()


def test_mixed_precision_keeps_the_frontend_float32(data_dir, tmp_path):
    _configure("leaf")
    summary = training.train(str(tmp_path), data_dir, tasks="synthetic_event", batch_size=4, steps=4,
                             steps_per_epoch=2, learning_rate=1e-3, validation_clips=4, verbose=0,
                             mixed_precision="mixed_float16")
    assert summary["mixed_precision"] == "mixed_float16" and np.isfinite(summary["history"]["loss"]).all()
    model = keras.models.load_model(tmp_path / "final.keras")
    assert model.frontend.dtype_policy.name == "float32" and model.head.dtype_policy.name == "float32"
    assert model.encoder.dtype_policy.name == "mixed_float16" and model.encoder.compute_dtype == "float16"
    audio = np.zeros([2, 16000], np.float32)
    assert model.frontend(audio).dtype == "float32" and model(audio).dtype == "float32"  # the head is float32 too
    assert all(variable.dtype == "float32" for variable in model.frontend.weights)


def test_a_finished_run_resumes_to_nothing_and_keeps_its_files(data_dir, tmp_path):
    _configure("mel")
    arguments = dict(tasks="synthetic_event", batch_size=4, steps=6, steps_per_epoch=3, validation_clips=4, verbose=0)
    training.train(str(tmp_path), data_dir, **arguments)
    files = {name: (tmp_path / name).read_bytes() for name in ("final.keras", "run.json")}
    again = training.train(str(tmp_path), data_dir, **arguments)
    assert again["steps"] == 6 and again["history"] == {}  # nothing left to do
    assert (tmp_path / "backup" / "epoch-2" / "state.json").exists()
    assert all(len(content) > 0 for content in files.values())
    assert {name: (tmp_path / name).read_bytes() for name in files} == files  # not rewritten


def test_nan_loss_stops_with_a_clear_error_and_saves_no_nan_state(data_dir, tmp_path):
    _configure("mel")
    with pytest.raises(training.TrainingError, match=r"NaN or infinite at step \d+\. No backup.*Lower the learning rate"):
        training.train(str(tmp_path), data_dir, tasks="synthetic_event", batch_size=4, steps=4, steps_per_epoch=2,
                       validation_clips=4, verbose=0, learning_rate=1e30)  # weights overflow within 2 steps
    assert list(pathlib.Path(tmp_path, "backup").glob("epoch-*")) == []
    assert not (tmp_path / "final.keras").exists()
    assert not (tmp_path / "best.keras").exists()  # validation accuracy is finite, the weights are not


def test_best_model_export_skips_nan_epochs_and_remembers_its_best_across_runs(tmp_path):
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    path = tmp_path / "best.keras"
    export = training.BestModelExport(path, "val_accuracy")
    export.set_model(model)
    export.on_train_begin()
    export.on_epoch_end(0, {"loss": float("nan"), "val_accuracy": 0.9})
    assert not path.exists()
    export.on_epoch_end(1, {"loss": 1.0, "val_accuracy": 0.6})
    saved = path.read_bytes()
    resumed = training.BestModelExport(path, "val_accuracy")  # a resumed run
    resumed.set_model(model)
    resumed.on_train_begin()
    assert resumed.best == pytest.approx(0.6)
    resumed.on_epoch_end(2, {"loss": 0.9, "val_accuracy": 0.5})
    assert path.read_bytes() == saved
    resumed.on_epoch_end(3, {"loss": 0.8, "val_accuracy": 0.7})
    assert resumed.best == pytest.approx(0.7) and (tmp_path / "best.keras.json").exists()


# ---------------------------------------------------------------- determinism and seeds

DETERMINISM_RUN = dict(tasks=["synthetic_scene", "synthetic_pitch"], batch_size=8, steps_per_epoch=4, learning_rate=3e-3,
                       validation_clips=6, verbose=0, filter_plot_every_n_steps=0, histogram_freq=0)


def _weights(path) -> list[np.ndarray]:
    return [np.asarray(w) for w in keras.models.load_model(path).weights]


def _train_and_evaluate(workdir, data_dir, steps, seed=0):
    gin.clear_config()
    _configure("leaf", ["ConvNet.dropout = 0.2"])  # dropout: one more random source to keep in step
    summary = training.train(str(workdir), data_dir, steps=steps, seed=seed, **DETERMINISM_RUN)
    if summary["steps"] == steps:
        evaluation.evaluate(workdir, data_dir, max_clips=12)
    return summary


def test_same_seed_same_run_and_a_resumed_run_equals_an_uninterrupted_one(data_dir, tmp_path):
    first = _train_and_evaluate(tmp_path / "first", data_dir, steps=16)
    second = _train_and_evaluate(tmp_path / "second", data_dir, steps=16)
    assert first["history"] == second["history"]
    results = (tmp_path / "first" / "results.json").read_bytes()
    assert (tmp_path / "second" / "results.json").read_bytes() == results  # byte for byte
    final = _weights(tmp_path / "first" / "final.keras")
    for a, b in zip(final, _weights(tmp_path / "second" / "final.keras")):
        np.testing.assert_array_equal(a, b)

    # Stopped after 2 of 4 epochs (as a kill after the second backup would), then resumed: the resumed half
    # trains on the same batches with the same dropout masks, so everything after it is bitwise the same.
    _train_and_evaluate(tmp_path / "resumed", data_dir, steps=8)
    resumed = _train_and_evaluate(tmp_path / "resumed", data_dir, steps=16)
    assert resumed["history"]["loss"] == first["history"]["loss"][2:]
    assert (tmp_path / "resumed" / "results.json").read_bytes() == results
    for a, b in zip(final, _weights(tmp_path / "resumed" / "final.keras")):
        np.testing.assert_array_equal(a, b)
    assert json.loads((tmp_path / "resumed" / "best.keras.json").read_text()) == json.loads(
        (tmp_path / "first" / "best.keras.json").read_text())

    other_seed = _train_and_evaluate(tmp_path / "other", data_dir, steps=4, seed=1)
    assert other_seed["history"]["loss"][0] != first["history"]["loss"][0]
    run = json.loads((tmp_path / "first" / "run.json").read_text())
    assert run["seed"] == 0 and run["deterministic"] is True and run["label"] == "leaf"
    result = json.loads(results)["tasks"]["synthetic_pitch"]
    assert len(result["labels"]) == len(result["predictions"]) == 12
    assert result["correct"] == sum(p == label for p, label in zip(result["predictions"], result["labels"]))


def _groups(frontend) -> dict[str, list[np.ndarray]]:
    return {group: [np.asarray(v) for v in variables] for group, variables in frontend.parameter_groups().items()}


def _assert_group_equal(a, b, group):
    for x, y in zip(a[group], b[group]):
        np.testing.assert_array_equal(x, y, err_msg=group)


def test_frontend_learning_rate_multipliers(data_dir, tmp_path):
    run = dict(DETERMINISM_RUN, tasks="synthetic_scene", steps=4)
    fresh = leaf_tf.Leaf(n_filters=16)
    fresh(np.zeros((1, 16000), np.float32))
    start = _groups(fresh)

    _configure("leaf", ["N_FILTERS = 16"])
    frozen = training.train(str(tmp_path / "frozen"), data_dir, frontend_learning_rate_multiplier=0.0, **run)
    assert frozen["frontend_learning_rates"] == {"filters": 0.0, "pooling": 0.0, "compression": 0.0}
    trained = _groups(keras.models.load_model(tmp_path / "frozen" / "final.keras").frontend)
    for group in ("filters", "pooling", "compression"):
        _assert_group_equal(trained, start, group)

    gin.clear_config()
    _configure("leaf", ["N_FILTERS = 16"])
    summary = training.train(str(tmp_path / "pcen_frozen"), data_dir, frontend_group_multipliers={"compression": 0.0},
                             **run)
    assert summary["frontend_learning_rates"] == {"filters": 3e-3, "pooling": 3e-3, "compression": 0.0}
    trained = _groups(keras.models.load_model(tmp_path / "pcen_frozen" / "final.keras").frontend)
    _assert_group_equal(trained, start, "compression")
    assert not np.array_equal(trained["filters"][0], start["filters"][0])  # the Gabor filters did learn

    gin.clear_config()
    _configure("leaf", ["N_FILTERS = 16"])
    with pytest.raises(ValueError, match=r"names \['pcen'\], which Leaf does not have; its trainable groups are"):
        training.train(str(tmp_path / "typo"), data_dir, frontend_group_multipliers={"pcen": 0.1}, **run)


def test_batch_norm_momentum_reaches_every_batch_normalisation_layer():
    model = leaf_tf.models.MultiTaskClassifier({"a": 2}, "mel", leaf_tf.encoders.ConvNet(filters=(4, 8)), "max_time",
                                               feature_normalization="batch")
    model(np.zeros((1, 16000), np.float32))
    layers = [layer for layer in model._flatten_layers() if isinstance(layer, keras.layers.BatchNormalization)]
    assert len(layers) == 5 and all(layer.momentum == 0.99 for layer in layers)  # feature norm + 2 per block
    assert training.set_batch_norm_momentum(model, None) == 0 and layers[0].momentum == 0.99
    assert training.set_batch_norm_momentum(model, 0.9) == 5
    assert all(layer.momentum == 0.9 for layer in layers)
    with pytest.raises(ValueError, match=r"batch_norm_momentum must be in \[0, 1\)"):
        training.set_batch_norm_momentum(model, 1.0)


# ---------------------------------------------------------------- late failures and changed settings

SHORT = dict(tasks="synthetic_event", batch_size=4, steps_per_epoch=2, validation_clips=4, verbose=0,
             filter_plot_every_n_steps=0, histogram_freq=0)


def _files(workdir: pathlib.Path) -> dict[str, bytes]:
    """Every file of a workdir but TensorBoard's event files (each invocation adds its own)."""
    return {str(p.relative_to(workdir)): p.read_bytes() for p in sorted(workdir.rglob("*"))
            if p.is_file() and "tensorboard" not in p.parts}


@pytest.fixture
def finished_run(data_dir, tmp_path):
    _configure("mel")
    training.train(str(tmp_path), data_dir, steps=4, learning_rate=1e-3, **SHORT)
    gin.clear_config()
    return tmp_path


@pytest.mark.parametrize("failure", ["keyword_typo", "unknown_pooling", "nan_after_resuming"])
def test_a_run_that_fails_late_leaves_the_earlier_runs_files_as_they_were(failure, finished_run, data_dir):
    before = _files(finished_run)
    assert {"config.gin", "operative_config.gin", "run.json", "final.keras", "best.keras",
            "backup/epoch-2/settings.json"} <= set(before)
    arguments = dict(SHORT, steps=8, learning_rate=1e-3)
    if failure == "keyword_typo":  # Leaf takes **kwargs: gin cannot see the typo, building the layer does
        _configure("leaf", ["Leaf.n_filterz = 64"])
        expected = "n_filterz"
    elif failure == "unknown_pooling":
        _configure("mel")
        arguments["pooling"] = "maxx"
        expected = "maxx"
    else:  # resumed with a learning rate that overflows the weights at the first step
        _configure("mel")
        arguments.update(learning_rate=1e30, allow_changed_settings=True)
        expected = "NaN or infinite at step"
    with pytest.raises(Exception, match=expected):
        training.train(str(finished_run), data_dir, **arguments)
    assert _files(finished_run) == before


def test_resuming_with_other_settings_stops_unless_allowed_and_then_uses_them(finished_run, data_dir):
    before = _files(finished_run)
    _configure("mel")
    with pytest.raises(ValueError, match=r"holds a run trained with other settings \(learning_rate 0\.001 -> 0\.002; "
                                         r"window_s 1\.0 -> 0\.5\): use another --workdir, or resume it .*"
                                         r"train\.allow_changed_settings = True"):
        training.train(str(finished_run), data_dir, steps=8, learning_rate=2e-3, window_s=0.5, **SHORT)
    assert _files(finished_run) == before

    summary = training.train(str(finished_run), data_dir, steps=8, learning_rate=2e-3, allow_changed_settings=True,
                             **SHORT)
    assert summary["steps"] == 8 and len(summary["history"]["loss"]) == 2  # epochs 3 and 4: resumed
    trained = keras.models.load_model(finished_run / "final.keras")
    assert float(trained.optimizer.learning_rate.numpy()) == pytest.approx(2e-3)  # not the backup's 1e-3
    recorded = json.loads((finished_run / "backup" / "epoch-4" / "settings.json").read_text())
    assert recorded["learning_rate"] == 2e-3


def test_a_different_model_never_resumes_another_runs_backups(finished_run, data_dir):
    before = _files(finished_run)
    _configure("leaf")
    with pytest.raises(ValueError, match=r"holds a run of another model \(frontend 'mel' -> 'leaf'; parameters \d+ -> "
                                         r"\d+\); its backups cannot be resumed by this one: use another --workdir"):
        training.train(str(finished_run), data_dir, steps=8, learning_rate=1e-3, allow_changed_settings=True, **SHORT)
    assert _files(finished_run) == before


def test_a_damaged_newest_backup_falls_back_to_the_older_one_and_killed_writes_are_cleared(data_dir, tmp_path):
    _configure("mel")
    reference = training.train(str(tmp_path / "uninterrupted"), data_dir, steps=6, learning_rate=1e-3, **SHORT)
    gin.clear_config()
    _configure("mel")
    workdir = tmp_path / "damaged"
    training.train(str(workdir), data_dir, steps=4, learning_rate=1e-3, **SHORT)
    newest = workdir / "backup" / "epoch-2" / "model.weights.h5"
    newest.write_bytes(newest.read_bytes()[:1000])  # a disk that lost the end of the newest backup
    (workdir / ".final-k2j4x9a1").mkdir()  # what a kill leaves of atomic writes
    (workdir / ".final-k2j4x9a1" / "final.keras").write_bytes(b"half a model")
    (workdir / ".run.json.tmp-4242").write_text("{")
    gin.clear_config()
    _configure("mel")
    resumed = training.train(str(workdir), data_dir, steps=6, learning_rate=1e-3, **SHORT)
    # Restored epoch 1, so epochs 2 and 3 were trained again, exactly as the uninterrupted run trained them.
    assert resumed["history"]["loss"] == reference["history"]["loss"][1:]
    for ours, theirs in zip(_weights(workdir / "final.keras"), _weights(tmp_path / "uninterrupted" / "final.keras")):
        np.testing.assert_array_equal(ours, theirs)
    assert not [p.name for p in workdir.iterdir() if p.name.startswith(".")]
    assert not list((workdir / "backup").glob(".*"))
