"""Clips per second preparing AudioSet: one Python process vs Apache Beam's local runner with worker processes.

Writes a fake AudioSet manual_dir once (the official CSV format; `--clips`
FLAC files of `--seconds` seconds of noise at 44.1 kHz stereo, as YouTube
audio is, in this project's layout, nine in ten in `balanced_train` and the
rest in `eval`), then prepares `audioset/balanced` from it `--runs` times each
way, alternating which goes first, into fresh data_dirs:

* single process: `download_and_prepare()` as `leaf-tf prepare` runs it;
* Beam: the same with `DownloadConfig(beam_options=...)`, DirectRunner,
  `direct_running_mode=multi_processing`, `direct_num_workers=--workers`
  (as `leaf-tf prepare --beam_pipeline_options=...`).

Each preparation decodes, down-mixes and resamples every clip to 16 kHz int16
and writes the TFDS files. The figure is clips written per second of wall
time, Beam's start-up included, with the ratio Beam / single process measured
in the same run; the summary gives medians and ranges over the runs. Needs
`pip install 'leaf_tf[beam]'`.

Usage:
  python benchmarks/prepare_audioset.py [--clips 400] [--seconds 10] [--workers 2] [--runs 3] [--json out.json]
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

from leaf_tf.data.builders import audioset  # noqa: E402

RATE = 44100


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


def prepare_seconds(manual_dir: str, data_dir: str, beam_flags: list[str] | None) -> tuple[float, int]:
    """Wall seconds of one `download_and_prepare` and the examples it wrote."""
    options = None
    if beam_flags is not None:
        from apache_beam.options.pipeline_options import PipelineOptions

        options = PipelineOptions(beam_flags)
    builder = audioset.Audioset(data_dir=data_dir, config="balanced")
    start = time.perf_counter()
    builder.download_and_prepare(
        download_config=tfds.download.DownloadConfig(manual_dir=manual_dir, beam_options=options)
    )
    seconds = time.perf_counter() - start
    return seconds, sum(split.num_examples for split in builder.info.splits.values())


def spread(values: list[float], digits: int = 1) -> str:
    return f"{statistics.median(values):.{digits}f} ({min(values):.{digits}f}–{max(values):.{digits}f})"


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clips", type=int, default=400)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--json", default=None)
    args = parser.parse_args(argv)
    logging.set_verbosity(logging.ERROR)
    tfds.disable_progress_bar()
    beam_flags = [f"--direct_num_workers={args.workers}", "--direct_running_mode=multi_processing"]

    work = tempfile.mkdtemp(prefix="prepare_audioset_")
    try:
        manual = os.path.join(work, "manual")
        os.makedirs(manual)
        write_manual_dir(manual, args.clips, args.seconds)
        runs = []
        for run in range(args.runs):
            order = ["single", "beam"] if run % 2 == 0 else ["beam", "single"]
            result = {}
            for mode in order:
                data_dir = os.path.join(work, f"data_{run}_{mode}")
                seconds, written = prepare_seconds(manual, data_dir, beam_flags if mode == "beam" else None)
                shutil.rmtree(data_dir)
                result[mode] = {"seconds": seconds, "clips": written, "clips_per_second": written / seconds}
            result["beam_over_single"] = result["beam"]["clips_per_second"] / result["single"]["clips_per_second"]
            runs.append(result)
            print(
                f"run {run + 1}/{args.runs}: single process {result['single']['clips_per_second']:.1f} clips/s, "
                f"Beam {args.workers} workers {result['beam']['clips_per_second']:.1f} clips/s "
                f"({result['beam_over_single']:.2f}×)",
                flush=True,
            )
    finally:
        shutil.rmtree(work, ignore_errors=True)

    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), cpu)
    except OSError:
        pass
    import apache_beam

    machine = f"{cpu}, {os.cpu_count()} CPU cores, Python {platform.python_version()}, apache-beam {apache_beam.__version__}"
    print(f"\nMachine: {machine}; load average {' / '.join(f'{v:.1f}' for v in os.getloadavg())}")
    print(f"{args.clips} clips of {args.seconds:g} s, 44.1 kHz stereo FLAC -> 16 kHz int16; median (min–max) of {args.runs} runs")
    print("| preparation | clips / s | ratio to single process |")
    print("|---|---:|---:|")
    print(f"| single process | {spread([r['single']['clips_per_second'] for r in runs])} | 1 |")
    print(
        f"| Beam DirectRunner, {args.workers} worker processes | {spread([r['beam']['clips_per_second'] for r in runs])} "
        f"| {spread([r['beam_over_single'] for r in runs], 2)} |"
    )
    output = {"machine": machine, "args": vars(args), "runs": runs}
    if args.json:
        with open(args.json, "w") as f:
            json.dump(output, f, indent=2)
    return output


if __name__ == "__main__":
    sys.exit(main() and 0)
