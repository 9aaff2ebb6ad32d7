"""Paper-style tables from results.json files."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from leaf_tf import metrics, report


def _write(workdir, frontend, encoder, tasks):
    workdir.mkdir(parents=True)
    results = {"frontend": frontend, "encoder": encoder, "parameters": {"frontend": 448, "encoder": 1, "heads": 1, "total": 450},
               "steps": 10, "tasks": tasks}
    (workdir / "results.json").write_text(json.dumps(results))
    return workdir


def _accuracy(value, half):
    return {"metric": "accuracy", "accuracy": value, "plus_minus": half, "low": value - half, "high": value + half, "count": 100}


def test_table3_with_paper_columns_and_average(tmp_path):
    leaf = _write(tmp_path / "leaf", "leaf", "efficientnet_b0",
                  {"emotion": _accuracy(0.30, 0.02), "speech_commands": _accuracy(0.90, 0.01)})
    mel = _write(tmp_path / "mel", "mel", "efficientnet_b0", {"emotion": _accuracy(0.25, 0.02)})
    rows = report.table3(report.load_results([leaf, mel]))
    assert rows[0] == ["task", "mel", "mel (paper)", "leaf", "leaf (paper)"]
    emotion = next(r for r in rows if r[0] == "emotion")
    assert emotion == ["emotion", "25.0 ± 2.0", "24.1 ± 2.1", "30.0 ± 2.0", "31.9 ± 2.3"]
    speech = next(r for r in rows if r[0] == "speech_commands")
    assert speech[1] == "–" and speech[3] == "90.0 ± 1.0"
    average = rows[-1]
    assert average[0] == "average" and average[1] == "–"  # mel lacks a task: no average
    assert average[3] == f"60.0 ± {100 * (0.02**2 + 0.01**2) ** 0.5 / 2:.1f}"
    assert average[4] == "–"  # the paper's average covers all 8 tasks


def test_table4_and_markdown_csv(tmp_path):
    result = {"metric": "map", "map": 0.31, "auc": 0.9712, "d_prime": 2.6789, "count": 20}
    run = _write(tmp_path / "a", "leaf", "efficientnet_b0", {"audioset": result})
    text = report.make_report([run], table="4")
    assert "| leaf | efficientnet_b0 | – | 448 | 0.310 | 0.971 | 2.68 | 0.969 | 2.63 |" in text
    csv_text = report.make_report([run], table="4", fmt="csv")
    assert csv_text.splitlines()[0].startswith("frontend,encoder,seed,frontend params")
    with pytest.raises(ValueError, match="No results for table 3"):
        report.make_report([run], table="3")


def test_paper_figures_only_beside_the_paper_tasks(tmp_path):
    """`speech_commands_12` (12 classes) and `speaker_id_voxceleb` are not the paper's Table 3 rows."""
    run = _write(tmp_path / "leaf", "leaf", "efficientnet_b0",
                 {"speech_commands_12": _accuracy(0.95, 0.01), "speaker_id_voxceleb": _accuracy(0.50, 0.01)})
    rows = report.table3(report.load_results([run]))
    assert rows[0] == ["task", "leaf"]  # no paper figure to show beside them


# ---------------------------------------------------------------- seeds and paired differences

LABELS = {"task_a": [0, 1, 2, 0], "task_b": [1, 1, 0, 0, 1]}
# Predictions of each (label, seed); accuracies worked out by hand in the comments.
PREDICTIONS = {
    ("mel", 0): {"task_a": [0, 1, 0, 0], "task_b": [1, 0, 0, 0, 0]},  # 3/4, 3/5
    ("mel", 1): {"task_a": [0, 1, 2, 0], "task_b": [0, 0, 1, 1, 0]},  # 4/4, 0/5
    ("mel", 2): {"task_a": [1, 1, 0, 0], "task_b": [1, 1, 0, 0, 0]},  # 2/4, 4/5
    ("leaf", 0): {"task_a": [0, 0, 0, 1], "task_b": [1, 1, 0, 0, 1]},  # 1/4, 5/5
    ("leaf", 1): {"task_a": [0, 1, 2, 1], "task_b": [1, 1, 0, 1, 1]},  # 3/4, 4/5
    ("leaf", 2): {"task_a": [0, 1, 2, 0], "task_b": [1, 1, 0, 0, 0]},  # 4/4, 4/5
}


def _seed_run(root, label, seed, predictions):
    tasks = {}
    for task, labels in LABELS.items():
        scores = np.eye(3)[predictions[task]]
        tasks[task] = {"metric": "accuracy", **metrics.accuracy(np.array(labels), scores),
                       "labels": labels, "predictions": predictions[task]}
    workdir = root / label / f"seed-{seed}"
    workdir.mkdir(parents=True)
    run = {"frontend": label, "label": label, "seed": seed, "encoder": "convnet", "steps": 10,
           "parameters": {"frontend": 0, "encoder": 1, "heads": 1, "total": 2}, "tasks": tasks}
    (workdir / "results.json").write_text(json.dumps(run))


@pytest.fixture
def seed_runs(tmp_path):
    for (label, seed), predictions in PREDICTIONS.items():
        _seed_run(tmp_path, label, seed, predictions)
    return tmp_path


def _cell(values, halves):
    mean = np.mean(values)
    sd = np.std(values, ddof=1)
    return f"{100 * mean:.1f} ± {100 * sd:.1f} [±{100 * np.mean(halves):.1f}]"


def _wilson_half(correct, total):
    low, high = metrics.wilson_interval(correct, total)
    return (high - low) / 2


def test_seed_table_gives_mean_and_sd_over_seeds_beside_the_wilson_interval(seed_runs):
    rows = report.table3(report.load_results([seed_runs]))  # a directory of runs is searched
    assert rows[0] == ["task", "mel (3 seeds)", "leaf (3 seeds)"]
    table = {row[0]: row[1:] for row in rows[1:]}
    mel_a, leaf_a = [3, 4, 2], [1, 3, 4]
    mel_b, leaf_b = [3, 0, 4], [5, 4, 4]
    assert table["task_a"] == [_cell(np.divide(mel_a, 4), [_wilson_half(k, 4) for k in mel_a]),
                               _cell(np.divide(leaf_a, 4), [_wilson_half(k, 4) for k in leaf_a])]
    assert table["task_b"][1] == _cell(np.divide(leaf_b, 5), [_wilson_half(k, 5) for k in leaf_b])
    # The average row: each seed's mean over the two tasks, then mean and sd over seeds.
    mel_average = [(a / 4 + b / 5) / 2 for a, b in zip(mel_a, mel_b)]
    halves = [math.hypot(_wilson_half(a, 4), _wilson_half(b, 5)) / 2 for a, b in zip(mel_a, mel_b)]
    assert table["average"][0] == _cell(mel_average, halves)
    assert table["average"][0].startswith("60.8 ± 9.5")  # (0.675, 0.5, 0.65): mean 0.6083, sd 0.0947


def test_paired_differences_and_verdicts(seed_runs):
    results = report.load_results([seed_runs])
    (pair,) = report.paired_differences(results, resamples=4000)
    assert (pair["a"], pair["b"], pair["seeds"]) == ("mel", "leaf", 3)
    # leaf - mel per task: mean over seeds and clips of the difference of correctness.
    assert pair["tasks"]["task_a"]["difference"] == pytest.approx((8 - 9) / 12)
    assert pair["tasks"]["task_b"]["difference"] == pytest.approx((13 - 7) / 15)
    assert pair["average"]["difference"] == pytest.approx(((8 - 9) / 12 + (13 - 7) / 15) / 2)
    for entry in [*pair["tasks"].values(), pair["average"]]:
        assert entry["low"] <= entry["difference"] <= entry["high"]
    rows = report.differences_table([pair])
    assert rows[0] == ["difference (points)", "task_a", "task_b", "average"]
    assert rows[1][0] == "leaf − mel" and rows[1][1].startswith("−8.3 [")
    line = report.verdict(pair)
    assert line.startswith("leaf − mel: +15.8 points on average, 95% CI [")
    assert line.endswith(("not significant (3 seeds × 9 test clips)", ", significant (3 seeds × 9 test clips)"))
    text = report.make_report([seed_runs])
    assert "mean ± standard deviation over seeds" in text and "| leaf − mel |" in text
    assert "\nleaf − mel: +15.8 points on average, 95% CI [" in text


def test_a_clear_difference_is_marked_significant(tmp_path):
    always = {task: labels for task, labels in LABELS.items()}
    never = {task: [(label + 1) % 3 for label in labels] for task, labels in LABELS.items()}
    for seed in range(2):
        _seed_run(tmp_path, "mel", seed, never)
        _seed_run(tmp_path, "leaf", seed, always)
    (pair,) = report.paired_differences(report.load_results([tmp_path]), resamples=500)
    assert pair["average"] == {"difference": 1.0, "low": 1.0, "high": 1.0, "significant": True}
    assert report.differences_table([pair])[1][3] == "+100.0 [+100.0, +100.0] *"


def test_runs_that_cannot_be_compared_are_refused(seed_runs, tmp_path):
    copy = tmp_path / "copy"
    _seed_run(copy, "mel", 0, PREDICTIONS[("mel", 0)])
    with pytest.raises(ValueError, match="several runs with seed"):
        report.table3(report.load_results([seed_runs / "mel", copy]))
    other = tmp_path / "other"
    _seed_run(other, "leaf", 0, PREDICTIONS[("leaf", 0)])
    path = other / "leaf" / "seed-0" / "results.json"
    run = json.loads(path.read_text())
    run["tasks"]["task_a"]["labels"] = [2, 2, 2, 2]
    path.write_text(json.dumps(run))
    with pytest.raises(ValueError, match="disagree on the test clips"):
        report.paired_differences(report.load_results([seed_runs / "mel", other]))
    with pytest.raises(FileNotFoundError, match="no results.json"):
        report.load_results([tmp_path / "nothing-here"])


def test_a_reference_label_limits_the_pairs(seed_runs):
    for seed in range(3):
        _seed_run(seed_runs, "sincnet", seed, PREDICTIONS[("mel", seed)])
    results = report.load_results([seed_runs])
    assert [(p["a"], p["b"]) for p in report.paired_differences(results, resamples=100)] == [
        ("mel", "sincnet"), ("mel", "leaf"), ("sincnet", "leaf")]
    pairs = report.paired_differences(results, resamples=100, reference="mel")
    assert [(p["a"], p["b"]) for p in pairs] == [("mel", "sincnet"), ("mel", "leaf")]
    assert pairs[0]["average"] == {"difference": 0.0, "low": 0.0, "high": 0.0, "significant": False}  # same predictions
    with pytest.raises(ValueError, match="Reference 'tdfbanks' is not among"):
        report.paired_differences(results, reference="tdfbanks")
