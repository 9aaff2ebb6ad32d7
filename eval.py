"""Evaluates a trained run on full clips: `leaf-tf eval` for a clone (see leaf_tf/commands/eval.py).

    python eval.py --workdir=runs/leaf [--split=test] [--checkpoint=best] [--data_dir=...]
"""

from leaf_tf.commands.eval import run_main

if __name__ == "__main__":
    run_main(program="eval.py")
