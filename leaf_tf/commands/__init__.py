"""Command-line entry points; each module is a thin absl/argparse layer over a library function.

* `python -m leaf_tf.commands.train` (also `train.py` at the repository root): `training.train`;
* `python -m leaf_tf.commands.eval` (also `eval.py`): `evaluation.evaluate`;
* `python -m leaf_tf.compare`, `python -m leaf_tf.quickstart`, `python -m leaf_tf.report`, `python -m leaf_tf.plot`.
"""
