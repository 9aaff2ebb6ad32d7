"""Paper-style tables from evaluated runs, with seeds aggregated and paired differences.

    leaf-tf report PATH [PATH ...] [--table auto|3|4] [--format markdown|csv] [--output FILE]

Each PATH is a workdir holding `results.json` (written by `leaf-tf eval`) or a
directory of them (e.g. a `leaf_tf.compare` workdir: `<label>/seed-<k>/`).
Runs are grouped by their label (`train.label`, by default the frontend's
short name); runs of one label are seeds of one configuration.

Table 3 style (single-label tasks): one row per task, one column per label.
With one run per label a cell is `accuracy ± half-width of the 95% Wilson
interval` (%), the paper's figure beside ours where the paper has one, and
the average row is the mean of the accuracies (its ± combines the tasks'
half-widths as independent errors, `sqrt(sum h_i^2) / n`). With several seeds
a cell is `mean ± standard deviation over seeds [mean per-run Wilson
half-width]`, the average row likewise over each seed's average; then a
second table gives, for every pair of labels, the paired difference of
accuracies with its 95% interval (`statistics.paired_bootstrap`: over seeds
and test clips), `*` where it excludes zero, and one verdict line per pair.

Table 4 style (multi-label, AudioSet): one row per run with the frontend's
trainable parameters, mAP, AUC and d-prime, and the paper's AUC and d-prime.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import math
import pathlib
import sys
from collections.abc import Iterable

import numpy as np

from leaf_tf import statistics

# The paper's Table 3 (accuracy %, ± 95% interval), by our task name and frontend short name.
PAPER_TABLE3 = {
    "acoustic_scenes": {"mel": (99.1, 0.5), "tdfbanks": (98.3, 0.6), "sincnet": (91.0, 1.4), "leaf": (98.9, 0.5)},
    "birdsong": {"mel": (81.3, 0.9), "tdfbanks": (82.3, 0.9), "sincnet": (78.8, 0.9), "leaf": (81.9, 0.9)},
    "emotion": {"mel": (24.1, 2.1), "tdfbanks": (24.4, 2.1), "sincnet": (26.2, 2.1), "leaf": (31.9, 2.3)},
    "speaker_id": {"mel": (100.0, 0.0), "tdfbanks": (100.0, 0.0), "sincnet": (100.0, 0.0), "leaf": (100.0, 0.0)},
    "instrument": {"mel": (70.7, 0.6), "tdfbanks": (66.3, 0.6), "sincnet": (67.4, 0.6), "leaf": (70.2, 0.6)},
    "pitch": {"mel": (88.5, 0.4), "tdfbanks": (86.4, 0.4), "sincnet": (81.2, 0.5), "leaf": (88.6, 0.4)},
    "speech_commands": {"mel": (93.6, 0.3), "tdfbanks": (89.5, 0.4), "sincnet": (91.4, 0.4), "leaf": (93.6, 0.3)},
    "language_id": {"mel": (64.9, 0.5), "tdfbanks": (58.9, 0.5), "sincnet": (60.8, 0.5), "leaf": (69.6, 0.5)},
}
PAPER_TABLE3_AVERAGE = {"mel": (77.8, 0.7), "tdfbanks": (75.8, 0.7), "sincnet": (74.6, 0.8), "leaf": (79.3, 0.7)}

# The paper's Table 4 (AudioSet AUC, d-prime) by frontend and encoder ("pann" is the paper's "CNN14 (ours)").
PAPER_TABLE4 = {
    ("mel", "efficientnet_b0"): (0.966, 2.58), ("mel", "pann"): (0.973, 2.72), ("mel", "cnn14"): (0.973, 2.73),
    ("mel_pcen", "efficientnet_b0"): (0.966, 2.58), ("mel_pcen", "pann"): (0.973, 2.72),
    ("wavegram", "efficientnet_b0"): (0.950, 2.34), ("wavegram", "pann"): (0.962, 2.51),
    ("wavegram", "cnn14"): (0.968, 2.61),
    ("tdfbanks", "efficientnet_b0"): (0.962, 2.50), ("tdfbanks", "pann"): (0.972, 2.70),
    ("sincnet", "efficientnet_b0"): (0.959, 2.47), ("sincnet", "pann"): (0.970, 2.66),
    ("sincnet_plus", "efficientnet_b0"): (0.966, 2.58), ("sincnet_plus", "pann"): (0.973, 2.72),
    ("leaf", "efficientnet_b0"): (0.969, 2.63), ("leaf", "pann"): (0.974, 2.74),
}

FRONTEND_ORDER = ("mel", "mel_pcen", "tdfbanks", "sincnet", "sincnet_plus", "leaf", "wavegram")


# ------------------------------------------------------------------ loading and grouping


def find_runs(paths: Iterable) -> list[pathlib.Path]:
    """Workdirs holding `results.json`: each path itself, else the runs one or two levels below it."""
    found = []
    for path in map(pathlib.Path, paths):
        if (path / "results.json").exists():
            found.append(path)
            continue
        below = sorted({p.parent for pattern in ("*/results.json", "*/*/results.json") for p in path.glob(pattern)})
        if not below:
            raise FileNotFoundError(f"{path} has no results.json: run leaf-tf eval --workdir={path} first (or give a "
                                    "directory of evaluated runs).")
        found.extend(below)
    return found


def load_results(workdirs) -> list[dict]:
    """The `results.json` of each run found under `workdirs` (see `find_runs`)."""
    results = []
    for workdir in find_runs(workdirs):
        run = json.loads((workdir / "results.json").read_text())
        run.setdefault("label", run["frontend"])
        run["_workdir"] = str(workdir)
        results.append(run)
    return results


def _order_index(frontend: str) -> int:
    return FRONTEND_ORDER.index(frontend) if frontend in FRONTEND_ORDER else len(FRONTEND_ORDER)


def group_by_label(results: list[dict]) -> dict[str, list[dict]]:
    """`{label: runs sorted by seed}`, labels in the paper's frontend order, then by first appearance."""
    groups: dict[str, list[dict]] = {}
    for run in results:
        groups.setdefault(run["label"], []).append(run)
    for label, runs in groups.items():
        seeds = [run.get("seed") for run in runs]
        repeated = sorted({s for s in seeds if seeds.count(s) > 1}, key=str)
        if len(runs) > 1 and repeated:
            where = [run["_workdir"] for run in runs if run.get("seed") in repeated]
            raise ValueError(f"Label {label!r} has several runs with seed {repeated}: {where}. Give each run its own "
                             "train.seed, or each configuration its own train.label.")
        runs.sort(key=lambda run: (run.get("seed") is None, run.get("seed") or 0))
    first = {label: i for i, label in enumerate(groups)}
    ordered = sorted(groups, key=lambda label: (_order_index(groups[label][0]["frontend"]), first[label]))
    return {label: groups[label] for label in ordered}


def _accuracy_tasks(run: dict) -> dict[str, dict]:
    return {task: result for task, result in run["tasks"].items() if result.get("metric") == "accuracy"}


def _task_order(tasks) -> list[str]:
    paper_rows = list(PAPER_TABLE3)
    return sorted(set(tasks), key=lambda t: (paper_rows.index(t) if t in paper_rows else len(paper_rows), t))


# ------------------------------------------------------------------ table 3


def _percent(value: float, half_width: float) -> str:
    return f"{100 * value:.1f} ± {100 * half_width:.1f}"


def _paper_cell(paper) -> str:
    return f"{paper[0]:.1f} ± {paper[1]:.1f}" if paper else "–"


def table3(results: list[dict], extra_columns: dict[str, dict[str, tuple[float, float]]] | None = None) -> list[list[str]]:
    """Rows (header first) of the task x label accuracy table.

    `extra_columns`: `{column name: {task: (accuracy, half-width)}}` shown after
    the runs (e.g. a baseline), fractions like the runs' accuracies.
    """
    groups = group_by_label([run for run in results if _accuracy_tasks(run)])
    if any(len(runs) > 1 for runs in groups.values()):
        return _seed_table(groups, extra_columns)
    cells: dict[tuple[str, str], dict] = {}
    frontends = {}
    for label, (run,) in groups.items():
        frontends[label] = run["frontend"]
        for task, result in _accuracy_tasks(run).items():
            cells[(task, label)] = result
    labels = list(groups)
    tasks = _task_order(task for task, _ in cells)
    has_paper = {label: label == frontends[label] and any(label in PAPER_TABLE3.get(t, {}) for t in tasks)
                 for label in labels}
    header = ["task"]
    for label in labels:
        header += [label, f"{label} (paper)"] if has_paper[label] else [label]
    header += list(extra_columns or {})
    rows = [header]
    sums = {label: [] for label in labels}
    for task in tasks:
        row = [task]
        for label in labels:
            result = cells.get((task, label))
            row.append(_percent(result["accuracy"], result["plus_minus"]) if result else "–")
            if result:
                sums[label].append((result["accuracy"], result["plus_minus"]))
            if has_paper[label]:
                row.append(_paper_cell(PAPER_TABLE3.get(task, {}).get(label)))
        row += [_percent(*column[task]) if task in column else "–" for column in (extra_columns or {}).values()]
        rows.append(row)
    average = ["average"]
    for label in labels:
        values = sums[label]
        if len(values) == len(tasks) and values:
            mean = sum(v for v, _ in values) / len(values)
            half = math.sqrt(sum(h * h for _, h in values)) / len(values)
            average.append(_percent(mean, half))
        else:
            average.append("–")
        if has_paper[label]:
            full = set(tasks) == set(PAPER_TABLE3)
            average.append(_paper_cell(PAPER_TABLE3_AVERAGE.get(label) if full else None))
    average += [_extra_average(column, tasks) for column in (extra_columns or {}).values()]
    rows.append(average)
    return rows


def _extra_average(column: dict, tasks: list[str]) -> str:
    if not all(task in column for task in tasks):
        return "–"
    mean = sum(column[t][0] for t in tasks) / len(tasks)
    return _percent(mean, math.sqrt(sum(column[t][1] ** 2 for t in tasks)) / len(tasks))


def seed_statistics(runs: list[dict], tasks: list[str]) -> dict[str, dict]:
    """Per task and for the average over `tasks`: mean and sd over seeds, mean per-run Wilson half-width.

    The average's value per seed is the mean of that run's task accuracies,
    its half-width `sqrt(sum h_t^2) / n_tasks`; the average is missing when a
    run lacks a task.
    """
    stats = {}
    for task in tasks:
        results = [_accuracy_tasks(run).get(task) for run in runs]
        results = [r for r in results if r is not None]
        if results:
            mean, sd = statistics.seed_spread([r["accuracy"] for r in results])
            stats[task] = {"mean": mean, "sd": sd, "wilson": float(np.mean([r["plus_minus"] for r in results])),
                           "seeds": len(results)}
    if all(all(t in _accuracy_tasks(run) for t in tasks) for run in runs):
        per_seed = [np.mean([_accuracy_tasks(run)[t]["accuracy"] for t in tasks]) for run in runs]
        halves = [math.sqrt(sum(_accuracy_tasks(run)[t]["plus_minus"] ** 2 for t in tasks)) / len(tasks) for run in runs]
        mean, sd = statistics.seed_spread(per_seed)
        stats["average"] = {"mean": mean, "sd": sd, "wilson": float(np.mean(halves)), "seeds": len(runs)}
    return stats


def _seed_cell(stat: dict | None) -> str:
    if stat is None:
        return "–"
    sd = "–" if math.isnan(stat["sd"]) else f"{100 * stat['sd']:.1f}"
    return f"{100 * stat['mean']:.1f} ± {sd} [±{100 * stat['wilson']:.1f}]"


def _seed_table(groups: dict[str, list[dict]], extra_columns) -> list[list[str]]:
    tasks = _task_order(t for runs in groups.values() for run in runs for t in _accuracy_tasks(run))
    stats = {label: seed_statistics(runs, tasks) for label, runs in groups.items()}
    header = ["task"] + [f"{label} ({len(runs)} seed{'s' if len(runs) > 1 else ''})" for label, runs in groups.items()]
    header += list(extra_columns or {})
    rows = [header]
    for task in [*tasks, "average"]:
        row = [task] + [_seed_cell(stats[label].get(task)) for label in groups]
        if task == "average":
            row += [_extra_average(column, tasks) for column in (extra_columns or {}).values()]
        else:
            row += [_percent(*column[task]) if task in column else "–" for column in (extra_columns or {}).values()]
        rows.append(row)
    return rows


# ------------------------------------------------------------------ paired differences


def _correct_matrix(runs: list[dict], task: str) -> np.ndarray:
    """`[seeds, clips]` 0/1 correctness of each run on each clip of `task` (runs must share the clips)."""
    rows, reference = [], None
    for run in runs:
        result = run["tasks"][task]
        if "predictions" not in result:
            raise ValueError(f"{run['_workdir']}/results.json has no per-clip predictions; re-run leaf-tf eval on it.")
        labels = np.asarray(result["labels"])
        if reference is None:
            reference = labels
        elif labels.shape != reference.shape or not np.array_equal(labels, reference):
            raise ValueError(f"Runs disagree on the test clips of {task!r} ({run['_workdir']}): they cannot be paired.")
        rows.append(np.asarray(result["predictions"]) == labels)
    return np.asarray(rows, np.float64)


def _label_pairs(labels: list[str], reference: str | None) -> list[tuple[str, str]]:
    if reference is None:
        return [(first, second) for i, first in enumerate(labels) for second in labels[i + 1:]]
    if reference not in labels:
        raise ValueError(f"Reference {reference!r} is not among the runs' labels {labels}.")
    return [(reference, label) for label in labels if label != reference]


def paired_differences(results: list[dict], resamples: int = statistics.DEFAULT_RESAMPLES,
                       reference: str | None = None) -> list[dict]:
    """For each pair of labels (later minus earlier, in table order; or each label minus `reference`):
    `statistics.paired_bootstrap` on their common seeds and tasks, plus `{"a", "b", "seed_values",
    "task_names"}`. Pairs with no common seed are left out."""
    groups = group_by_label([run for run in results if _accuracy_tasks(run)])
    pairs = []
    for first, second in _label_pairs(list(groups), reference):
        by_seed_a = {run.get("seed"): run for run in groups[first]}
        by_seed_b = {run.get("seed"): run for run in groups[second]}
        seeds = [s for s in by_seed_a if s in by_seed_b]
        if not seeds:
            continue
        runs_a, runs_b = [by_seed_a[s] for s in seeds], [by_seed_b[s] for s in seeds]
        tasks = [t for t in _task_order(_accuracy_tasks(runs_a[0]))
                 if all(t in _accuracy_tasks(r) for r in runs_a + runs_b)]
        if not tasks:
            continue
        both = {t: _correct_matrix(runs_a + runs_b, t) for t in tasks}  # also checks that they share the clips
        comparison = statistics.paired_bootstrap(
            {t: both[t][len(seeds):] for t in tasks}, {t: both[t][: len(seeds)] for t in tasks},
            resamples=resamples,
        )
        pairs.append({"a": first, "b": second, "seed_values": seeds, "task_names": tasks, **comparison})
    return pairs


def _difference_cell(entry: dict) -> str:
    mark = " *" if entry["significant"] else ""
    return (f"{100 * entry['difference']:+.1f} [{100 * entry['low']:+.1f}, {100 * entry['high']:+.1f}]{mark}"
            .replace("-", "−"))


def differences_table(pairs: list[dict]) -> list[list[str]]:
    """Rows (header first): one per pair, the paired difference per task and on the average."""
    tasks = _task_order(t for pair in pairs for t in pair["task_names"])
    rows = [["difference (points)", *tasks, "average"]]
    for pair in pairs:
        cells = [_difference_cell(pair["tasks"][t]) if t in pair["tasks"] else "–" for t in tasks]
        rows.append([f"{pair['b']} − {pair['a']}", *cells, _difference_cell(pair["average"])])
    return rows


def verdict(pair: dict) -> str:
    """One line: the average difference of a pair, its interval and whether it excludes zero."""
    average = pair["average"]
    clips = sum(pair["clips"].values())
    significance = "significant" if average["significant"] else "not significant"
    text = (f"{pair['b']} − {pair['a']}: {100 * average['difference']:+.1f} points on average, "
            f"{round(100 * pair['confidence'])}% CI [{100 * average['low']:+.1f}, {100 * average['high']:+.1f}], "
            f"{significance} ({pair['seeds']} seed{'s' if pair['seeds'] > 1 else ''} × {clips} test clips)")
    return text.replace("-", "−")


def table4(results: list[dict]) -> list[list[str]]:
    """Rows (header first) of the frontend x encoder AudioSet table (one row per run; seeds in their own column)."""
    rows = [["frontend", "encoder", "seed", "frontend params", "mAP", "AUC", "d′", "AUC (paper)", "d′ (paper)"]]
    entries = []
    for run in results:
        for result in run["tasks"].values():
            if result.get("metric") == "map":
                entries.append((run, result))
    entries.sort(key=lambda e: (e[0]["encoder"] or "", _order_index(e[0]["frontend"]), e[0]["label"],
                                e[0].get("seed") or 0))
    for run, result in entries:
        paper = PAPER_TABLE4.get((run["label"], run["encoder"]))
        seed = run.get("seed")
        rows.append([
            run["label"], run["encoder"] or "–", "–" if seed is None else str(seed),
            f"{run['parameters']['frontend']:,}", f"{result['map']:.3f}", f"{result['auc']:.3f}",
            f"{result['d_prime']:.2f}", f"{paper[0]:.3f}" if paper else "–", f"{paper[1]:.2f}" if paper else "–",
        ])
    return rows


def render(rows: list[list[str]], fmt: str = "markdown") -> str:
    if fmt == "csv":
        buffer = io.StringIO()
        csv.writer(buffer).writerows(rows)
        return buffer.getvalue()
    lines = ["| " + " | ".join(rows[0]) + " |", "|" + "|".join("---" for _ in rows[0]) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows[1:]]
    return "\n".join(lines)


SEED_CAPTION = ("Accuracy (%) on full test clips: mean ± standard deviation over seeds [mean half-width of each "
                "run's 95% Wilson interval].")
DIFFERENCE_CAPTION = ("Paired differences of accuracy (points) with 95% bootstrap intervals over seeds and test clips "
                      "(runs paired by seed, clips by position); * marks an interval that excludes zero.")


def comparison_text(results: list[dict], fmt: str = "markdown",
                    extra_columns: dict[str, dict[str, tuple[float, float]]] | None = None,
                    reference: str | None = None) -> str:
    """Table 3 of `results` and, when some label has several seeds, its paired differences and verdicts
    (every pair of labels, or every label against `reference`)."""
    rows = table3(results, extra_columns)
    groups = group_by_label([run for run in results if _accuracy_tasks(run)])
    if not any(len(runs) > 1 for runs in groups.values()):
        return render(rows, fmt)
    pairs = paired_differences(results, reference=reference)
    parts = [render(rows, fmt)]
    if fmt == "markdown":
        parts[0] = SEED_CAPTION + "\n\n" + parts[0]
    if pairs:
        differences = render(differences_table(pairs), fmt)
        parts.append(DIFFERENCE_CAPTION + "\n\n" + differences if fmt == "markdown" else differences)
        if fmt == "markdown":
            parts.append("\n".join(verdict(pair) for pair in pairs))
    return "\n\n".join(parts)


def make_report(workdirs, table: str = "auto", fmt: str = "markdown", reference: str | None = None) -> str:
    results = load_results(workdirs)
    multilabel = any(r.get("metric") == "map" for run in results for r in run["tasks"].values())
    single = any(r.get("metric") == "accuracy" for run in results for r in run["tasks"].values())
    parts = []
    if table in ("3", "auto") and single:
        parts.append(comparison_text(results, fmt, reference=reference))
    if table in ("4", "auto") and multilabel:
        parts.append(render(table4(results), fmt))
    if not parts:
        raise ValueError(f"No results for table {table} in {list(map(str, workdirs))}.")
    return "\n\n".join(parts)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="leaf-tf report", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("workdirs", nargs="+", help="run workdirs, or directories of them")
    parser.add_argument("--table", choices=["auto", "3", "4"], default="auto")
    parser.add_argument("--format", choices=["markdown", "csv"], default="markdown")
    parser.add_argument("--output", type=pathlib.Path)
    parser.add_argument("--reference", default=None,
                        help="compare every label with this one only (default: every pair of labels)")
    args = parser.parse_args(argv)
    try:
        text = make_report(args.workdirs, args.table, args.format, args.reference)
    except (FileNotFoundError, ValueError) as error:
        sys.exit(f"leaf-tf report: error: {error}")
    if args.output:
        args.output.write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
