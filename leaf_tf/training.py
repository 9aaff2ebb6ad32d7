"""Training: one function, `train(workdir)`, configured by gin, from one CPU to many accelerators.

What a run does, top to bottom:

1. checks the work directory is writable and writes the gin config there
   (`config.gin`; `operative_config.gin` once the model is built);
2. picks a `tf.distribute` strategy (`"default"`, `"mirrored"`,
   `"multi_worker"` from `TF_CONFIG`, `"tpu"`) and, optionally, a mixed
   precision policy (frontends stay float32);
3. builds the classifier: the frontend and encoder the gin files select
   (`configured_frontend()`, `configured_encoder()`), one head per task
   (`AudioClassifier` for one task, `MultiTaskClassifier` for several);
4. trains with Adam on random windows (`data.pipeline`), with Keras
   callbacks: progress bar, TensorBoard (scalars, weight histograms -- the
   frontend's learnt parameters included), an atomic `BackupAndRestore`
   (a run killed at any moment, SIGKILL included, resumes from its last
   completed epoch with the same step count), export of the best model by
   validation accuracy (`best.keras`), `TerminateOnNaN` with a clear error,
   and a plot of the frontend's filters in TensorBoard every N steps;
5. saves `final.keras` and `run.json` (tasks, frontend, encoder, parameter
   counts, steps).

An "epoch" is `steps_per_epoch` training steps on the endless training
stream: the unit of validation, checkpointing and logging.
`MultiWorkerMirroredStrategy` cannot use `Model.fit` in Keras 3.15, so that
strategy runs `custom_training_loop` with the same model, data and files.
"""

from __future__ import annotations

import json
import math
import os
import pathlib
import re
import shutil
import tempfile
import time

import gin
import keras
import numpy as np
import tensorflow as tf
from absl import logging

from leaf_tf import models
from leaf_tf.data import pipeline
from leaf_tf.data.tasks import get_task, load_split
from leaf_tf.encoders import configured_encoder
from leaf_tf.frontends import FRONTENDS, configured_frontend

STRATEGIES = ("default", "mirrored", "multi_worker", "tpu")


class TrainingError(RuntimeError):
    """Training could not continue; the message says why and what to do."""


# ------------------------------------------------------------------ files


def atomic_save_model(model: keras.Model, path: str | os.PathLike) -> None:
    """`model.save(path)` through a temporary file and an atomic rename: readers never see half a file."""
    path = pathlib.Path(path)
    with tempfile.TemporaryDirectory(dir=path.parent, prefix=f".{path.stem}-") as scratch:
        temporary = pathlib.Path(scratch) / path.name
        model.save(temporary)
        os.replace(temporary, path)


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    """Writes a text file through a temporary file and an atomic rename."""
    path = pathlib.Path(path)
    temporary = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    temporary.write_text(text)
    os.replace(temporary, path)


def finite_loss(logs: dict | None) -> bool:
    """False when the epoch logs hold a NaN or infinite `loss` (True when they hold none)."""
    loss = (logs or {}).get("loss")
    return loss is None or bool(np.isfinite(loss))


def check_workdir(workdir: str | os.PathLike) -> pathlib.Path:
    """Creates `workdir` if needed and checks that it is writable."""
    workdir = pathlib.Path(workdir)
    try:
        workdir.mkdir(parents=True, exist_ok=True)
        probe = workdir / f".write-test-{os.getpid()}"
        probe.write_text("")
        probe.unlink()
    except OSError as error:
        raise PermissionError(
            f"workdir {workdir} is not writable ({error.strerror}); choose another --workdir."
        ) from None
    return workdir


class AtomicBackupAndRestore(keras.callbacks.BackupAndRestore):
    """`BackupAndRestore` whose backups survive being killed at any moment.

    Keras' callback overwrites one weights file and one metadata file in place,
    so a kill while writing can leave a truncated file, or weights and
    metadata from different epochs. Here each backup is a directory
    `epoch-<n>/` (weights, optimizer state and the epoch number) written under
    a temporary name and renamed into place once complete; the previous
    `keep` backups stay until a newer one is complete. Restoring takes the
    newest complete backup (falling back to an older one if it cannot be
    read). A backup is never written after a non-finite loss. Backups are kept
    when training ends, so re-running a finished run does nothing.

    Args:
      backup_dir: directory of the backups (only this callback writes there).
      keep: number of complete backups kept.
    """

    _PATTERN = re.compile(r"^epoch-(\d+)$")

    def __init__(self, backup_dir: str | os.PathLike, keep: int = 2):
        super().__init__(str(backup_dir), save_freq="epoch", delete_checkpoint=False)
        self.keep = keep
        self._last_logs: dict = {}

    @classmethod
    def completed_epochs(cls, backup_dir: str | os.PathLike) -> list[int]:
        """Epoch numbers of the complete backups in `backup_dir`, newest first."""
        backup_dir = pathlib.Path(backup_dir)
        if not backup_dir.is_dir():
            return []
        epochs = [int(m.group(1)) for p in backup_dir.iterdir() if (m := cls._PATTERN.match(p.name))]
        return sorted(epochs, reverse=True)

    def on_train_begin(self, logs=None):
        self._load_model()

    def _load_model(self):
        if not self.model.built:
            raise ValueError("Build the model (call it on a batch) before fit() so that its backup can be restored.")
        if self.model.optimizer is not None and not self.model.optimizer.built:
            self.model.optimizer.build(self.model.trainable_variables)
        for epoch in self.completed_epochs(self.backup_dir):
            path = pathlib.Path(self.backup_dir) / f"epoch-{epoch}"
            try:
                self.model.load_weights(path / "model.weights.h5")
            except (OSError, ValueError) as error:  # unreadable: try the previous backup
                logging.warning("Could not restore backup %s (%s); trying an older one.", path, error)
                continue
            self.model._initial_epoch = epoch
            self._current_epoch = epoch
            logging.info("Restored %s: resuming at epoch %d, step %d.", path, epoch, int(self.model.optimizer.iterations.numpy()))
            return

    def on_epoch_end(self, epoch, logs=None):
        self._last_logs = dict(logs or {})
        super().on_epoch_end(epoch, logs)

    def _save_model(self):
        if not finite_loss(self._last_logs):
            logging.warning("Not backing up epoch %d: the loss is %s.", self._current_epoch, self._last_logs["loss"])
            return
        backup_dir = pathlib.Path(self.backup_dir)
        backup_dir.mkdir(parents=True, exist_ok=True)
        final = backup_dir / f"epoch-{self._current_epoch}"
        scratch = pathlib.Path(tempfile.mkdtemp(dir=backup_dir, prefix=f".epoch-{self._current_epoch}-"))
        self.model.save_weights(scratch / "model.weights.h5")
        state = {"epoch": self._current_epoch, "step": int(self.model.optimizer.iterations.numpy())}
        (scratch / "state.json").write_text(json.dumps(state))
        if final.exists():  # a re-run of this epoch: replace it
            shutil.rmtree(final)
        os.rename(scratch, final)
        for epoch in self.completed_epochs(backup_dir)[self.keep :]:
            shutil.rmtree(backup_dir / f"epoch-{epoch}", ignore_errors=True)
        for leftover in backup_dir.glob(".epoch-*"):  # scratch of a killed save
            if leftover != scratch:
                shutil.rmtree(leftover, ignore_errors=True)


class BestModelExport(keras.callbacks.Callback):
    """Saves the model to `path` (atomically) whenever `monitor` improves (higher is better).

    The best value so far is kept beside the model (`<path>.json`), so a resumed
    run only replaces the model with a better one. Epochs with a non-finite
    training loss are never exported.
    """

    def __init__(self, path: str | os.PathLike, monitor: str = "val_accuracy"):
        super().__init__()
        self.path = pathlib.Path(path)
        self.record = self.path.with_name(self.path.name + ".json")
        self.monitor = monitor
        self.best = -math.inf

    def on_train_begin(self, logs=None):
        if self.path.exists() and self.record.exists():
            saved = json.loads(self.record.read_text())
            if saved.get("monitor") == self.monitor:
                self.best = float(saved["value"])

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        value = logs.get(self.monitor)
        if value is None or not np.isfinite(value) or value <= self.best or not finite_loss(logs):
            return
        self.best = float(value)
        atomic_save_model(self.model, self.path)
        atomic_write_text(self.record, json.dumps({"monitor": self.monitor, "value": self.best, "epoch": epoch + 1}))
        logging.info("Epoch %d: %s = %.4f, saved %s.", epoch + 1, self.monitor, value, self.path)


class MeanValidationAccuracy(keras.callbacks.Callback):
    """Adds `val_accuracy` = mean of the tasks' `val_<task>_accuracy` (multi-task runs) to the epoch logs."""

    def __init__(self, tasks):
        super().__init__()
        self.keys = [f"val_{task}_accuracy" for task in tasks]

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None and all(key in logs for key in self.keys):
            logs["val_accuracy"] = float(np.mean([logs[key] for key in self.keys]))


class TerminateOnNaN(keras.callbacks.Callback):
    """Stops training at the first non-finite loss and remembers where, for a clear error afterwards."""

    def __init__(self):
        super().__init__()
        self.failed_at: int | None = None

    def on_train_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not np.isfinite(loss):
            self.failed_at = int(self.model.optimizer.iterations.numpy())
            self.model.stop_training = True

    def error(self, backup_dir) -> TrainingError:
        epochs = AtomicBackupAndRestore.completed_epochs(backup_dir)
        kept = (f"The last finite state (epoch {epochs[0]}) is kept in {backup_dir}." if epochs
                else "No backup had been written yet.")
        return TrainingError(
            f"The training loss became NaN or infinite at step {self.failed_at}. {kept} Lower the learning rate "
            "(train.learning_rate), enable loudness normalisation, or check the data for NaN audio."
        )


# ------------------------------------------------------------------ strategy


def make_strategy(name: str = "default", tpu: str | None = None) -> tf.distribute.Strategy:
    """The `tf.distribute` strategy called `name` (one of `STRATEGIES`)."""
    if name == "default":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        return tf.distribute.MirroredStrategy()
    if name == "multi_worker":
        return tf.distribute.MultiWorkerMirroredStrategy()
    if name == "tpu":
        resolver = tf.distribute.cluster_resolver.TPUClusterResolver(tpu=tpu or "")
        tf.config.experimental_connect_to_cluster(resolver)
        tf.tpu.experimental.initialize_tpu_system(resolver)
        return tf.distribute.TPUStrategy(resolver)
    raise ValueError(f"Unknown strategy {name!r}; expected one of {', '.join(STRATEGIES)}.")


def _is_chief(strategy: tf.distribute.Strategy) -> bool:
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not resolver.task_type:
        return True
    return resolver.task_type == "chief" or (resolver.task_type == "worker" and resolver.task_id == 0)


# ------------------------------------------------------------------ the run


def build_classifier(tasks, pooling: str = "max") -> models._Classifier:
    """The gin-selected frontend and encoder with one head per task."""
    frontend, encoder = configured_frontend(), configured_encoder()
    if len(tasks) == 1:
        task = tasks[0]
        return models.AudioClassifier(task.num_classes, frontend, encoder, pooling, multi_label=task.multi_label)
    return models.MultiTaskClassifier({task.name: task.num_classes for task in tasks}, frontend, encoder, pooling)


def _validation_data(tasks, batch_size, data_dir, window_s, normalize_loudness, clips):
    """Validation windows (`(audio, label)` or `(audio, {task: label})`), at most `clips` clips per task."""
    names = [task.name for task in tasks]
    datasets = []
    for index, task in enumerate(tasks):
        split = "validation" if "validation" in task.splits or (task.hash_splits or {}).get("validation") else "test"
        windows = pipeline.eval_dataset(task, batch_size, split, data_dir, window_s, normalize_loudness,
                                        max_clips=clips).unbatch()
        if len(tasks) == 1:
            return windows.map(lambda w: (w["audio"], w["label"])).batch(batch_size)

        def to_multitask(window, index=index):
            labels = {n: tf.constant(pipeline.IGNORED_LABEL, tf.int64) for n in names}
            labels[names[index]] = window["label"]
            return window["audio"], labels

        datasets.append(windows.map(to_multitask))
    merged = datasets[0]
    for dataset in datasets[1:]:
        merged = merged.concatenate(dataset)
    return merged.batch(batch_size)


@gin.configurable(denylist=["workdir", "data_dir"])
def train(
    workdir: str,
    data_dir: str | None = None,
    tasks=gin.REQUIRED,
    batch_size: int = 64,
    steps: int = 10000,
    steps_per_epoch: int = 500,
    learning_rate: float = 1e-4,
    window_s: float = 1.0,
    normalize_loudness: bool = False,
    pooling: str = "max",
    strategy: str = "default",
    tpu: str | None = None,
    mixed_precision: str | None = None,
    validation_clips: int | None = 500,
    histogram_freq: int = 1,
    filter_plot_every_n_steps: int = 1000,
    seed: int = 0,
    verbose: int | str = "auto",
) -> dict:
    """Trains the gin-configured classifier on `tasks`; returns the run summary written to `run.json`.

    Args:
      workdir: where config, backups, TensorBoard logs and models go.
      data_dir: TFDS data directory (None: TFDS's default).
      tasks: a task name or a list of them (several: multi-task training).
      batch_size: global batch size (split across replicas; must divide evenly).
      steps: total training steps.
      steps_per_epoch: steps between validations, backups and logs.
      learning_rate: Adam's learning rate (1e-4 in the paper).
      window_s: training window length in seconds (1 s in the paper).
      normalize_loudness: apply the reference's loudness normalisation.
      pooling: the classifier's global pooling ("max" or "avg").
      strategy: one of `STRATEGIES`.
      tpu: TPU name or address for `strategy="tpu"`.
      mixed_precision: None, "mixed_float16" or "mixed_bfloat16" (frontends
        and heads stay float32).
      validation_clips: validate on the first N clips of each task's
        validation split (None: all).
      histogram_freq: epochs between weight histograms in TensorBoard (0: none).
      filter_plot_every_n_steps: steps between plots of the frontend's filters,
        pooling and PCEN in TensorBoard (0: none; needs matplotlib).
      seed: seed of weight initialisation, shuffling and crops.
      verbose: Keras progress-bar verbosity.
    """
    workdir = check_workdir(workdir)
    # Before any TensorFlow op: MultiWorkerMirroredStrategy must configure collectives at start-up.
    distribution = make_strategy(strategy, tpu)
    task_list = [get_task(t) for t in ([tasks] if isinstance(tasks, str) else tasks)]
    for task in task_list:  # fail early, before anything is built, if a dataset is missing
        load_split(task, "train", data_dir)
    if steps < 1 or steps_per_epoch < 1:
        raise ValueError(f"steps and steps_per_epoch must be positive, got {steps} and {steps_per_epoch}.")
    replicas = distribution.num_replicas_in_sync
    if batch_size % replicas:
        raise ValueError(
            f"batch_size={batch_size} is not divisible by the {replicas} replicas of the {strategy!r} strategy; "
            f"use a multiple of {replicas} (train.batch_size)."
        )
    if mixed_precision:
        keras.mixed_precision.set_global_policy(mixed_precision)
    keras.utils.set_random_seed(seed)
    atomic_write_text(workdir / "config.gin", gin.config_str())

    if strategy == "multi_worker":
        return custom_training_loop(workdir, data_dir, task_list, distribution, batch_size=batch_size, steps=steps,
                                    steps_per_epoch=steps_per_epoch, learning_rate=learning_rate, window_s=window_s,
                                    normalize_loudness=normalize_loudness, pooling=pooling, seed=seed)

    backup_dir = workdir / "backup"
    done = AtomicBackupAndRestore.completed_epochs(backup_dir)
    epochs = math.ceil(steps / steps_per_epoch)
    # A resumed run continues with a fresh (still deterministic) stream instead of replaying the first epochs.
    data_seed = seed + (done[0] if done else 0)
    with distribution.scope():
        model = build_classifier(task_list, pooling)
        window = int(round(window_s * task_list[0].sample_rate))
        model(tf.zeros([1, window]))
        model.compile(
            optimizer=keras.optimizers.Adam(learning_rate),
            loss=model.default_loss(),
            metrics=model.default_metrics(),
        )
    atomic_write_text(workdir / "operative_config.gin", gin.operative_config_str())

    if len(task_list) == 1:
        train_data = pipeline.train_dataset(task_list[0], batch_size, data_dir, window_s, normalize_loudness,
                                            seed=data_seed)
    else:
        train_data = pipeline.multitask_train_dataset([t.name for t in task_list], batch_size, data_dir, window_s,
                                                      normalize_loudness, seed=data_seed)
    validation = _validation_data(task_list, batch_size, data_dir, window_s, normalize_loudness, validation_clips)
    nan_guard = TerminateOnNaN()
    callbacks = [
        AtomicBackupAndRestore(backup_dir),
        nan_guard,
        keras.callbacks.TensorBoard(workdir / "tensorboard", histogram_freq=histogram_freq, write_graph=False),
    ]
    if filter_plot_every_n_steps > 0:
        from leaf_tf.plot import FilterPlotCallback

        callbacks.append(FilterPlotCallback(workdir / "tensorboard" / "train", every_n_steps=filter_plot_every_n_steps))
    if len(task_list) > 1:
        callbacks.append(MeanValidationAccuracy([t.name for t in task_list]))
    monitor = "val_auc" if task_list[0].multi_label and len(task_list) == 1 else "val_accuracy"
    callbacks.append(BestModelExport(workdir / "best.keras", monitor))

    start = time.time()
    history = model.fit(train_data, epochs=epochs, steps_per_epoch=steps_per_epoch, validation_data=validation,
                        callbacks=callbacks, verbose=verbose, shuffle=False)
    if nan_guard.failed_at is not None:
        raise nan_guard.error(backup_dir)
    summary = _run_summary(model, task_list, int(model.optimizer.iterations.numpy()), strategy, replicas,
                           mixed_precision, time.time() - start,
                           history.history, window_s, normalize_loudness)
    if not history.history and (workdir / "run.json").exists():
        return summary  # a finished run, re-run: nothing trained, its files stay as they were
    atomic_save_model(model, workdir / "final.keras")
    atomic_write_text(workdir / "run.json", json.dumps(summary, indent=2))
    return summary


def _frontend_key(frontend) -> str:
    """The short name (`"leaf"`, `"mel"`, ...) of a frontend's class, else its class name."""
    for key, cls in FRONTENDS.items():
        if type(frontend) is cls:
            return key
    return type(frontend).__name__


def _run_summary(model, tasks, steps, strategy, replicas, mixed_precision, seconds, history, window_s,
                 normalize_loudness) -> dict:
    return {
        "tasks": [task.name for task in tasks],
        "frontend": _frontend_key(model.frontend),
        "encoder": model.encoder.name if model.encoder is not None else None,
        "window_s": window_s,
        "normalize_loudness": normalize_loudness,
        "parameters": models.describe(model),
        "steps": steps,
        "strategy": strategy,
        "replicas": replicas,
        "mixed_precision": mixed_precision,
        "train_seconds_this_run": round(seconds, 1),
        "history": {key: [float(v) for v in values] for key, values in history.items()},
    }


# ------------------------------------------------------------------ multi-worker


def custom_training_loop(workdir, data_dir, tasks, strategy, *, batch_size, steps, steps_per_epoch, learning_rate,
                         window_s, normalize_loudness, pooling, seed) -> dict:
    """The same training as `train`, written with `strategy.run`, for `MultiWorkerMirroredStrategy`.

    Checkpoints are `tf.train.CheckpointManager` checkpoints under
    `workdir/checkpoints` (written by every worker, as collective ops require;
    non-chief workers write to a scratch directory), restored at start.
    """
    chief = _is_chief(strategy)
    with strategy.scope():
        model = build_classifier(tasks, pooling)
        window = int(round(window_s * tasks[0].sample_rate))
        model(tf.zeros([1, window]))
        optimizer = keras.optimizers.Adam(learning_rate)
        optimizer.build(model.trainable_variables)
        losses = model.default_loss()
    checkpoint = tf.train.Checkpoint(model=model, optimizer=optimizer)
    directory = workdir / "checkpoints" if chief else pathlib.Path(tempfile.mkdtemp(prefix="leaf_tf-worker-"))
    manager = tf.train.CheckpointManager(checkpoint, str(directory), max_to_keep=2)
    if manager.latest_checkpoint:
        checkpoint.restore(manager.latest_checkpoint)
    start_step = int(optimizer.iterations.numpy())

    def dataset_fn(input_context):
        if len(tasks) == 1:
            return pipeline.train_dataset(tasks[0], batch_size, data_dir, window_s, normalize_loudness,
                                          seed=seed + start_step, input_context=input_context)
        return pipeline.multitask_train_dataset([t.name for t in tasks], batch_size, data_dir, window_s,
                                                normalize_loudness, seed=seed + start_step, input_context=input_context)

    iterator = iter(strategy.distribute_datasets_from_function(dataset_fn))

    def replica_step(audio, labels):
        with tf.GradientTape() as tape:
            outputs = model(audio, training=True)
            if isinstance(outputs, dict):
                loss = tf.add_n([losses[name](labels[name], outputs[name]) for name in outputs])
            else:
                loss = losses(labels, outputs)
            scaled = loss / strategy.num_replicas_in_sync
        gradients = tape.gradient(scaled, model.trainable_variables)
        optimizer.apply_gradients(zip(gradients, model.trainable_variables))
        return loss

    @tf.function
    def train_step(iterator):
        audio, labels = next(iterator)
        per_replica = strategy.run(replica_step, args=(audio, labels))
        return strategy.reduce(tf.distribute.ReduceOp.MEAN, per_replica, axis=None)

    writer = tf.summary.create_file_writer(str(workdir / "tensorboard" / "train")) if chief else None
    progress = keras.utils.Progbar(steps, verbose=1 if chief else 0)
    progress.update(start_step)
    loss_history = []
    start = time.time()
    step = start_step
    while step < steps:
        loss = float(train_step(iterator))
        step = int(optimizer.iterations.numpy())
        if not np.isfinite(loss):
            raise TrainingError(
                f"The training loss became NaN or infinite at step {step}; the last finite checkpoint is in "
                f"{directory}. Lower the learning rate or check the data."
            )
        loss_history.append(loss)
        progress.update(step, [("loss", loss)])
        if step % steps_per_epoch == 0 or step == steps:
            manager.save(checkpoint_number=step)
            if writer is not None:
                with writer.as_default():
                    tf.summary.scalar("epoch_loss", float(np.mean(loss_history[-steps_per_epoch:])), step=step)
    summary = _run_summary(model, tasks, step, "multi_worker", strategy.num_replicas_in_sync, None, time.time() - start,
                           {"loss": loss_history}, window_s, normalize_loudness)
    if chief:
        atomic_save_model(model, workdir / "final.keras")
        atomic_write_text(workdir / "run.json", json.dumps(summary, indent=2))
    else:
        shutil.rmtree(directory, ignore_errors=True)
    return summary
