"""The README's main job, shortened: train, evaluate and compare on the synthetic benchmark."""

from __future__ import annotations

from leaf_tf import quickstart


def test_quickstart_trains_evaluates_and_prints_a_table(data_dir, tmp_path):
    short = ["train.steps = 4", "train.steps_per_epoch = 2", "ConvNet.filters = (4, 8)", "train.validation_clips = 4",
             "N_FILTERS = 16"]
    text = quickstart.run(tmp_path, data_dir, ["mel", "sincnet"], short, verbose=0)
    lines = text.splitlines()
    assert lines[0] == "| task | mel | sincnet |"
    assert sum(line.startswith("| synthetic_") for line in lines) == 5
    assert any(line.startswith("| average |") for line in lines)
    assert "Chance levels: synthetic_pitch 12.5%" in text
    for frontend in ("mel", "sincnet"):
        assert (tmp_path / frontend / "results.json").exists()
