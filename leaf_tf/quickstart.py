"""The README's main job: LEAF against Mel on the embedded synthetic benchmark, over several seeds, with a verdict.

    leaf-tf quickstart [--workdir outputs/quickstart] [--seeds 3] [--frontends mel leaf]
                                 [--jobs N] [--data_dir DIR] [--gin_bindings ...]

It is `leaf-tf compare` with the shipped config `quickstart` (a small
ConvNet trained on the five synthetic tasks at once, its recipe chosen by the
study in the README): every frontend is trained with `--seeds` seeds, each
run evaluated on the full test clips, then it prints the table of mean ± sd
over seeds, the paired differences with their 95% intervals, one verdict
line per pair, and the log-mel + logistic-regression baseline
(`leaf_tf.baseline`) beside the CNNs, saying where they fall below it.

The synthetic data is generated on first use (no download). Every run uses
one CPU thread and deterministic kernels, `--jobs` runs at a time (default:
one per core), so a second run of the command on the same kind of machine
prints the same numbers, whatever its number of cores. Re-running reuses
finished runs and resumes interrupted ones.
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import time

from leaf_tf import cli, compare

QUICKSTART_CONFIG = "quickstart"
BASELINE_FILE = "baseline.json"
BASELINE_COLUMN = "log-mel + LR"


def baseline_results(workdir: pathlib.Path, tasks: list[str], data_dir) -> dict[str, dict]:
    """The log-mel + logistic-regression baseline of each task, computed once and kept in `baseline.json`."""
    from leaf_tf import baseline
    from leaf_tf.training.files import atomic_write_text

    path = workdir / BASELINE_FILE
    saved = json.loads(path.read_text()) if path.exists() else {}
    missing = [task for task in tasks if task not in saved]
    for task in missing:
        saved[task] = baseline.evaluate_task(task, data_dir)
    if missing:
        workdir.mkdir(parents=True, exist_ok=True)
        atomic_write_text(path, json.dumps(saved, indent=2))
    return {task: saved[task] for task in tasks}


def below_baseline(results: list[dict], baselines: dict[str, dict]) -> list[str]:
    """One line per task on which some configuration's mean accuracy over seeds is below the baseline."""
    from leaf_tf import report

    groups = report.group_by_label(results)
    lines = []
    for task, reference in baselines.items():
        below = []
        for label, runs in groups.items():
            accuracies = [run["tasks"][task]["accuracy"] for run in runs if task in run["tasks"]]
            if accuracies and sum(accuracies) / len(accuracies) < reference["accuracy"]:
                below.append(f"{label} {100 * sum(accuracies) / len(accuracies):.1f}")
        if below:
            lines.append(f"{task}: {', '.join(below)} < {BASELINE_COLUMN} {100 * reference['accuracy']:.1f}: "
                         "this short recipe leaves the CNN below a linear model on fixed features here.")
    return lines


def run(args) -> str:
    from leaf_tf import report

    arms = compare.make_arms(args.frontends, args.variant, [QUICKSTART_CONFIG, *args.gin_config], args.gin_bindings)
    start = time.time()
    tasks = compare.prepare_data(arms, args.data_dir)
    baselines = baseline_results(args.workdir, tasks, args.data_dir)
    extra = {BASELINE_COLUMN: {task: (r["accuracy"], r["plus_minus"]) for task, r in baselines.items()}}
    jobs = args.jobs or min(os.cpu_count() or 1, len(arms) * args.seeds)
    text = compare.compare(args.workdir, arms, args.seeds, args.first_seed, args.data_dir, jobs,
                           args.threads_per_job or 1, extra_columns=extra, reference=args.reference)
    results = report.load_results([args.workdir / arm.label for arm in arms])
    results = [r for r in results if args.first_seed <= (r.get("seed") or 0) < args.first_seed + args.seeds]
    notes = below_baseline(results, baselines)
    from leaf_tf.data import tasks as tasks_lib

    chance = ", ".join(f"{name} {100 / tasks_lib.get_task(name).num_classes:.1f}%" for name in tasks)
    parts = [text, f"Chance levels: {chance}. {BASELINE_COLUMN}: log-mel statistics + logistic regression "
             "(leaf_tf.baseline), test accuracy ± 95% Wilson half-width."]
    if notes:
        parts.append("Below the linear baseline:\n" + "\n".join(notes))
    parts.append(f"({len(arms) * args.seeds} runs, {jobs} at a time; {time.time() - start:.0f} s; outputs in "
                 f"{args.workdir})")
    return "\n\n".join(parts)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="leaf-tf quickstart", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    compare.add_arguments(parser)
    parser.set_defaults(workdir=pathlib.Path("outputs/quickstart"), jobs=None)
    args = parser.parse_args(argv)
    cli.run("leaf-tf quickstart", lambda: print(run(args), flush=True))


if __name__ == "__main__":
    main()
