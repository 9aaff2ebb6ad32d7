"""Trains a classifier described by gin files.

    python train.py --gin_config=configs/leaf.gin --workdir=/tmp/leaf
    python train.py --gin_config=configs/mel.gin --gin_config=configs/tasks/speech_commands.gin \
        --gin_bindings="train.steps = 50000" --workdir=/tmp/mel_sc --data_dir=~/tensorflow_datasets

Flags only select configs and directories; everything else is gin (see
`leaf_tf.training.train`). Re-running the same command resumes a killed run.
"""

from leaf_tf.commands.train import run_main

if __name__ == "__main__":
    run_main()
