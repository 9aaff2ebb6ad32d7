"""Pieces shared by the manual-download builders: audio feature, clip decoding, manual_dir checks, stable splits.

Everything here reads through `epath` / `tf.io.gfile` (never `os` or `open`),
so the builders work on GCS and under TFDS's test harness.
"""

from __future__ import annotations

import collections
import hashlib
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import numpy as np
import tensorflow as tf
import tensorflow_datasets as tfds
from etils import epath

from leaf_tf.data.audio_io import AudioFile, Int16Audio, load_audio, to_int16

SAMPLE_RATE_HZ = 16000

# Threads that decode clips while a single-process build writes: libsndfile and soxr release the GIL, so
# decoding overlaps (2 threads: 1.5-1.6x the clips per second of a sequential build on 2 cores, median of
# 3 runs of benchmarks/prepare_audioset.py).
DECODE_THREADS = min(8, os.cpu_count() or 1)

_T = TypeVar("_T")
_R = TypeVar("_R")

# The module that registers every builder, for `tfds build --imports=...`.
IMPORTS = "leaf_tf.data.builders"


def audio_feature(sample_rate: int = SAMPLE_RATE_HZ) -> Int16Audio:
    """The waveform feature of every builder: mono int16 (`x = audio / 32768`), stored as 2 bytes a sample."""
    return Int16Audio(
        sample_rate=sample_rate,
        doc=f"Mono waveform at {sample_rate} Hz, int16; divide by 32768 for float audio in [-1, 1].",
    )


def dataset_info(
    builder: tfds.core.DatasetBuilder,
    label: tfds.features.FeatureConnector,
    *,
    description: str,
    homepage: str | None = None,
    citation: str | None = None,
    sample_rate: int = SAMPLE_RATE_HZ,
    **kwargs,
) -> tfds.core.DatasetInfo:
    """The `DatasetInfo` every builder shares: features {audio, label, id}, supervised as (audio, label)."""
    return tfds.core.DatasetInfo(
        builder=builder,
        description=description,
        features=tfds.features.FeaturesDict(
            {"audio": audio_feature(sample_rate), "label": label, "id": tfds.features.Text()}
        ),
        supervised_keys=("audio", "label"),
        homepage=homepage,
        citation=citation,
        **kwargs,
    )


def read_clip(
    path: epath.PathLike | AudioFile,
    sample_rate: int = SAMPLE_RATE_HZ,
    *,
    start_seconds: float = 0.0,
    stop_seconds: float | None = None,
) -> np.ndarray:
    """Decodes, down-mixes and resamples one file (or its part `[start_seconds, stop_seconds)`) to int16 [samples]."""
    return to_int16(load_audio(path, sample_rate, start_seconds=start_seconds, stop_seconds=stop_seconds))


def build_commands(name: str) -> str:
    """The commands that prepare builder `name` (a `name/config` is fine) from a manual_dir."""
    return f"""
    Then prepare it (decodes every clip to 16 kHz mono int16 under the TFDS data_dir: ~/tensorflow_datasets,
    or TFDS_DATA_DIR, or add --data_dir=/path/to/data_dir) with

        leaf-tf prepare {name} --manual_dir=/path/to/manual_dir

    or, with apache-beam and mlcroissant installed (the `tfds` CLI of tensorflow-datasets 4.9.10 imports both
    to start),

        tfds build {name} --imports={IMPORTS} --manual_dir=/path/to/manual_dir

    or from Python:

        import tensorflow_datasets as tfds
        import {IMPORTS}
        tfds.builder("{name}").download_and_prepare(
            download_config=tfds.download.DownloadConfig(manual_dir="/path/to/manual_dir"))
    """


def manual_dir_or_raise(dl_manager: tfds.download.DownloadManager, builder: tfds.core.DatasetBuilder) -> epath.Path:
    """`dl_manager.manual_dir`, or a `FileNotFoundError` carrying the builder's instructions.

    TFDS raises an `AssertionError` when the manual_dir is missing or empty
    (by default `<data_dir>/downloads/manual`); this turns it into an error
    that names the dataset and says what to download and which command to run.
    """
    try:
        return epath.Path(dl_manager.manual_dir)
    except AssertionError as e:
        first_line = str(e).splitlines()[0] if str(e) else "missing manual_dir"
        raise FileNotFoundError(
            f"Cannot prepare `{builder.name}`: {first_line}\n"
            f"Pass the folder holding the unpacked dataset as manual_dir. "
            f"How to get it:\n{tfds.core.utils.dedent(builder.MANUAL_DOWNLOAD_INSTRUCTIONS)}"
        ) from e


def find_root(manual_dir: epath.Path, marker: str, subdirs: Sequence[str] = ()) -> epath.Path | None:
    """The first of `manual_dir`, `manual_dir/<subdir>`... that contains `marker`, else None."""
    for candidate in [manual_dir, *(manual_dir / s for s in subdirs)]:
        if (candidate / marker).exists():
            return candidate
    return None


def missing_files_error(
    builder: tfds.core.DatasetBuilder, where: epath.PathLike, missing: Iterable[str], hint: str = ""
) -> FileNotFoundError:
    """A `FileNotFoundError` listing what `where` lacks, then `hint`, then the builder's instructions."""
    missing = list(missing)
    shown = ", ".join(missing[:10]) + (f" and {len(missing) - 10} more" if len(missing) > 10 else "")
    return FileNotFoundError(
        f"Cannot prepare `{builder.name}`: {where} lacks {len(missing)} expected file(s) or folder(s): {shown}.\n"
        + (f"{hint}\n" if hint else "")
        + f"How to get them:\n{tfds.core.utils.dedent(builder.MANUAL_DOWNLOAD_INSTRUCTIONS)}"
    )


def stable_fraction(key: str) -> float:
    """A number in [0, 1) fixed by `key` alone (md5), for splits that never depend on other examples."""
    digest = hashlib.md5(key.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") / 2.0**64


def list_files(folder: epath.Path, extensions: Sequence[str]) -> list[epath.Path]:
    """Every file under `folder` (recursively) whose lower-cased name ends with one of `extensions`, sorted."""
    extensions = tuple(extensions)
    found = []
    for dirpath, _, filenames in tf.io.gfile.walk(str(folder)):
        found.extend(epath.Path(dirpath) / name for name in filenames if name.lower().endswith(extensions))
    return sorted(found)


def map_in_threads(fn: Callable[[_T], _R], items: Iterable[_T], threads: int | None = None) -> Iterator[_R]:
    """`map(fn, items)` computed by `threads` threads (default `DECODE_THREADS`), in order, with at most
    `4 * threads` results waiting.

    For decoding clips while TFDS writes the ones already decoded; the bound
    keeps memory flat for millions of items (an executor's `map` would submit
    them all at once). An exception from `fn` is raised when its item's turn comes.
    """
    threads = DECODE_THREADS if threads is None else threads
    if threads <= 1:
        yield from map(fn, items)
        return
    window = 4 * threads
    with ThreadPoolExecutor(max_workers=threads) as executor:
        pending: collections.deque = collections.deque()
        for item in items:
            pending.append(executor.submit(fn, item))
            if len(pending) >= window:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()
