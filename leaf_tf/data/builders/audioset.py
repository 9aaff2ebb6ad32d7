"""TFDS builder `audioset`: the paper's AudioSet task (527 classes, multi-label) over user-provided audio.

AudioSet (Gemmeke et al., 2017) is published as CSV files of YouTube segment
ids and labels, not as audio: https://research.google.com/audioset/ . This
builder reads those CSVs plus the clips you obtained yourself, decodes every
clip with soundfile (WAV, FLAC, OGG, MP3; any rate, any channel count),
averages the channels and resamples to 16 kHz.

Configs and splits:

| config | splits | segments in the CSVs |
|---|---|---|
| `balanced` (default) | `balanced_train`, `eval` | 22,160 / 20,371 |
| `full` | `balanced_train`, `unbalanced_train`, `eval` | + 2,041,789 |

The paper trains on the whole training set and tests on `eval`: use config
`full` and `split="balanced_train+unbalanced_train"`. Clips whose audio file
is missing (videos get deleted) or cannot be decoded are skipped and counted;
one summary line per split is logged. A split with no audio at all is an
error. The number of examples in each split is therefore what you have, not
the CSV's count.

Audio file naming, under `manual_dir/audio/<split>/` (subfolders are allowed,
e.g. for shards of `unbalanced_train`): `<YTID>.<ext>` where `<YTID>` is the
11-character YouTube id, optionally followed by `_<anything>` (e.g.
`<YTID>_30.000.flac` or `<YTID>_30000_40000.wav`) and optionally preceded by
`Y` (the naming of the PANNs download scripts). If two files match one id the
first in sorted order is used.

Features: `audio` (int16 `[samples]`, 160,000 for a full 10 s clip, not
padded: pad or crop in the input pipeline; divide by 32768 for floats),
`label` (`Sequence(ClassLabel(num_classes=527))`: the variable-length list of
positive class indices, in the order of `class_labels_indices.csv`; the class
display names are the `ClassLabel` names and the Freebase ids are
`info.metadata["mids"]` once prepared) and `id` (the YTID). Multi-hot targets:
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
from collections.abc import Iterable, Iterator, Mapping, Sequence

import tensorflow_datasets as tfds
from absl import logging
from etils import epath

from leaf_tf.data.audio_io import AUDIO_EXTENSIONS, AudioDecodeError
from leaf_tf.data.builders import _common

NUM_CLASSES = 527
YTID_LENGTH = 11
CLASS_CSV = "class_labels_indices.csv"
# Split name -> segments CSV; the audio of split `s` lives under `manual_dir/audio/s/`.
SEGMENT_CSVS = {
    "balanced_train": "balanced_train_segments.csv",
    "unbalanced_train": "unbalanced_train_segments.csv",
    "eval": "eval_segments.csv",
}
CSV_URL = "http://storage.googleapis.com/us_audioset/youtube_corpus/v1/csv"

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


@dataclasses.dataclass(eq=False)
class AudiosetConfig(tfds.core.BuilderConfig):
    """An AudioSet config: `splits` names the splits it builds."""

    splits: tuple[str, ...] = ()


class Audioset(tfds.core.GeneratorBasedBuilder):
    """AudioSet (527 classes, multi-label) from the official CSVs and user-provided audio, 16 kHz mono."""

    name = "audioset"
    VERSION = tfds.core.Version("1.1.0")
    RELEASE_NOTES = {
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
    1. Download into manual_dir, from {CSV_URL}/ (linked from https://research.google.com/audioset/download.html):
         class_labels_indices.csv  balanced_train_segments.csv  eval_segments.csv
         unbalanced_train_segments.csv   (config `full` only)
    2. Put one audio file per segment (the 10 s segment, any rate/channels; WAV, FLAC, OGG or MP3) under
         manual_dir/audio/balanced_train/<YTID>.flac
         manual_dir/audio/eval/<YTID>.flac
         manual_dir/audio/unbalanced_train/<YTID>.flac   (config `full` only; subfolders allowed)
       Names `<YTID>_<start>.<ext>` and `Y<YTID>....<ext>` are accepted too. Segments without a file
       are skipped and counted in the log.
    3. Pick a config: `audioset/balanced` (balanced_train + eval) or `audioset/full` (+ unbalanced_train;
       write audioset/full in the commands below).
    """
        + _common.build_commands("audioset/balanced")
    )

    def _info(self) -> tfds.core.DatasetInfo:
        return _common.dataset_info(
            self,
            tfds.features.Sequence(tfds.features.ClassLabel(num_classes=NUM_CLASSES)),
            description=__doc__,
            homepage="https://research.google.com/audioset/",
            citation=_CITATION,
            metadata=tfds.core.MetadataDict(),
        )

    def _split_generators(self, dl_manager: tfds.download.DownloadManager) -> dict[str, Iterator]:
        manual_dir = _common.manual_dir_or_raise(dl_manager, self)
        splits = self.builder_config.splits
        required = [CLASS_CSV, *(SEGMENT_CSVS[s] for s in splits), *(f"audio/{s}/" for s in splits)]
        missing = [r for r in required if not (manual_dir / r.rstrip("/")).exists()]
        if missing:
            raise _common.missing_files_error(self, manual_dir, missing)

        mids, display_names = read_class_labels(manual_dir / CLASS_CSV)
        label_feature = self.info.features["label"].feature
        label_feature.names = display_names
        self.info.metadata["mids"] = mids
        mid_to_index = {mid: i for i, mid in enumerate(mids)}

        generators = {}
        for split in splits:
            segments = read_segments(manual_dir / SEGMENT_CSVS[split])
            for segment in segments:
                unknown = [m for m in segment.mids if m not in mid_to_index]
                if unknown:
                    raise ValueError(
                        f"{SEGMENT_CSVS[split]}: segment {segment.ytid} has labels {unknown} absent from {CLASS_CSV}; "
                        "are the CSVs from the same AudioSet release?"
                    )
            audio_dir = manual_dir / "audio" / split
            files = match_audio_files(_common.list_files(audio_dir, AUDIO_EXTENSIONS), (s.ytid for s in segments))
            if not files:
                raise FileNotFoundError(
                    f"Cannot prepare `{self.name}/{self.builder_config.name}`: none of the {len(segments)} segments "
                    f"of {SEGMENT_CSVS[split]} has an audio file under {audio_dir}. Expected names like "
                    f"{audio_dir}/{segments[0].ytid if segments else '<YTID>'}.flac (see the instructions)."
                )
            generators[split] = self._generate_examples(split, segments, files, mid_to_index)
        return generators

    def _generate_examples(
        self,
        split: str,
        segments: Sequence[Segment],
        files: Mapping[str, epath.Path],
        mid_to_index: Mapping[str, int],
    ) -> Iterator[tuple[str, Mapping]]:
        written, no_file, undecodable, seen = 0, 0, [], set()
        for segment in segments:
            if segment.ytid in seen:  # A YTID listed twice in one CSV would give a duplicate key.
                continue
            seen.add(segment.ytid)
            path = files.get(segment.ytid)
            if path is None:
                no_file += 1
                continue
            try:
                audio = _common.read_clip(path)
            except (AudioDecodeError, FileNotFoundError) as e:
                undecodable.append(f"{path.name} ({e})")
                continue
            written += 1
            yield segment.ytid, {
                "audio": audio,
                "label": sorted(mid_to_index[m] for m in segment.mids),
                "id": segment.ytid,
            }
        if written == 0:
            raise AudioDecodeError(
                f"{self.name}/{self.builder_config.name} split {split}: none of the {len(files)} audio files could be "
                f"decoded, e.g. {'; '.join(undecodable[:3])}."
            )
        log = logging.warning if no_file or undecodable else logging.info
        log(
            "%s/%s split %s: wrote %d of %d segments; skipped %d without an audio file and %d undecodable%s.",
            self.name,
            self.builder_config.name,
            split,
            written,
            len(seen),
            no_file,
            len(undecodable),
            f" (e.g. {'; '.join(undecodable[:3])})" if undecodable else "",
        )
