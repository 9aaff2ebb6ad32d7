"""The training of `loop.train` as a custom loop, for `MultiWorkerMirroredStrategy` (Keras 3.15's `fit` fails there)."""

from __future__ import annotations

import json
import pathlib
import shutil
import tempfile
import time

import keras
import numpy as np
import tensorflow as tf

from leaf_tf.training.callbacks import SETTINGS_FILE, BestModelExport, MeanValidationAccuracy, non_finite_loss_error
from leaf_tf.training.files import atomic_save_model, atomic_write_text
from leaf_tf.training.loop import (
    ConfigWriter,
    RunSettings,
    _validation_data,
    build_classifier,
    check_resume,
    learning_rate_multipliers,
    make_optimizer,
    monitor_metric,
    resume_settings,
    run_summary,
    set_batch_norm_momentum,
    training_stream,
)


def is_chief(strategy: tf.distribute.Strategy) -> bool:
    """Whether this process writes the run's files (the chief, or worker 0 of a cluster without one)."""
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not resolver.task_type:
        return True
    return resolver.task_type == "chief" or (resolver.task_type == "worker" and resolver.task_id == 0)


def _validate(model, forward, validation, settings: RunSettings) -> dict[str, float]:
    """The validation metrics `fit` logs: `val_accuracy` (multi-task: per task, and their mean) or `val_auc`."""
    names = [task.name for task in settings.tasks]
    metrics = model.default_metrics()
    for audio, labels in validation:
        outputs = forward(audio)
        if isinstance(metrics, dict):
            for task in names:
                for metric in metrics[task]:
                    metric.update_state(labels[task], outputs[task])
        else:
            for metric in metrics:
                metric.update_state(labels, outputs)
    if not isinstance(metrics, dict):
        return {f"val_{metric.name}": float(metric.result()) for metric in metrics}
    logs = {f"val_{task}_{metric.name}": float(metric.result()) for task in names for metric in metrics[task]}
    MeanValidationAccuracy(names).on_epoch_end(0, logs)  # adds `val_accuracy`, as in fit
    return logs


def custom_training_loop(workdir: pathlib.Path, data_dir, settings: RunSettings, strategy,
                         validation_clips: int | None = 500, allow_changed_settings: bool = False) -> dict:
    """The same training as `train`, written with `strategy.run`, for `MultiWorkerMirroredStrategy`.

    Checkpoints are `tf.train.CheckpointManager` checkpoints under
    `workdir/checkpoints` (written by every worker, as collective ops require;
    non-chief workers write to a scratch directory); every worker restores the
    chief's latest at start, and each input pipeline then skips the batches
    already trained on. The chief writes what `fit` writes: validation metrics
    each epoch (per task for multi-task runs) in the history and TensorBoard,
    `best.keras` by the same rule, `config.gin` with the first checkpoint, the
    run's settings beside the checkpoints (a resume with other settings stops,
    as in `train`); a NaN loss stops with the same message.
    """
    chief = is_chief(strategy)
    with strategy.scope():
        model = build_classifier(settings.tasks, settings.pooling, settings.feature_normalization)
        model(tf.zeros([1, settings.window_samples]))
        set_batch_norm_momentum(model, settings.batch_norm_momentum)
        multipliers = learning_rate_multipliers(model, settings.frontend_learning_rate_multiplier,
                                                settings.frontend_group_multipliers)
        optimizer = make_optimizer(settings.learning_rate, model.trainable_variables, multipliers)
        optimizer.build(model.trainable_variables)
        losses = model.default_loss()
    checkpoint = tf.train.Checkpoint(model=model, optimizer=optimizer)
    shared = workdir / "checkpoints"  # the chief's: every worker resumes from it (collectives need equal states)
    directory = shared if chief else pathlib.Path(tempfile.mkdtemp(prefix="leaf_tf-worker-"))
    manager = tf.train.CheckpointManager(checkpoint, str(directory), max_to_keep=2)
    record = resume_settings(model, settings)
    latest = tf.train.latest_checkpoint(str(shared))
    if latest:
        recorded = shared / SETTINGS_FILE
        check_resume(workdir, json.loads(recorded.read_text()) if recorded.exists() else None, record,
                     allow_changed_settings)
        checkpoint.restore(latest)
        optimizer.learning_rate.assign(settings.learning_rate)  # the checkpoint's is the earlier run's
    write_config = ConfigWriter(workdir, {shared / SETTINGS_FILE: json.dumps(record, indent=2)}) if chief else (
        lambda: None)
    start_step = int(optimizer.iterations.numpy())
    if chief:
        from leaf_tf.evaluation import scoring_function  # (not at the top: evaluation imports leaf_tf.training)

        forward = scoring_function(model)
        validation = _validation_data(settings.tasks, settings.batch_size, data_dir, settings.window_s,
                                      settings.normalize_loudness, validation_clips)
        best = BestModelExport(workdir / "best.keras", monitor_metric(settings))
        best.set_model(model)
        best.on_train_begin()

    def dataset_fn(input_context):
        return training_stream(settings, data_dir, skip_batches=start_step, input_context=input_context)

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
    validation_writer = tf.summary.create_file_writer(str(workdir / "tensorboard" / "validation")) if chief else None
    history: dict[str, list[float]] = {}
    progress = keras.utils.Progbar(settings.steps, verbose=1 if chief else 0)
    progress.update(start_step)
    loss_history = []
    start = time.time()
    step = start_step
    while step < settings.steps:
        loss = float(train_step(iterator))
        step = int(optimizer.iterations.numpy())
        if not np.isfinite(loss):
            latest = tf.train.latest_checkpoint(str(shared))
            raise non_finite_loss_error(step, f"step {latest.rsplit('-', 1)[1]}" if latest else None, shared)
        loss_history.append(loss)
        progress.update(step, [("loss", loss)])
        if step % settings.steps_per_epoch == 0 or step == settings.steps:
            manager.save(checkpoint_number=step)
            write_config()
            epoch = {"loss": float(np.mean(loss_history[-settings.steps_per_epoch:]))}
            if chief:
                epoch.update(_validate(model, forward, validation, settings))
                best.on_epoch_end(step // settings.steps_per_epoch - 1, dict(epoch))
                for key, value in epoch.items():
                    history.setdefault(key, []).append(value)
                with writer.as_default():
                    tf.summary.scalar("epoch_loss", epoch["loss"], step=step)
                with validation_writer.as_default():
                    for key, value in epoch.items():
                        if key.startswith("val_"):
                            tf.summary.scalar(f"epoch_{key[4:]}", value, step=step)
    summary = run_summary(model, settings, step, strategy.num_replicas_in_sync, time.time() - start,
                          history if chief else {"loss": loss_history})
    if chief:
        atomic_save_model(model, workdir / "final.keras")
        atomic_write_text(workdir / "run.json", json.dumps(summary, indent=2))
    else:
        shutil.rmtree(directory, ignore_errors=True)
    return summary
