"""Input pipeline throughput vs what training consumes.

    python benchmarks/pipeline.py [--data_dir DIR] [--batch_size 32] [--seconds 10] [--quick]

Measures training windows per second produced by `leaf_tf.data.pipeline.train_dataset`
for (1) the embedded synthetic dataset and (2) an audio folder of generated
WAV/FLAC files (44.1 kHz stereo and 16 kHz mono, decoded and resampled once by
the `AudioFolder` builder), then the windows per second one LEAF +
EfficientNetB0 training step consumes at the same batch size. The pipeline must
be faster than the model for the accelerator (here, the CPU) never to wait.
"""

from __future__ import annotations

import argparse
import pathlib
import tempfile
import time

import numpy as np
import soundfile
import tensorflow as tf

from leaf_tf.data import pipeline, tasks
from leaf_tf.models import AudioClassifier


def windows_per_second(dataset: tf.data.Dataset, batch_size: int, seconds: float) -> float:
    iterator = iter(dataset)
    for _ in range(3):  # warm-up: fill the shuffle buffer and the prefetch queue
        next(iterator)
    count, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        next(iterator)
        count += batch_size
    return count / (time.perf_counter() - start)


def make_audio_folder(root: pathlib.Path, clips_per_class: int = 40) -> None:
    rng = np.random.default_rng(0)
    for label, freq in [("tone", 440.0), ("noise", None)]:
        folder = root / "train" / label
        folder.mkdir(parents=True, exist_ok=True)
        for index in range(clips_per_class):
            rate = 44100 if index % 2 else 16000
            t = np.arange(int(rate * rng.uniform(1.0, 4.0))) / rate
            mono = 0.3 * (np.sin(2 * np.pi * freq * t) if freq else rng.standard_normal(t.size))
            audio = np.stack([mono, mono], axis=1) if rate == 44100 else mono
            soundfile.write(folder / f"{index}.{'flac' if index % 3 else 'wav'}", audio, rate)


def training_windows_per_second(batch_size: int, steps: int) -> float:
    model = AudioClassifier(10, "leaf", "efficientnet_b0")
    model.compile(optimizer="adam", loss=model.default_loss())
    x = np.random.default_rng(0).standard_normal((batch_size, 16000)).astype(np.float32) * 0.1
    y = np.zeros(batch_size, np.int64)
    model.train_on_batch(x, y)  # trace
    start = time.perf_counter()
    for _ in range(steps):
        model.train_on_batch(x, y)
    return batch_size * steps / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data_dir", default=None)
    parser.add_argument("--batch_size", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="short measurements (a smoke test)")
    args = parser.parse_args()
    seconds, steps = (1.0, 1) if args.quick else (args.seconds, args.steps)

    rows = [("synthetic (leaf_synthetic/scene)",
             windows_per_second(pipeline.train_dataset("synthetic_scene", args.batch_size, args.data_dir),
                                args.batch_size, seconds))]
    with tempfile.TemporaryDirectory() as scratch:
        root = pathlib.Path(scratch) / "folder"
        make_audio_folder(root, 8 if args.quick else 40)
        name = tasks.audio_folder_task(str(root), name="benchmark_folder")
        start = time.perf_counter()
        dataset = pipeline.train_dataset(name, args.batch_size, pathlib.Path(scratch) / "tfds")
        prepare_s = time.perf_counter() - start
        rows.append((f"audio folder (prepared once in {prepare_s:.1f} s)",
                     windows_per_second(dataset, args.batch_size, seconds)))
    consumed = training_windows_per_second(args.batch_size, steps)
    print(f"| source | training windows / s (batch {args.batch_size}) | × LEAF+EfficientNetB0 training |")
    print("|---|---:|---:|")
    for label, rate in rows:
        print(f"| {label} | {rate:,.0f} | {rate / consumed:.1f} |")
    print(f"| LEAF + EfficientNetB0 training step (consumes) | {consumed:,.1f} | 1.0 |")


if __name__ == "__main__":
    main()
