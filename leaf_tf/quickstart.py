"""The README's main job: train LEAF and Mel on the embedded synthetic benchmark, evaluate both, compare.

    python -m leaf_tf.quickstart [--workdir outputs/quickstart] [--data_dir DIR] [--frontends mel leaf]

For each frontend this runs what `train.py` and `eval.py` run with
`--gin_config=configs/frontends/<frontend>.gin --gin_config=configs/quickstart.gin`
(a small ConvNet trained on the five synthetic tasks at once, a few minutes on
two CPU cores), then prints a Table-3-style comparison (`leaf_tf.report`)
with each task's chance level. The synthetic data is generated on first use
(no download). Re-running resumes or reuses finished runs.
"""

from __future__ import annotations

import argparse
import os
import pathlib
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import gin  # noqa: E402

from leaf_tf import cli, evaluation, report, training  # noqa: E402
from leaf_tf.data import tasks as tasks_lib  # noqa: E402


def run(workdir: pathlib.Path, data_dir: str | None, frontends: list[str], bindings: list[str], verbose) -> str:
    workdirs = []
    for frontend in frontends:
        gin.clear_config()
        cli.parse_gin([f"configs/frontends/{frontend}.gin", "configs/quickstart.gin"], bindings)
        run_dir = workdir / frontend
        start = time.time()
        print(f"== {frontend}: training in {run_dir}", flush=True)
        summary = training.train(str(run_dir), data_dir, verbose=verbose)
        print(f"== {frontend}: {summary['steps']} steps in {time.time() - start:.0f} s; evaluating on full clips", flush=True)
        evaluation.evaluate(run_dir, data_dir)
        workdirs.append(run_dir)
    table = report.make_report(workdirs, table="3")
    chance = ", ".join(f"{name} {100 / tasks_lib.get_task(name).num_classes:.1f}%" for name in tasks_lib.SYNTHETIC_TASK_NAMES)
    return f"{table}\n\nChance levels: {chance}. Accuracy ± half-width of the 95% Wilson interval, full test clips."


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python -m leaf_tf.quickstart", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workdir", type=pathlib.Path, default=pathlib.Path("outputs/quickstart"))
    parser.add_argument("--data_dir", default=None, help="TFDS data directory (default: TFDS's)")
    parser.add_argument("--frontends", nargs="+", default=["mel", "leaf"])
    parser.add_argument("--gin_bindings", action="append", default=[], help="extra gin bindings")
    parser.add_argument("--verbose", default=2, help="Keras verbosity (0, 1, 2)")
    args = parser.parse_args(argv)

    def go():
        print(run(args.workdir, args.data_dir, args.frontends, args.gin_bindings, int(args.verbose)))

    cli.run("leaf_tf.quickstart", go)


if __name__ == "__main__":
    main()
