"""What deterministic kernels cost: the quickstart's training with `train.deterministic` on and off.

    python benchmarks/determinism.py [--frontends mel leaf] [--steps 100] [--repeats 3] [--threads 2]

Each measurement is a fresh `python -m leaf_tf.commands.train` process
training `--steps` steps of the shipped `quickstart` config (two epochs, validation
included) with one setting; the two settings alternate so that load changes
hit both alike. Prints, per frontend, the training time of each setting
(`run.json`'s `train_seconds_this_run`: from the first step to the end, model
building and TensorFlow's start-up excluded) and the ratio on / off of each
pair: median and range over the repeats.
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import statistics
import subprocess
import sys
import tempfile

ROOT = pathlib.Path(__file__).resolve().parents[1]


def train_seconds(workdir: pathlib.Path, frontend: str, steps: int, deterministic: bool, threads: int,
                  data_dir: str | None) -> float:
    command = [sys.executable, "-m", "leaf_tf.commands.train", f"--workdir={workdir}",
               f"--gin_config=frontends/{frontend}", "--gin_config=quickstart",
               f"--gin_bindings=train.steps = {steps}", f"--gin_bindings=train.steps_per_epoch = {steps // 2}",
               f"--gin_bindings=train.deterministic = {deterministic}", "--gin_bindings=train.verbose = 0"]
    if data_dir:
        command.append(f"--data_dir={data_dir}")
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", TF_NUM_INTRAOP_THREADS=str(threads),
               TF_NUM_INTEROP_THREADS=str(threads))
    subprocess.run(command, cwd=ROOT, env=env, check=True, capture_output=True)
    return json.loads((workdir / "run.json").read_text())["train_seconds_this_run"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--frontends", nargs="+", default=["mel", "leaf"])
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--data_dir", default=None)
    args = parser.parse_args()

    rows = []
    with tempfile.TemporaryDirectory() as scratch:
        for frontend in args.frontends:
            times = {True: [], False: []}
            for repeat in range(args.repeats):
                for deterministic in (True, False) if repeat % 2 == 0 else (False, True):
                    workdir = pathlib.Path(scratch) / f"{frontend}-{repeat}-{deterministic}"
                    times[deterministic].append(train_seconds(workdir, frontend, args.steps, deterministic,
                                                              args.threads, args.data_dir))
                    print(f"{frontend} repeat {repeat} deterministic={deterministic}: "
                          f"{times[deterministic][-1]:.1f} s", flush=True)
            ratios = [on / off for on, off in zip(times[True], times[False])]
            rows.append((frontend, times, ratios))

    print()
    print(f"| frontend | deterministic (s) | not deterministic (s) | ratio on / off (median [range], {args.repeats} pairs) |")
    print("|---|---:|---:|---:|")
    for frontend, times, ratios in rows:
        print(f"| {frontend} | {statistics.median(times[True]):.1f} | {statistics.median(times[False]):.1f} | "
              f"{statistics.median(ratios):.3f} [{min(ratios):.3f}, {max(ratios):.3f}] |")
    print(f"\n{args.steps} steps of the quickstart config, {args.threads} CPU thread(s), on {os.cpu_count()} cores.")


if __name__ == "__main__":
    main()
