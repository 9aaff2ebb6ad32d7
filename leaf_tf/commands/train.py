"""Trains a classifier described by gin files.

    python train.py --gin_config=configs/leaf.gin --workdir=/tmp/leaf
    python train.py --gin_config=configs/mel.gin --gin_config=configs/tasks/speech_commands.gin \
        --gin_bindings="train.steps = 50000" --workdir=/tmp/mel_sc --data_dir=~/tensorflow_datasets

Flags only select configs and directories; everything else is gin (see
`leaf_tf.training.train`). Re-running the same command resumes a killed run.
"""

from absl import app, flags

import leaf_tf  # noqa: F401  (registers every gin configurable)
from leaf_tf import cli, training

flags.DEFINE_multi_string("gin_config", [], "gin config file(s), relative to the current directory or the repository.")
flags.DEFINE_multi_string("gin_bindings", [], "gin bindings, applied after the files (e.g. 'train.steps = 100').")
flags.DEFINE_string("workdir", None, "Directory for the config, backups, TensorBoard logs and models.")
flags.DEFINE_string("data_dir", None, "TFDS data directory (default: TFDS's).")
flags.DEFINE_bool("evaluate", False, "Then evaluate on the full test clips (as eval.py does), in the same process.")
flags.mark_flag_as_required("workdir")
FLAGS = flags.FLAGS


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"Unexpected arguments: {argv[1:]}")

    def run():
        cli.parse_gin(FLAGS.gin_config, FLAGS.gin_bindings)
        summary = training.train(FLAGS.workdir, FLAGS.data_dir)
        print(f"Trained {summary['steps']} steps; models and logs in {FLAGS.workdir}.")
        if FLAGS.evaluate:
            from leaf_tf import evaluation

            evaluation.evaluate(FLAGS.workdir, FLAGS.data_dir)
            print(f"Evaluated: {FLAGS.workdir}/results.json")

    cli.run("train.py", run)


def run_main() -> None:
    app.run(main)


if __name__ == "__main__":
    run_main()
