"""Training: `train(workdir)`, configured by gin, from one CPU to many accelerators.

* `loop`: `train` itself (`Model.fit` with Keras callbacks) and the classifier it builds;
* `multi_worker`: the same training as a custom loop, for `MultiWorkerMirroredStrategy`;
* `callbacks`: atomic backups, best-model export, NaN guard;
* `determinism`: seeds and deterministic kernels;
* `files`: atomic writes and the workdir check.
"""

from leaf_tf.training.callbacks import (
    AtomicBackupAndRestore,
    BestModelExport,
    MeanValidationAccuracy,
    TerminateOnNaN,
    TrainingError,
    finite_loss,
)
from leaf_tf.training.determinism import seed_everything
from leaf_tf.training.files import atomic_save_model, atomic_write_text, check_workdir
from leaf_tf.training.loop import (
    STRATEGIES,
    build_classifier,
    learning_rate_multipliers,
    make_strategy,
    set_batch_norm_momentum,
    train,
)
from leaf_tf.training.multi_worker import custom_training_loop

__all__ = [
    "STRATEGIES",
    "AtomicBackupAndRestore",
    "BestModelExport",
    "MeanValidationAccuracy",
    "TerminateOnNaN",
    "TrainingError",
    "atomic_save_model",
    "atomic_write_text",
    "build_classifier",
    "check_workdir",
    "custom_training_loop",
    "finite_loss",
    "learning_rate_multipliers",
    "make_strategy",
    "seed_everything",
    "set_batch_norm_momentum",
    "train",
]
