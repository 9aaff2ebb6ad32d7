"""`AudioFolder`: both layouts, skipped files, down-mixing and resampling, caching by content."""

from __future__ import annotations

import json
import pickle
from unittest import mock

import numpy as np
import pytest
import soundfile as sf
import tensorflow as tf
import tensorflow_datasets as tfds

from leaf_tf.data import audio_folder
from leaf_tf.data.audio_folder import AudioFolder, load_audio_folder


def _tone(rate: int, freq_hz: float, seconds: float = 0.1, amplitude: float = 0.3) -> np.ndarray:
    t = np.arange(int(rate * seconds)) / rate
    return (amplitude * np.sin(2 * np.pi * freq_hz * t)).astype(np.float32)


def _write(path, audio, rate, **kwargs):
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(path), audio, rate, **kwargs)


@pytest.fixture
def folder_root(tmp_path):
    """train: 2 dog, 1 cat (+ notes.txt); test: 1 bird, 1 stereo 44.1 kHz dog, a corrupt and an empty file."""
    root = tmp_path / "my_sounds"
    _write(root / "train" / "dog" / "a.wav", _tone(16000, 300.0), 16000)
    _write(root / "train" / "dog" / "nested" / "b.FLAC", _tone(16000, 310.0), 16000, format="FLAC")
    _write(root / "train" / "cat" / "c.ogg", _tone(16000, 320.0), 16000, format="OGG", subtype="VORBIS")
    (root / "train" / "cat" / "notes.txt").write_text("not audio, ignored")
    _write(root / "test" / "bird" / "d.flac", _tone(22050, 330.0), 22050)
    stereo = np.stack([_tone(44100, 440.0, amplitude=0.6), _tone(44100, 440.0, amplitude=0.2)], axis=1)
    _write(root / "test" / "dog" / "stereo.wav", stereo, 44100, subtype="PCM_24")
    (root / "test" / "dog" / "corrupt.wav").write_bytes(b"RIFF\x10\x00\x00\x00WAVEjunk junk junk")
    (root / "test" / "cat").mkdir()
    (root / "test" / "cat" / "empty.flac").write_bytes(b"")
    (root / ".cache" / "x").mkdir(parents=True)
    return root


def _our_warnings(warning: mock.Mock) -> list[str]:
    """The AudioFolder warnings among every absl warning (TFDS warns about custom configs too)."""
    messages = [call.args[0] % call.args[1:] for call in warning.call_args_list]
    return [m for m in messages if m.startswith("AudioFolder")]


def _by_id(builder, split):
    return {ex["id"].decode(): ex for ex in tfds.as_numpy(builder.as_dataset(split=split))}


def test_folder_layout(folder_root, tmp_path):
    builder = AudioFolder(folder_root, data_dir=tmp_path / "tfds")
    assert builder.layout == "folders" and not builder.multi_label
    assert builder.class_names == ["bird", "cat", "dog"]
    with mock.patch.object(audio_folder.logging, "warning") as warning:
        builder.download_and_prepare()
    [message] = _our_warnings(warning)
    assert "skipped 2 of 7" in message and "test/dog/corrupt.wav" in message and "test/cat/empty.flac" in message

    assert builder.info.splits["train"].num_examples == 3 and builder.info.splits["test"].num_examples == 2
    assert builder.info.features["label"].names == ["bird", "cat", "dog"]
    train = _by_id(builder, "train")
    assert {k: int(v["label"]) for k, v in train.items()} == {"train/dog/a.wav": 2, "train/dog/nested/b.FLAC": 2, "train/cat/c.ogg": 1}
    test = _by_id(builder, "test")
    assert set(test) == {"test/bird/d.flac", "test/dog/stereo.wav"}
    stereo = test["test/dog/stereo.wav"]["audio"]
    assert stereo.dtype == np.int16 and stereo.shape == (1600,)  # 0.1 s at 16 kHz, one channel
    expected = _tone(16000, 440.0, amplitude=0.4)  # mean of 0.6 and 0.2
    np.testing.assert_allclose(stereo[100:-100] / 32768.0, expected[100:-100], atol=2e-3)
    assert test["test/bird/d.flac"]["audio"].shape == (1600,)

    supervised = next(iter(tfds.as_numpy(builder.as_dataset(split="train", as_supervised=True))))
    assert supervised[0].dtype == np.int16 and supervised[1].dtype == np.int64


def test_prepared_copy_is_reused_until_the_files_change(folder_root, tmp_path):
    first = AudioFolder(folder_root, data_dir=tmp_path / "tfds")
    with mock.patch.object(audio_folder.logging, "warning"):
        first.download_and_prepare()
    again = AudioFolder(folder_root, data_dir=tmp_path / "tfds")
    assert again.builder_config.name == first.builder_config.name and again.is_prepared()
    assert again.builder_config.name.startswith("my_sounds_")
    unpickled = pickle.loads(pickle.dumps(again))
    assert unpickled.builder_config.name == first.builder_config.name and unpickled.class_names == first.class_names
    _write(folder_root / "train" / "cow" / "e.wav", _tone(16000, 350.0), 16000)
    changed = AudioFolder(folder_root, data_dir=tmp_path / "tfds")
    assert changed.builder_config.name != first.builder_config.name and not changed.is_prepared()
    assert changed.class_names == ["bird", "cat", "cow", "dog"]


def test_csv_multi_label_layout(tmp_path):
    root = tmp_path / "tags"
    _write(root / "clips" / "1.wav", _tone(16000, 300.0), 16000)
    _write(root / "clips" / "2.flac", _tone(48000, 310.0), 48000)
    _write(root / "clips" / "3.wav", _tone(16000, 320.0), 16000)
    _write(root / "clips" / "4.wav", _tone(16000, 330.0), 16000)
    (root / "clips" / "broken.wav").write_bytes(b"\x00" * 100)
    (root / "train.csv").write_text(
        "path,labels\nclips/1.wav,dog;bark\nclips/2.flac, cat \nclips/broken.wav,dog\nclips/missing.wav,cat\n"
    )
    (root / "test.csv").write_text('path,labels\nclips/3.wav,"bark;cat;dog"\nclips/4.wav,\n')

    with mock.patch.object(audio_folder.logging, "warning") as warning:
        datasets, info = load_audio_folder(root, data_dir=tmp_path / "tfds")
    [message] = _our_warnings(warning)
    assert "skipped 2 of 6" in message and "broken.wav" in message and "missing.wav" in message

    names = info.features["label"].feature.names
    assert names == ["bark", "cat", "dog"]
    train = {ex["id"].decode(): sorted(ex["label"].tolist()) for ex in tfds.as_numpy(datasets["train"])}
    assert train == {"clips/1.wav": [0, 2], "clips/2.flac": [1]}
    test = {ex["id"].decode(): ex for ex in tfds.as_numpy(datasets["test"])}
    assert sorted(test["clips/3.wav"]["label"].tolist()) == [0, 1, 2]
    assert test["clips/4.wav"]["label"].shape == (0,)  # no positive label
    assert test["clips/3.wav"]["audio"].dtype == np.int16

    # The multi-hot targets a multi-label model trains on.
    multi_hot = datasets["train"].map(lambda ex: tf.reduce_max(tf.one_hot(ex["label"], 3), 0))
    assert sorted(map(tuple, tfds.as_numpy(multi_hot))) == [(0.0, 1.0, 0.0), (1.0, 0.0, 1.0)]


def test_errors_name_the_problem(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        AudioFolder(tmp_path / "absent")
    (tmp_path / "empty" / "train" / "dog").mkdir(parents=True)
    with pytest.raises(ValueError, match=r"No audio found .*<split>/<label>/<file>"):
        AudioFolder(tmp_path / "empty")
    (tmp_path / "badcsv").mkdir()
    (tmp_path / "badcsv" / "train.csv").write_text("file,label\na.wav,dog\n")
    with pytest.raises(ValueError, match="path,labels"):
        AudioFolder(tmp_path / "badcsv")


def test_a_split_with_nothing_decodable_is_a_clear_error(tmp_path):
    root = tmp_path / "bad"
    _write(root / "train" / "dog" / "a.wav", _tone(16000, 300.0), 16000)
    (root / "test" / "dog").mkdir(parents=True)
    (root / "test" / "dog" / "b.wav").write_bytes(b"")
    builder = AudioFolder(root, data_dir=tmp_path / "tfds")
    with pytest.raises(Exception, match=r"none of the 1 files of split 'test'"):
        builder.download_and_prepare()


def test_an_audio_folder_task_is_rebuilt_from_its_run_json_definition(folder_root, tmp_path):
    from leaf_tf.data import tasks

    name = tasks.audio_folder_task(str(folder_root), name="my_sounds_task")
    definition = json.loads(json.dumps(tasks.task_definition(name)))  # as read back from run.json
    assert definition["folder"] == str(folder_root.resolve())
    assert definition["class_names"] == ["bird", "cat", "dog"] and definition["num_classes"] == 3
    assert definition["splits"] == {"train": "train[:90%]", "validation": "train[90%:]", "test": "test"}

    del tasks.TASKS[name]  # another process: the task was never registered there
    task = tasks.task_from_definition(definition)
    assert tasks.TASKS[name] is task and task.folder == definition["folder"]
    assert task.class_names == ("bird", "cat", "dog") and task.splits == definition["splits"]
    assert [t.name for t in tasks.tasks_of_run({"tasks": [name], "task_definitions": [definition]})] == [name]

    _write(folder_root / "train" / "cow" / "e.wav", _tone(16000, 350.0), 16000)
    with pytest.raises(ValueError, match=r"now has the classes \['bird', 'cat', 'cow', 'dog'\]; task 'my_sounds_task' "
                                         r"was trained on \['bird', 'cat', 'dog'\]"):
        tasks.task_from_definition(definition)
    with pytest.raises(FileNotFoundError, match="which is not there any more"):
        tasks.task_from_definition({**definition, "folder": str(tmp_path / "moved")})
    del tasks.TASKS[name]


def test_registered_tasks_are_checked_against_the_run(tmp_path):
    from leaf_tf.data import tasks

    definition = tasks.task_definition("synthetic_pitch")
    assert "folder" not in definition and tasks.task_from_definition(definition).name == "synthetic_pitch"
    assert tasks.tasks_of_run({"tasks": ["synthetic_pitch"]})[0].name == "synthetic_pitch"  # runs before run.json had definitions
    with pytest.raises(ValueError, match="has 8 classes here; the run was trained with 9"):
        tasks.task_from_definition({**definition, "num_classes": 9})


def test_a_moved_audio_folder_is_found_through_a_gin_binding(folder_root, tmp_path):
    import shutil

    import gin

    from leaf_tf.data import tasks

    definition = tasks.task_definition(tasks.audio_folder_task(str(folder_root), name="moved_task"))
    moved = tmp_path / "new_place"
    shutil.move(str(folder_root), moved)
    with pytest.raises(FileNotFoundError, match=r"not there any more: restore it, or give its new place with "
                                                r"--gin_bindings='audio_folder_task.root"):
        tasks.task_from_definition(definition)
    gin.clear_config()
    try:
        gin.bind_parameter("audio_folder_task.root", str(moved))
        task = tasks.task_from_definition(definition)
        assert task.folder == str(moved.resolve()) and task.class_names == ("bird", "cat", "dog")
    finally:
        gin.clear_config()
        tasks.TASKS.pop("moved_task", None)
