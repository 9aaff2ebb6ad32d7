"""Paper-style tables from evaluated runs.

    python -m leaf_tf.report WORKDIR [WORKDIR ...] [--table auto|3|4] [--format markdown|csv] [--output FILE]

Table 3 style (single-label tasks): one row per task, one column per
frontend with `accuracy ± half-width of the 95% Wilson interval` (%), the
paper's figure next to ours where the paper has one, and an average row (mean
of the accuracies; its ± combines the tasks' half-widths as independent
errors, `sqrt(sum h_i^2) / n`). Table 4 style (multi-label, AudioSet): one
row per frontend and encoder with the frontend's trainable parameters, mAP,
AUC and d-prime, and the paper's AUC and d-prime.

Each WORKDIR must hold `results.json` (written by `eval.py`).
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import math
import pathlib
import sys

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


def load_results(workdirs) -> list[dict]:
    """The `results.json` of each workdir (with a clear error for a workdir that has none)."""
    results = []
    for workdir in workdirs:
        path = pathlib.Path(workdir) / "results.json"
        if not path.exists():
            raise FileNotFoundError(f"{workdir} has no results.json: run eval.py --workdir={workdir} first.")
        results.append(json.loads(path.read_text()))
    return results


def _order_index(frontend: str) -> int:
    return FRONTEND_ORDER.index(frontend) if frontend in FRONTEND_ORDER else len(FRONTEND_ORDER)


def _frontend_order(names) -> list[str]:
    return sorted(set(names), key=lambda n: (_order_index(n), n))


def table3(results: list[dict]) -> list[list[str]]:
    """Rows (header first) of the task x frontend accuracy table."""
    cells: dict[tuple[str, str], dict] = {}
    for run in results:
        for task, result in run["tasks"].items():
            if result.get("metric") == "accuracy":
                cells[(task, run["frontend"])] = result
    frontends = _frontend_order(frontend for _, frontend in cells)
    paper_rows = list(PAPER_TABLE3)
    tasks = sorted({task for task, _ in cells},
                   key=lambda t: (paper_rows.index(t) if t in paper_rows else len(paper_rows), t))
    has_paper = {f: any(f in PAPER_TABLE3.get(t, {}) for t in tasks) for f in frontends}
    header = ["task"]
    for frontend in frontends:
        header.append(frontend)
        if has_paper[frontend]:
            header.append(f"{frontend} (paper)")
    rows = [header]
    sums = {f: [] for f in frontends}
    for task in tasks:
        row = [task]
        for frontend in frontends:
            result = cells.get((task, frontend))
            row.append(_percent(result["accuracy"], result["plus_minus"]) if result else "–")
            if result:
                sums[frontend].append((result["accuracy"], result["plus_minus"]))
            if has_paper[frontend]:
                paper = PAPER_TABLE3.get(task, {}).get(frontend)
                row.append(f"{paper[0]:.1f} ± {paper[1]:.1f}" if paper else "–")
        rows.append(row)
    average = ["average"]
    for frontend in frontends:
        values = sums[frontend]
        complete = len(values) == len(tasks) and values
        if complete:
            mean = sum(v for v, _ in values) / len(values)
            half = math.sqrt(sum(h * h for _, h in values)) / len(values)
            average.append(_percent(mean, half))
        else:
            average.append("–")
        if has_paper[frontend]:
            paper = PAPER_TABLE3_AVERAGE.get(frontend)
            full = set(tasks) == set(PAPER_TABLE3)
            average.append(f"{paper[0]:.1f} ± {paper[1]:.1f}" if paper and full else "–")
    rows.append(average)
    return rows


def table4(results: list[dict]) -> list[list[str]]:
    """Rows (header first) of the frontend x encoder AudioSet table."""
    rows = [["frontend", "encoder", "frontend params", "mAP", "AUC", "d′", "AUC (paper)", "d′ (paper)"]]
    entries = []
    for run in results:
        for result in run["tasks"].values():
            if result.get("metric") == "map":
                entries.append((run, result))
    entries.sort(key=lambda e: (e[0]["encoder"] or "", _order_index(e[0]["frontend"])))
    for run, result in entries:
        paper = PAPER_TABLE4.get((run["frontend"], run["encoder"]))
        rows.append([
            run["frontend"], run["encoder"] or "–", f"{run['parameters']['frontend']:,}", f"{result['map']:.3f}",
            f"{result['auc']:.3f}", f"{result['d_prime']:.2f}",
            f"{paper[0]:.3f}" if paper else "–", f"{paper[1]:.2f}" if paper else "–",
        ])
    return rows


def _percent(value: float, half_width: float) -> str:
    return f"{100 * value:.1f} ± {100 * half_width:.1f}"


def render(rows: list[list[str]], fmt: str = "markdown") -> str:
    if fmt == "csv":
        buffer = io.StringIO()
        csv.writer(buffer).writerows(rows)
        return buffer.getvalue()
    lines = ["| " + " | ".join(rows[0]) + " |", "|" + "|".join("---" for _ in rows[0]) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows[1:]]
    return "\n".join(lines)


def make_report(workdirs, table: str = "auto", fmt: str = "markdown") -> str:
    results = load_results(workdirs)
    multilabel = any(r.get("metric") == "map" for run in results for r in run["tasks"].values())
    single = any(r.get("metric") == "accuracy" for run in results for r in run["tasks"].values())
    parts = []
    if table in ("3", "auto") and single:
        parts.append(render(table3(results), fmt))
    if table in ("4", "auto") and multilabel:
        parts.append(render(table4(results), fmt))
    if not parts:
        raise ValueError(f"No results for table {table} in {list(map(str, workdirs))}.")
    return "\n\n".join(parts)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python -m leaf_tf.report", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("workdirs", nargs="+")
    parser.add_argument("--table", choices=["auto", "3", "4"], default="auto")
    parser.add_argument("--format", choices=["markdown", "csv"], default="markdown")
    parser.add_argument("--output", type=pathlib.Path)
    args = parser.parse_args(argv)
    try:
        text = make_report(args.workdirs, args.table, args.format)
    except (FileNotFoundError, ValueError) as error:
        sys.exit(f"leaf_tf.report: error: {error}")
    if args.output:
        args.output.write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
