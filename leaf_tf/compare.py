"""Compare frontends over several training seeds: train and evaluate every (configuration, seed), then report.

    leaf-tf compare --workdir runs/cmp --gin_config quickstart \
        --frontends mel leaf --seeds 3 [--variant leaf_lr0.1 leaf "train.frontend_learning_rate_multiplier = 0.1"] \
        [--gin_bindings ...] [--jobs 2] [--data_dir DIR]

Each configuration ("arm") is a frontend file (the shipped config `frontends/<frontend>`)
followed by the shared `--gin_config` files and `--gin_bindings`; a
`--variant NAME FRONTEND [BINDING ...]` adds an arm with its own bindings
(applied last). Every arm is trained with seeds `first_seed ... first_seed +
seeds - 1` (`train.seed`), each run in its own workdir `<workdir>/<arm>/seed-<k>`
by `python -m leaf_tf.commands.train --evaluate` (training, then evaluation on
the full test clips), in subprocesses, `--jobs` at a time.

Resumable: re-running the command skips evaluated runs, evaluates trained
ones and resumes interrupted ones; adding seeds or arms trains only what is
new. `<workdir>/compare.json` records each arm's definition, and a re-run
that defines an existing arm differently stops with an error instead of
mixing runs of two settings.

Every run uses deterministic kernels (`train.deterministic`) and a fixed
number of CPU threads (`--threads_per_job`, default: the machine's cores
divided by `--jobs`): the same command on the same kind of machine gives the
same numbers whatever else runs beside it. Prints `leaf_tf.report`'s table
with mean ± sd over seeds, paired differences and one verdict per pair.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import pathlib
import subprocess
import sys
import time

from leaf_tf import cli
from leaf_tf import configs as shipped_configs

COMPARE_FILE = "compare.json"


@dataclasses.dataclass(frozen=True)
class Arm:
    """One configuration of a comparison: a frontend, shared configs, its own bindings."""

    label: str
    frontend: str
    configs: tuple[str, ...]
    bindings: tuple[str, ...]

    def definition(self) -> dict:
        return {"frontend": self.frontend, "configs": list(self.configs), "bindings": list(self.bindings)}


@dataclasses.dataclass(frozen=True)
class Job:
    arm: Arm
    seed: int
    workdir: pathlib.Path

    @property
    def name(self) -> str:
        return f"{self.arm.label} seed {self.seed}"


def make_arms(frontends, variants, configs, bindings) -> list[Arm]:
    """Arms for plain `frontends` and for `variants` (`[NAME, FRONTEND, BINDING...]` lists)."""
    arms = [Arm(f, f, (f"frontends/{f}", *configs), tuple(bindings)) for f in frontends]
    for variant in variants or ():
        if len(variant) < 2:
            raise cli.UsageError(f"--variant needs NAME FRONTEND [BINDING ...], got {variant}.")
        name, frontend, *extra = variant
        arms.append(Arm(name, frontend, (f"frontends/{frontend}", *configs), (*bindings, *extra)))
    labels = [arm.label for arm in arms]
    duplicates = sorted({label for label in labels if labels.count(label) > 1})
    if duplicates:
        raise cli.UsageError(f"Two arms are called {duplicates}: give each --variant its own name.")
    for arm in arms:
        if not arm.label.replace("_", "").replace("-", "").replace(".", "").isalnum():
            raise cli.UsageError(f"Arm name {arm.label!r}: use letters, digits, '_', '-' and '.' only.")
    known = shipped_configs.names_in("frontends")
    for arm in arms:
        if arm.frontend not in known:
            name = f"frontend {arm.frontend!r}" if arm.label == arm.frontend else f"frontend {arm.frontend!r} of {arm.label!r}"
            raise cli.UsageError(f"unknown {name}: choose from {', '.join(known)}.")
        for config in arm.configs:
            cli.find_config(config)  # a missing file fails now, not in the 5th subprocess
    return arms


def check_manifest(workdir: pathlib.Path, arms: list[Arm]) -> None:
    """Records the arms in `compare.json`; refuses arms whose recorded definition differs."""
    path = workdir / COMPARE_FILE
    recorded = json.loads(path.read_text())["arms"] if path.exists() else {}
    for arm in arms:
        if arm.label in recorded and _canonical(recorded[arm.label]) != _canonical(arm.definition()):
            raise cli.UsageError(
                f"{workdir / arm.label} holds runs of another '{arm.label}' ({recorded[arm.label]}); this command "
                f"defines it as {arm.definition()}. Use another --workdir or another name for the changed arm."
            )
    recorded.update({arm.label: arm.definition() for arm in arms})
    workdir.mkdir(parents=True, exist_ok=True)
    from leaf_tf.training.files import atomic_write_text

    atomic_write_text(path, json.dumps({"arms": recorded}, indent=2))


def _canonical(definition: dict) -> dict:
    """An arm's definition with shipped configs by short name (`configs/frontends/mel.gin` = `frontends/mel`)."""
    return {**definition, "configs": [shipped_configs.short_name(config) for config in definition["configs"]]}


def prepare_data(arms: list[Arm], data_dir: str | None) -> list[str]:
    """Parses each arm's gin config, checks its tasks' datasets (preparing generated ones: the synthetic
    benchmark, audio folders) before any subprocess starts; returns the tasks, in config order."""
    import gin

    from leaf_tf.data.tasks import load_split

    tasks: list[str] = []
    for arm in arms:
        gin.clear_config()
        try:
            cli.parse_gin(arm.configs, arm.bindings)
            try:
                names = gin.query_parameter("train.tasks")
            except ValueError:
                raise cli.UsageError(f"arm {arm.label!r}: its gin config binds no train.tasks.") from None
        finally:
            gin.clear_config()
        for name in [names] if isinstance(names, str) else list(names):
            if name not in tasks:
                load_split(name, "train", data_dir)
                tasks.append(name)
    return tasks


def _run_bindings(job: Job) -> list[str]:
    # One line per epoch in the run's log.txt (a progress bar would fill it with carriage returns).
    return ["train.verbose = 2", *job.arm.bindings, f"train.seed = {job.seed}", f'train.label = "{job.arm.label}"']


def job_command(job: Job, data_dir: str | None) -> list[str] | None:
    """The command line of one run: train then evaluate (one process); evaluate only when it is trained;
    None when it is evaluated."""
    if (job.workdir / "results.json").exists():
        return None
    data = [f"--data_dir={data_dir}"] if data_dir else []
    if (job.workdir / "run.json").exists() and (job.workdir / "final.keras").exists():
        return [sys.executable, "-m", "leaf_tf.commands.eval", f"--workdir={job.workdir}", *data]
    train = [sys.executable, "-m", "leaf_tf.commands.train", f"--workdir={job.workdir}", "--evaluate", *data]
    train += [f"--gin_config={config}" for config in job.arm.configs]
    train += [f"--gin_bindings={binding}" for binding in _run_bindings(job)]
    return train


def job_environment(threads: int) -> dict:
    env = dict(os.environ)
    env.update(TF_NUM_INTRAOP_THREADS=str(threads), TF_NUM_INTEROP_THREADS=str(threads))
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(cli.PACKAGE_PARENT), env.get("PYTHONPATH", "")]))
    return env


class _Running:
    def __init__(self, job: Job, command: list[str], env: dict):
        self.job = job
        self.started = time.time()
        job.workdir.mkdir(parents=True, exist_ok=True)
        self.log = open(job.workdir / "log.txt", "a")  # noqa: SIM115 (closed by poll)
        self.log.write(f"$ {' '.join(command)}\n")
        self.log.flush()
        self.process = subprocess.Popen(command, stdout=self.log, stderr=subprocess.STDOUT, env=env)

    def poll(self) -> int | None:
        """None while running, else the exit status."""
        status = self.process.poll()
        if status is not None:
            self.log.close()
        return status

    def last_error(self) -> str:
        lines = [line.strip() for line in (self.job.workdir / "log.txt").read_text().splitlines() if line.strip()]
        errors = [line for line in lines if "error" in line.lower()]
        return (errors or lines or ["no output"])[-1]


def run_jobs(jobs: list[Job], data_dir: str | None, parallel: int, threads: int, log=print) -> None:
    """Runs every job's command, `parallel` at a time; raises `TrainingError` naming the first failure."""
    from leaf_tf.training import TrainingError

    env = job_environment(threads)
    pending = [(job, job_command(job, data_dir)) for job in jobs]
    todo = [(job, command) for job, command in pending if command]
    done = len(jobs) - len(todo)
    if done:
        log(f"{done} of {len(jobs)} runs already evaluated: reusing them.")
    running: list[_Running] = []
    failure = None
    while todo or running:
        while todo and len(running) < parallel and failure is None:
            job, command = todo.pop(0)
            what = "training and evaluating" if "--evaluate" in command else "evaluating"
            log(f"[{done + len(running) + 1}/{len(jobs)}] {job.name}: {what} in {job.workdir}")
            running.append(_Running(job, command, env))
        if failure is not None:
            todo = []
        time.sleep(0.2)
        for entry in list(running):
            status = entry.poll()
            if status is None:
                continue
            running.remove(entry)
            done += 1
            if status == 0:
                log(f"    {entry.job.name}: done in {time.time() - entry.started:.0f} s")
            elif failure is None:
                failure = f"{entry.job.name} failed ({entry.last_error()}); its log: {entry.job.workdir / 'log.txt'}"
    if failure:
        raise TrainingError(failure)


def default_threads(parallel: int) -> int:
    return max(1, (os.cpu_count() or 1) // max(1, parallel))


def compare(workdir, arms: list[Arm], seeds: int, first_seed: int = 0, data_dir: str | None = None,
            parallel: int = 1, threads: int | None = None, extra_columns=None, reference: str | None = None,
            log=print) -> str:
    """Trains and evaluates every arm with every seed (resuming), then returns the report's text."""
    from leaf_tf import report

    if seeds < 1:
        raise cli.UsageError(f"--seeds must be at least 1, got {seeds}.")
    workdir = pathlib.Path(workdir)
    check_manifest(workdir, arms)
    prepare_data(arms, data_dir)
    jobs = [Job(arm, seed, workdir / arm.label / f"seed-{seed}") for seed in range(first_seed, first_seed + seeds)
            for arm in arms]
    run_jobs(jobs, data_dir, parallel, threads or default_threads(parallel), log)
    results = report.load_results([job.workdir for job in jobs])
    return report.comparison_text(results, extra_columns=extra_columns, reference=reference)


def add_arguments(parser: argparse.ArgumentParser, frontends=("mel", "leaf"), seeds: int = 3) -> None:
    parser.add_argument("--workdir", type=pathlib.Path, required=parser.prog.endswith("compare"))
    parser.add_argument("--gin_config", action="append", default=[], help="shared gin files (after the frontend's)")
    parser.add_argument("--gin_bindings", action="append", default=[], help="shared gin bindings")
    parser.add_argument("--frontends", nargs="*", default=list(frontends), help="arms: one per frontend")
    parser.add_argument("--variant", nargs="+", action="append", default=[], metavar="NAME FRONTEND [BINDING]",
                        help="an extra arm: a name, a frontend and its own gin bindings")
    parser.add_argument("--seeds", type=int, default=seeds, help="training seeds per arm")
    parser.add_argument("--first_seed", type=int, default=0)
    parser.add_argument("--jobs", type=int, default=1, help="runs trained at the same time")
    parser.add_argument("--threads_per_job", type=int, default=None,
                        help="CPU threads of each run (default: cores / jobs)")
    parser.add_argument("--data_dir", default=None, help="TFDS data directory (default: TFDS's)")
    parser.add_argument("--reference", default=None, help="compare every arm with this one only (default: all pairs)")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="leaf-tf compare", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    add_arguments(parser)
    args = parser.parse_args(argv)

    def go():
        arms = make_arms(args.frontends, args.variant, args.gin_config, args.gin_bindings)
        print(compare(args.workdir, arms, args.seeds, args.first_seed, args.data_dir, args.jobs, args.threads_per_job,
                      reference=args.reference), flush=True)

    cli.run("leaf-tf compare", go)


if __name__ == "__main__":
    main()
