"""Evaluates a trained run on full clips and writes `results.json` in its workdir (`leaf-tf eval`; `eval.py`).

    leaf-tf eval --workdir=runs/leaf [--split=test] [--checkpoint=best] [--data_dir=...]

The run's tasks, window and settings come from its run.json (audio folders
included); `--gin_config` / `--gin_bindings` are optional overrides, e.g. an
audio folder that moved: `--gin_bindings='audio_folder_task.root = "/new/place"'`.
"""

import json
from collections.abc import Sequence

from absl import app, flags

from leaf_tf import cli

flags.DEFINE_string("workdir", None, "The training run's work directory.")
flags.DEFINE_string("data_dir", None, "TFDS data directory (default: TFDS's).")
flags.DEFINE_string("split", "test", "Split to evaluate: train, validation or test.")
flags.DEFINE_enum("checkpoint", "best", ["best", "final"], "Which saved model to evaluate.")
flags.DEFINE_integer("batch_size", 64, "Windows per batch.")
flags.DEFINE_integer("max_clips", None, "Evaluate only the first N clips of each task (quick checks).")
flags.DEFINE_enum("last_window", "aligned", ["aligned", "padded"],
                  "The last window of a clip ends at the clip's end (aligned) or is zero-padded (padded).")
flags.DEFINE_multi_string("gin_config", [], "Optional gin files (the run's tasks come from its run.json).")
flags.DEFINE_multi_string("gin_bindings", [], "Optional gin bindings, e.g. a moved audio folder: "
                          "'audio_folder_task.root = \"/new/place\"'.")
flags.mark_flag_as_required("workdir")
FLAGS = flags.FLAGS


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"Unexpected arguments: {argv[1:]}")

    def run():
        from leaf_tf import evaluation

        if FLAGS.gin_config or FLAGS.gin_bindings:
            cli.parse_gin(FLAGS.gin_config, FLAGS.gin_bindings)
        summary = evaluation.evaluate(FLAGS.workdir, FLAGS.data_dir, FLAGS.split, FLAGS.checkpoint, FLAGS.batch_size,
                                      FLAGS.max_clips, FLAGS.last_window)
        for task, result in summary["tasks"].items():
            if result["metric"] == "accuracy":
                print(f"{task}: accuracy {100 * result['accuracy']:.1f} ± {100 * result['plus_minus']:.1f} % "
                      f"({result['count']} clips)")
            else:
                print(f"{task}: mAP {result['map']:.3f}, AUC {result['auc']:.3f}, d' {result['d_prime']:.2f}")
        print(json.dumps({"results": f"{FLAGS.workdir}/results.json"}))

    cli.run(argv[0], run)


def run_main(argv: Sequence[str] | None = None, program: str = "leaf-tf eval") -> None:
    """The command with `argv` (the arguments after its name; default: `sys.argv[1:]`)."""
    cli.run_absl(main, argv, program, __doc__)


if __name__ == "__main__":
    run_main()
