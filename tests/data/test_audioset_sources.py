"""AudioSet as users have it: other tools' folder layouts, Opus / M4A downloads, whole videos cut to their segment,
`leaf-tf prepare --check`, and the same examples from Beam's local runner as from one process.

Every tree is written here: the official CSV format (comment lines, quoted label lists), and audio files in the
layout under test.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import sys

import numpy as np
import pytest
import soundfile as sf
import tensorflow_datasets as tfds
from etils import epath

from leaf_tf.commands import prepare
from leaf_tf.data import audio_io
from leaf_tf.data.builders import audioset

RATE = 16000


def _mid(i: int) -> str:
    return f"/m/t{i:03d}"


@dataclasses.dataclass
class Clip:
    split: str
    ytid: str
    start: float
    labels: tuple[int, ...]
    file: str | None  # name under the split's audio folder; None: no file
    audio: np.ndarray | None = None  # float [samples] or [samples, channels]
    rate: int = RATE
    write_kwargs: dict = dataclasses.field(default_factory=dict)


def write_tree(root: epath.Path, clips: list[Clip], csv_dir: str = ".", layout: str = "leaf_tf") -> None:
    """The CSVs under `root/csv_dir` and each clip's file in `layout`'s audio folder of its split."""
    (root / csv_dir).mkdir(parents=True, exist_ok=True)
    lines = ["index,mid,display_name"] + [f"{i},{_mid(i)},Class {i}" for i in range(audioset.NUM_CLASSES)]
    (root / csv_dir / audioset.CLASS_CSV).write_text("\n".join(lines) + "\n")
    for split, csv_name in audioset.SEGMENT_CSVS.items():
        rows = ["# Segments csv created Sun Mar  5 10:54:25 2017", "# YTID, start_seconds, end_seconds, positive_labels"]
        for c in clips:
            if c.split == split:
                rows.append(f'{c.ytid}, {c.start:.3f}, {c.start + 10:.3f}, "{",".join(_mid(i) for i in c.labels)}"')
        (root / csv_dir / csv_name).write_text("\n".join(rows) + "\n")
    for split in audioset.SEGMENT_CSVS:
        (root / audioset.LAYOUTS[layout].audio_dirs[split]).mkdir(parents=True, exist_ok=True)
    for c in clips:
        if c.file is not None:
            path = root / audioset.LAYOUTS[layout].audio_dirs[c.split] / c.file
            path.parent.mkdir(parents=True, exist_ok=True)
            if c.audio is None:
                path.write_bytes(b"RIFF\x00\x00\x00\x00WAVEnot really audio")
            else:
                sf.write(str(path), c.audio, c.rate, **c.write_kwargs)


def noise(seconds: float, seed: int, rate: int = RATE, channels: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    shape = (int(round(seconds * rate)),) + ((channels,) if channels > 1 else ())
    return (0.2 * rng.standard_normal(shape)).clip(-1, 1).astype(np.float32)


def prepare_builder(manual: epath.Path, data_dir, config="balanced", **kwargs) -> audioset.Audioset:
    builder = audioset.Audioset(data_dir=str(data_dir), config=config, **kwargs)
    builder.download_and_prepare(download_config=tfds.download.DownloadConfig(manual_dir=str(manual)))
    return builder


def peak_hz(audio: np.ndarray) -> float:
    spectrum = np.abs(np.fft.rfft(audio))
    return float(np.fft.rfftfreq(audio.shape[0], 1 / RATE)[spectrum.argmax()])


def examples(builder, split) -> dict[str, dict]:
    return {ex["id"].decode(): ex for ex in tfds.as_numpy(builder.as_dataset(split=split, shuffle_files=False))}


# --- layouts ------------------------------------------------------------------------------------------------


def panns_clips() -> list[Clip]:
    return [
        Clip("balanced_train", "--4gqARaEJE", 0, (0, 1), "Y--4gqARaEJE.wav", noise(10, 1, 32000), 32000),
        Clip("balanced_train", "missingAAAA", 30, (2,), None),
        Clip("eval", "Ab_cd-EFG12", 10, (0, 2, 526), "YAb_cd-EFG12.wav", noise(10, 2, 32000), 32000),
        Clip("unbalanced_train", "Zz9_8-7Yy6x", 0, (5,), "unbalanced_train_segments_part07/YZz9_8-7Yy6x.wav",
             noise(10, 3, 32000), 32000),
    ]


def test_panns_tree_is_detected_and_prepared(tmp_path):
    manual = epath.Path(tmp_path / "audioset")
    write_tree(manual, panns_clips(), csv_dir="metadata", layout="panns")
    builder = prepare_builder(manual, tmp_path / "data", config="full")
    assert builder.info.metadata["layout"] == "panns"
    assert {s: builder.info.splits[s].num_examples for s in builder.info.splits} == {
        "balanced_train": 1, "eval": 1, "unbalanced_train": 1}
    ex = examples(builder, "eval")["Ab_cd-EFG12"]
    assert sorted(ex["label"].tolist()) == [0, 2, 526] and ex["audio"].shape == (160000,)
    assert examples(builder, "unbalanced_train")["Zz9_8-7Yy6x"]["audio"].shape == (160000,)
    clips = builder.info.metadata["clips"]["balanced_train"]
    assert clips["segments"] == 2 and clips["written"] == 1 and clips["no_file"] == 1 and clips["cut"] == 0


def test_audiosetdl_tree_is_detected(tmp_path):
    manual = epath.Path(tmp_path / "audioset")
    clips = [
        Clip("balanced_train", "--4gqARaEJE", 30, (0,), "--4gqARaEJE_30000_40000.flac", noise(10, 1, 48000, 2), 48000),
        Clip("eval", "Y0123456789", 0, (1,), "Y0123456789_0_10000.flac", noise(10, 2, 48000, 2), 48000),
    ]
    write_tree(manual, clips, layout="audiosetdl")
    (manual / "data" / "eval_segments" / "video").mkdir()  # audiosetdl's video folder is not read
    (manual / "data" / "eval_segments" / "video" / "Y0123456789_0_10000.mp4").write_bytes(b"not read")
    builder = prepare_builder(manual, tmp_path / "data")
    assert builder.info.metadata["layout"] == "audiosetdl"
    assert set(examples(builder, "eval")) == {"Y0123456789"}
    assert examples(builder, "balanced_train")["--4gqARaEJE"]["audio"].shape == (160000,)


def test_several_layouts_need_a_choice(tmp_path):
    manual = epath.Path(tmp_path / "audioset")
    write_tree(manual, panns_clips(), layout="panns")
    for split, name in [("balanced_train", "--4gqARaEJE.wav"), ("eval", "Ab_cd-EFG12.wav")]:
        (manual / "audio" / split).mkdir(parents=True)
        sf.write(str(manual / "audio" / split / name), noise(10, 4), RATE)
    with pytest.raises(ValueError, match=r"several layouts \(leaf_tf, panns\).*--layout=NAME"):
        prepare_builder(manual, tmp_path / "data")
    builder = prepare_builder(manual, tmp_path / "data2", layout="leaf_tf")
    assert builder.info.metadata["layout"] == "leaf_tf"
    with pytest.raises(ValueError, match="Unknown AudioSet layout 'pann'"):
        audioset.Audioset(data_dir=str(tmp_path / "d"), layout="pann")


def test_no_known_layout_names_every_layout(tmp_path):
    manual = epath.Path(tmp_path / "audioset")
    write_tree(manual, [], layout="leaf_tf")
    (manual / "audio").rmtree()
    (manual / "wavs").mkdir()
    with pytest.raises(FileNotFoundError, match=r"no audio folder of any known layout.*audios/eval_segments/.*"
                       r"data/eval_segments/audio/"):
        prepare_builder(manual, tmp_path / "data")


# --- formats ------------------------------------------------------------------------------------------------

OPUS = "OPUS" in sf.available_subtypes("OGG")
AV = importlib.util.find_spec("av") is not None


def write_m4a(path: epath.Path, audio: np.ndarray, rate: int) -> None:
    """AAC in an MP4 container, as `yt-dlp -x` saves YouTube's audio, written with PyAV."""
    import av

    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w", format="mp4") as out:
        stream = out.add_stream("aac", rate=rate, layout="mono")
        frame = av.AudioFrame.from_ndarray(audio[None, :].astype(np.float32), format="fltp", layout="mono")
        frame.sample_rate = rate
        for packet in [*stream.encode(frame), *stream.encode(None)]:
            out.mux(packet)


@pytest.mark.skipif(not OPUS, reason="this libsndfile does not decode Opus")
def test_opus_files_are_read(tmp_path):
    manual = epath.Path(tmp_path / "audioset")
    tone = (0.3 * np.sin(2 * np.pi * 440 * np.arange(10 * 48000) / 48000)).astype(np.float32)
    clips = [
        Clip("balanced_train", "--4gqARaEJE", 0, (0,), "--4gqARaEJE.opus", tone, 48000, {"format": "OGG", "subtype": "OPUS"}),
        Clip("eval", "Y0123456789", 0, (1,), "Y0123456789.opus", tone, 48000, {"format": "OGG", "subtype": "OPUS"}),
    ]
    write_tree(manual, clips)
    audio = examples(prepare_builder(manual, tmp_path / "data"), "eval")["Y0123456789"]["audio"] / 32768.0
    assert audio.shape == (160000,)
    assert peak_hz(audio) == pytest.approx(440, abs=1)  # a lossy codec: the tone survives, not the samples


@pytest.mark.skipif(not AV, reason="PyAV is not installed (pip install 'leaf_tf[av]')")
def test_m4a_files_are_read_with_pyav(tmp_path):
    manual = epath.Path(tmp_path / "audioset")
    tone = (0.3 * np.sin(2 * np.pi * 1000 * np.arange(10 * 44100) / 44100)).astype(np.float32)
    write_tree(manual, [Clip("balanced_train", "--4gqARaEJE", 0, (0,), "--4gqARaEJE.wav", noise(10, 1)),
                        Clip("eval", "Y0123456789", 0, (1,), None)])
    write_m4a(manual / "audio" / "eval" / "Y0123456789.m4a", tone, 44100)
    audio = examples(prepare_builder(manual, tmp_path / "data"), "eval")["Y0123456789"]["audio"] / 32768.0
    assert abs(audio.shape[0] - 160000) < 1600  # AAC adds encoder priming: within 0.1 s
    assert peak_hz(audio[8000:-8000]) == pytest.approx(1000, abs=1)


def test_m4a_without_pyav_names_the_missing_decoder(tmp_path, monkeypatch):
    path = tmp_path / "clip.m4a"
    path.write_bytes(b"\x00\x00\x00\x18ftypM4A ")
    monkeypatch.setitem(sys.modules, "av", None)  # `import av` now raises ImportError
    with pytest.raises(audio_io.MissingDecoderError, match=r"clip\.m4a needs FFmpeg through PyAV.*leaf_tf\[av\]"):
        audio_io.read_audio(path)
    with pytest.raises(audio_io.MissingDecoderError):
        audio_io.audio_file_info(path)


def test_read_audio_range_seeks_exactly(tmp_path):
    x = noise(3, 5, 8000, channels=2)
    for name, kwargs in [("a.wav", {}), ("a.flac", {})]:
        sf.write(str(tmp_path / name), x, 8000, **kwargs)
        part, rate = audio_io.read_audio(tmp_path / name, start_seconds=1.25, stop_seconds=2.5)
        full, _ = audio_io.read_audio(tmp_path / name)
        assert rate == 8000 and part.shape == (10000, 2)
        np.testing.assert_array_equal(part, full[10000:20000])
        assert audio_io.read_audio(tmp_path / name, start_seconds=2.0, stop_seconds=99)[0].shape == (8000, 2)
        with pytest.raises(audio_io.AudioDecodeError, match="no samples between 5.0 s and 6.0 s"):
            audio_io.read_audio(tmp_path / name, start_seconds=5.0, stop_seconds=6.0)
        assert audio_io.audio_file_info(tmp_path / name) == audio_io.AudioFileInfo(8000, 24000, 2)


# --- segment times ------------------------------------------------------------------------------------------


def numbered_seconds(seconds: int) -> np.ndarray:
    """16-bit-exact audio whose every second is distinct: second k is the constant (k + 1) / 64."""
    return np.repeat((np.arange(seconds) + 1) / 64.0, RATE).astype(np.float32)


def test_plan_clip_decides_from_duration():
    seg = audioset.Segment("abcdefghijk", 30.0, 40.0, ())
    assert audioset.plan_clip(10.0, seg) == ("whole", 0.0, None)
    assert audioset.plan_clip(10.4, seg) == ("whole", 0.0, None)  # within the tolerance: the segment alone
    assert audioset.plan_clip(7.0, seg) == ("short", 0.0, None)
    assert audioset.plan_clip(120.0, seg) == ("cut", 30.0, 40.0)
    assert audioset.plan_clip(35.0, seg) == ("cut", 30.0, 35.0)  # the video ends inside its segment
    assert audioset.plan_clip(30.01, seg)[0] == "too_short"
    assert audioset.plan_clip(0.01, seg)[0] == "too_short"


def test_whole_videos_are_cut_to_their_segment(tmp_path):
    manual = epath.Path(tmp_path / "audioset")
    wav16 = {"subtype": "PCM_16"}
    clips = [
        Clip("balanced_train", "--4gqARaEJE", 12, (0,), "--4gqARaEJE.wav", numbered_seconds(30), RATE, wav16),
        Clip("balanced_train", "-0RWZT-miFs", 20, (1,), "-0RWZT-miFs.wav", numbered_seconds(25), RATE, wav16),
        Clip("balanced_train", "missingAAAA", 0, (1,), "missingAAAA.wav", numbered_seconds(15), RATE, wav16),
        Clip("balanced_train", "cutAlready0", 40, (1,), "cutAlready0.wav", numbered_seconds(10), RATE, wav16),
        Clip("eval", "Y0123456789", 0, (1,), "Y0123456789.wav", numbered_seconds(10), RATE, wav16),
    ]
    clips[2].start = 30  # a 15 s file for the segment 30-40 s: nothing of it inside
    write_tree(manual, clips)
    builder = prepare_builder(manual, tmp_path / "data")
    got = examples(builder, "balanced_train")
    source = np.round(numbered_seconds(30) * 32768).astype(np.int16)
    np.testing.assert_array_equal(got["--4gqARaEJE"]["audio"], source[12 * RATE : 22 * RATE])  # exact seconds 12-22
    np.testing.assert_array_equal(got["-0RWZT-miFs"]["audio"], source[20 * RATE : 25 * RATE])  # cut, then short
    np.testing.assert_array_equal(got["cutAlready0"]["audio"], source[: 10 * RATE])  # the segment alone: kept whole
    assert "missingAAAA" not in got
    counts = builder.info.metadata["clips"]["balanced_train"]
    assert counts == {"segments": 4, "written": 3, "cut": 2, "short": 1, "too_short": 1, "no_file": 0, "undecodable": 0}
    reloaded = audioset.Audioset(data_dir=str(tmp_path / "data"), config="balanced")
    assert reloaded.info.metadata["clips"]["balanced_train"] == counts  # kept with the dataset


def test_summary_line_gives_every_count():
    counts = {"segments": 9, "written": 5, "cut": 2, "short": 1, "too_short": 1, "no_file": 2, "undecodable": 1}
    line = audioset.summary_line("audioset/balanced", "eval", counts, ["x.wav (bad)"])
    assert line == (
        "audioset/balanced split eval: wrote 5 of 9 segments (2 cut from longer files, 1 shorter than their segment, "
        "stored as they are); skipped 2 without an audio file, 1 with under 0.025 s of audio in their segment and 1 "
        "undecodable (e.g. x.wav (bad))."
    )


# --- leaf-tf prepare --check --------------------------------------------------------------------------------


def check_tree(root: epath.Path) -> None:
    clips = [
        Clip("balanced_train", "--4gqARaEJE", 0, (0,), "Y--4gqARaEJE.wav", noise(10, 1)),
        Clip("balanced_train", "-0RWZT-miFs", 30, (1,), "Y-0RWZT-miFs.wav", noise(45, 2, 8000), 8000),
        Clip("balanced_train", "missingAAAA", 0, (1,), None),
        Clip("balanced_train", "missingBBBB", 0, (1,), None),
        Clip("eval", "Y0123456789", 0, (1,), "Y0123456789.wav", noise(10, 3)),
        Clip("eval", "corruptCCCC", 0, (1,), "YcorruptCCCC.wav", None),
    ]
    write_tree(root, clips, csv_dir="metadata", layout="panns")
    sf.write(str(root / "audios" / "eval_segments" / "Ynot_in_csv0.wav"), noise(1, 4), RATE)
    (root / "audio" / "eval").mkdir(parents=True)  # a stray folder of this project's layout, with a file
    sf.write(str(root / "audio" / "eval" / "Y0123456789.wav"), noise(1, 5), RATE)


def test_check_reports_present_missing_unreadable_and_stray(tmp_path):
    manual = epath.Path(tmp_path / "audioset")
    check_tree(manual)
    report = audioset.Audioset(data_dir=str(tmp_path / "data"), layout="panns").check_manual_dir(manual)
    by_split = {s.split: s for s in report.splits}
    assert report.layout == "panns" and report.csv_dir == "metadata"
    train, evaluation = by_split["balanced_train"], by_split["eval"]
    assert (train.segments, train.with_audio, train.missing, train.probed, train.longer_than_segment) == (4, 2, 2, 2, 1)
    assert (evaluation.segments, evaluation.with_audio, evaluation.unmatched_files) == (2, 2, 1)
    assert len(evaluation.unreadable) == 1 and "YcorruptCCCC.wav" in evaluation.unreadable[0]
    assert not report.ok
    text = report.format()
    assert "layout panns, CSVs in metadata/" in text and "unreadable in eval: YcorruptCCCC.wav" in text
    assert "audio/eval/ (1 audio files, layout leaf_tf, split eval)" in text
    assert not (tmp_path / "data").exists()  # nothing prepared


def test_check_samples_files_evenly(tmp_path):
    manual = epath.Path(tmp_path / "audioset")
    clips = [Clip("eval", f"clip{i:07d}", 0, (1,), f"clip{i:07d}.wav", noise(0.5, i)) for i in range(20)]
    clips += [Clip("balanced_train", "--4gqARaEJE", 0, (0,), "--4gqARaEJE.wav", noise(0.5, 99))]
    write_tree(manual, clips)
    report = audioset.Audioset(data_dir=str(tmp_path / "data")).check_manual_dir(manual, samples=5)
    evaluation = {s.split: s for s in report.splits}["eval"]
    assert evaluation.probed == 5 and evaluation.with_audio == 20 and report.ok
    assert "eval: decoded 5 of 20 files (evenly spread)" in report.format() and "ready to prepare" in report.format()


def test_prepare_check_command_exit_status(tmp_path, capsys):
    manual = epath.Path(tmp_path / "audioset")
    check_tree(manual)
    with pytest.raises(SystemExit) as exit_info:
        prepare.main(["audioset", f"--manual_dir={manual}", f"--data_dir={tmp_path / 'data'}", "--check",
                      "--layout=panns"])
    assert exit_info.value.code == 1
    out = capsys.readouterr().out
    assert "balanced_train" in out and "missing" in out and "YcorruptCCCC.wav" in out
    (manual / "audios" / "eval_segments" / "YcorruptCCCC.wav").unlink()
    prepare.main(["audioset", f"--manual_dir={manual}", f"--data_dir={tmp_path / 'data'}", "--check",
                  "--layout=panns"])
    assert "ready to prepare" in capsys.readouterr().out
    with pytest.raises(SystemExit) as exit_info:
        prepare.main(["speech_commands_v2_35", f"--manual_dir={manual}", "--check"])
    assert exit_info.value.code == 2 and "checks its files while preparing" in capsys.readouterr().err


# --- Apache Beam --------------------------------------------------------------------------------------------


def beam_tree(root: epath.Path) -> None:
    wav16 = {"subtype": "PCM_16"}
    clips = [
        Clip("balanced_train", "--4gqARaEJE", 12, (0, 1), "Y--4gqARaEJE.wav", numbered_seconds(30), RATE, wav16),
        Clip("balanced_train", "-0RWZT-miFs", 0, (2,), "Y-0RWZT-miFs.flac", noise(10, 1, 44100, 2), 44100),
        Clip("balanced_train", "missingAAAA", 0, (1,), None),
        Clip("eval", "Y0123456789", 0, (1,), "Y0123456789.wav", noise(4, 2, 22050), 22050),
        Clip("eval", "corruptCCCC", 0, (3,), "YcorruptCCCC.wav", None),
        Clip("eval", "Ab_cd-EFG12", 20, (0, 2, 526), "YAb_cd-EFG12.ogg", noise(25, 3, 32000), 32000),
        Clip("unbalanced_train", "Zz9_8-7Yy6x", 0, (5,), "unbalanced_train_segments_part00/YZz9_8-7Yy6x.wav",
             noise(10, 4)),
    ]
    write_tree(root, clips, csv_dir="metadata", layout="panns")


@pytest.mark.slow
def test_beam_local_runner_writes_the_same_examples(tmp_path):
    pytest.importorskip("apache_beam", reason="apache-beam is not installed (pip install 'leaf_tf[beam]')")
    manual = epath.Path(tmp_path / "audioset")
    beam_tree(manual)
    single = prepare_builder(manual, tmp_path / "single", config="full")
    from leaf_tf.data.builders import beam as beam_settings

    config = beam_settings.download_config(str(manual), "direct_num_workers=2,direct_running_mode=multi_processing")
    beam = audioset.Audioset(data_dir=str(tmp_path / "beam"), config="full")
    beam.download_and_prepare(download_config=config)
    assert beam.info.metadata["clips"] == single.info.metadata["clips"]
    assert not list((tmp_path / "beam" / "downloads").glob("audioset_*_jobs"))  # the job shards are removed
    assert single.info.metadata["clips"]["eval"] == {
        "segments": 3, "written": 2, "cut": 1, "short": 2, "too_short": 0, "no_file": 0, "undecodable": 1}
    for split in ("balanced_train", "unbalanced_train", "eval"):
        assert beam.info.splits[split].num_examples == single.info.splits[split].num_examples
        ours = list(tfds.as_numpy(single.as_dataset(split=split, shuffle_files=False)))
        theirs = list(tfds.as_numpy(beam.as_dataset(split=split, shuffle_files=False)))
        assert [e["id"] for e in theirs] == [e["id"] for e in ours]  # one shard: the same order (key hash)
        for a, b in zip(ours, theirs):
            np.testing.assert_array_equal(a["audio"], b["audio"])
            np.testing.assert_array_equal(a["label"], b["label"])


def test_beam_options_parse_pick_a_local_runner_and_name_the_extra(monkeypatch):
    from leaf_tf.data.builders import beam

    assert beam.parse_pipeline_options("direct_num_workers=2, --direct_running_mode=multi_processing") == [
        "--direct_num_workers=2", "--direct_running_mode=multi_processing"]
    with pytest.raises(ValueError, match="key=value"):
        beam.parse_pipeline_options("direct_num_workers")
    if importlib.util.find_spec("apache_beam") is not None:
        config = beam.download_config("/m", "direct_num_workers=2,direct_running_mode=multi_processing")
        options = config.beam_options.get_all_options()
        assert options["direct_num_workers"] == 2 and options["default_sdk_harness_log_level"] == "WARNING"
        assert type(config.beam_runner).__name__ == "FnApiRunner"  # not DirectRunner's downloaded Prism runner
        cluster = beam.download_config("/m", "runner=DataflowRunner,project=p,region=r,temp_location=gs://b/t")
        assert cluster.beam_runner is None and cluster.beam_options.get_all_options()["project"] == "p"
    monkeypatch.setitem(sys.modules, "apache_beam.options.pipeline_options", None)
    with pytest.raises(ImportError, match=r"needs apache-beam: pip install 'leaf_tf\[beam\]'"):
        beam.pipeline_options("direct_num_workers=2")
    with pytest.raises(SystemExit) as exit_info:
        prepare.main(["audioset", "--manual_dir=/nowhere", "--beam_pipeline_options=direct_num_workers=2"])
    assert exit_info.value.code == 2
