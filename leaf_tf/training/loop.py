"""`train(workdir)`: one gin-configured training run, from one CPU to many accelerators.

What a run does, top to bottom:

1. checks the work directory is writable, seeds every random source from
   `seed` and (by default) turns on deterministic kernels (`determinism`);
2. picks a `tf.distribute` strategy (`"default"`, `"mirrored"`,
   `"multi_worker"` from `TF_CONFIG`, `"tpu"`; on JAX, `"data_parallel"`:
   `keras.distribution.DataParallel` over the local devices) and, optionally,
   a mixed precision policy (frontends stay float32);
3. builds the classifier: the frontend and encoder the gin files select
   (`configured_frontend()`, `configured_encoder()`), one head per task
   (`AudioClassifier` for one task, `MultiTaskClassifier` for several);
4. trains with Adam on random windows (`data.pipeline`), the frontend's
   variables optionally at their own learning rate (`ScaledAdam`), with Keras
   callbacks: progress bar, TensorBoard (scalars, weight histograms -- the
   frontend's learnt parameters included), an atomic `BackupAndRestore`
   (a run killed at any moment, SIGKILL included, resumes from its last
   completed epoch), export of the best model by validation accuracy
   (`best.keras`), `TerminateOnNaN` with a clear error, and a plot of the
   frontend's filters in TensorBoard every N steps;
5. saves `final.keras` and `run.json` (tasks, frontend, encoder, parameter
   counts, seed, learning rates, steps, this invocation's history).

An "epoch" is `steps_per_epoch` training steps on the endless training
stream: the unit of validation, checkpointing and logging. The stream is a
function of `seed` alone and a resumed run skips the batches already trained
on, so a killed and resumed run trains on exactly the batches an
uninterrupted one does (and, with `deterministic`, gives the same weights).
`MultiWorkerMirroredStrategy` cannot use `Model.fit` in Keras 3.15, so that
strategy runs `multi_worker.custom_training_loop` with the same model, data
and files.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import math
import sys
import time
import warnings

import gin
import keras
import tensorflow as tf
from absl import logging

from leaf_tf import backend, models
from leaf_tf.data import pipeline
from leaf_tf.data.tasks import Task, get_task, load_split, task_definition
from leaf_tf.encoders import configured_encoder
from leaf_tf.frontends import FRONTENDS, configured_frontend
from leaf_tf.optimizers import ScaledAdam
from leaf_tf.training.callbacks import (
    AtomicBackupAndRestore,
    BestModelExport,
    MeanValidationAccuracy,
    TerminateOnNaN,
    TrainingError,
)
from leaf_tf.training.determinism import is_determinism_error, seed_everything
from leaf_tf.training.files import atomic_save_model, atomic_write_text, check_workdir

STRATEGIES = ("default", "mirrored", "data_parallel", "multi_worker", "tpu")
# What each Keras backend can train with: tf.distribute on TensorFlow, keras.distribution on JAX.
BACKEND_STRATEGIES = {"tensorflow": STRATEGIES, "jax": ("default", "data_parallel"), "torch": ("default",)}


# ------------------------------------------------------------------ settings


@dataclasses.dataclass(frozen=True)
class RunSettings:
    """Everything `train` was asked for that shapes the model, the data or the optimisation."""

    tasks: tuple[Task, ...]
    batch_size: int
    steps: int
    steps_per_epoch: int
    learning_rate: float
    window_s: float
    normalize_loudness: bool
    pooling: str
    feature_normalization: str | None
    batch_norm_momentum: float | None
    frontend_learning_rate_multiplier: float
    frontend_group_multipliers: dict | None
    seed: int
    deterministic: bool
    strategy: str
    mixed_precision: str | None
    label: str | None

    @property
    def epochs(self) -> int:
        return math.ceil(self.steps / self.steps_per_epoch)

    @property
    def window_samples(self) -> int:
        return int(round(self.window_s * self.tasks[0].sample_rate))


# ------------------------------------------------------------------ strategy


class KerasDataParallel:
    """Synchronous data parallelism over this machine's devices with `keras.distribution.DataParallel` (JAX).

    Each global batch is split along its first axis across the devices, the
    weights are replicated, and XLA reduces the gradients: the same update as
    one device computing the whole batch. It offers what `train` uses of a
    `tf.distribute.Strategy`: `scope()` (Keras' distribution, in force for
    everything built, trained and saved inside it) and `num_replicas_in_sync`.
    """

    def __init__(self, devices: list[str] | None = None):
        self.devices = list(devices or keras.distribution.list_devices())
        self.distribution = keras.distribution.DataParallel(devices=self.devices)

    @property
    def num_replicas_in_sync(self) -> int:
        return len(self.devices)

    def scope(self):
        return self.distribution.scope()


def make_strategy(name: str = "default", tpu: str | None = None):
    """The strategy called `name` (one of `STRATEGIES`) on the Keras backend in use.

    TensorFlow: a `tf.distribute.Strategy` ("data_parallel" is `MirroredStrategy`);
    JAX: "data_parallel" is `KerasDataParallel` (`keras.distribution.DataParallel`
    over the local devices). Other names on other backends raise a `ValueError`.
    """
    if name not in STRATEGIES:
        raise ValueError(f"Unknown strategy {name!r}; expected one of {', '.join(STRATEGIES)}.")
    allowed = BACKEND_STRATEGIES.get(backend.backend_name(), ("default",))
    if name not in allowed:
        raise ValueError(
            f"train.strategy = {name!r} is not available on the {backend.backend_name()} backend, which trains with "
            f"{' or '.join(repr(a) for a in allowed)}; {name!r} is a tf.distribute strategy (KERAS_BACKEND=tensorflow)."
        )
    if name == "default":
        return tf.distribute.get_strategy()
    if name == "data_parallel" and not backend.is_tensorflow():
        return KerasDataParallel()
    if name in ("mirrored", "data_parallel"):
        return tf.distribute.MirroredStrategy()
    if name == "multi_worker":
        return tf.distribute.MultiWorkerMirroredStrategy()
    if name == "tpu":
        resolver = tf.distribute.cluster_resolver.TPUClusterResolver(tpu=tpu or "")
        tf.config.experimental_connect_to_cluster(resolver)
        tf.tpu.experimental.initialize_tpu_system(resolver)
        return tf.distribute.TPUStrategy(resolver)
    raise ValueError(f"Unknown strategy {name!r}; expected one of {', '.join(STRATEGIES)}.")


# ------------------------------------------------------------------ model, optimizer, data


def build_classifier(tasks, pooling: str = "max", feature_normalization: str | None = None) -> models._Classifier:
    """The gin-selected frontend and encoder with one head per task."""
    frontend, encoder = configured_frontend(), configured_encoder()
    if len(tasks) == 1:
        task = tasks[0]
        return models.AudioClassifier(task.num_classes, frontend, encoder, pooling, multi_label=task.multi_label,
                                      feature_normalization=feature_normalization)
    return models.MultiTaskClassifier({task.name: task.num_classes for task in tasks}, frontend, encoder, pooling,
                                      feature_normalization=feature_normalization)


def set_batch_norm_momentum(model: keras.Model, momentum: float | None) -> int:
    """Sets the moving-average momentum of every `BatchNormalization` layer of `model`; returns how many.

    Keras' default, 0.99, averages the batch statistics of the last ~100 steps
    with a start at mean 0 and variance 1 that fades as `momentum^step`: after
    300 steps it still weighs 5%. In a run of a few hundred steps whose
    activations change quickly, inference then uses statistics that lag far
    behind training (the quickstart's validation accuracy stayed near chance
    for its first 300 steps while training accuracy passed 80%). `None` keeps
    each layer's own value.
    """
    if momentum is None:
        return 0
    if not 0.0 <= momentum < 1.0:
        raise ValueError(f"train.batch_norm_momentum must be in [0, 1), got {momentum}.")
    layers = [layer for layer in model._flatten_layers(include_self=False)
              if isinstance(layer, keras.layers.BatchNormalization)]
    for layer in layers:
        layer.momentum = float(momentum)
    return len(layers)


def learning_rate_multipliers(model, frontend_multiplier: float = 1.0,
                              group_multipliers: dict | None = None) -> dict[int, float]:
    """`{id(variable): multiplier}` for the built model's frontend variables whose multiplier is not 1.

    A frontend variable of group `g` (see `Frontend.parameter_groups`) learns
    at `learning_rate * frontend_multiplier * group_multipliers.get(g, 1)`;
    every other variable at `learning_rate`.
    """
    group_multipliers = dict(group_multipliers or {})
    groups = model.frontend.parameter_groups() if model.frontend is not None else {}
    unknown = sorted(set(group_multipliers) - set(groups))
    if unknown:
        name = type(model.frontend).__name__ if model.frontend is not None else "no frontend"
        raise ValueError(
            f"train.frontend_group_multipliers names {unknown}, which {name} does not have; its trainable "
            f"groups are {sorted(groups) or 'none'}."
        )
    multipliers = {}
    for group, variables in groups.items():
        multiplier = float(frontend_multiplier) * float(group_multipliers.get(group, 1.0))
        if multiplier != 1.0:
            multipliers.update({id(variable): multiplier for variable in variables})
    return multipliers


def frontend_learning_rates(model, settings: RunSettings) -> dict[str, float]:
    """The learning rate of each trainable frontend group (for `run.json`)."""
    groups = model.frontend.parameter_groups() if model.frontend is not None else {}
    group_multipliers = settings.frontend_group_multipliers or {}
    return {group: settings.learning_rate * settings.frontend_learning_rate_multiplier
            * float(group_multipliers.get(group, 1.0)) for group in groups}


def make_optimizer(learning_rate: float, variables, multipliers: dict[int, float]) -> keras.optimizers.Optimizer:
    """Adam for `variables`, or `ScaledAdam` when some of them learn at another rate."""
    if multipliers:
        return ScaledAdam.for_variables(learning_rate, variables, multipliers)
    return keras.optimizers.Adam(learning_rate)


def training_stream(settings: RunSettings, data_dir, skip_batches: int = 0,
                    input_context: tf.distribute.InputContext | None = None) -> tf.data.Dataset:
    """The endless, seed-determined stream of training batches, from batch `skip_batches` on.

    A resumed run skips what it already trained on (reading, not training:
    the pipeline produces about 10,000 windows a second on 2 cores), so it
    sees exactly the batches of an uninterrupted run.
    """
    if len(settings.tasks) == 1:
        stream = pipeline.train_dataset(settings.tasks[0], settings.batch_size, data_dir, settings.window_s,
                                        settings.normalize_loudness, seed=settings.seed, input_context=input_context)
    else:
        stream = pipeline.multitask_train_dataset([t.name for t in settings.tasks], settings.batch_size, data_dir,
                                                  settings.window_s, settings.normalize_loudness, seed=settings.seed,
                                                  input_context=input_context)
    return stream.skip(skip_batches) if skip_batches else stream


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


def pad_batches(dataset: tf.data.Dataset, multiple: int) -> tf.data.Dataset:
    """`(audio, labels)` batches as `(audio, labels, weights)`, each batch padded to a multiple of `multiple`.

    `keras.distribution.DataParallel` splits every batch evenly across the
    devices, so a validation set's last, smaller batch must be padded; the
    padding examples (silence, label 0 or `IGNORED_LABEL` for multi-task
    labels) weigh 0 and change no metric.
    """

    def pad(audio, labels):
        count = tf.shape(audio)[0]
        extra = (multiple - count % multiple) % multiple
        weights = tf.concat([tf.ones([count]), tf.zeros([extra])], axis=0)

        def pad_tensor(tensor, value=0):
            paddings = [[0, extra]] + [[0, 0]] * (len(tensor.shape) - 1)
            return tf.pad(tensor, paddings, constant_values=tf.cast(value, tensor.dtype))

        if isinstance(labels, dict):
            labels = {name: pad_tensor(label, pipeline.IGNORED_LABEL) for name, label in labels.items()}
        else:
            labels = pad_tensor(labels)
        return pad_tensor(audio), labels, weights

    return dataset.map(pad)


# ------------------------------------------------------------------ the run


@gin.configurable(denylist=["workdir", "data_dir"])
def train(
    workdir: str,
    data_dir: str | None = None,
    tasks=gin.REQUIRED,
    batch_size: int = 64,
    steps: int = 10000,
    steps_per_epoch: int = 500,
    learning_rate: float = 1e-4,
    frontend_learning_rate_multiplier: float = 1.0,
    frontend_group_multipliers: dict | None = None,
    window_s: float = 1.0,
    normalize_loudness: bool = False,
    pooling: str = "max",
    feature_normalization: str | None = None,
    batch_norm_momentum: float | None = None,
    strategy: str = "default",
    tpu: str | None = None,
    mixed_precision: str | None = None,
    validation_clips: int | None = 500,
    histogram_freq: int = 1,
    filter_plot_every_n_steps: int = 1000,
    seed: int = 0,
    deterministic: bool = True,
    label: str | None = None,
    allow_changed_settings: bool = False,
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
      frontend_learning_rate_multiplier: the frontend's variables learn at
        `learning_rate` times this (1: the paper's single learning rate).
      frontend_group_multipliers: further multipliers per frontend parameter
        group, e.g. `{"filters": 0.1}`; groups are "filters" (pre-emphasis and
        filterbank), "pooling", "compression" and "other"
        (`Frontend.parameter_groups`).
      window_s: training window length in seconds (1 s in the paper).
      normalize_loudness: apply the reference's loudness normalisation.
      pooling: the classifier's global pooling ("max", "avg", "max_time",
        "avg_time").
      feature_normalization: None (the paper) or "batch" (a per-channel
        `BatchNormalization` between frontend and encoder).
      batch_norm_momentum: the moving-average momentum of every batch
        normalisation layer (None: the layers' own, Keras' 0.99); short runs
        want a shorter memory, e.g. 0.9 (`set_batch_norm_momentum`).
      strategy: one of `STRATEGIES`: on TensorFlow any (`"data_parallel"` is
        `"mirrored"`), on JAX `"default"` or `"data_parallel"`, on PyTorch
        `"default"` (`make_strategy`).
      tpu: TPU name or address for `strategy="tpu"`.
      mixed_precision: None, "mixed_float16" or "mixed_bfloat16" (frontends
        and heads stay float32).
      validation_clips: validate on the first N clips of each task's
        validation split (None: all).
      histogram_freq: epochs between weight histograms in TensorBoard (0: none).
      filter_plot_every_n_steps: steps between plots of the frontend's filters,
        pooling and PCEN in TensorBoard (0: none; needs matplotlib).
      seed: the one seed of weight initialisation, shuffling, crops, dropout
        and SpecAugment.
      deterministic: use deterministic kernels (`tf.config.experimental.
        enable_op_determinism`): the same command on the same machine gives
        the same losses, weights and results. It costs little on CPU (see the
        README); on accelerators some ops have no deterministic kernel and the
        run stops with an error saying so.
      label: the name of this configuration in comparison tables (default:
        the frontend's short name), e.g. "leaf_lr0.1".
      allow_changed_settings: resume a run whose backup was trained with other
        settings (learning rates, batch size, window, seed, ...), training on
        with the new values; without it such a resume stops and lists the
        differences. A different model (tasks, frontend, encoder) never resumes.
      verbose: Keras' fit verbosity; "auto": a progress bar when stdout is a terminal, else one line per epoch.
    """
    workdir = check_workdir(workdir)
    # Before any TensorFlow op: MultiWorkerMirroredStrategy must configure collectives at start-up.
    distribution = make_strategy(strategy, tpu)
    if steps < 1 or steps_per_epoch < 1:
        raise ValueError(f"steps and steps_per_epoch must be positive, got {steps} and {steps_per_epoch}.")
    if not frontend_learning_rate_multiplier >= 0:
        raise ValueError(f"train.frontend_learning_rate_multiplier must be >= 0, got {frontend_learning_rate_multiplier}.")
    task_list = [get_task(t) for t in ([tasks] if isinstance(tasks, str) else tasks)]
    for task in task_list:  # fail early, before anything is built, if a dataset is missing
        load_split(task, "train", data_dir)
    replicas = distribution.num_replicas_in_sync
    if batch_size % replicas:
        raise ValueError(
            f"batch_size={batch_size} is not divisible by the {replicas} replicas of the {strategy!r} strategy; "
            f"use a multiple of {replicas} (train.batch_size)."
        )
    settings = RunSettings(
        tasks=tuple(task_list), batch_size=batch_size, steps=steps, steps_per_epoch=steps_per_epoch,
        learning_rate=learning_rate, window_s=window_s, normalize_loudness=normalize_loudness, pooling=pooling,
        feature_normalization=feature_normalization, batch_norm_momentum=batch_norm_momentum,
        frontend_learning_rate_multiplier=frontend_learning_rate_multiplier,
        frontend_group_multipliers=dict(frontend_group_multipliers) if frontend_group_multipliers else None,
        seed=seed, deterministic=deterministic, strategy=strategy, mixed_precision=mixed_precision, label=label,
    )
    if mixed_precision:
        keras.mixed_precision.set_global_policy(mixed_precision)
    seed_everything(seed, deterministic)
    try:
        if strategy == "multi_worker":
            from leaf_tf.training.multi_worker import custom_training_loop

            return custom_training_loop(workdir, data_dir, settings, distribution, validation_clips,
                                        allow_changed_settings)
        # Keras' distribution (JAX) must be in force while `fit` runs, not only while the model is built.
        keras_distribution = distribution.scope() if isinstance(distribution, KerasDataParallel) else None
        with keras_distribution or contextlib.nullcontext():
            return _fit(workdir, data_dir, settings, distribution, validation_clips, histogram_freq,
                        filter_plot_every_n_steps, verbose, allow_changed_settings)
    except tf.errors.UnimplementedError as error:
        if is_determinism_error(error):
            raise TrainingError(
                "An op has no deterministic kernel on this device; set train.deterministic = False "
                f"(runs are then not bitwise repeatable). TensorFlow said: {str(error).splitlines()[0]}"
            ) from None
        raise


def _fit(workdir, data_dir, settings: RunSettings, distribution, validation_clips, histogram_freq,
         filter_plot_every_n_steps, verbose, allow_changed_settings: bool = False) -> dict:
    """The `Model.fit` path of `train` (every strategy but multi-worker)."""
    backup_dir = workdir / "backup"
    # DataParallel pads the last validation batch with examples of weight 0 (`pad_batches`): the metrics
    # and losses must then weigh examples (Keras' `weighted_metrics`, a mean over the weights).
    padded = isinstance(distribution, KerasDataParallel) and distribution.num_replicas_in_sync > 1
    with distribution.scope():
        model = build_classifier(settings.tasks, settings.pooling, settings.feature_normalization)
        model(keras.ops.zeros((1, settings.window_samples)))
        set_batch_norm_momentum(model, settings.batch_norm_momentum)
        multipliers = learning_rate_multipliers(model, settings.frontend_learning_rate_multiplier,
                                                settings.frontend_group_multipliers)
        loss = model.default_loss()
        if padded:
            loss = keras.tree.map_structure(
                lambda item: item.__class__.from_config({**item.get_config(), "reduction": "mean_with_sample_weight"}),
                loss,
            )
        model.compile(
            optimizer=make_optimizer(settings.learning_rate, model.trainable_variables, multipliers),
            loss=loss,
            **{"weighted_metrics" if padded else "metrics": model.default_metrics()},
        )
        record = resume_settings(model, settings)
        check_resume(workdir, AtomicBackupAndRestore.recorded_settings(backup_dir), record, allow_changed_settings)
        backups = AtomicBackupAndRestore(backup_dir, settings=record, on_save=ConfigWriter(workdir))
        restored_epoch = backups.restore(model)  # builds the optimizer: inside the strategy's scope
        # The backup's optimizer state holds the learning rate it was trained with: train on with this run's.
        model.optimizer.learning_rate.assign(settings.learning_rate)

    train_data = training_stream(settings, data_dir, skip_batches=restored_epoch * settings.steps_per_epoch)
    validation = _validation_data(settings.tasks, settings.batch_size, data_dir, settings.window_s,
                                  settings.normalize_loudness, validation_clips)
    if padded:
        validation = pad_batches(validation, distribution.num_replicas_in_sync)
    nan_guard = TerminateOnNaN()
    callbacks = [
        backups,
        nan_guard,
        keras.callbacks.TensorBoard(workdir / "tensorboard", histogram_freq=histogram_freq, write_graph=False),
    ]
    if filter_plot_every_n_steps > 0:
        from leaf_tf.plot import FilterPlotCallback

        callbacks.append(FilterPlotCallback(workdir / "tensorboard" / "train", every_n_steps=filter_plot_every_n_steps))
    if len(settings.tasks) > 1:
        callbacks.append(MeanValidationAccuracy([t.name for t in settings.tasks]))
    callbacks.append(BestModelExport(workdir / "best.keras", monitor_metric(settings)))

    if verbose == "auto":  # a progress bar in a terminal; one plain line per epoch in a log file
        verbose = 1 if sys.stdout.isatty() else 2
    start = time.time()
    with warnings.catch_warnings():
        # The training stream is endless; Keras says the input "ran out of data" when the (finite) validation
        # set ends, which it must.
        warnings.filterwarnings("ignore", message="Your input ran out of data")
        history = model.fit(train_data, epochs=settings.epochs, steps_per_epoch=settings.steps_per_epoch,
                            validation_data=validation, callbacks=callbacks, verbose=verbose, shuffle=False)
    if nan_guard.failed_at is not None:
        raise nan_guard.error(backup_dir)
    summary = run_summary(model, settings, int(model.optimizer.iterations.numpy()), distribution.num_replicas_in_sync,
                          time.time() - start, history.history)
    if not history.history and (workdir / "run.json").exists():
        return summary  # a finished run, re-run: nothing trained, its files stay as they were
    atomic_save_model(model, workdir / "final.keras")
    atomic_write_text(workdir / "run.json", json.dumps(summary, indent=2))
    return summary


def monitor_metric(settings: RunSettings) -> str:
    """What `best.keras` is chosen by: validation AUC for a multi-label run, else validation accuracy."""
    return "val_auc" if settings.tasks[0].multi_label and len(settings.tasks) == 1 else "val_accuracy"


class ConfigWriter:
    """Writes `config.gin` and `operative_config.gin` (and any `extra` `{path: text}`) once, at the run's first
    complete backup.

    Until then an earlier run's files in the same workdir stay as they were:
    a run that fails while building its model or before its first epoch ends
    (a typo in a keyword, NaN at step 2, a kill) leaves them untouched.
    """

    def __init__(self, workdir, extra: dict | None = None):
        self.workdir = workdir
        self.extra = dict(extra or {})
        self.written = False

    def __call__(self):
        if not self.written:
            atomic_write_text(self.workdir / "config.gin", gin.config_str())
            atomic_write_text(self.workdir / "operative_config.gin", gin.operative_config_str())
            for path, text in self.extra.items():
                atomic_write_text(path, text)
            self.written = True


# Settings that define the model: a backup trained with others cannot be resumed by this model at all.
MODEL_SETTINGS = ("tasks", "frontend", "encoder", "parameters", "pooling", "feature_normalization")


def resume_settings(model, settings: RunSettings) -> dict:
    """What a backup records of the run that wrote it, as `check_resume` compares it (JSON values)."""
    record = {
        "tasks": [task.name for task in settings.tasks],
        "frontend": frontend_key(model.frontend),
        "encoder": model.encoder.name if model.encoder is not None else None,
        "parameters": models.describe(model)["total"],
        "pooling": settings.pooling,
        "feature_normalization": settings.feature_normalization,
        "batch_size": settings.batch_size,
        "steps_per_epoch": settings.steps_per_epoch,
        "learning_rate": settings.learning_rate,
        "frontend_learning_rate_multiplier": settings.frontend_learning_rate_multiplier,
        "frontend_group_multipliers": settings.frontend_group_multipliers,
        "window_s": settings.window_s,
        "normalize_loudness": settings.normalize_loudness,
        "batch_norm_momentum": settings.batch_norm_momentum,
        "seed": settings.seed,
        "mixed_precision": settings.mixed_precision,
    }
    return json.loads(json.dumps(record))


def check_resume(workdir, recorded: dict | None, record: dict, allow_changed: bool) -> None:
    """Stops a resume whose settings differ from its backup's, unless `allow_changed` (model settings: always)."""
    if recorded is None:
        return
    changed = {key: (recorded[key], value) for key, value in record.items() if key in recorded and recorded[key] != value}
    if not changed:
        return
    listed = "; ".join(f"{key} {old!r} -> {new!r}" for key, (old, new) in changed.items())
    model_changes = [key for key in changed if key in MODEL_SETTINGS]
    if model_changes:
        raise ValueError(
            f"{workdir} holds a run of another model ({listed}); its backups cannot be resumed by this one: "
            f"use another --workdir."
        )
    if not allow_changed:
        raise ValueError(
            f"{workdir} holds a run trained with other settings ({listed}): use another --workdir, or resume it "
            f"with the new values with --gin_bindings='train.allow_changed_settings = True'."
        )
    logging.warning("Resuming %s with changed settings: %s.", workdir, listed)


def frontend_key(frontend) -> str:
    """The short name (`"leaf"`, `"mel"`, ...) of a frontend's class, else its class name."""
    for key, cls in FRONTENDS.items():
        if type(frontend) is cls:
            return key
    return type(frontend).__name__


def run_summary(model, settings: RunSettings, steps: int, replicas: int, seconds: float, history: dict) -> dict:
    """The content of `run.json`."""
    frontend = frontend_key(model.frontend)
    return {
        "tasks": [task.name for task in settings.tasks],
        "task_definitions": [task_definition(task) for task in settings.tasks],
        "frontend": frontend,
        "label": settings.label or frontend,
        "encoder": model.encoder.name if model.encoder is not None else None,
        "seed": settings.seed,
        "deterministic": settings.deterministic,
        "window_s": settings.window_s,
        "normalize_loudness": settings.normalize_loudness,
        "feature_normalization": settings.feature_normalization,
        "batch_norm_momentum": settings.batch_norm_momentum,
        "batch_size": settings.batch_size,
        "learning_rate": settings.learning_rate,
        "frontend_learning_rates": frontend_learning_rates(model, settings),
        "parameters": models.describe(model),
        "steps": steps,
        "strategy": settings.strategy,
        "replicas": replicas,
        "mixed_precision": settings.mixed_precision,
        "train_seconds_this_run": round(seconds, 1),
        "history": {key: [float(v) for v in values] for key, values in history.items()},
    }
