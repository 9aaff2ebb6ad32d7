"""Evaluates a trained run on full clips and writes `results.json` in its workdir.

    python eval.py --workdir=/tmp/leaf [--split=test] [--checkpoint=best] [--data_dir=...]
"""

from leaf_tf.commands.eval import run_main

if __name__ == "__main__":
    run_main()
