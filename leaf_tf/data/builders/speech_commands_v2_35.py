"""TFDS builder `speech_commands_v2_35`: the paper's "Speech commands" task, all 35 words.

Speech Commands v0.02 (Warden, 2018): 105,829 one-second (or shorter)
utterances of 35 words by 2,618 speakers, 16 kHz 16-bit mono WAV.
https://arxiv.org/abs/1804.03209

TFDS's own `speech_commands` is the 12-class keyword-spotting version (10
words + "silence" + "unknown"); the LEAF paper classifies all 35 words, which
is this builder.

Splits, by the archive's own lists (speaker-disjoint by design):

| split | content | clips |
|---|---|---|
| `train` | every word clip in neither list | 84,843 |
| `validation` | `validation_list.txt` | 9,981 |
| `test` | `testing_list.txt` | 11,005 |

Features: `audio` (int16 `[samples]`, at most 16,000; clips are not padded:
pad or crop in the input pipeline; the 16 kHz int16 files are stored
bit-exactly; divide by 32768 for floats), `label` (`ClassLabel`, the 35
words sorted alphabetically) and `id` (`"<word>/<speaker>_nohash_<n>.wav"`).
`_background_noise_/` is ignored.

The archive is expected complete: a clip listed in the metadata without its
file, or a file that cannot be decoded, stops the build with an error naming
it (an interrupted download or unpack).

What differs from the paper: nothing known; the paper uses the same official
lists.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence

import tensorflow_datasets as tfds
from etils import epath

from leaf_tf.data.builders import _common

ARCHIVE_DIR = "speech_commands_v0.02"

# The 35 words of v0.02, sorted alphabetically: the label index of each word.
WORDS = (
    "backward",
    "bed",
    "bird",
    "cat",
    "dog",
    "down",
    "eight",
    "five",
    "follow",
    "forward",
    "four",
    "go",
    "happy",
    "house",
    "learn",
    "left",
    "marvin",
    "nine",
    "no",
    "off",
    "on",
    "one",
    "right",
    "seven",
    "sheila",
    "six",
    "stop",
    "three",
    "tree",
    "two",
    "up",
    "visual",
    "wow",
    "yes",
    "zero",
)

_CITATION = """
@article{warden2018speech,
  author  = {Warden, Pete},
  title   = {Speech Commands: A Dataset for Limited-Vocabulary Speech Recognition},
  journal = {arXiv preprint arXiv:1804.03209},
  year    = {2018},
}
"""


def _read_list(path: epath.Path) -> list[str]:
    return [line.strip() for line in path.read_text().splitlines() if line.strip()]


class SpeechCommandsV235(tfds.core.GeneratorBasedBuilder):
    """Speech Commands v0.02 with all 35 words as classes and the official validation/test lists."""

    name = "speech_commands_v2_35"
    VERSION = tfds.core.Version("1.1.0")
    RELEASE_NOTES = {
        "1.1.0": "Audio stored as raw int16 bytes (Int16Audio), a third of the disk of 1.0.0's int64 encoding.",
        "1.0.0": "Initial release: 35 word classes, official validation/testing lists, 16 kHz int16, unpadded.",
    }
    MANUAL_DOWNLOAD_INSTRUCTIONS = (
        f"""
    Speech Commands v0.02 (CC BY 4.0). Download
      http://download.tensorflow.org/data/speech_commands_v0.02.tar.gz   (2.3 GB)
    and extract it into manual_dir (the archive has no top folder):
      mkdir -p manual_dir && tar -xzf speech_commands_v0.02.tar.gz -C manual_dir
    which gives
      manual_dir/validation_list.txt
      manual_dir/testing_list.txt
      manual_dir/<word>/<speaker>_nohash_<n>.wav   for the 35 words (backward, bed, ..., zero)
      manual_dir/_background_noise_/...            (ignored)
    (manual_dir/{ARCHIVE_DIR}/... also works).
    """
        + _common.build_commands(name)
    )

    def _info(self) -> tfds.core.DatasetInfo:
        return _common.dataset_info(
            self,
            tfds.features.ClassLabel(names=WORDS),
            description=__doc__,
            homepage="https://arxiv.org/abs/1804.03209",
            citation=_CITATION,
        )

    def _split_generators(self, dl_manager: tfds.download.DownloadManager) -> dict[str, Iterator]:
        manual_dir = _common.manual_dir_or_raise(dl_manager, self)
        root = _common.find_root(manual_dir, "testing_list.txt", [ARCHIVE_DIR]) or manual_dir
        required = ["validation_list.txt", "testing_list.txt", *(f"{w}/" for w in WORDS)]
        missing = [r for r in required if not (root / r.rstrip("/")).exists()]
        if missing:
            new_in_v2 = {"backward/", "follow/", "forward/", "learn/", "visual/"}
            hint = "backward, follow, forward, learn and visual are new in v0.02: is this the v0.01 archive?"
            raise _common.missing_files_error(self, root, missing, hint if set(missing) <= new_in_v2 else "")

        listed = {}
        for split, list_name in (("validation", "validation_list.txt"), ("test", "testing_list.txt")):
            for relpath in _read_list(root / list_name):
                listed[relpath] = split
        files = {"train": [], "validation": [], "test": []}
        for word in WORDS:
            for path in _common.list_files(root / word, [".wav"]):
                relpath = path.relative_to(root).as_posix()
                files[listed.pop(relpath, "train")].append(relpath)
        if listed:
            absent = sorted(listed)
            raise _common.missing_files_error(self, root, absent)
        return {split: self._generate_examples(root, relpaths) for split, relpaths in files.items()}

    def _generate_examples(self, root: epath.Path, relpaths: Sequence[str]) -> Iterator[tuple[str, Mapping]]:
        clips = _common.map_in_threads(lambda relpath: _common.read_clip(root / relpath), relpaths)
        for relpath, audio in zip(relpaths, clips):
            yield relpath, {"audio": audio, "label": relpath.split("/", 1)[0], "id": relpath}
