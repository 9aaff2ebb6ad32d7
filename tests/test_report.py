"""Paper-style tables from results.json files."""

from __future__ import annotations

import json

import pytest

from leaf_tf import report


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
    assert "| leaf | efficientnet_b0 | 448 | 0.310 | 0.971 | 2.68 | 0.969 | 2.63 |" in text
    csv_text = report.make_report([run], table="4", fmt="csv")
    assert csv_text.splitlines()[0].startswith("frontend,encoder,frontend params")
    with pytest.raises(ValueError, match="No results for table 3"):
        report.make_report([run], table="3")


def test_paper_figures_only_beside_the_paper_tasks(tmp_path):
    """`speech_commands_12` (12 classes) and `speaker_id_voxceleb` are not the paper's Table 3 rows."""
    run = _write(tmp_path / "leaf", "leaf", "efficientnet_b0",
                 {"speech_commands_12": _accuracy(0.95, 0.01), "speaker_id_voxceleb": _accuracy(0.50, 0.01)})
    rows = report.table3(report.load_results([run]))
    assert rows[0] == ["task", "leaf"]  # no paper figure to show beside them
