"""TFDS builder `dcase2018_bird_audio_detection`: the paper's "Birdsong detection" task.

The development data of DCASE 2018 Task 3 (bird audio detection): three
collections of 10-second clips (44.1 kHz mono WAV) labelled with whether any
bird is audible. https://dcase.community/challenge2018/task-bird-audio-detection

| collection | clips | origin |
|---|---|---|
| freefield1010 (`ff1010bird`) | 7,690 | field recordings from Freesound, worldwide |
| warblrb10k (`warblrb10k`) | 8,000 | smartphone recordings from the Warblr app, UK |
| BirdVox-DCASE-20k (`BirdVox-DCASE-20k`) | 20,000 | night flight-call monitoring, USA |

Splits: the three collections pooled (35,690 clips) and split 80 / 10 / 10
into `train` / `validation` / `test` by `md5("<datasetid>/<itemid>")`
(`split_for_item`). Why this split: the LEAF paper pools the collections and
reports ~81 % accuracy, an in-domain figure (the challenge's own protocol
tests on unseen collections and is scored by AUC), but does not publish its
split. A hash of each clip's identity is deterministic on every machine,
stratifies every collection in expectation, and never moves a clip when
other clips are added or missing; holding one collection out would measure
domain shift instead, which is not what the paper's table reports.

Features: `audio` (int16 `[160000]` for 10 s, resampled 44.1 → 16 kHz with
soxr; divide by 32768 for floats), `label` (`ClassLabel`: 0 `no_bird`,
1 `bird`, from `hasbird`) and `id` (`"<datasetid>/<itemid>"`).

The archive is expected complete: a clip listed in the metadata without its
file, or a file that cannot be decoded, stops the build with an error naming
it (an interrupted download or unpack).

What differs from the paper: the split (the paper's is unknown), so numbers
are comparable in kind, not clip for clip.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator, Mapping, Sequence

import tensorflow_datasets as tfds
from etils import epath

from leaf_tf.data.builders import _common

# Folder under manual_dir for each collection (named after its `datasetid`).
COLLECTIONS = ("ff1010bird", "warblrb10k", "BirdVox-DCASE-20k")
LABELS = ("no_bird", "bird")
SPLIT_FRACTIONS = (("train", 0.8), ("validation", 0.1), ("test", 0.1))

_CITATION = """
@article{stowell2019automatic,
  author  = {Stowell, Dan and Wood, Michael D. and Pamu{\\l}a, Hanna and Stylianou, Yannis and Glotin, Herv{\\'e}},
  title   = {Automatic acoustic detection of birds through deep learning: the first Bird Audio Detection challenge},
  journal = {Methods in Ecology and Evolution},
  volume  = {10},
  number  = {3},
  pages   = {368--380},
  year    = {2019},
}
"""


def split_for_item(datasetid: str, itemid: str) -> str:
    """`train`, `validation` or `test` for one clip: 80 / 10 / 10 by `md5("<datasetid>/<itemid>")`."""
    u = _common.stable_fraction(f"{datasetid}/{itemid}")
    cumulative = 0.0
    for split, fraction in SPLIT_FRACTIONS:
        cumulative += fraction
        if u < cumulative:
            return split
    return SPLIT_FRACTIONS[-1][0]


def _read_labels(folder: epath.Path) -> list[tuple[str, str, int]]:
    """(datasetid, itemid, hasbird) rows of every `itemid,datasetid,hasbird` CSV in `folder`."""
    rows = []
    for path in sorted(folder.glob("*.csv")):
        with path.open("r") as f:
            reader = csv.DictReader(f)
            if not {"itemid", "datasetid", "hasbird"} <= set(reader.fieldnames or ()):
                continue
            for row in reader:
                hasbird = row["hasbird"].strip()
                if hasbird not in ("0", "1"):
                    raise ValueError(f"{path}: hasbird must be 0 or 1, got {hasbird!r} for item {row['itemid']}.")
                rows.append((row["datasetid"].strip(), row["itemid"].strip(), int(hasbird)))
    return rows


class Dcase2018BirdAudioDetection(tfds.core.GeneratorBasedBuilder):
    """DCASE 2018 bird audio detection, development data: bird / no bird, hashed 80/10/10 split, 16 kHz mono."""

    name = "dcase2018_bird_audio_detection"
    VERSION = tfds.core.Version("1.1.0")
    RELEASE_NOTES = {
        "1.1.0": "Audio stored as raw int16 bytes (Int16Audio), a third of the disk of 1.0.0's int64 encoding.",
        "1.0.0": "Initial release: freefield1010 + warblrb10k + BirdVox-DCASE-20k pooled, split 80/10/10 by "
        "md5 of datasetid/itemid; resampled to 16 kHz, stored as int16.",
    }
    MANUAL_DOWNLOAD_INSTRUCTIONS = (
        """
    DCASE 2018 bird audio detection, development data (free; each collection states its licence;
    https://dcase.community/challenge2018/task-bird-audio-detection has the current links).
    Download the three collections and their label CSVs:
      freefield1010:     https://archive.org/details/ff1010bird  -> ff1010bird_wav.zip
                         label CSV ff1010bird_metadata_2018.csv (figshare, linked from the DCASE page)
      warblrb10k:        https://archive.org/details/warblrb10k_public -> warblrb10k_public_wav.zip
                         label CSV warblrb10k_public_metadata_2018.csv (figshare)
      BirdVox-DCASE-20k: https://zenodo.org/record/1208080 -> BirdVox-DCASE-20k.zip
                         label CSV BirdVoxDCASE20k_csvpublic.csv (figshare)
    Unzip each archive into its own folder under manual_dir, one folder per collection, named as below,
    and put its CSV beside the audio (MANUAL_DIR is your manual_dir):
      unzip ff1010bird_wav.zip -d MANUAL_DIR/ff1010bird && mv ff1010bird_metadata_2018.csv MANUAL_DIR/ff1010bird/
      unzip warblrb10k_public_wav.zip -d MANUAL_DIR/warblrb10k && mv warblrb10k_public_metadata_2018.csv MANUAL_DIR/warblrb10k/
      unzip BirdVox-DCASE-20k.zip -d MANUAL_DIR/BirdVox-DCASE-20k && mv BirdVoxDCASE20k_csvpublic.csv MANUAL_DIR/BirdVox-DCASE-20k/
    which gives
      manual_dir/ff1010bird/ff1010bird_metadata_2018.csv         manual_dir/ff1010bird/wav/<itemid>.wav
      manual_dir/warblrb10k/warblrb10k_public_metadata_2018.csv  manual_dir/warblrb10k/wav/<itemid>.wav
      manual_dir/BirdVox-DCASE-20k/BirdVoxDCASE20k_csvpublic.csv manual_dir/BirdVox-DCASE-20k/wav/<itemid>.wav
    (any CSV with the columns itemid,datasetid,hasbird is read; WAV files are found anywhere below
    the collection's folder, by the name <itemid>.wav).
    """
        + _common.build_commands(name)
    )

    def _info(self) -> tfds.core.DatasetInfo:
        return _common.dataset_info(
            self,
            tfds.features.ClassLabel(names=LABELS),
            description=__doc__,
            homepage="https://dcase.community/challenge2018/task-bird-audio-detection",
            citation=_CITATION,
        )

    def _split_generators(self, dl_manager: tfds.download.DownloadManager) -> dict[str, Iterator]:
        manual_dir = _common.manual_dir_or_raise(dl_manager, self)
        missing = [c for c in COLLECTIONS if not (manual_dir / c).is_dir()]
        if missing:
            raise _common.missing_files_error(self, manual_dir, [f"{c}/" for c in missing])

        items: dict[str, list[tuple[str, epath.Path, int]]] = {split: [] for split, _ in SPLIT_FRACTIONS}
        for collection in COLLECTIONS:
            folder = manual_dir / collection
            rows = _read_labels(folder)
            if not rows:
                raise _common.missing_files_error(self, folder, ["a label CSV with columns itemid,datasetid,hasbird"])
            wavs = {path.stem: path for path in _common.list_files(folder, [".wav"])}
            absent = [f"{collection}/wav/{itemid}.wav" for _, itemid, _ in rows if itemid not in wavs]
            if absent:
                raise _common.missing_files_error(self, manual_dir, absent)
            for datasetid, itemid, hasbird in rows:
                items[split_for_item(datasetid, itemid)].append((f"{datasetid}/{itemid}", wavs[itemid], hasbird))
        return {split: self._generate_examples(split_items) for split, split_items in items.items()}

    def _generate_examples(self, items: Sequence[tuple[str, epath.Path, int]]) -> Iterator[tuple[str, Mapping]]:
        decoded = _common.map_in_threads(lambda item: _common.read_clip(item[1]), items)
        for (clip_id, _, hasbird), audio in zip(items, decoded):
            yield clip_id, {"audio": audio, "label": hasbird, "id": clip_id}
