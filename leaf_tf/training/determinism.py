"""Seeding and deterministic kernels: the same command on the same machine gives the same run.

`seed_everything(seed, deterministic=True)` seeds Python, NumPy, TensorFlow
and Keras (`keras.utils.set_random_seed`: weight initialisers, dropout and
SpecAugment draw from Keras seed generators derived from it) and turns on
TensorFlow's op determinism (`tf.config.experimental.enable_op_determinism`):
kernels with a nondeterministic reduction order take a deterministic path, or
raise where none exists. The input pipeline is deterministic on its own (its
shuffles and crops take explicit seeds; see `data.pipeline`).

What it does not make equal: runs on machines whose CPUs differ (oneDNN and
XLA pick kernels by instruction set, and a different rounding of one sum
grows, over hundreds of steps, into a different network), nor runs with
different thread counts. Those differences are what seeds and intervals are
for (`leaf_tf.compare`).

Op determinism is process-wide and cannot be turned off once on; a process
that trains with `deterministic=False` after a deterministic run keeps it.
"""

from __future__ import annotations

import keras
import tensorflow as tf


def seed_everything(seed: int, deterministic: bool = True) -> None:
    """Seeds every random source from `seed`; with `deterministic`, enables TensorFlow op determinism."""
    keras.utils.set_random_seed(int(seed))
    if deterministic:
        tf.config.experimental.enable_op_determinism()


def is_determinism_error(error: BaseException) -> bool:
    """Whether `error` is TensorFlow refusing an op that has no deterministic kernel (e.g. on some GPUs)."""
    return isinstance(error, tf.errors.UnimplementedError) and "determinis" in str(error).lower()
