"""Keras callbacks of a training run: atomic backups, best-model export, NaN guard, mean validation accuracy."""

from __future__ import annotations

import json
import math
import os
import pathlib
import re
import shutil
import tempfile

import keras
import numpy as np
from absl import logging

from leaf_tf.training.files import atomic_save_model, atomic_write_text


class TrainingError(RuntimeError):
    """Training could not continue; the message says why and what to do."""


def finite_loss(logs: dict | None) -> bool:
    """False when the epoch logs hold a NaN or infinite `loss` (True when they hold none)."""
    loss = (logs or {}).get("loss")
    return loss is None or bool(np.isfinite(loss))


# Keras' weight files leave out the state of the layers' random seed generators (dropout, SpecAugment):
# backups keep it beside the weights so that a resumed run draws the masks an uninterrupted one would.
RANDOM_STATE_FILE = "random_state.npz"
SETTINGS_FILE = "settings.json"  # the settings a backup was trained with (see train's resume check)


def _seed_generator_states(model: keras.Model) -> list:
    return [generator.state for layer in model._flatten_layers(include_self=True) for generator in layer._seed_generators]


def _save_random_state(model: keras.Model, path: pathlib.Path) -> None:
    states = _seed_generator_states(model)
    np.savez(path, **{f"state_{index}": np.asarray(state.numpy()) for index, state in enumerate(states)})


def _restore_random_state(model: keras.Model, path: pathlib.Path) -> None:
    if not path.exists():  # a backup written before this file existed: the generators keep their seeds
        return
    states = _seed_generator_states(model)
    with np.load(path) as saved:
        if len(saved.files) != len(states):
            raise ValueError(f"{path} holds {len(saved.files)} random states; the model has {len(states)}.")
        for index, state in enumerate(states):
            state.assign(saved[f"state_{index}"])


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
      settings: JSON-serialisable settings of the run, stored in each backup
        (`settings.json`) so that a resumed run can be compared with them
        (`recorded_settings`).
      on_save: called after each complete backup (the run's first backup is
        when it may replace an earlier run's files).
    """

    _PATTERN = re.compile(r"^epoch-(\d+)$")

    def __init__(self, backup_dir: str | os.PathLike, keep: int = 2, settings: dict | None = None,
                 on_save=None):
        super().__init__(str(backup_dir), save_freq="epoch", delete_checkpoint=False)
        self.keep = keep
        self.settings = settings
        self.on_save = on_save
        self._last_logs: dict = {}

    @classmethod
    def recorded_settings(cls, backup_dir: str | os.PathLike) -> dict | None:
        """The settings stored with the newest complete backup (None: no backup, or one written without them)."""
        epochs = cls.completed_epochs(backup_dir)
        if not epochs:
            return None
        try:
            return json.loads((pathlib.Path(backup_dir) / f"epoch-{epochs[0]}" / SETTINGS_FILE).read_text())
        except (OSError, ValueError):
            return None

    @classmethod
    def completed_epochs(cls, backup_dir: str | os.PathLike) -> list[int]:
        """Epoch numbers of the complete backups in `backup_dir`, newest first."""
        backup_dir = pathlib.Path(backup_dir)
        if not backup_dir.is_dir():
            return []
        epochs = [int(m.group(1)) for p in backup_dir.iterdir() if (m := cls._PATTERN.match(p.name))]
        return sorted(epochs, reverse=True)

    def restore(self, model: keras.Model) -> int:
        """Restores the newest readable backup into `model` before `fit`; returns its epoch (0: none).

        `train` calls it first so that the input stream can skip exactly the
        batches the restored weights have seen; `fit` then does not load again.
        """
        self.set_model(model)
        self._load_model()
        self._restored = True
        return self._current_epoch

    def on_train_begin(self, logs=None):
        if not getattr(self, "_restored", False):
            self._load_model()
        elif self._current_epoch:
            self.model._initial_epoch = self._current_epoch

    def _load_model(self):
        self._current_epoch = 0
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
            _restore_random_state(self.model, path / RANDOM_STATE_FILE)
            self.model._initial_epoch = epoch
            self._current_epoch = epoch
            logging.info("Restored %s: resuming at epoch %d, step %d.", path, epoch, int(self.model.optimizer.iterations.numpy()))
            return

    def on_epoch_end(self, epoch, logs=None):
        self._last_logs = dict(logs or {})
        super().on_epoch_end(epoch, logs)

    def _save_model(self):
        if not finite_loss(self._last_logs):
            logging.info("Not backing up epoch %d: the loss is %s.", self._current_epoch, self._last_logs["loss"])
            return
        backup_dir = pathlib.Path(self.backup_dir)
        backup_dir.mkdir(parents=True, exist_ok=True)
        final = backup_dir / f"epoch-{self._current_epoch}"
        scratch = pathlib.Path(tempfile.mkdtemp(dir=backup_dir, prefix=f".epoch-{self._current_epoch}-"))
        self.model.save_weights(scratch / "model.weights.h5")
        _save_random_state(self.model, scratch / RANDOM_STATE_FILE)
        state = {"epoch": self._current_epoch, "step": int(self.model.optimizer.iterations.numpy())}
        (scratch / "state.json").write_text(json.dumps(state))
        if self.settings is not None:
            (scratch / SETTINGS_FILE).write_text(json.dumps(self.settings, indent=2))
        if final.exists():  # a re-run of this epoch: replace it
            shutil.rmtree(final)
        os.rename(scratch, final)
        for epoch in self.completed_epochs(backup_dir)[self.keep :]:
            shutil.rmtree(backup_dir / f"epoch-{epoch}", ignore_errors=True)
        for leftover in backup_dir.glob(".epoch-*"):  # scratch of a killed save
            if leftover != scratch:
                shutil.rmtree(leftover, ignore_errors=True)
        if self.on_save is not None:
            self.on_save()


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
        return non_finite_loss_error(self.failed_at, f"epoch {epochs[0]}" if epochs else None, backup_dir)


def non_finite_loss_error(step: int, last_finite: str | None, where) -> TrainingError:
    """The one message of a run stopped by a NaN or infinite loss (both training loops)."""
    kept = f"The last finite state ({last_finite}) is kept in {where}." if last_finite else "No backup had been written yet."
    return TrainingError(
        f"The training loss became NaN or infinite at step {step}. {kept} Lower the learning rate "
        "(train.learning_rate), enable loudness normalisation, or check the data for NaN audio."
    )
