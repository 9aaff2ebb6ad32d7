"""Builds `leaf_synthetic` and scores the log-mel + logistic-regression baseline (`leaf_tf.baseline`) on each task.

    python benchmarks/synthetic_baseline.py [--data_dir ~/tensorflow_datasets] [--tasks pitch,event]

Prints a Markdown table (test accuracy with its 95% Wilson interval, next to
chance, the majority-class rate), the generation time (when this run built
the data) and the size on disk.
"""

from __future__ import annotations

import argparse
import os
import pathlib
import time

import tensorflow_datasets as tfds

from leaf_tf import baseline
from leaf_tf.data import synthetic


def directory_size_bytes(path: pathlib.Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data_dir", default=os.path.expanduser("~/tensorflow_datasets"))
    parser.add_argument("--tasks", default=",".join(synthetic.TASKS), help="comma-separated subset of the tasks")
    args = parser.parse_args()
    tasks = args.tasks.split(",")

    builders = {task: tfds.builder(f"leaf_synthetic/{task}", data_dir=args.data_dir) for task in tasks}
    to_build = [task for task, builder in builders.items() if not builder.is_prepared()]
    start = time.perf_counter()
    synthetic.prepare(args.data_dir, to_build)
    generation_s = time.perf_counter() - start
    builders = {task: tfds.builder(f"leaf_synthetic/{task}", data_dir=args.data_dir) for task in tasks}

    results = {}
    for task in tasks:
        start = time.perf_counter()
        results[task] = baseline.evaluate_task(f"synthetic_{task}", args.data_dir)
        print(f"{task}: evaluated in {time.perf_counter() - start:.1f} s (l2 = {results[task]['l2']:g})", flush=True)

    print()
    print(
        "| task | classes | train / validation / test | clip length (s), min-mean-max | chance | log-mel + LR, test |"
    )
    print("|---|---:|---|---|---:|---:|")
    for task, r in results.items():
        counts = " / ".join(str(r["counts"][s]) for s in synthetic.SPLITS)
        lo, mean, hi = r["durations"]
        print(
            f"| {task} | {r['classes']} | {counts} | {lo:.1f}-{mean:.2f}-{hi:.1f} | {100 * r['chance']:.1f} % "
            f"| {100 * r['accuracy']:.1f} ± {100 * r['plus_minus']:.1f} % |"
        )
    total_clips = sum(sum(r["counts"].values()) for r in results.values())
    size_mb = sum(directory_size_bytes(pathlib.Path(b.data_dir)) for b in builders.values()) / 1e6
    print()
    if to_build:
        print(f"Generated {len(to_build)} config(s) ({', '.join(to_build)}) in {generation_s:.1f} s; ", end="")
    else:
        print("All configs were already prepared (delete them to time the generation); ", end="")
    print(f"{total_clips} clips, {size_mb:.0f} MB on disk under {args.data_dir}/leaf_synthetic.")


if __name__ == "__main__":
    main()
