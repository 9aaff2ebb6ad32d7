"""The manual-download builders, each run through TFDS's own `DatasetBuilderTestCase` on a fake manual_dir.

Every fake manual_dir is written here (tiny WAV / FLAC / OGG files and the
metadata layout of the real archive) into a temporary folder that the
harness uses as `EXAMPLE_DIR`; for builders with `MANUAL_DOWNLOAD_INSTRUCTIONS`
the harness passes that folder as `dl_manager.manual_dir`.
"""

from __future__ import annotations

import hashlib
import tempfile
from unittest import mock

import numpy as np
import pytest
import soundfile as sf
import tensorflow_datasets as tfds
from etils import epath

from leaf_tf.data import audio_io, builders
from leaf_tf.data.builders import __main__ as builders_cli
from leaf_tf.data.builders import audioset, dcase2018_bird_audio_detection, speech_commands_v2_35
from leaf_tf.data.builders import tut_urban_acoustic_scenes_2018 as tut

CLIP_SECONDS = 0.1


def _noise(rate: int, channels: int = 1, seed: int = 0, seconds: float = CLIP_SECONDS) -> np.ndarray:
    rng = np.random.default_rng(seed)
    shape = (int(rate * seconds), channels) if channels > 1 else (int(rate * seconds),)
    return (0.2 * rng.standard_normal(shape)).clip(-1, 1).astype(np.float32)


def _stereo_tone(rate: int, freq_hz: float, seconds: float = CLIP_SECONDS) -> np.ndarray:
    """A tone at 0.6 on the left and 0.2 on the right: its down-mix is the same tone at 0.4."""
    t = np.arange(int(rate * seconds)) / rate
    tone = np.sin(2 * np.pi * freq_hz * t)
    return np.stack([0.6 * tone, 0.2 * tone], axis=1).astype(np.float32)


def _write(path: epath.Path, audio: np.ndarray, rate: int, **kwargs) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(path), audio, rate, **kwargs)


# --- fake manual_dirs ---------------------------------------------------------------------------------------


def make_tut_manual_dir(manual_dir: epath.Path) -> dict[str, int]:
    """Two scenes with two fold-1 training locations each (one clip per location) and one test clip each."""
    manual_dir.mkdir(parents=True, exist_ok=True)
    root = manual_dir / tut.ARCHIVE_DIR
    train = ["airport-barcelona-0-0-a", "airport-helsinki-1-0-a", "tram-paris-2-0-a", "tram-vienna-3-0-a"]
    test = ["airport-london-4-0-a", "tram-stockholm-5-0-a"]
    meta = ["filename\tscene_label\tidentifier\tsource_label"]
    for i, name in enumerate(train + test):
        scene, city, location = name.split("-")[:3]
        meta.append(f"audio/{name}.wav\t{scene}\t{city}-{location}\ta")
        _write(root / "audio" / f"{name}.wav", _stereo_tone(48000, 200.0 * (i + 1)), 48000, subtype="PCM_24")
    (root / "meta.csv").write_text("\n".join(meta) + "\n")
    setup = root / "evaluation_setup"
    setup.mkdir()
    (setup / "fold1_train.txt").write_text("".join(f"audio/{n}.wav\t{n.split('-')[0]}\n" for n in train))
    (setup / "fold1_evaluate.txt").write_text("".join(f"audio/{n}.wav\t{n.split('-')[0]}\n" for n in test))
    # One location per scene goes to validation: 10 % of two clips is reached by the first location taken.
    return {"train": 2, "validation": 2, "test": 2}


def make_bird_manual_dir(manual_dir: epath.Path) -> dict[str, int]:
    """Four clips per collection, ids picked so that every split gets clips (train, validation, test, train)."""
    manual_dir.mkdir(parents=True, exist_ok=True)
    csv_names = {
        "ff1010bird": "ff1010bird_metadata_2018.csv",
        "warblrb10k": "warblrb10k_public_metadata_2018.csv",
        "BirdVox-DCASE-20k": "BirdVoxDCASE20k_csvpublic.csv",
    }
    counts = {"train": 0, "validation": 0, "test": 0}
    for c, collection in enumerate(dcase2018_bird_audio_detection.COLLECTIONS):
        folder = manual_dir / collection
        rows = ["itemid,datasetid,hasbird"]
        k = 0
        for j, wanted in enumerate(["train", "validation", "test", "train"]):
            while dcase2018_bird_audio_detection.split_for_item(collection, f"{c}{k:05d}") != wanted:
                k += 1
            itemid = f"{c}{k:05d}"
            k += 1
            rows.append(f"{itemid},{collection},{j % 2}")
            _write(folder / "wav" / f"{itemid}.wav", _noise(44100, seed=10 * c + j), 44100)
            counts[wanted] += 1
        (folder / csv_names[collection]).write_text("\n".join(rows) + "\n")
    return counts


SPEECH_VALIDATION = ["yes/cafe0001_nohash_0.wav", "zero/cafe0002_nohash_1.wav"]
SPEECH_TEST = ["backward/beef0003_nohash_0.wav", "yes/beef0004_nohash_0.wav"]


def make_speech_commands_manual_dir(manual_dir: epath.Path) -> dict[str, int]:
    """One training clip per word, two listed validation and two listed test clips, background noise to ignore."""
    manual_dir.mkdir(parents=True, exist_ok=True)
    for i, word in enumerate(speech_commands_v2_35.WORDS):
        audio = _noise(16000, seed=i, seconds=0.05 + 0.001 * i)
        _write(manual_dir / word / f"{i:08x}_nohash_0.wav", audio, 16000, subtype="PCM_16")
    for i, relpath in enumerate(SPEECH_VALIDATION + SPEECH_TEST):
        _write(manual_dir / relpath, _noise(16000, seed=100 + i, seconds=0.05), 16000, subtype="PCM_16")
    _write(manual_dir / "_background_noise_" / "white_noise.wav", _noise(16000, seconds=0.2), 16000)
    (manual_dir / "validation_list.txt").write_text("\n".join(SPEECH_VALIDATION) + "\n")
    (manual_dir / "testing_list.txt").write_text("\n".join(SPEECH_TEST) + "\n")
    return {"train": len(speech_commands_v2_35.WORDS), "validation": 2, "test": 2}


AUDIOSET_NAMES = ["Speech", 'Bird vocalization, bird call, bird song', 'Quote "Q"'] + [
    f"Class {i}" for i in range(3, audioset.NUM_CLASSES)
]


def _mid(i: int) -> str:
    return f"/m/t{i:03d}"


def make_audioset_manual_dir(manual_dir: epath.Path) -> dict[str, int]:
    """The official CSV layout (comment lines, quoted label lists) and clips in four namings and formats.

    balanced_train: 3 segments, 2 with audio (one missing). eval: 3 segments, 2 decodable, 1 corrupt.
    unbalanced_train: 2 segments, 1 with audio in a subfolder.
    """
    manual_dir.mkdir(parents=True, exist_ok=True)
    lines = ["index,mid,display_name"]
    for i, name in enumerate(AUDIOSET_NAMES):
        quoted = '"' + name.replace('"', '""') + '"' if ("," in name or '"' in name) else name
        lines.append(f"{i},{_mid(i)},{quoted}")
    (manual_dir / audioset.CLASS_CSV).write_text("\n".join(lines) + "\n")

    def segments_csv(name: str, rows: list[tuple[str, float, list[int]]]) -> None:
        text = [
            "# Segments csv created Sun Mar  5 10:54:25 2017",
            f"# num_ytids={len(rows)}, num_segs={len(rows)}, num_unique_labels=3, num_positive_labels=5",
            "# YTID, start_seconds, end_seconds, positive_labels",
        ]
        for ytid, start, labels in rows:
            text.append(f'{ytid}, {start:.3f}, {start + 10:.3f}, "{",".join(_mid(i) for i in labels)}"')
        (manual_dir / name).write_text("\n".join(text) + "\n")

    audio = manual_dir / "audio"
    segments_csv("balanced_train_segments.csv", [("--4gqARaEJE", 0, [0, 1]), ("-0RWZT-miFs", 420, [2]), ("missingAAAA", 30, [0])])
    _write(audio / "balanced_train" / "--4gqARaEJE.wav", _noise(44100, channels=2, seed=1), 44100)
    _write(audio / "balanced_train" / "Y-0RWZT-miFs_420.000.flac", _noise(32000, seed=2), 32000)
    segments_csv("eval_segments.csv", [("Y0123456789", 0, [1]), ("Ab_cd-EFG12", 10, [0, 2, 526]), ("corruptBBBB", 0, [3])])
    _write(audio / "eval" / "Y0123456789.wav", _noise(16000, seed=3), 16000)
    _write(audio / "eval" / "Ab_cd-EFG12_10.000.ogg", _noise(48000, seed=4), 48000, format="OGG", subtype="VORBIS")
    (audio / "eval" / "corruptBBBB.wav").write_bytes(b"RIFF\x00\x00\x00\x00WAVEnot really audio")
    segments_csv("unbalanced_train_segments.csv", [("Zz9_8-7Yy6x", 0, [5]), ("goneCCCCCCC", 0, [6])])
    _write(audio / "unbalanced_train" / "part00" / "Zz9_8-7Yy6x.wav", _noise(22050, seed=5), 22050)
    return {"balanced_train": 2, "unbalanced_train": 1, "eval": 2}


class FakeManualDir:
    """Mixin: writes the fake manual_dir with `MAKE_MANUAL_DIR` before the harness looks for `EXAMPLE_DIR`."""

    MAKE_MANUAL_DIR = None

    @classmethod
    def setUpClass(cls):
        cls._manual_tmp = tempfile.TemporaryDirectory()
        cls.EXAMPLE_DIR = cls._manual_tmp.name
        cls.MAKE_MANUAL_DIR(epath.Path(cls._manual_tmp.name))
        super().setUpClass()

    @classmethod
    def tearDownClass(cls):
        super().tearDownClass()
        cls._manual_tmp.cleanup()


# --- TFDS harness -------------------------------------------------------------------------------------------


class TutUrbanAcousticScenes2018Test(FakeManualDir, tfds.testing.DatasetBuilderTestCase):
    DATASET_CLASS = tut.TutUrbanAcousticScenes2018
    MAKE_MANUAL_DIR = staticmethod(make_tut_manual_dir)
    SPLITS = {"train": 2, "validation": 2, "test": 2}


class Dcase2018BirdAudioDetectionTest(FakeManualDir, tfds.testing.DatasetBuilderTestCase):
    DATASET_CLASS = dcase2018_bird_audio_detection.Dcase2018BirdAudioDetection
    MAKE_MANUAL_DIR = staticmethod(make_bird_manual_dir)
    SPLITS = {"train": 6, "validation": 3, "test": 3}


class SpeechCommandsV235Test(FakeManualDir, tfds.testing.DatasetBuilderTestCase):
    DATASET_CLASS = speech_commands_v2_35.SpeechCommandsV235
    MAKE_MANUAL_DIR = staticmethod(make_speech_commands_manual_dir)
    SPLITS = {"train": 35, "validation": 2, "test": 2}


class AudiosetBalancedTest(FakeManualDir, tfds.testing.DatasetBuilderTestCase):
    DATASET_CLASS = audioset.Audioset
    MAKE_MANUAL_DIR = staticmethod(make_audioset_manual_dir)
    BUILDER_CONFIG_NAMES_TO_TEST = ["balanced"]
    SPLITS = {"balanced_train": 2, "eval": 2}


class AudiosetFullTest(FakeManualDir, tfds.testing.DatasetBuilderTestCase):
    DATASET_CLASS = audioset.Audioset
    MAKE_MANUAL_DIR = staticmethod(make_audioset_manual_dir)
    BUILDER_CONFIG_NAMES_TO_TEST = ["full"]
    SPLITS = {"balanced_train": 2, "unbalanced_train": 1, "eval": 2}


# --- fixtures' counts agree with the harness' SPLITS ---------------------------------------------------------


@pytest.mark.parametrize(
    "make, test_case",
    [
        (make_tut_manual_dir, TutUrbanAcousticScenes2018Test),
        (make_bird_manual_dir, Dcase2018BirdAudioDetectionTest),
        (make_speech_commands_manual_dir, SpeechCommandsV235Test),
        (make_audioset_manual_dir, AudiosetFullTest),
    ],
)
def test_fixture_counts_match_splits(tmp_path, make, test_case):
    assert make(epath.Path(tmp_path)) == test_case.SPLITS


# --- prepared content ---------------------------------------------------------------------------------------


def _prepare(builder_cls, manual_dir, data_dir, config=None):
    builder = builder_cls(data_dir=str(data_dir), config=config)
    builder.download_and_prepare(download_config=tfds.download.DownloadConfig(manual_dir=str(manual_dir)))
    return builder


def _examples(builder, split):
    return list(tfds.as_numpy(builder.as_dataset(split=split)))


def test_tut_audio_is_downmixed_resampled_int16(tmp_path):
    manual = epath.Path(tmp_path / "manual")
    make_tut_manual_dir(manual)
    builders_cli.main([tut.TutUrbanAcousticScenes2018.name, f"--manual_dir={manual}", f"--data_dir={tmp_path / 'data'}"])
    builder = tfds.builder(tut.TutUrbanAcousticScenes2018.name, data_dir=str(tmp_path / "data"))
    assert builder.is_prepared()
    examples = _examples(builder, "test")
    assert builder.info.features["audio"].sample_rate == 16000
    assert isinstance(builder.info.features["audio"], audio_io.Int16Audio)  # 2 bytes a sample on disk
    assert builder.info.features["label"].names == sorted(tut.SCENES)
    by_id = {ex["id"].decode(): ex for ex in examples}
    assert set(by_id) == {"airport-london-4-0-a", "tram-stockholm-5-0-a"}
    audio = by_id["airport-london-4-0-a"]["audio"]
    assert audio.dtype == np.int16 and audio.shape == (int(16000 * CLIP_SECONDS),)
    t = np.arange(audio.shape[0]) / 16000
    expected = 0.4 * np.sin(2 * np.pi * 1000.0 * t)  # airport-london-4-0-a is the fifth file: 5 x 200 Hz
    np.testing.assert_allclose(audio[100:-100] / 32768.0, expected[100:-100], atol=2e-3)
    assert by_id["tram-stockholm-5-0-a"]["label"] == tut.SCENES.index("tram")


def test_speech_commands_audio_is_bit_exact(tmp_path):
    manual = epath.Path(tmp_path / "manual")
    make_speech_commands_manual_dir(manual)
    builder = _prepare(speech_commands_v2_35.SpeechCommandsV235, manual, tmp_path / "data")
    assert builder.info.features["label"].num_classes == 35
    for ex in _examples(builder, "validation"):
        relpath = ex["id"].decode()
        assert relpath in SPEECH_VALIDATION
        source, rate = sf.read(str(manual / relpath), dtype="int16")
        assert rate == 16000
        np.testing.assert_array_equal(ex["audio"], source)
        assert builder.info.features["label"].int2str(ex["label"]) == relpath.split("/")[0]


def test_audioset_labels_names_and_skip_summary(tmp_path):
    manual = epath.Path(tmp_path / "manual")
    make_audioset_manual_dir(manual)
    with mock.patch.object(audioset.logging, "warning") as warning:
        builder = _prepare(audioset.Audioset, manual, tmp_path / "data", config="balanced")
    messages = [call.args[0] % call.args[1:] for call in warning.call_args_list]
    balanced = [m for m in messages if "split balanced_train" in m]
    evaluation = [m for m in messages if "split eval" in m]
    assert len(balanced) == 1 and "wrote 2 of 3" in balanced[0] and "skipped 1 without an audio file" in balanced[0]
    assert len(evaluation) == 1 and "wrote 2 of 3" in evaluation[0] and "1 undecodable" in evaluation[0]
    assert "corruptBBBB.wav" in evaluation[0]

    reloaded = audioset.Audioset(data_dir=str(tmp_path / "data"), config="balanced")  # names come back from disk
    for b in (builder, reloaded):
        names = b.info.features["label"].feature.names
        assert names[:3] == AUDIOSET_NAMES[:3] and len(names) == 527
        assert list(b.info.metadata["mids"][:2]) == [_mid(0), _mid(1)]
    labels = {ex["id"].decode(): sorted(ex["label"].tolist()) for ex in _examples(reloaded, "eval")}
    assert labels == {"Y0123456789": [1], "Ab_cd-EFG12": [0, 2, 526]}
    audio = {ex["id"].decode(): ex["audio"] for ex in _examples(reloaded, "balanced_train")}
    assert audio["--4gqARaEJE"].shape == (1600,) and audio["-0RWZT-miFs"].shape == (1600,)


def test_audioset_file_naming():
    names = ["abcdefghijk.wav", "Ylmnopqrstu.flac", "Yvwxyz01234_30.000.ogg", "56789ABCDEF_30000_40000.wav", "Y0123456789.wav"]
    files = [epath.Path(f"/audio/eval/{n}") for n in names]
    found = audioset.match_audio_files(files, ["abcdefghijk", "56789ABCDEF", "Y0123456789", "zzzzzzzzzzz"])
    assert {k: v.name for k, v in found.items()} == {
        "abcdefghijk": "abcdefghijk.wav",
        "56789ABCDEF": "56789ABCDEF_30000_40000.wav",
        "Y0123456789": "Y0123456789.wav",  # an id starting with Y matches itself before the PANNs reading
    }
    found = audioset.match_audio_files([epath.Path("/a/Yvwxyz012345_30.000.ogg")], ["vwxyz012345"])
    assert found["vwxyz012345"].name == "Yvwxyz012345_30.000.ogg"
    found = audioset.match_audio_files([epath.Path("/a/Ylmnopqrstuv.flac")], ["lmnopqrstuv"])
    assert found["lmnopqrstuv"].name == "Ylmnopqrstuv.flac"


# --- splits -------------------------------------------------------------------------------------------------


def test_bird_split_is_hashed_80_10_10():
    def independent(key: str) -> str:
        u = int(hashlib.md5(key.encode()).hexdigest()[:16], 16) / 2**64
        return "train" if u < 0.8 else "validation" if u < 0.9 else "test"

    splits = [dcase2018_bird_audio_detection.split_for_item("warblrb10k", f"item{i}") for i in range(5000)]
    assert splits == [independent(f"warblrb10k/item{i}") for i in range(5000)]
    fractions = {s: splits.count(s) / len(splits) for s in ("train", "validation", "test")}
    assert fractions["train"] == pytest.approx(0.8, abs=0.02)
    assert fractions["validation"] == pytest.approx(0.1, abs=0.015)


def test_tut_validation_is_location_disjoint_and_deterministic():
    rng = np.random.default_rng(0)
    clips = []
    for scene in tut.SCENES[:3]:
        for location in range(12):
            for k in range(int(rng.integers(1, 30))):
                clips.append(tut.Clip(f"audio/{scene}-x-{location}-{k}-a.wav", scene, f"x-{location}"))
    train, validation = tut.split_validation_by_location(clips)
    assert sorted(train + validation) == sorted(clips)
    assert not {(c.scene, c.identifier) for c in train} & {(c.scene, c.identifier) for c in validation}
    for scene in tut.SCENES[:3]:
        n_train = sum(c.scene == scene for c in train)
        n_val = sum(c.scene == scene for c in validation)
        assert 0.1 <= n_val / (n_train + n_val) < 0.4
    assert tut.split_validation_by_location(list(reversed(clips)))[1] == list(reversed(validation))
    one_location = [tut.Clip("audio/a.wav", "bus", "x-0"), tut.Clip("audio/b.wav", "bus", "x-0")]
    assert tut.split_validation_by_location(one_location) == (one_location, [])


# --- missing manual_dir -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "builder_cls, url",
    [
        (tut.TutUrbanAcousticScenes2018, "zenodo.org/record/1228142"),
        (dcase2018_bird_audio_detection.Dcase2018BirdAudioDetection, "archive.org/details/ff1010bird"),
        (speech_commands_v2_35.SpeechCommandsV235, "speech_commands_v0.02.tar.gz"),
        (audioset.Audioset, "class_labels_indices.csv"),
    ],
)
def test_missing_manual_dir_says_what_to_download(tmp_path, builder_cls, url):
    builder = builder_cls(data_dir=str(tmp_path / "data"))
    config = tfds.download.DownloadConfig(manual_dir=str(tmp_path / "nowhere"))
    with pytest.raises(FileNotFoundError) as error:
        builder.download_and_prepare(download_config=config)
    message = str(error.value)
    assert builder.name in message and url in message
    assert f"leaf-tf prepare {builder.name}" in message
    assert f"tfds build {builder.name}" in message and "--imports=leaf_tf.data.builders" in message
    assert "nowhere" in message


def test_incomplete_manual_dir_names_missing_files(tmp_path):
    manual = epath.Path(tmp_path / "manual")
    make_speech_commands_manual_dir(manual)
    for word in ("backward", "visual"):
        for path in (manual / word).iterdir():
            path.unlink()
        (manual / word).rmdir()
    builder = speech_commands_v2_35.SpeechCommandsV235(data_dir=str(tmp_path / "data"))
    with pytest.raises(FileNotFoundError, match=r"(?s)lacks 2 expected .*backward/, visual/.*v0\.01 archive"):
        builder.download_and_prepare(download_config=tfds.download.DownloadConfig(manual_dir=str(manual)))


def test_package_registers_every_builder():
    registered = tfds.list_builders(with_community_datasets=False)
    for cls in (builders.TutUrbanAcousticScenes2018, builders.Dcase2018BirdAudioDetection, builders.SpeechCommandsV235, builders.Audioset):
        assert cls.name in registered
        # Every version has its note, and the newest note is the version built.
        assert str(cls.VERSION) in cls.RELEASE_NOTES
        assert max(map(tfds.core.Version, cls.RELEASE_NOTES)) == cls.VERSION


@pytest.mark.parametrize("builder_cls", [
    tut.TutUrbanAcousticScenes2018, dcase2018_bird_audio_detection.Dcase2018BirdAudioDetection,
    speech_commands_v2_35.SpeechCommandsV235, audioset.Audioset,
])
def test_instructions_hold_commands_that_work_when_pasted(builder_cls):
    """Every `leaf-tf prepare` command in a builder's instructions parses (line continuations joined) and names
    a registered builder; the Python snippet compiles."""
    import re
    import textwrap

    from leaf_tf.commands import prepare

    text = tfds.core.utils.dedent(builder_cls.MANUAL_DOWNLOAD_INSTRUCTIONS).replace("\\\n", " ")
    commands = re.findall(r"leaf-tf prepare ([^\n]+)", text)
    assert commands
    for command in commands:
        arguments = prepare.build_parser().parse_args(command.split())
        assert tfds.builder_cls(arguments.name.split("/")[0]) is builder_cls
        if arguments.beam_pipeline_options:
            assert all("=" in item for item in arguments.beam_pipeline_options.split(","))
    snippet = textwrap.dedent(text.split("or from Python:", 1)[1])
    compile(snippet, f"<{builder_cls.name} instructions>", "exec")


def test_map_in_threads_keeps_order_bounds_memory_and_raises_in_turn():
    import threading
    import time

    from leaf_tf.data.builders import _common

    started = []

    def slow_square(i):
        started.append(i)
        time.sleep(0.002 * (i % 3))
        if i == 7:
            raise ValueError("item 7")
        return i * i, threading.get_ident()

    results = _common.map_in_threads(slow_square, range(40), threads=3)
    got = [next(results) for _ in range(7)]
    assert [r for r, _ in got] == [i * i for i in range(7)]
    assert len({t for _, t in got}) > 1  # computed on several threads
    assert max(started) < 7 + 4 * 3  # never more than the window ahead of what was consumed
    with pytest.raises(ValueError, match="item 7"):
        next(results)
    assert list(_common.map_in_threads(lambda i: -i, range(5), threads=1)) == [0, -1, -2, -3, -4]
