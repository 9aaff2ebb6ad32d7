"""The input pipeline and the task registry, offline (tfds.testing.mock_data and generated data)."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_datasets as tfds

from leaf_tf.data import pipeline, tasks

PAPER_AND_EXTRA = [*tasks.PAPER_TASK_NAMES, "audioset", "audioset_full", "speaker_id_voxceleb", "speech_commands_12"]


@pytest.fixture
def mocked():
    with tfds.testing.mock_data(num_examples=12, max_value=30000):
        yield


@pytest.mark.parametrize("name", PAPER_AND_EXTRA)
def test_every_registered_task_yields_typed_training_windows(name, mocked):
    task = tasks.get_task(name)
    batch = next(iter(pipeline.train_dataset(task, batch_size=4, window_s=1.0, shuffle_buffer=8)))
    audio, labels = batch
    assert audio.shape == (4, 16000) and audio.dtype == tf.float32
    assert np.abs(audio.numpy()).max() <= 1.0
    if task.multi_label:
        assert labels.shape == (4, task.num_classes) and labels.dtype == tf.float32
        assert set(np.unique(labels.numpy())) <= {0.0, 1.0}
    else:
        assert labels.shape == (4,) and labels.dtype == tf.int64
        assert ((labels.numpy() >= 0) & (labels.numpy() < task.num_classes)).all()


@pytest.mark.parametrize("name", ["emotion", "speaker_id", "pitch", "audioset"])
def test_full_clip_evaluation_gives_one_prediction_per_clip(name, mocked):
    task = tasks.get_task(name)
    windows = pipeline.eval_dataset(task, batch_size=5, split="test")
    clip_ids, logits, count = [], [], 0
    for batch in windows:
        assert batch["audio"].shape[1] == 16000
        clip_ids.append(batch["clip"].numpy())
        logits.append(np.tile(batch["audio"].numpy().mean(axis=1, keepdims=True), [1, task.num_classes]))
        count += 1
    clips, clip_scores = pipeline.clip_logits(np.concatenate(clip_ids), np.concatenate(logits))
    expected = len(list(pipeline.decoded_examples(task, "test")))
    assert len(clips) == expected == len(clip_scores) > 0


def test_evaluation_of_the_first_clips_only(mocked):
    full = np.concatenate([b["clip"].numpy() for b in pipeline.eval_dataset("emotion", batch_size=5, split="test")])
    first = np.concatenate([b["clip"].numpy() for b in pipeline.eval_dataset("emotion", 5, "test", max_clips=3)])
    assert set(first) == {0, 1, 2} and len(first) == int(np.sum(full < 3))


def test_registry_facts():
    assert tasks.get_task("speech_commands").num_classes == 35
    assert tasks.get_task("instrument").label_key == "instrument/family"
    assert tasks.get_task("pitch").splits["validation"] == "valid"
    assert tasks.get_task("audioset").multi_label and tasks.get_task("audioset").num_classes == 527
    for name in tasks.PAPER_TASK_NAMES:
        assert tasks.get_task(name).notes and tasks.get_task(name).paper_task
    with pytest.raises(ValueError, match="Unknown task 'speech'.*speech_commands"):
        tasks.get_task("speech")
    with pytest.raises(ValueError, match="has no split 'dev'"):
        tasks.get_task("emotion").split_name("dev")


@pytest.mark.parametrize(
    "name, says",
    [
        ("speech_commands", r"speech_commands_v2_35.*not prepared in .*speech_commands_v0\.02\.tar\.gz.*leaf-tf prepare speech_commands_v2_35 --manual_dir=FOLDER"),
        ("emotion", r"crema_d.*not prepared in .*leaf-tf prepare crema_d --data_dir=.*pydub"),
        ("audioset", r"audioset/balanced.*audioset/download\.html"),
    ],
)
def test_missing_dataset_says_how_to_get_it(name, says, tmp_path):
    with pytest.raises(tasks.DatasetNotPreparedError, match=says) as error:
        tasks.load_split(name, "train", data_dir=tmp_path)
    assert "\n" not in str(error.value)  # one line, no stack of TFDS messages


def test_speaker_id_splits_utterances_by_hash_and_relabels_speakers(mocked):
    train = list(tasks.load_split("speaker_id", "train").as_numpy_iterator())
    test = list(tasks.load_split("speaker_id", "test").as_numpy_iterator())
    train_ids = {ex["id"] for ex in train}
    assert train_ids.isdisjoint({ex["id"] for ex in test})
    labels = [int(ex["label"]) for ex in train]
    assert min(labels) >= 0 and max(labels) < 251


# ------------------------------------------------------------------ transforms


def test_clip_windows_cover_the_clip_and_the_last_ends_with_it():
    samples = tf.range(35, dtype=tf.float32) + 1
    windows = pipeline.clip_windows(samples, 10).numpy()
    assert windows.shape == (4, 10)
    np.testing.assert_array_equal(windows[:3].ravel(), np.arange(1, 31))
    np.testing.assert_array_equal(windows[3], np.arange(26, 36))  # the clip's last 10 samples, no zeros
    np.testing.assert_array_equal(pipeline.clip_windows(samples[:30], 10).numpy().ravel(), np.arange(1, 31))
    padded = pipeline.clip_windows(samples, 10, last="padded").numpy()
    np.testing.assert_array_equal(padded.ravel()[:35], np.arange(1, 36))
    assert (padded.ravel()[35:] == 0).all()
    for last in pipeline.LAST_WINDOWS:  # shorter than a window: one zero-padded window
        np.testing.assert_array_equal(pipeline.clip_windows(tf.ones([3]), 10, last).numpy(), [[1] * 3 + [0] * 7])
        assert pipeline.clip_windows(tf.zeros([0]), 10, last).shape == (1, 10)
    with pytest.raises(ValueError, match="last must be one of"):
        pipeline.clip_windows(samples, 10, last="dropped")


def test_random_window_is_a_crop_determined_by_its_seed():
    samples = tf.range(100, dtype=tf.float32)
    a = pipeline.random_window(samples, 10, tf.constant([1, 2], tf.int64)).numpy()
    b = pipeline.random_window(samples, 10, tf.constant([1, 2], tf.int64)).numpy()
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(np.diff(a), np.ones(9))
    offsets = {int(pipeline.random_window(samples, 10, tf.constant([1, i], tf.int64))[0]) for i in range(50)}
    assert len(offsets) > 20 and min(offsets) >= 0 and max(offsets) <= 90
    short = pipeline.random_window(tf.ones([4]), 10, tf.constant([0, 0], tf.int64)).numpy()
    np.testing.assert_array_equal(short, [1, 1, 1, 1, 0, 0, 0, 0, 0, 0])


def test_loudness_normalization_reference_constants():
    x = tf.constant(np.random.default_rng(0).standard_normal(16000) * 0.5, tf.float32)  # gain 11.2 < max 31.6
    y = pipeline.loudness_normalization(x).numpy()
    assert np.std(y) == pytest.approx(10 ** (15 / 20), rel=1e-3)  # target 15 dB
    quiet = tf.constant(np.full(100, 1e-6), tf.float32)
    assert pipeline.loudness_normalization(quiet).numpy()[0] == pytest.approx(1e-6 * 10 ** (30 / 20), rel=1e-4)
    assert np.all(pipeline.loudness_normalization(tf.zeros([10])).numpy() == 0)
    # A batch of windows: each row normalised on its own, as if alone.
    rows = tf.stack([x[:100], quiet, tf.zeros([100])])
    np.testing.assert_allclose(
        pipeline.loudness_normalization(rows).numpy(),
        np.stack([pipeline.loudness_normalization(row).numpy() for row in rows]),
        rtol=1e-6,
    )


# ------------------------------------------------------------------ determinism, mixing, sharding


def _first_batches(dataset, n=3):
    return [tuple(np.asarray(t) for t in batch) for batch in dataset.take(n).as_numpy_iterator()]


def test_training_stream_is_deterministic_given_the_seed(mocked):
    a = _first_batches(pipeline.train_dataset("emotion", 4, seed=3, shuffle_buffer=16))
    b = _first_batches(pipeline.train_dataset("emotion", 4, seed=3, shuffle_buffer=16))
    c = _first_batches(pipeline.train_dataset("emotion", 4, seed=4, shuffle_buffer=16))
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x[0], y[0])
    assert any(not np.array_equal(x[0], z[0]) for x, z in zip(a, c))


def test_multitask_batches_mix_tasks_in_fixed_proportions(mocked):
    names = ["emotion", "speech_commands", "instrument"]
    dataset = pipeline.multitask_train_dataset(names, batch_size=6, shuffle_buffer=8)
    for audio, labels in dataset.take(3):
        assert audio.shape == (6, 16000)
        owners = np.stack([labels[n].numpy() >= 0 for n in names])  # [tasks, batch]
        assert (owners.sum(axis=0) == 1).all()  # each example belongs to exactly one task
        assert (owners.sum(axis=1) == 2).all()  # 2 examples of each task per batch


def test_input_context_shards_and_splits_the_batch(mocked):
    context = tf.distribute.InputContext(num_input_pipelines=2, input_pipeline_id=1, num_replicas_in_sync=2)
    audio, _ = next(iter(pipeline.train_dataset("emotion", 8, input_context=context, shuffle_buffer=4)))
    assert audio.shape == (4, 16000)  # per-replica batch


def test_audio_folder_task_trains_through_the_same_pipeline(tmp_path):
    import gin
    import soundfile

    import leaf_tf.training  # noqa: F401 (registers `train`)

    rng = np.random.default_rng(0)
    for split, count in [("train", 10), ("test", 2)]:
        for label, freq in [("high", 2000.0), ("low", 300.0)]:
            folder = tmp_path / "sounds" / split / label
            folder.mkdir(parents=True)
            for i in range(count):
                t = np.arange(int(16000 * rng.uniform(0.5, 1.5))) / 16000
                soundfile.write(folder / f"{i}.wav", 0.3 * np.sin(2 * np.pi * freq * t), 16000)
    gin.clear_config()
    gin.parse_config_files_and_bindings(
        ["configs/tasks/audio_folder.gin"], [f'audio_folder_task.root = "{tmp_path / "sounds"}"', 'audio_folder_task.name = "my_sounds"']
    )
    try:
        name = gin.query_parameter("train.tasks").scoped_configurable_fn()
    finally:
        gin.clear_config()
    task = tasks.get_task(name)
    assert name == "my_sounds" and task.num_classes == 2 and task.splits["validation"] == "train[90%:]"
    audio, labels = next(iter(pipeline.train_dataset(task, 4, data_dir=tmp_path / "tfds", shuffle_buffer=8)))
    assert audio.shape == (4, 16000) and set(labels.numpy()) <= {0, 1}
    test_clips = list(pipeline.eval_dataset(task, 8, "test", data_dir=tmp_path / "tfds").unbatch())
    assert len({int(w["clip"]) for w in test_clips}) == 4


def test_clips_with_non_finite_audio_are_dropped_and_named(capfd):
    audio = np.zeros((4, 8), np.float32)
    audio[1, 3] = np.nan
    audio[3, 0] = np.inf
    examples = tf.data.Dataset.from_tensor_slices(({"audio": audio, "label": np.arange(4)},
                                                   np.array([b"a.wav", b"b.wav", b"c.wav", b"d.wav"])))
    kept = list(pipeline.drop_non_finite(examples, "my_task/train").as_numpy_iterator())
    assert [int(example["label"]) for example in kept] == [0, 2]
    err = capfd.readouterr().err
    assert 'skipped clip "b.wav" of my_task/train: its audio holds NaN or infinite samples.' in err
    assert 'skipped clip "d.wav" of my_task/train' in err and "a.wav" not in err


def test_every_how_to_get_holds_commands_that_work_when_pasted():
    """Each `leaf-tf prepare` command in a task's instructions parses and names a known builder, and
    each `python -c "..."` snippet is valid Python: no placeholders that break when pasted."""
    import re

    import tensorflow_datasets as tfds

    import leaf_tf.data.builders  # noqa: F401 (registers the project's builders)
    from leaf_tf.commands import prepare

    parser = prepare.build_parser()
    for task in tasks.TASKS.values():
        text = task.how_to_get  # tasks without their own text (e.g. audio folders of other tests) get a generic one
        for command in re.findall(r"leaf-tf prepare ((?:[\w/.]+)(?: --\w+=\S+)*)", text):
            arguments = parser.parse_args(command.rstrip(".").split())
            tfds.builder_cls(arguments.name.split("/")[0])  # raises for an unknown name
        for snippet in re.findall(r'python -c "([^"]+)"', text):
            compile(snippet, f"<{task.name} how_to_get>", "exec")
        assert "data_dir=DATA_DIR)" not in text, task.name
