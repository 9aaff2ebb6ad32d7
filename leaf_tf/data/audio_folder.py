"""Your own audio folders as TFDS datasets, with the same features as the paper's builders.

Two layouts are read (split names are yours: `train`, `validation`, `test`...):

Single label, one folder per split and per class:

    root/train/dog/0001.wav
    root/train/cat/0002.flac
    root/test/dog/0003.ogg

Multi-label, one CSV per split with the columns `path,labels`, paths relative
to `root`, labels separated by `;` (an empty cell is a clip with no positive
label):

    root/train.csv    path,labels
                      clips/0001.wav,dog;bark
                      clips/0002.flac,cat
    root/test.csv

A root holding `*.csv` files is read as the CSV layout, otherwise as folders.
Files ending in an `audio_io.AUDIO_EXTENSIONS` extension (.wav, .flac, .ogg, .opus, .mp3, and .m4a,
.aac, .webm, .mp4 with PyAV; any case) are read, recursively
below each class folder; other files, files directly in a split folder, and
folders whose name starts with `.` or `_` are ignored. Class names are every
label found in any split, sorted (Python string order): that order is the
class index.

Usage:

    builder = AudioFolder("/data/my_sounds")          # data_dir as for tfds.builder
    builder.download_and_prepare()                    # decodes once; later calls reuse it
    train = builder.as_dataset(split="train", as_supervised=True)
    builder.class_names                               # ["cat", "dog"]

or `datasets, info = load_audio_folder("/data/my_sounds")`.

Each example is `{"audio": int16 [samples] (mono, 16 kHz; divide by 32768),
"label": int64 (single-label `ClassLabel`) or int64 [n] (multi-label
`Sequence(ClassLabel)`: the positive classes), "id": the path relative to
root}`, exactly the features of `leaf_tf.data.builders` (AudioSet included),
so one input pipeline serves both. Multi-channel files are averaged to mono,
other rates resampled to 16 kHz (`leaf_tf.data.audio_io.load_audio`). Files
that cannot be decoded (corrupt, empty, missing from a CSV) are skipped;
after preparing, ONE absl warning says how many and names a few.

Why a TFDS builder rather than a function returning `tf.data.Dataset`s: it
follows TFDS's own `tfds.folder_dataset.ImageFolder` (`root/split/label/file`)
and gives the same `as_dataset`, `info.features["label"].names`, split
slicing (`"train[:90%]"`) and `as_supervised` as every other task, so the
training code has no second path. Decoding happens once: FLAC/OGG decoding
and 44.1/48 kHz resampling are Python work (soundfile, soxr) that would
otherwise run through `tf.py_function` every epoch, holding the GIL. (Keras'
`audio_dataset_from_directory` decodes only 16-bit WAV and cannot resample
without tensorflow-io.) The cost is one int16 copy under `data_dir` at
`audio_folder/<root name>_<hash>/<version>`. The hash covers the root's path,
the list of files (and CSV contents) and the sample rate, so adding, removing
or relabelling files prepares a new copy; a file rewritten in place under the
same name is not noticed: regenerate with `builder.download_and_prepare(
download_config=tfds.download.DownloadConfig(
download_mode=tfds.download.GenerateMode.REUSE_CACHE_IF_EXISTS))` or delete
that folder.
"""

from __future__ import annotations

import csv
import hashlib
import json
import re
from collections.abc import Iterator, Mapping, Sequence

import numpy as np
import tensorflow as tf
import tensorflow_datasets as tfds
from absl import logging
from etils import epath

from leaf_tf.data.audio_io import AUDIO_EXTENSIONS, AudioDecodeError
from leaf_tf.data.builders import _common

__all__ = ["AudioFolder", "load_audio_folder"]

LABEL_SEPARATOR = ";"
_MAX_NAMED_SKIPS = 5

# split -> [(path relative to root, labels)]
Entries = dict[str, list[tuple[str, tuple[str, ...]]]]


def _is_hidden(name: str) -> bool:
    return name.startswith((".", "_"))


def _subdirs(folder: epath.Path) -> list[epath.Path]:
    return sorted(p for p in folder.iterdir() if p.is_dir() and not _is_hidden(p.name))


def _scan_folders(root: epath.Path) -> Entries:
    entries: Entries = {}
    for split_dir in _subdirs(root):
        items = []
        for label_dir in _subdirs(split_dir):
            for path in _common.list_files(label_dir, AUDIO_EXTENSIONS):
                items.append((path.relative_to(root).as_posix(), (label_dir.name,)))
        if items:
            entries[split_dir.name] = sorted(items)
    return entries


def _scan_csvs(root: epath.Path, csv_paths: Sequence[epath.Path]) -> Entries:
    entries: Entries = {}
    for csv_path in csv_paths:
        with csv_path.open("r") as f:
            reader = csv.DictReader(f)
            if not {"path", "labels"} <= set(reader.fieldnames or ()):
                raise ValueError(f"{csv_path}: expected the columns path,labels; found {reader.fieldnames}.")
            items = []
            for row in reader:
                path = (row["path"] or "").strip()
                if not path:
                    continue
                labels = tuple(sorted({lab.strip() for lab in (row["labels"] or "").split(LABEL_SEPARATOR) if lab.strip()}))
                items.append((path, labels))
        if items:
            entries[csv_path.stem] = items
    return entries


def _config_name(root: epath.Path, layout: str, sample_rate: int, entries: Entries) -> str:
    fingerprint = json.dumps([str(root), layout, sample_rate, sorted(entries.items())], sort_keys=True)
    digest = hashlib.sha1(fingerprint.encode("utf-8")).hexdigest()[:12]
    slug = re.sub(r"[^a-z0-9]+", "_", root.name.lower()).strip("_") or "root"
    return f"{slug}_{digest}"


class AudioFolder(tfds.core.GeneratorBasedBuilder, skip_registration=True):
    """A TFDS builder over `root/<split>/<label>/<file>` or `root/<split>.csv` (`path,labels`, `;`-separated).

    Args:
      root_dir: the folder (local or any `tf.io.gfile` path).
      data_dir: where TFDS writes the prepared copy (TFDS's default if None).
      sample_rate: the rate of the stored audio, Hz.

    Properties `class_names` (sorted labels, index = class id), `multi_label`
    and `layout` (`"folders"` or `"csv"`) describe what was found.
    """

    name = "audio_folder"
    VERSION = tfds.core.Version("1.1.0")
    RELEASE_NOTES = {
        "1.1.0": "Audio stored as raw int16 bytes (Int16Audio), a third of the disk of 1.0.0's int64 encoding.",
        "1.0.0": "Initial release: folder and CSV layouts, mono int16 at the requested rate.",
    }

    def __init__(self, root_dir: epath.PathLike, *, data_dir: epath.PathLike | None = None, sample_rate: int = 16000):
        root = epath.Path(root_dir)
        if "://" not in str(root):
            root = root.expanduser().resolve()
        if not root.is_dir():
            raise FileNotFoundError(f"Audio folder {root} does not exist or is not a directory.")
        csv_paths = sorted(p for p in root.glob("*.csv") if p.is_file())
        self._layout = "csv" if csv_paths else "folders"
        entries = _scan_csvs(root, csv_paths) if csv_paths else _scan_folders(root)
        if not entries:
            raise ValueError(
                f"No audio found in {root}. Expected root/<split>/<label>/<file> with files ending in "
                f"{', '.join(AUDIO_EXTENSIONS)}, or root/<split>.csv files with the columns path,labels."
            )
        self._root = root
        self._entries = entries
        self._sample_rate = int(sample_rate)
        self._class_names = sorted({label for items in entries.values() for _, labels in items for label in labels})
        if not self._class_names:
            raise ValueError(f"{root}: no labels found in {', '.join(p.name for p in csv_paths)}.")
        self._skipped: list[str] = []
        self._num_files = 0
        config = tfds.core.BuilderConfig(
            name=_config_name(root, self._layout, self._sample_rate, entries),
            description=f"Audio folder {root} ({self._layout} layout).",
        )
        super().__init__(data_dir=data_dir, config=config)
        # TFDS pickles a builder as its constructor arguments (`__getstate__`) and re-runs `__init__`.
        self._original_state = dict(root_dir=root_dir, data_dir=data_dir, sample_rate=sample_rate)

    @property
    def root(self) -> str:
        """The folder, as an absolute path (or the `tf.io.gfile` path it was given)."""
        return str(self._root)

    @property
    def split_names(self) -> list[str]:
        """The splits found under the root (folder or CSV names)."""
        return sorted(self._entries)

    @property
    def class_names(self) -> list[str]:
        """The labels, sorted; a label's position is its class index."""
        return list(self._class_names)

    @property
    def multi_label(self) -> bool:
        """True for the CSV layout: `label` is then the list of positive class indices."""
        return self._layout == "csv"

    @property
    def layout(self) -> str:
        return self._layout

    def _info(self) -> tfds.core.DatasetInfo:
        label = tfds.features.ClassLabel(names=self._class_names)
        return _common.dataset_info(
            self,
            tfds.features.Sequence(label) if self.multi_label else label,
            description=f"Audio clips from {self._root} ({self._layout} layout), mono at {self._sample_rate} Hz.",
            sample_rate=self._sample_rate,
        )

    def _download_and_prepare(self, dl_manager, download_config=None) -> None:
        self._skipped, self._num_files = [], 0
        super()._download_and_prepare(dl_manager, download_config)
        if self._skipped:
            examples = "; ".join(self._skipped[:_MAX_NAMED_SKIPS])
            logging.warning(
                "AudioFolder %s: skipped %d of %d audio files that could not be read, e.g. %s%s",
                self._root,
                len(self._skipped),
                self._num_files,
                examples,
                "" if len(self._skipped) <= _MAX_NAMED_SKIPS else f" (and {len(self._skipped) - _MAX_NAMED_SKIPS} more)",
            )

    def _split_generators(self, dl_manager: tfds.download.DownloadManager) -> dict[str, Iterator]:
        del dl_manager  # Everything is read from root.
        return {split: self._generate_examples(split, items) for split, items in self._entries.items()}

    def _generate_examples(self, split: str, items: Sequence[tuple[str, tuple[str, ...]]]) -> Iterator[tuple[str, Mapping]]:
        def decode(relpath: str) -> np.ndarray | str:
            try:
                return _common.read_clip(self._root / relpath, self._sample_rate)
            except (AudioDecodeError, FileNotFoundError) as e:
                return f"{relpath}: {e}"

        written = 0
        decoded = _common.map_in_threads(decode, [relpath for relpath, _ in items])
        for (relpath, labels), audio in zip(items, decoded):
            self._num_files += 1
            if isinstance(audio, str):
                self._skipped.append(audio)
                continue
            written += 1
            yield relpath, {
                "audio": audio,
                "label": list(labels) if self.multi_label else labels[0],
                "id": relpath,
            }
        if not written:
            raise AudioDecodeError(
                f"AudioFolder {self._root}: none of the {len(items)} files of split {split!r} could be decoded, "
                f"e.g. {'; '.join(self._skipped[-_MAX_NAMED_SKIPS:])}."
            )


def load_audio_folder(
    root_dir: epath.PathLike,
    split: str | None = None,
    *,
    data_dir: epath.PathLike | None = None,
    as_supervised: bool = False,
    shuffle_files: bool = False,
    sample_rate: int = 16000,
) -> tuple[tf.data.Dataset | dict[str, tf.data.Dataset], tfds.core.DatasetInfo]:
    """Prepares `root_dir` (once) and returns `(dataset(s), info)`, like `tfds.load(..., with_info=True)`.

    `split=None` returns a dict of all splits. Class names:
    `info.features["label"].names` (single label) or
    `info.features["label"].feature.names` (multi-label).
    """
    builder = AudioFolder(root_dir, data_dir=data_dir, sample_rate=sample_rate)
    builder.download_and_prepare()
    datasets = builder.as_dataset(split=split, as_supervised=as_supervised, shuffle_files=shuffle_files)
    return datasets, builder.info
