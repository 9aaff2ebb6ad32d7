"""TFDS builder `tut_urban_acoustic_scenes_2018`: the paper's "Acoustic scenes" task.

TUT Urban Acoustic Scenes 2018, development set (DCASE 2018 Task 1, subtask
A): 8,640 ten-second binaural recordings (48 kHz, 24-bit stereo WAV) of 10
urban scenes in 6 European cities. https://zenodo.org/record/1228142

Splits (the official cross-validation setup, fold 1):

| split | content | clips (full data) |
|---|---|---|
| `train` | `fold1_train.txt` minus the validation locations | ~5,500 |
| `validation` | ~10 % of `fold1_train.txt`, carved by recording location | ~600 |
| `test` | `fold1_evaluate.txt` | 2,518 |

The validation split is location-disjoint from train, as fold 1's train and
evaluate lists are from each other: clips are grouped by (scene, location
identifier from `meta.csv`); within each scene the groups are ordered by the
md5 hash of `"<scene>/<identifier>"` and taken into validation until they hold
at least 10 % of that scene's fold-1 training clips, always leaving one
location in train. The choice depends only on the metadata, so it is the same
on every machine and every run (`split_validation_by_location`).

Features: `audio` (int16 `[160000]` for a 10 s clip: the channels averaged,
resampled 48 → 16 kHz with soxr; divide by 32768 for floats), `label`
(`ClassLabel`, the 10 scene names sorted alphabetically) and `id` (the file
name without extension, e.g. `airport-barcelona-0-0-a`).

The archive is expected complete: a clip listed in the metadata without its
file, or a file that cannot be decoded, stops the build with an error naming
it (an interrupted download or unpack).

What differs from the paper: the LEAF paper does not publish its split and
reports ~99 % test accuracy for every frontend, far above the ~60 % of the
DCASE 2018 baseline on fold 1; that suggests clips from the same recording
locations on both sides of its split. This builder keeps the official,
location-disjoint fold 1, so expect much lower (but meaningful) accuracy.
"""

from __future__ import annotations

import collections
import csv
from collections.abc import Iterator, Mapping, Sequence

import tensorflow_datasets as tfds
from etils import epath

from leaf_tf.data.builders import _common

ARCHIVE_DIR = "TUT-urban-acoustic-scenes-2018-development"

# Sorted alphabetically: the label index of each scene.
SCENES = (
    "airport",
    "bus",
    "metro",
    "metro_station",
    "park",
    "public_square",
    "shopping_mall",
    "street_pedestrian",
    "street_traffic",
    "tram",
)

VALIDATION_FRACTION = 0.1

_CITATION = """
@inproceedings{mesaros2018multidevice,
  author    = {Mesaros, Annamaria and Heittola, Toni and Virtanen, Tuomas},
  title     = {A multi-device dataset for urban acoustic scene classification},
  booktitle = {Proceedings of the Detection and Classification of Acoustic Scenes and Events 2018 Workshop (DCASE2018)},
  pages     = {9--13},
  year      = {2018},
}
"""


class Clip(collections.namedtuple("Clip", ["filename", "scene", "identifier"])):
    """One row of `meta.csv`: `audio/<name>.wav`, its scene label and recording-location identifier."""


def split_validation_by_location(
    clips: Sequence[Clip], fraction: float = VALIDATION_FRACTION
) -> tuple[list[Clip], list[Clip]]:
    """Splits `clips` into (train, validation) with no recording location on both sides.

    Per scene, locations (`(scene, identifier)` groups) are ordered by
    `md5("<scene>/<identifier>")` and moved to validation until validation
    holds at least `fraction` of the scene's clips; the last location always
    stays in train. Clip order within each output follows `clips`.
    """
    groups: dict[str, dict[str, list[Clip]]] = collections.defaultdict(lambda: collections.defaultdict(list))
    for clip in clips:
        groups[clip.scene][clip.identifier].append(clip)
    validation_keys = set()
    for scene, locations in groups.items():
        total = sum(len(v) for v in locations.values())
        order = sorted(locations, key=lambda ident, s=scene: (_common.stable_fraction(f"{s}/{ident}"), ident))
        taken = 0
        for identifier in order[:-1]:
            if taken >= fraction * total:
                break
            validation_keys.add((scene, identifier))
            taken += len(locations[identifier])
    train = [c for c in clips if (c.scene, c.identifier) not in validation_keys]
    validation = [c for c in clips if (c.scene, c.identifier) in validation_keys]
    return train, validation


def _rows(path: epath.Path) -> Iterator[list[str]]:
    """Non-empty, non-header rows of a tab-separated DCASE metadata file."""
    with path.open("r") as f:
        for row in csv.reader(f, delimiter="\t"):
            if row and row[0].strip() and row[0].strip() != "filename":
                yield [cell.strip() for cell in row]


class TutUrbanAcousticScenes2018(tfds.core.GeneratorBasedBuilder):
    """TUT Urban Acoustic Scenes 2018 development set: 10 scenes, fold-1 splits, 16 kHz mono."""

    name = "tut_urban_acoustic_scenes_2018"
    VERSION = tfds.core.Version("1.1.0")
    RELEASE_NOTES = {
        "1.1.0": "Audio stored as raw int16 bytes (Int16Audio), a third of the disk of 1.0.0's int64 encoding.",
        "1.0.0": "Initial release: fold-1 train (minus a location-disjoint 10 % validation split) and "
        "fold-1 evaluate as test; channels averaged, resampled to 16 kHz, stored as int16.",
    }
    MANUAL_DOWNLOAD_INSTRUCTIONS = (
        f"""
    TUT Urban Acoustic Scenes 2018, development set (free for academic research: read the licence on Zenodo).
    Download from https://zenodo.org/record/1228142 the files
      {ARCHIVE_DIR}.meta.zip
      {ARCHIVE_DIR}.audio.1.zip ... {ARCHIVE_DIR}.audio.13.zip
    and unzip them all into manual_dir (e.g. `for f in {ARCHIVE_DIR}.*.zip; do unzip -n "$f" -d manual_dir; done`),
    which gives
      manual_dir/{ARCHIVE_DIR}/meta.csv
      manual_dir/{ARCHIVE_DIR}/evaluation_setup/fold1_train.txt
      manual_dir/{ARCHIVE_DIR}/evaluation_setup/fold1_evaluate.txt
      manual_dir/{ARCHIVE_DIR}/audio/airport-barcelona-0-0-a.wav ... (8,640 WAV files)
    (the same files directly under manual_dir also work).
    """
        + _common.build_commands(name)
    )

    def _info(self) -> tfds.core.DatasetInfo:
        return _common.dataset_info(
            self,
            tfds.features.ClassLabel(names=SCENES),
            description=__doc__,
            homepage="https://zenodo.org/record/1228142",
            citation=_CITATION,
        )

    def _split_generators(self, dl_manager: tfds.download.DownloadManager) -> dict[str, Iterator]:
        manual_dir = _common.manual_dir_or_raise(dl_manager, self)
        root = _common.find_root(manual_dir, "meta.csv", [ARCHIVE_DIR]) or manual_dir / ARCHIVE_DIR
        required = ["meta.csv", "evaluation_setup/fold1_train.txt", "evaluation_setup/fold1_evaluate.txt", "audio"]
        missing = [r for r in required if not (root / r).exists()]
        if missing:
            raise _common.missing_files_error(self, root, missing)

        clips = {}
        for row in _rows(root / "meta.csv"):
            if len(row) < 3:
                raise ValueError(f"{root / 'meta.csv'}: expected filename, scene_label, identifier; got {row}.")
            if row[1] not in SCENES:
                raise ValueError(f"{root / 'meta.csv'}: unknown scene {row[1]!r} for {row[0]}; expected one of {SCENES}.")
            clips[row[0]] = Clip(row[0], row[1], row[2])

        def fold(name: str) -> list[Clip]:
            path = root / "evaluation_setup" / name
            filenames = [row[0] for row in _rows(path)]
            unknown = [f for f in filenames if f not in clips]
            if unknown:
                raise ValueError(f"{path} lists {len(unknown)} file(s) absent from meta.csv, e.g. {unknown[:3]}.")
            return [clips[f] for f in filenames]

        train, validation = split_validation_by_location(fold("fold1_train.txt"))
        test = fold("fold1_evaluate.txt")

        present = {p.name for p in (root / "audio").iterdir()}
        absent = [c.filename for c in train + validation + test if epath.Path(c.filename).name not in present]
        if absent:
            raise _common.missing_files_error(self, root, absent)
        return {
            "train": self._generate_examples(root, train),
            "validation": self._generate_examples(root, validation),
            "test": self._generate_examples(root, test),
        }

    def _generate_examples(self, root: epath.Path, clips: Sequence[Clip]) -> Iterator[tuple[str, Mapping]]:
        decoded = _common.map_in_threads(lambda clip: _common.read_clip(root / clip.filename), clips)
        for clip, audio in zip(clips, decoded):
            yield clip.filename, {"audio": audio, "label": clip.scene, "id": epath.Path(clip.filename).stem}
