r"""Trains a classifier described by gin configs (`leaf-tf train`; `train.py` in a clone).

    leaf-tf train --gin_config=leaf --gin_config=synthetic --workdir=runs/leaf
    leaf-tf train --gin_config=mel --gin_config=tasks/speech_commands \
        --gin_bindings="train.steps = 50000" --workdir=runs/mel_sc --data_dir=~/tensorflow_datasets

A `--gin_config` is a shipped config's short name (`leaf-tf configs` lists
them) or a gin file. Flags only select configs and directories; everything
else is gin (see `leaf_tf.training.train`). Re-running the same command
resumes a killed run.
"""

from collections.abc import Sequence

from absl import app, flags

from leaf_tf import cli

flags.DEFINE_multi_string("gin_config", [], "gin config: a shipped config's short name (e.g. leaf, tasks/speech_commands) or a file.")
flags.DEFINE_multi_string("gin_bindings", [], "gin bindings, applied after the files (e.g. 'train.steps = 100').")
flags.DEFINE_string("workdir", None, "Directory for the config, backups, TensorBoard logs and models.")
flags.DEFINE_string("data_dir", None, "TFDS data directory (default: TFDS's).")
flags.DEFINE_bool("evaluate", False, "Then evaluate on the full test clips (as `leaf-tf eval` does), in the same process.")
flags.mark_flag_as_required("workdir")
FLAGS = flags.FLAGS


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"Unexpected arguments: {argv[1:]}")

    def run():
        from leaf_tf import training

        cli.parse_gin(FLAGS.gin_config, FLAGS.gin_bindings)
        summary = training.train(FLAGS.workdir, FLAGS.data_dir)
        print(f"Trained {summary['steps']} steps; models and logs in {FLAGS.workdir}.")
        if FLAGS.evaluate:
            from leaf_tf import evaluation

            evaluation.evaluate(FLAGS.workdir, FLAGS.data_dir)
            print(f"Evaluated: {FLAGS.workdir}/results.json")

    cli.run(argv[0], run)


def run_main(argv: Sequence[str] | None = None, program: str = "leaf-tf train") -> None:
    """The command with `argv` (the arguments after its name; default: `sys.argv[1:]`)."""
    cli.run_absl(main, argv, program, __doc__)


if __name__ == "__main__":
    run_main()
