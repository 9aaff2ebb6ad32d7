"""`leaf_tf.compare` and the quickstart: seeds x configurations in subprocesses, resumable, with a verdict."""

from __future__ import annotations

import argparse
import json
import pathlib

import pytest

from leaf_tf import cli, compare, quickstart

TINY = [
    "configured_encoder.encoder = @ConvNet()",
    "ConvNet.filters = (8, 16)",
    "N_FILTERS = 16",
    'train.tasks = ["synthetic_event", "synthetic_pitch"]',
    "train.batch_size = 8",
    "train.steps = 4",
    "train.steps_per_epoch = 2",
    "train.validation_clips = 4",
    "train.filter_plot_every_n_steps = 0",
    "train.histogram_freq = 0",
]


def _quickstart_args(workdir, data_dir, **overrides) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    compare.add_arguments(parser)
    argv = ["--workdir", str(workdir), "--data_dir", data_dir, "--seeds", "2", "--jobs", "2"]
    argv += [f"--gin_bindings={binding}" for binding in TINY]
    args = parser.parse_args(argv)
    for key, value in overrides.items():
        setattr(args, key, value)
    return args


@pytest.mark.slow
def test_quickstart_trains_seeds_in_parallel_reports_a_verdict_and_reuses_finished_runs(data_dir, tmp_path):
    text = quickstart.run(_quickstart_args(tmp_path, data_dir))
    assert "| task | mel (2 seeds) | leaf (2 seeds) | log-mel + LR |" in text
    assert "| leaf − mel |" in text
    assert "\nleaf − mel: " in text and "(2 seeds × 320 test clips)" in text
    assert "Chance levels: synthetic_event 50.0%, synthetic_pitch 12.5%" in text
    for label in ("mel", "leaf"):
        for seed in (0, 1):
            run = json.loads((tmp_path / label / f"seed-{seed}" / "results.json").read_text())
            assert (run["label"], run["seed"], run["steps"]) == (label, seed, 4)
    baseline = json.loads((tmp_path / "baseline.json").read_text())
    assert set(baseline) == {"synthetic_event", "synthetic_pitch"} and baseline["synthetic_pitch"]["count"] == 160

    # Everything is reused: no subprocess trains, and the table is the same, byte for byte.
    logs = {path: path.read_text() for path in tmp_path.glob("*/seed-*/log.txt")}
    again = quickstart.run(_quickstart_args(tmp_path, data_dir))
    assert again.split("\n\n(")[0] == text.split("\n\n(")[0]
    assert {path: path.read_text() for path in logs} == logs

    # One more seed trains only the new runs.
    more = quickstart.run(_quickstart_args(tmp_path, data_dir, seeds=3, frontends=["mel"]))
    assert "| mel (3 seeds) |" in more and (tmp_path / "mel" / "seed-2" / "results.json").exists()
    assert not (tmp_path / "leaf" / "seed-2").exists()


def test_an_arm_redefined_in_the_same_workdir_is_refused(tmp_path):
    arms = compare.make_arms(["mel"], [["mel_fast", "mel", "train.learning_rate = 0.01"]], ["configs/quickstart.gin"], [])
    compare.check_manifest(tmp_path, arms)
    compare.check_manifest(tmp_path, arms)  # the same definition again is fine
    changed = compare.make_arms(["mel"], [["mel_fast", "mel", "train.learning_rate = 0.1"]], ["configs/quickstart.gin"], [])
    with pytest.raises(cli.UsageError, match="holds runs of another 'mel_fast'"):
        compare.check_manifest(tmp_path, changed)
    recorded = json.loads((tmp_path / "compare.json").read_text())["arms"]
    assert recorded["mel_fast"]["bindings"] == ["train.learning_rate = 0.01"]


def test_arm_definitions_are_checked_before_anything_runs():
    with pytest.raises(cli.UsageError, match="Two arms are called"):
        compare.make_arms(["leaf"], [["leaf", "leaf", "train.seed = 3"]], [], [])
    with pytest.raises(cli.UsageError, match="needs NAME FRONTEND"):
        compare.make_arms([], [["lonely"]], [], [])
    with pytest.raises(cli.UsageError, match="letters, digits"):
        compare.make_arms([], [["a/b", "leaf"]], [], [])
    with pytest.raises(cli.UsageError, match="unknown frontend 'leef': choose from leaf, mel, mel_pcen, sincnet"):
        compare.make_arms(["leef"], [], [], [])
    with pytest.raises(cli.UsageError, match="unknown frontend 'lef' of 'fast'"):
        compare.make_arms(["mel"], [["fast", "lef"]], [], [])
    with pytest.raises(cli.UsageError, match="gin config file not found: configs/no_such.gin"):
        compare.make_arms(["mel"], [], ["configs/no_such.gin"], [])
    job = compare.Job(compare.make_arms(["mel"], [], ["configs/quickstart.gin"], ["train.steps = 2"])[0], 3,
                      pathlib.Path("runs/mel/seed-3"))
    train = compare.job_command(job, "/data")
    assert train[1:3] == ["-m", "leaf_tf.commands.train"] and "--data_dir=/data" in train and "--evaluate" in train
    assert train[-2:] == ["--gin_bindings=train.seed = 3", '--gin_bindings=train.label = "mel"']
    assert "--gin_bindings=train.steps = 2" in train
