"""Trains a classifier described by gin configs: `leaf-tf train` for a clone (see leaf_tf/commands/train.py).

    python train.py --gin_config=leaf --gin_config=synthetic --workdir=runs/leaf
"""

from leaf_tf.commands.train import run_main

if __name__ == "__main__":
    run_main(program="train.py")
