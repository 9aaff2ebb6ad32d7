"""Clips per second preparing AudioSet: one process decoding sequentially or in threads, and Apache Beam's local runner.

Writes a fake AudioSet manual_dir once (the official CSV format; `--clips`
FLAC files of `--seconds` seconds of noise at 44.1 kHz stereo, as YouTube
audio is, in this project's layout, nine in ten in `balanced_train` and the
rest in `eval`), then prepares `audioset/balanced` from it `--runs` times in
each of three ways, rotating which goes first, into fresh data_dirs:

* sequential: `download_and_prepare()` in one process, one clip decoded after
  another (`_common.DECODE_THREADS = 1`);
* threads: the same with `--decode_threads` threads decoding while the main
  thread writes (default: the builders' `DECODE_THREADS`), as `leaf-tf
  prepare` runs it;
* Beam: `DownloadConfig(beam_options=...)` from `--beam_pipeline_options`
  (default DirectRunner with `direct_num_workers=2,direct_running_mode=multi_processing`),
  as `leaf-tf prepare --beam_pipeline_options=...` runs it.

Each preparation decodes, down-mixes and resamples every clip to 16 kHz int16
and writes the TFDS files. The figure is clips written per second of wall
time, start-up included, with ratios to the sequential build measured in the
same run, after one untimed tiny build in each way; the summary gives medians
and ranges over the runs. Needs
`pip install 'leaf_tf[beam]'`.

Usage:
  python benchmarks/prepare_audioset.py [--clips 400] [--seconds 10] [--runs 3] [--json out.json]
      [--decode_threads N] [--beam_pipeline_options direct_num_workers=2,direct_running_mode=multi_processing]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import soundfile as sf  # noqa: E402
import tensorflow_datasets as tfds  # noqa: E402
from absl import logging  # noqa: E402

from leaf_tf.data.builders import _common, audioset, beam  # noqa: E402

RATE = 44100
MODES = ("sequential", "threads", "beam")


def write_manual_dir(root: str, clips: int, seconds: float, seed: int = 0) -> None:
    """The CSVs and `clips` stereo FLAC files (90 % balanced_train, 10 % eval) under `root`."""
    rng = np.random.default_rng(seed)
    rows = ["index,mid,display_name"] + [f"{i},/m/b{i:03d},Class {i}" for i in range(audioset.NUM_CLASSES)]
    with open(os.path.join(root, audioset.CLASS_CSV), "w") as f:
        f.write("\n".join(rows) + "\n")
    n_eval = max(1, clips // 10)
    for split, count, offset in [("balanced_train", clips - n_eval, 0), ("eval", n_eval, clips - n_eval)]:
        folder = os.path.join(root, "audio", split)
        os.makedirs(folder, exist_ok=True)
        lines = ["# YTID, start_seconds, end_seconds, positive_labels"]
        for k in range(offset, offset + count):
            ytid = f"clip{k:07d}"
            labels = ",".join(f"/m/b{i:03d}" for i in sorted(rng.choice(audioset.NUM_CLASSES, 2, replace=False)))
            lines.append(f'{ytid}, 30.000, {30 + seconds:.3f}, "{labels}"')
            audio = (0.1 * rng.standard_normal((int(seconds * RATE), 2))).astype(np.float32)
            sf.write(os.path.join(folder, f"{ytid}.flac"), audio, RATE)
        with open(os.path.join(root, audioset.SEGMENT_CSVS[split]), "w") as f:
            f.write("\n".join(lines) + "\n")


def prepare_seconds(manual_dir: str, data_dir: str, threads: int, beam_options: str | None) -> tuple[float, int]:
    """Wall seconds of one `download_and_prepare` and the examples it wrote."""
    if beam_options is None:
        config = tfds.download.DownloadConfig(manual_dir=manual_dir)
    else:
        config = beam.download_config(manual_dir, beam_options)  # as leaf-tf prepare builds it
    _common.DECODE_THREADS = threads  # read by the builders when they decode
    builder = audioset.Audioset(data_dir=data_dir, config="balanced")
    start = time.perf_counter()
    builder.download_and_prepare(download_config=config)
    seconds = time.perf_counter() - start
    return seconds, sum(split.num_examples for split in builder.info.splits.values())


def spread(values: list[float], digits: int = 1) -> str:
    return f"{statistics.median(values):.{digits}f} ({min(values):.{digits}f}–{max(values):.{digits}f})"


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), cpu)
    except OSError:
        pass
    import apache_beam

    return f"{cpu}, {os.cpu_count()} CPU cores, Python {platform.python_version()}, apache-beam {apache_beam.__version__}"


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clips", type=int, default=400)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--decode_threads", type=int, default=_common.DECODE_THREADS)
    parser.add_argument("--beam_pipeline_options", default="direct_num_workers=2,direct_running_mode=multi_processing")
    parser.add_argument("--json", default=None)
    args = parser.parse_args(argv)
    logging.set_verbosity(logging.ERROR)
    tfds.disable_progress_bar()
    settings = {"sequential": (1, None), "threads": (args.decode_threads, None), "beam": (1, args.beam_pipeline_options)}
    default_threads = _common.DECODE_THREADS

    work = tempfile.mkdtemp(prefix="prepare_audioset_")
    runs = []
    try:
        manual = os.path.join(work, "manual")
        os.makedirs(manual)
        write_manual_dir(manual, args.clips, args.seconds)
        warm = os.path.join(work, "warm")  # first calls import and trace: a tiny build in each way, untimed
        os.makedirs(warm)
        write_manual_dir(warm, 4, 1.0)
        for mode in MODES:
            prepare_seconds(warm, os.path.join(work, f"warm_{mode}"), *settings[mode])
        for run in range(args.runs):
            order = MODES[run % 3 :] + MODES[: run % 3]
            result = {}
            for mode in order:
                data_dir = os.path.join(work, f"data_{run}_{mode}")
                seconds, written = prepare_seconds(manual, data_dir, *settings[mode])
                shutil.rmtree(data_dir)
                result[mode] = {"seconds": seconds, "clips": written, "clips_per_second": written / seconds}
            for mode in MODES:
                result[mode]["ratio"] = result[mode]["clips_per_second"] / result["sequential"]["clips_per_second"]
            runs.append(result)
            print(
                f"run {run + 1}/{args.runs}: "
                + ", ".join(f"{m} {result[m]['clips_per_second']:.1f} clips/s ({result[m]['ratio']:.2f}×)" for m in MODES),
                flush=True,
            )
    finally:
        _common.DECODE_THREADS = default_threads
        shutil.rmtree(work, ignore_errors=True)

    description = machine()
    print(f"\nMachine: {description}; load average {' / '.join(f'{v:.1f}' for v in os.getloadavg())}")
    print(
        f"{args.clips} clips of {args.seconds:g} s, 44.1 kHz stereo FLAC -> 16 kHz int16; "
        f"median (min–max) of {args.runs} runs"
    )
    labels = {
        "sequential": "one process, sequential decoding",
        "threads": f"one process, {args.decode_threads} decoding threads (`leaf-tf prepare`)",
        "beam": f"Beam, `{args.beam_pipeline_options}`",
    }
    print("| preparation | clips / s | ratio to sequential |")
    print("|---|---:|---:|")
    for mode in MODES:
        values = [r[mode]["clips_per_second"] for r in runs]
        print(f"| {labels[mode]} | {spread(values)} | {spread([r[mode]['ratio'] for r in runs], 2)} |")
    output = {"machine": description, "args": vars(args), "runs": runs}
    if args.json:
        with open(args.json, "w") as f:
            json.dump(output, f, indent=2)
    return output


if __name__ == "__main__":
    main()
    sys.exit(0)
