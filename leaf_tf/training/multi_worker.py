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

from leaf_tf.training.callbacks import TrainingError
from leaf_tf.training.files import atomic_save_model, atomic_write_text
from leaf_tf.training.loop import (
    ConfigWriter,
    RunSettings,
    build_classifier,
    learning_rate_multipliers,
    make_optimizer,
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


def custom_training_loop(workdir: pathlib.Path, data_dir, settings: RunSettings, strategy) -> dict:
    """The same training as `train`, written with `strategy.run`, for `MultiWorkerMirroredStrategy`.

    Checkpoints are `tf.train.CheckpointManager` checkpoints under
    `workdir/checkpoints` (written by every worker, as collective ops require;
    non-chief workers write to a scratch directory), restored at start; each
    input pipeline then skips the batches already trained on.
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
    directory = workdir / "checkpoints" if chief else pathlib.Path(tempfile.mkdtemp(prefix="leaf_tf-worker-"))
    manager = tf.train.CheckpointManager(checkpoint, str(directory), max_to_keep=2)
    if manager.latest_checkpoint:
        checkpoint.restore(manager.latest_checkpoint)
        optimizer.learning_rate.assign(settings.learning_rate)  # the checkpoint's is the earlier run's
    write_config = ConfigWriter(workdir) if chief else (lambda: None)
    start_step = int(optimizer.iterations.numpy())

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
    progress = keras.utils.Progbar(settings.steps, verbose=1 if chief else 0)
    progress.update(start_step)
    loss_history = []
    start = time.time()
    step = start_step
    while step < settings.steps:
        loss = float(train_step(iterator))
        step = int(optimizer.iterations.numpy())
        if not np.isfinite(loss):
            raise TrainingError(
                f"The training loss became NaN or infinite at step {step}; the last finite checkpoint is in "
                f"{directory}. Lower the learning rate or check the data."
            )
        loss_history.append(loss)
        progress.update(step, [("loss", loss)])
        if step % settings.steps_per_epoch == 0 or step == settings.steps:
            manager.save(checkpoint_number=step)
            write_config()
            if writer is not None:
                with writer.as_default():
                    tf.summary.scalar("epoch_loss", float(np.mean(loss_history[-settings.steps_per_epoch:])), step=step)
    summary = run_summary(model, settings, step, strategy.num_replicas_in_sync, time.time() - start,
                          {"loss": loss_history})
    if chief:
        atomic_save_model(model, workdir / "final.keras")
        atomic_write_text(workdir / "run.json", json.dumps(summary, indent=2))
    else:
        shutil.rmtree(directory, ignore_errors=True)
    return summary
