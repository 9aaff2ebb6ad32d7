"""TFDS builder `audioset`: the paper's AudioSet task (527 classes, multi-label) over user-provided audio.

AudioSet (Gemmeke et al., 2017) is published as CSV files of YouTube segment
ids and labels, not as audio: https://research.google.com/audioset/ . This
builder reads those CSVs plus the clips you obtained yourself, decodes every
clip (WAV, FLAC, OGG, Opus and MP3 with soundfile; M4A/AAC and WebM with
FFmpeg through PyAV, `pip install 'leaf_tf[av]'`; any rate, any channel
count), averages the channels and resamples to 16 kHz.

Configs and splits:

| config | splits | segments in the CSVs |
|---|---|---|
| `balanced` (default) | `balanced_train`, `eval` | 22,160 / 20,371 |
| `full` | `balanced_train`, `unbalanced_train`, `eval` | + 2,041,789 |

The paper trains on the whole training set and tests on `eval`: use config
`full` and `split="balanced_train+unbalanced_train"`.

Folder layouts (`LAYOUTS`), detected from the folders present, or chosen
with `tfds.builder("audioset", layout=...)` / `leaf-tf prepare --layout`:

| layout | CSVs | audio of split `balanced_train` (likewise `eval`, `unbalanced_train`) |
|---|---|---|
| `leaf_tf` | `manual_dir/` | `audio/balanced_train/` |
| `panns` (PANNs' download scripts) | `metadata/` | `audios/balanced_train_segments/` |
| `audiosetdl` | `manual_dir/` | `data/balanced_train_segments/audio/` |

The CSVs are looked for in `manual_dir/` and then `manual_dir/metadata/`
whatever the layout; subfolders of an audio folder are searched too (PANNs'
`unbalanced_train_segments_partNN/`).

Audio file naming: `<YTID>.<ext>` where `<YTID>` is the 11-character YouTube
id, optionally followed by `_<anything>` (e.g. `<YTID>_30.000.flac`, or
audiosetdl's `<YTID>_30000_40000.flac`) and optionally preceded by `Y`
(PANNs' naming). If two files match one id the first in sorted order is used.

Segment times: a file may hold the 10-second segment alone (what the download
scripts cut) or the whole video (e.g. `yt-dlp -x` without `--download-sections`).
A file longer than its segment by more than `SEGMENT_TOLERANCE_SECONDS` is cut
to `start_seconds`–`end_seconds`; a shorter one is stored as it is (the input
pipeline pads it); one with less than `MIN_CLIP_SECONDS` of audio in its
segment is skipped. Clips whose audio file is missing (videos get deleted) or
cannot be decoded are skipped too. Each split logs one summary line, and
`info.metadata["clips"][split]` keeps the counts (`segments`, `written`,
`cut`, `short`, `too_short`, `no_file`, `undecodable`). A split with no audio
at all is an error. The number of examples in each split is therefore what you
have, not the CSV's count.

Preparing in parallel: with `apache-beam` installed (`pip install
'leaf_tf[beam]'`), pass Beam pipeline options (`leaf-tf prepare
--beam_pipeline_options=...`, or `DownloadConfig(beam_options=...)`) and the
clips are decoded by Beam workers, locally or on a cluster; the examples are
the same as the single-process build's.

Features: `audio` (int16 `[samples]`, 160,000 for a full 10 s clip, not
padded: pad or crop in the input pipeline; divide by 32768 for floats),
`label` (`Sequence(ClassLabel(num_classes=527))`: the variable-length list of
positive class indices, in the order of `class_labels_indices.csv`; the class
display names are the `ClassLabel` names and the Freebase ids are
`info.metadata["mids"]` once prepared) and `id` (the YTID).  Multi-hot targets:
`tf.reduce_max(tf.one_hot(label, 527), axis=0)`.

Storage: int16 at 16 kHz is 320 kB per 10 s clip, so `full` needs ~650 GB.

What differs from the paper: the set of clips (each copy of AudioSet has
lost a different share of videos; the paper reports ~1M training clips), the
audio codec of your download, and the 16 kHz rate (the paper's setting; PANNs
use 32 kHz).
"""

from __future__ import annotations

import csv
import dataclasses
import functools
import json
from collections.abc import Iterable, Iterator, Mapping, Sequence

import tensorflow_datasets as tfds
from absl import logging
from etils import epath

from leaf_tf.data import audio_io
from leaf_tf.data.audio_io import AUDIO_EXTENSIONS, AudioDecodeError
from leaf_tf.data.builders import _common

NUM_CLASSES = 527
YTID_LENGTH = 11
CLASS_CSV = "class_labels_indices.csv"
# Split name -> segments CSV.
SEGMENT_CSVS = {
    "balanced_train": "balanced_train_segments.csv",
    "unbalanced_train": "unbalanced_train_segments.csv",
    "eval": "eval_segments.csv",
}
# Folders under manual_dir searched for the CSVs after manual_dir itself (PANNs keeps them in metadata/).
CSV_SUBFOLDERS = ("metadata",)
CSV_URL = "http://storage.googleapis.com/us_audioset/youtube_corpus/v1/csv"
# A file at most this much longer than its segment holds the segment alone; a longer one is cut to it.
SEGMENT_TOLERANCE_SECONDS = 0.5
# Less audio than one 25 ms analysis window in a segment gives no feature frame: such clips are skipped.
MIN_CLIP_SECONDS = 0.025
# Beam: segments per job shard file, and the fewest shards a split is cut into.
BEAM_JOBS_PER_SHARD = 1000
BEAM_MIN_SHARDS = 64
# The per-split counts kept in info.metadata["clips"], in the order the summary line gives them.
CLIP_COUNTS = ("segments", "written", "cut", "short", "too_short", "no_file", "undecodable")


@dataclasses.dataclass(frozen=True)
class Layout:
    """Where one download tool puts the audio of each split (folders relative to manual_dir)."""

    name: str
    audio_dirs: Mapping[str, str]
    origin: str


LAYOUTS = {
    layout.name: layout
    for layout in (
        Layout("leaf_tf", {s: f"audio/{s}" for s in SEGMENT_CSVS}, "this project's layout"),
        Layout("panns", {s: f"audios/{s}_segments" for s in SEGMENT_CSVS}, "PANNs' download scripts"),
        Layout("audiosetdl", {s: f"data/{s}_segments/audio" for s in SEGMENT_CSVS}, "audiosetdl"),
    )
}

_CITATION = """
@inproceedings{gemmeke2017audioset,
  author    = {Gemmeke, Jort F. and Ellis, Daniel P. W. and Freedman, Dylan and Jansen, Aren and
               Lawrence, Wade and Moore, R. Channing and Plakal, Manoj and Ritter, Marvin},
  title     = {Audio Set: An ontology and human-labeled dataset for audio events},
  booktitle = {IEEE International Conference on Acoustics, Speech and Signal Processing (ICASSP)},
  pages     = {776--780},
  year      = {2017},
}
"""


@dataclasses.dataclass(frozen=True)
class Segment:
    """One row of a segments CSV."""

    ytid: str
    start_seconds: float
    end_seconds: float
    mids: tuple[str, ...]


def read_class_labels(path: epath.Path) -> tuple[list[str], list[str]]:
    """`(mids, display_names)` from `class_labels_indices.csv` (`index,mid,display_name`), in index order."""
    with path.open("r") as f:
        rows = list(csv.DictReader(f))
    if not rows or not {"index", "mid", "display_name"} <= set(rows[0]):
        raise ValueError(f"{path}: expected the columns index,mid,display_name.")
    rows.sort(key=lambda r: int(r["index"]))
    if [int(r["index"]) for r in rows] != list(range(NUM_CLASSES)):
        raise ValueError(f"{path}: expected indices 0..{NUM_CLASSES - 1}, found {len(rows)} rows.")
    return [r["mid"].strip() for r in rows], [r["display_name"].strip() for r in rows]


def read_segments(path: epath.Path) -> list[Segment]:
    """Rows of an AudioSet segments CSV: `YTID, start_seconds, end_seconds, "mid1,mid2,..."`; `#` lines skipped."""
    with path.open("r") as f:
        lines = [line for line in f if line.strip() and not line.lstrip().startswith("#")]
    segments = []
    for row in csv.reader(lines, skipinitialspace=True):
        if len(row) != 4:
            raise ValueError(f"{path}: expected YTID, start_seconds, end_seconds, positive_labels; got {row}.")
        ytid, start, end, labels = (cell.strip() for cell in row)
        mids = tuple(m.strip() for m in labels.split(",") if m.strip())
        segments.append(Segment(ytid, float(start), float(end), mids))
    return segments


def candidate_ids(stem: str) -> Iterator[str]:
    """YouTube ids a file stem may name: `<YTID>`, `<YTID>_...`, `Y<YTID>`, `Y<YTID>_...`, best first."""
    for name in (stem, stem[1:] if stem.startswith("Y") else None):
        if name is None:
            continue
        yield name
        if len(name) > YTID_LENGTH and name[YTID_LENGTH] == "_":
            yield name[:YTID_LENGTH]


def match_audio_files(files: Iterable[epath.Path], ytids: Iterable[str]) -> dict[str, epath.Path]:
    """Maps each wanted YTID to its audio file (first in sorted order), by `candidate_ids` of the file stem."""
    wanted = set(ytids)
    found: dict[str, epath.Path] = {}
    for path in sorted(files):
        for ytid in candidate_ids(path.stem):
            if ytid in wanted:
                found.setdefault(ytid, path)
                break
    return found


def find_csv_folder(manual_dir: epath.Path) -> epath.Path | None:
    """`manual_dir` or the first of its `CSV_SUBFOLDERS` that holds `class_labels_indices.csv`, else None."""
    return _common.find_root(manual_dir, CLASS_CSV, CSV_SUBFOLDERS)


def present_layouts(manual_dir: epath.Path, splits: Sequence[str]) -> list[Layout]:
    """The layouts with an audio folder of at least one of `splits` under `manual_dir`."""
    return [
        layout for layout in LAYOUTS.values() if any((manual_dir / layout.audio_dirs[s]).is_dir() for s in splits)
    ]


def choose_layout(manual_dir: epath.Path, splits: Sequence[str], layout: str = "auto") -> Layout:
    """`LAYOUTS[layout]`, or with "auto" the one layout whose audio folders `manual_dir` has.

    Raises:
      ValueError: an unknown layout name, or audio folders of several layouts with "auto".
      FileNotFoundError: with "auto", no audio folder of any layout.
    """
    if layout != "auto":
        if layout not in LAYOUTS:
            raise ValueError(f"Unknown AudioSet layout {layout!r}; choose auto or one of {', '.join(LAYOUTS)}.")
        return LAYOUTS[layout]
    found = present_layouts(manual_dir, splits)
    if len(found) == 1:
        return found[0]
    expected = "; ".join(
        f"{o.name} ({o.origin}): " + ", ".join(f"{o.audio_dirs[s]}/" for s in splits) for o in LAYOUTS.values()
    )
    if not found:
        raise FileNotFoundError(
            f"Cannot prepare `audioset`: {manual_dir} has no audio folder of any known layout. Expected one of: "
            f"{expected}."
        )
    raise ValueError(
        f"Cannot prepare `audioset`: {manual_dir} has audio folders of several layouts "
        f"({', '.join(o.name for o in found)}); choose one with `leaf-tf prepare audioset --layout=NAME` or "
        f"tfds.builder('audioset', layout='NAME'). Layouts: {expected}."
    )


def plan_clip(file_seconds: float, segment: Segment) -> tuple[str, float, float | None]:
    """Which part of a file of `file_seconds` to keep for `segment`: `(kind, start_seconds, stop_seconds)`.

    `kind` is "whole" (the file is the segment), "cut" (a longer recording,
    cut to the segment), "short" (the file, or the part of a longer recording
    inside the segment, is shorter than the segment by more than
    `SEGMENT_TOLERANCE_SECONDS`; stored as it is) or "too_short" (less than
    `MIN_CLIP_SECONDS` of audio: skip). A "cut" clip that is also short is
    reported as "cut" here; `segment_example` counts both.
    """
    length = segment.end_seconds - segment.start_seconds
    if file_seconds <= length + SEGMENT_TOLERANCE_SECONDS:  # The segment alone, as download scripts cut it.
        if file_seconds < MIN_CLIP_SECONDS:
            return "too_short", 0.0, None
        return ("short" if file_seconds < length - SEGMENT_TOLERANCE_SECONDS else "whole"), 0.0, None
    stop = min(segment.end_seconds, file_seconds)
    if stop - segment.start_seconds < MIN_CLIP_SECONDS:
        return "too_short", 0.0, None
    return "cut", segment.start_seconds, stop


@dataclasses.dataclass(frozen=True)
class ClipJob:
    """One segment to write: its labels as class indices and its audio file."""

    segment: Segment
    labels: tuple[int, ...]
    path: str


def segment_example(job: ClipJob) -> tuple[tuple[str, ...], tuple[str, dict] | None, str | None]:
    """Decodes one clip: `(counts it adds, (key, example) or None, error text or None)`.

    The counts are names from `CLIP_COUNTS`. Missing decoders (`MissingDecoderError`)
    propagate: every file of that format would fail alike.
    """
    try:
        audio_file = audio_io.AudioFile(job.path)  # read once: its length decides which part is decoded
        kind, start, stop = plan_clip(audio_file.info.seconds, job.segment)
        if kind == "too_short":
            return ("too_short",), None, None
        audio = _common.read_clip(audio_file, start_seconds=start, stop_seconds=stop)
    except (AudioDecodeError, FileNotFoundError) as e:
        return ("undecodable",), None, f"{epath.Path(job.path).name} ({e})"
    counts = ["written"]
    if kind == "cut":
        counts.append("cut")
    if audio.shape[0] < (job.segment.end_seconds - job.segment.start_seconds - SEGMENT_TOLERANCE_SECONDS) * (
        _common.SAMPLE_RATE_HZ
    ):
        counts.append("short")
    example = {"audio": audio, "label": list(job.labels), "id": job.segment.ytid}
    return tuple(counts), (job.segment.ytid, example), None


def write_job_shards(jobs: Sequence[ClipJob], folder: epath.Path, shards: int) -> list[str]:
    """Writes `jobs` as JSON lines into up to `shards` files under `folder`; returns their paths.

    Beam workers read these instead of a list inside the pipeline: a list
    given to `beam.Create` travels in the pipeline's description, which the
    runner serialises and ships to its workers (hundreds of MB for full
    AudioSet's two million segments); a few thousand file names are small.
    """
    folder.mkdir(parents=True, exist_ok=True)
    shards = max(1, min(shards, len(jobs)))
    paths = []
    for k in range(shards):
        path = folder / f"jobs-{k:05d}-of-{shards:05d}.jsonl"
        lines = [
            json.dumps([j.segment.ytid, j.segment.start_seconds, j.segment.end_seconds, list(j.labels), j.path])
            for j in jobs[k::shards]
        ]
        path.write_text("\n".join(lines) + "\n")
        paths.append(str(path))
    return paths


def read_job_shard(path: str) -> list[ClipJob]:
    """The jobs `write_job_shards` wrote into one file."""
    jobs = []
    for line in epath.Path(path).read_text().splitlines():
        if line.strip():
            ytid, start, end, labels, audio_path = json.loads(line)
            jobs.append(ClipJob(Segment(ytid, start, end, ()), tuple(labels), audio_path))
    return jobs


def _beam_job_shard_examples(path: str, namespace: str) -> Iterator[tuple[str, dict]]:
    """Decodes every job of one shard in a Beam worker: counts go to Beam counters in `namespace`, errors to the log."""
    from apache_beam.metrics import Metrics

    for job in read_job_shard(path):
        counts, keyed_example, error = segment_example(job)
        for name in counts:
            Metrics.counter(namespace, name).inc()
        if error:
            logging.warning("audioset: skipped %s", error)
        if keyed_example is not None:
            yield keyed_example


def summary_line(name: str, split: str, counts: Mapping[str, int], errors: Sequence[str] = ()) -> str:
    """The one line logged per split: what was written, cut, short, and skipped, and why."""
    return (
        f"{name} split {split}: wrote {counts['written']} of {counts['segments']} segments "
        f"({counts['cut']} cut from longer files, {counts['short']} shorter than their segment, stored as they are); "
        f"skipped {counts['no_file']} without an audio file, {counts['too_short']} with under {MIN_CLIP_SECONDS} s "
        f"of audio in their segment and {counts['undecodable']} undecodable"
        + (f" (e.g. {'; '.join(errors[:3])})" if errors else "")
        + "."
    )


@dataclasses.dataclass(frozen=True)
class SplitFiles:
    """One split as found on disk: the CSV's segments, the file of each YTID that has one, files listed."""

    segments: list[Segment]
    files: dict[str, epath.Path]
    listed: int  # audio files in the split's folder, matched or not


@dataclasses.dataclass(frozen=True)
class Plan:
    """What `Audioset.plan` found in a manual_dir."""

    layout: Layout
    csv_dir: epath.Path
    splits: dict[str, SplitFiles]


@dataclasses.dataclass(eq=False)
class AudiosetConfig(tfds.core.BuilderConfig):
    """An AudioSet config: `splits` names the splits it builds."""

    splits: tuple[str, ...] = ()


class Audioset(tfds.core.GeneratorBasedBuilder):
    """AudioSet (527 classes, multi-label) from the official CSVs and user-provided audio, 16 kHz mono."""

    name = "audioset"
    VERSION = tfds.core.Version("1.2.0")
    RELEASE_NOTES = {
        "1.2.0": "Files longer than their segment are cut to start_seconds-end_seconds; PANNs and audiosetdl "
        "folder layouts; Opus, M4A and WebM audio; per-split clip counts in info.metadata['clips']; Beam.",
        "1.1.0": "Audio stored as raw int16 bytes (Int16Audio), a third of the disk of 1.0.0's int64 encoding.",
        "1.0.0": "Initial release: configs balanced / full; missing or undecodable clips skipped and counted; "
        "labels as Sequence(ClassLabel(527)); 16 kHz int16.",
    }
    BUILDER_CONFIGS = [
        AudiosetConfig(
            name="balanced",
            description="balanced_train (~22k segments) and eval (~20k).",
            splits=("balanced_train", "eval"),
        ),
        AudiosetConfig(
            name="full",
            description="balanced_train, unbalanced_train (~2M segments) and eval.",
            splits=("balanced_train", "unbalanced_train", "eval"),
        ),
    ]
    DEFAULT_BUILDER_CONFIG_NAME = "balanced"
    MANUAL_DOWNLOAD_INSTRUCTIONS = (
        f"""
    AudioSet is released as CSV files (CC BY 4.0) of YouTube segments; the audio you obtain yourself.
    1. Download into manual_dir (or manual_dir/metadata), from {CSV_URL}/
       (linked from https://research.google.com/audioset/download.html):
         class_labels_indices.csv  balanced_train_segments.csv  eval_segments.csv
         unbalanced_train_segments.csv   (config `full` only)
    2. Put one audio file per segment (WAV, FLAC, OGG, Opus or MP3; M4A/AAC or WebM with
       pip install 'leaf_tf[av]'; any rate and channels; the 10 s segment alone, or the whole video,
       which is then cut to the segment) in one of these layouts:
         leaf_tf:    manual_dir/audio/balanced_train/  audio/eval/  audio/unbalanced_train/
         panns:      manual_dir/audios/balanced_train_segments/  audios/eval_segments/
                     audios/unbalanced_train_segments/   (subfolders such as ..._part00/ are searched)
         audiosetdl: manual_dir/data/balanced_train_segments/audio/  data/eval_segments/audio/
                     data/unbalanced_train_segments/audio/
       (the unbalanced_train folder for config `full` only). File names: <YTID>.flac, <YTID>_<anything>.flac
       or Y<YTID>....flac, e.g. Y--4gqARaEJE.wav or --4gqARaEJE_30000_40000.flac. Segments without a
       file are skipped and counted in the log.
    3. Check what is there (seconds, not hours):  leaf-tf prepare audioset/balanced --manual_dir=/path/to/manual_dir --check
    4. Pick a config: `audioset/balanced` (balanced_train + eval) or `audioset/full` (+ unbalanced_train;
       write audioset/full in the commands below). For full AudioSet, prepare in parallel with Apache Beam:
         pip install 'leaf_tf[beam]'
         leaf-tf prepare audioset/full --manual_dir=/path/to/manual_dir \\
             --beam_pipeline_options=direct_num_workers=8,direct_running_mode=multi_processing
    """
        + _common.build_commands("audioset/balanced")
    )

    def __init__(self, *, layout: str = "auto", **kwargs):
        """`layout`: "auto" (detect from the folders present) or a name from `LAYOUTS`."""
        if layout != "auto" and layout not in LAYOUTS:
            raise ValueError(f"Unknown AudioSet layout {layout!r}; choose auto or one of {', '.join(LAYOUTS)}.")
        self._layout = layout
        self._use_beam = False
        self._errors: dict[str, list[str]] = {}
        super().__init__(**kwargs)

    def _info(self) -> tfds.core.DatasetInfo:
        return _common.dataset_info(
            self,
            tfds.features.Sequence(tfds.features.ClassLabel(num_classes=NUM_CLASSES)),
            description=__doc__,
            homepage="https://research.google.com/audioset/",
            citation=_CITATION,
            metadata=tfds.core.MetadataDict(),
        )

    def _download_and_prepare(self, dl_manager, download_config):
        # Beam pipeline options (or a runner) ask for the Beam path; TFDS picks it from what
        # `_generate_examples` returns.
        self._use_beam = download_config.beam_options is not None or download_config.beam_runner is not None
        return super()._download_and_prepare(dl_manager, download_config)

    def plan(self, manual_dir: epath.Path) -> Plan:
        """Reads the CSVs and lists and matches the audio files of every split.

        Also sets the label names and `info.metadata["mids"]`. Raises a
        `FileNotFoundError` naming what is missing.
        """
        splits = self.builder_config.splits
        csv_dir = find_csv_folder(manual_dir)
        layout = choose_layout(manual_dir, splits, self._layout)
        required = [CLASS_CSV, *(SEGMENT_CSVS[s] for s in splits)]
        missing = [r for r in required if csv_dir is None or not (csv_dir / r).exists()]
        missing += [f"{layout.audio_dirs[s]}/" for s in splits if not (manual_dir / layout.audio_dirs[s]).is_dir()]
        if missing:
            raise _common.missing_files_error(
                self, manual_dir, missing, hint=f"(CSVs looked for in ., {', '.join(CSV_SUBFOLDERS)}; audio layout {layout.name})"
            )

        mids, display_names = read_class_labels(csv_dir / CLASS_CSV)
        self.info.features["label"].feature.names = display_names
        self.info.metadata["mids"] = mids
        self._mid_to_index = {mid: i for i, mid in enumerate(mids)}

        found = {}
        for split in splits:
            segments = read_segments(csv_dir / SEGMENT_CSVS[split])
            for segment in segments:
                unknown = [m for m in segment.mids if m not in self._mid_to_index]
                if unknown:
                    raise ValueError(
                        f"{SEGMENT_CSVS[split]}: segment {segment.ytid} has labels {unknown} absent from {CLASS_CSV}; "
                        "are the CSVs from the same AudioSet release?"
                    )
            listed = _common.list_files(manual_dir / layout.audio_dirs[split], AUDIO_EXTENSIONS)
            found[split] = SplitFiles(segments, match_audio_files(listed, (s.ytid for s in segments)), len(listed))
        return Plan(layout, csv_dir, found)

    def _split_generators(self, dl_manager: tfds.download.DownloadManager) -> dict[str, Iterator]:
        manual_dir = _common.manual_dir_or_raise(dl_manager, self)
        plan = self.plan(manual_dir)
        layout = plan.layout
        if self._use_beam:  # Under the download dir: inside data_dir, so cluster workers can read it.
            self._jobs_dir = epath.Path(dl_manager.download_dir) / f"{self.name}_{self.builder_config.name}_jobs"
        self.info.metadata["layout"] = layout.name
        self.info.metadata["clips"] = {}
        generators = {}
        for split, split_files in plan.splits.items():
            segments, files = split_files.segments, split_files.files
            audio_dir = manual_dir / layout.audio_dirs[split]
            if not files:
                raise FileNotFoundError(
                    f"Cannot prepare `{self.name}/{self.builder_config.name}`: none of the {len(segments)} segments "
                    f"of {SEGMENT_CSVS[split]} has an audio file under {audio_dir} (layout {layout.name}). Expected "
                    f"names like {audio_dir}/{segments[0].ytid if segments else '<YTID>'}.flac (see the instructions)."
                )
            jobs, counts = [], dict.fromkeys(CLIP_COUNTS, 0)
            seen = set()
            for segment in segments:
                if segment.ytid in seen:  # A YTID listed twice in one CSV would give a duplicate key.
                    continue
                seen.add(segment.ytid)
                path = files.get(segment.ytid)
                if path is None:
                    counts["no_file"] += 1
                    continue
                labels = tuple(sorted(self._mid_to_index[m] for m in segment.mids))
                jobs.append(ClipJob(segment, labels, str(path)))
            counts["segments"] = len(seen)
            self.info.metadata["clips"][split] = counts
            generators[split] = self._generate_examples(split, jobs)
        return generators

    def _generate_examples(self, split: str, jobs: Sequence[ClipJob]):
        if self._use_beam:
            import apache_beam as beam

            # About BEAM_JOBS_PER_SHARD segments a shard, and enough shards to keep every worker busy.
            shards = max(BEAM_MIN_SHARDS, -(-len(jobs) // BEAM_JOBS_PER_SHARD))
            paths = write_job_shards(jobs, self._jobs_dir / split, shards)
            namespace = f"{self.name}/{split}"
            # Reshuffle: runners may otherwise run every shard on the worker that created the list.
            # A module-level function, not a method: Beam would pickle the builder, and a TFDS builder
            # unpickles from data_dir, config and version alone (its `layout` would be lost).
            return (
                beam.Create(paths)
                | beam.Reshuffle()
                | beam.FlatMap(functools.partial(_beam_job_shard_examples, namespace=namespace))
            )
        return self._generate_in_process(split, jobs)

    def _generate_in_process(self, split: str, jobs: Sequence[ClipJob]) -> Iterator[tuple[str, dict]]:
        counts = self.info.metadata["clips"][split]
        errors = self._errors.setdefault(split, [])
        for added, keyed_example, error in _common.map_in_threads(segment_example, jobs):
            for name in added:
                counts[name] += 1
            if error:
                errors.append(error)
            if keyed_example is not None:
                yield keyed_example
        self._finish_split(split)

    def _process_pipeline_result(self, pipeline_result) -> None:
        from apache_beam.metrics.metric import MetricsFilter

        if self._jobs_dir.exists():
            self._jobs_dir.rmtree()

        for split, counts in self.info.metadata["clips"].items():
            namespace = f"{self.name}/{split}"
            results = pipeline_result.metrics().query(MetricsFilter().with_namespace(namespace))["counters"]
            for result in results:
                value = result.committed if result.committed is not None else result.attempted
                counts[result.key.metric.name] += int(value)
            self._finish_split(split)

    def _finish_split(self, split: str) -> None:
        """Logs the split's summary line; no clip written is an error."""
        counts = self.info.metadata["clips"][split]
        errors = self._errors.get(split, [])
        if counts["written"] == 0:
            raise AudioDecodeError(
                f"{self.name}/{self.builder_config.name} split {split}: no clip could be written from "
                f"{counts['segments'] - counts['no_file']} audio files ({counts['undecodable']} undecodable, "
                f"{counts['too_short']} too short)" + (f", e.g. {'; '.join(errors[:3])}." if errors else ".")
            )
        skipped = counts["no_file"] or counts["undecodable"] or counts["too_short"]
        (logging.warning if skipped else logging.info)(
            "%s", summary_line(f"{self.name}/{self.builder_config.name}", split, counts, errors)
        )

    # --- leaf-tf prepare --check ------------------------------------------------------------------------------

    def check_manual_dir(self, manual_dir: epath.PathLike, samples: int = 64) -> ManualDirCheck:
        """Scans `manual_dir` without preparing anything: what is present, missing, unreadable or unplaced.

        Reads the CSVs, lists the audio folders of the layout in use and
        decodes `samples` files per split (evenly spread over the sorted
        files), so it takes seconds even for full AudioSet. Raises the same
        errors as preparing would for missing CSVs, folders or layouts.
        """
        manual_dir = epath.Path(manual_dir)
        plan = self.plan(manual_dir)
        layout, csv_dir = plan.layout, plan.csv_dir
        splits = []
        for split, split_files in plan.splits.items():
            audio_dir = manual_dir / layout.audio_dirs[split]
            files = split_files.files
            by_ytid = {s.ytid: s for s in split_files.segments}
            chosen = sorted(files.items())
            if len(chosen) > samples:
                step = len(chosen) / samples
                chosen = [chosen[int(i * step)] for i in range(samples)]
            unreadable, longer = [], 0
            for ytid, path in chosen:
                counts, _, error = segment_example(ClipJob(by_ytid[ytid], (), str(path)))
                if error:
                    unreadable.append(error)
                elif "too_short" in counts:
                    unreadable.append(f"{path.relative_to(manual_dir)} (under {MIN_CLIP_SECONDS} s in its segment)")
                longer += "cut" in counts
            splits.append(
                SplitCheck(
                    split=split,
                    audio_dir=str(audio_dir.relative_to(manual_dir)),
                    segments=len(by_ytid),
                    with_audio=len(files),
                    unmatched_files=split_files.listed - len(set(files.values())),
                    probed=len(chosen),
                    unreadable=tuple(unreadable),
                    longer_than_segment=longer,
                )
            )
        layout_dirs = {layout.audio_dirs[s] for s in self.builder_config.splits}
        elsewhere = []
        for other in LAYOUTS.values():
            for split, folder in other.audio_dirs.items():
                if folder not in layout_dirs and (manual_dir / folder).is_dir():
                    count = len(_common.list_files(manual_dir / folder, AUDIO_EXTENSIONS))
                    elsewhere.append(f"{folder}/ ({count} audio files, layout {other.name}, split {split})")
        return ManualDirCheck(
            name=f"{self.name}/{self.builder_config.name}",
            manual_dir=str(manual_dir),
            layout=layout.name,
            csv_dir=str(csv_dir.relative_to(manual_dir)) if csv_dir != manual_dir else ".",
            splits=tuple(splits),
            outside_layout=tuple(elsewhere),
        )


@dataclasses.dataclass(frozen=True)
class SplitCheck:
    """What `check_manual_dir` found for one split."""

    split: str
    audio_dir: str
    segments: int  # distinct YTIDs in the CSV
    with_audio: int  # ... of which have a file
    unmatched_files: int  # audio files in the folder that name no segment of the CSV
    probed: int  # files decoded
    unreadable: tuple[str, ...]  # probed files that failed, with why
    longer_than_segment: int  # probed files that will be cut to their segment

    @property
    def missing(self) -> int:
        return self.segments - self.with_audio


@dataclasses.dataclass(frozen=True)
class ManualDirCheck:
    """The report of `leaf-tf prepare audioset --check`."""

    name: str
    manual_dir: str
    layout: str
    csv_dir: str
    splits: tuple[SplitCheck, ...]
    outside_layout: tuple[str, ...]

    @property
    def ok(self) -> bool:
        """True when every split has audio and no probed file failed."""
        return all(s.with_audio and not s.unreadable for s in self.splits)

    def format(self) -> str:
        header = ("split", "audio folder", "segments", "with audio", "missing", "not in CSV", "probed", "unreadable",
                  "to cut")
        rows = [
            (s.split, s.audio_dir + "/", f"{s.segments:,}", f"{s.with_audio:,}", f"{s.missing:,}",
             f"{s.unmatched_files:,}", f"{s.probed:,}", f"{len(s.unreadable):,}", f"{s.longer_than_segment:,}")
            for s in self.splits
        ]
        widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
        line = lambda r: "  ".join(c.ljust(w) if i < 2 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths)))  # noqa: E731
        text = [
            f"{self.name} in {self.manual_dir}: layout {self.layout}, CSVs in {self.csv_dir}/",
            line(header),
            *map(line, rows),
        ]
        for s in self.splits:
            text += [f"unreadable in {s.split}: {u}" for u in s.unreadable]
            if s.probed < s.with_audio:
                text.append(
                    f"{s.split}: decoded {s.probed} of {s.with_audio:,} files (evenly spread); the build decodes all."
                )
        text += [f"audio outside the layout in use (not read): {e}" for e in self.outside_layout]
        text.append("ready to prepare" if self.ok else "fix the files above, or the build skips them (counted in its log)")
        return "\n".join(text)
