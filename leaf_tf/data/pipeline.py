"""The input pipeline: TFDS examples -> training windows, evaluation windows, multi-task batches.

Training (the paper's setting): each clip is decoded to float32 in [-1, 1],
zero-padded at the end to at least `window_s` seconds and randomly cropped to
exactly `window_s` seconds (1 s by default), optionally loudness-normalised,
shuffled, batched and prefetched. Crops and shuffling are deterministic given
`seed`: the crop of the n-th example of the repeated stream (before the
shuffle, which then mixes windows) uses the stateless seed `(seed, n)`.

Evaluation: each full clip is cut into consecutive windows of `window_s`
seconds, the last one ending at the clip's end (`clip_windows`; a clip
shorter than a window gives one zero-padded window). Windows carry the index of their clip, and a clip's
prediction is the mean of its windows' logits (`clip_logits`).

Multi-task training: one stream per task, interleaved round-robin so that a
batch of `batch_size = k * num_tasks` examples holds exactly `k` examples of
every task (with other batch sizes the mix rotates by one task from batch to
batch). Each example's label for every other task is -1 (`IGNORED_LABEL`),
which `MultiTaskClassifier`'s losses and metrics skip.

Distribution: pass the `tf.distribute.InputContext` that
`strategy.distribute_datasets_from_function` gives; each input pipeline then
reads its own share of the files (`tfds.ReadConfig(input_context=...)`) and
batches `input_context.get_per_replica_batch_size(batch_size)` examples.
"""

from __future__ import annotations

import os
import sys

import gin
import numpy as np
import tensorflow as tf

from leaf_tf.data.tasks import Task, get_task, load_split

AUTOTUNE = tf.data.AUTOTUNE
IGNORED_LABEL = -1


# ------------------------------------------------------------------ per-example transforms


@gin.configurable
def loudness_normalization(samples: tf.Tensor, target_db: float = 15.0, max_gain_db: float = 30.0) -> tf.Tensor:
    """The reference's loudness normalisation: `x * min(10^(max_gain_db/20), 10^(target_db/20) / (std(x) + 1e-9))`.

    `samples`: `[..., samples]`, each row normalised on its own. `std` is the
    population standard deviation of the row; silence gets the maximum gain
    (and stays silent).
    """
    std = tf.math.reduce_std(samples, axis=-1, keepdims=True)
    return samples * tf.minimum(10.0 ** (max_gain_db / 20.0), 10.0 ** (target_db / 20.0) / (std + 1e-9))


def pad_to(samples: tf.Tensor, length: int) -> tf.Tensor:
    """Zero-pads `[samples]` at the end up to at least `length`."""
    return tf.pad(samples, [[0, tf.maximum(length - tf.shape(samples)[0], 0)]])


def random_window(samples: tf.Tensor, window: int, seed: tf.Tensor) -> tf.Tensor:
    """`window` consecutive samples at a uniformly random offset (stateless `seed`), after end-padding."""
    samples = pad_to(samples, window)
    max_offset = tf.shape(samples)[0] - window
    offset = tf.random.stateless_uniform([], seed=seed, minval=0, maxval=max_offset + 1, dtype=tf.int32)
    return tf.ensure_shape(samples[offset : offset + window], [window])


LAST_WINDOWS = ("aligned", "padded")


def clip_windows(samples: tf.Tensor, window: int, last: str = "aligned") -> tf.Tensor:
    """`[samples]` -> `[ceil(samples / window), window]` consecutive windows covering the clip (>= 1 window).

    `last="aligned"` (default): window `i` starts at `min(i * window, samples
    - window)`, so the last one ends at the clip's end and overlaps its
    predecessor instead of holding zeros (a partly silent window is unlike
    any training crop, and its logits would count as much as a full
    window's); `last="padded"`: the last window is zero-padded. A clip
    shorter than one window is zero-padded at the end either way, as in
    training.
    """
    if last not in LAST_WINDOWS:
        raise ValueError(f"last must be one of {LAST_WINDOWS}, got {last!r}.")
    num_windows = tf.maximum((tf.shape(samples)[0] + window - 1) // window, 1)
    if last == "padded":
        return tf.reshape(pad_to(samples, num_windows * window), [num_windows, window])
    samples = pad_to(samples, window)
    starts = tf.minimum(tf.range(num_windows) * window, tf.shape(samples)[0] - window)
    return tf.gather(samples, starts[:, tf.newaxis] + tf.range(window)[tf.newaxis, :])


def clip_logits(clip_ids: np.ndarray, window_logits: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Averages window logits per clip: returns `(sorted unique clip ids, [clips, classes] mean logits)`."""
    clips, inverse = np.unique(np.asarray(clip_ids), return_inverse=True)
    sums = np.zeros((len(clips), window_logits.shape[-1]), np.float64)
    np.add.at(sums, inverse, window_logits)
    counts = np.bincount(inverse, minlength=len(clips))[:, None]
    return clips, (sums / counts).astype(np.float32)


# ------------------------------------------------------------------ datasets


def _options() -> tf.data.Options:
    options = tf.data.Options()
    options.deterministic = True
    # tf.data has its own thread pool, as large as the machine; when the process is limited to a few threads
    # (several runs side by side, `leaf_tf.compare`), keep the input pipeline within the same limit.
    threads = tf.config.threading.get_intra_op_parallelism_threads() or int(os.environ.get("TF_NUM_INTRAOP_THREADS", 0))
    if threads > 0:
        options.threading.private_threadpool_size = threads
    return options


def decoded_examples(task: Task, split: str, data_dir=None, shuffle_files: bool = False, seed: int = 0,
                     input_context: tf.distribute.InputContext | None = None) -> tf.data.Dataset:
    """`{"audio": float32 [samples], "label": ...}` for every clip of `split` (see `Task.decode`)."""
    dataset = load_split(task, split, data_dir=data_dir, shuffle_files=shuffle_files, seed=seed, input_context=input_context)
    return drop_non_finite(dataset.map(lambda ex: (task.decode(ex), ex.get("id", "")), num_parallel_calls=AUTOTUNE),
                           f"{task.name}/{split}")


def drop_non_finite(dataset: tf.data.Dataset, where: str) -> tf.data.Dataset:
    """`(example, clip id)` pairs -> the examples whose audio is finite; each dropped clip is named on stderr.

    A NaN sample in a clip would reach every frame of LEAF's output through
    sPCEN's smoother: finite-looking but wrong features. Audio files are checked
    when decoded (`audio_io.read_audio`); this catches float audio stored in
    TFDS datasets.
    """

    def finite(example, clip_id):
        ok = tf.reduce_all(tf.math.is_finite(example["audio"]))

        def warn():
            tf.print("leaf_tf: skipped clip", clip_id, f"of {where}: its audio holds NaN or infinite samples.",
                     output_stream=sys.stderr)
            return ok

        return tf.cond(ok, lambda: ok, warn)

    return dataset.filter(finite).map(lambda example, clip_id: example)


def train_windows(
    task: Task | str,
    data_dir=None,
    window_s: float = 1.0,
    normalize_loudness: bool = False,
    shuffle_buffer: int = 2048,
    seed: int = 0,
    split: str | None = None,
    input_context: tf.distribute.InputContext | None = None,
    repeat: bool = True,
) -> tf.data.Dataset:
    """Unbatched random training windows `(audio [window], label)`, endless when `repeat`."""
    task = get_task(task)
    window = int(round(window_s * task.sample_rate))
    dataset = decoded_examples(task, split or "train", data_dir, True, seed, input_context)
    if repeat:
        dataset = dataset.repeat()

    def crop(index, example):
        audio = random_window(example["audio"], window, tf.stack([tf.constant(seed, tf.int64), index]))
        if normalize_loudness:
            audio = loudness_normalization(audio)
        return audio, example["label"]

    # Cropped before the shuffle, so that the buffer holds windows, not whole clips (10 s AudioSet clips
    # would take 2048 x 640 kB). The stream is endless (repeat before shuffle), so every iterator of it
    # is the same deterministic stream.
    dataset = dataset.enumerate().map(crop, num_parallel_calls=AUTOTUNE)
    return dataset.shuffle(shuffle_buffer, seed=seed, reshuffle_each_iteration=False)


@gin.configurable
def train_dataset(
    task: Task | str,
    batch_size: int,
    data_dir=None,
    window_s: float = 1.0,
    normalize_loudness: bool = False,
    shuffle_buffer: int = 2048,
    seed: int = 0,
    split: str | None = None,
    input_context: tf.distribute.InputContext | None = None,
    repeat: bool = True,
) -> tf.data.Dataset:
    """Batches of random training windows: `(audio [B, window], label [B] or [B, classes])`."""
    windows = train_windows(task, data_dir, window_s, normalize_loudness, shuffle_buffer, seed, split, input_context, repeat)
    batch_size = _per_replica_batch_size(batch_size, input_context)
    return windows.batch(batch_size, drop_remainder=True).prefetch(AUTOTUNE).with_options(_options())


@gin.configurable
def eval_dataset(
    task: Task | str,
    batch_size: int,
    split: str = "test",
    data_dir=None,
    window_s: float = 1.0,
    normalize_loudness: bool = False,
    input_context: tf.distribute.InputContext | None = None,
    max_clips: int | None = None,
    last_window: str = "aligned",
) -> tf.data.Dataset:
    """Full-clip evaluation windows: `{"audio": [B, window], "clip": [B] int64, "label": ...}`, one pass.

    `clip` numbers the clips of the split (0, 1, ...) so that `clip_logits` can
    average each clip's windows; the last batch may be smaller. `max_clips`
    keeps the first clips only (the others are never decoded). `last_window`:
    see `clip_windows`.
    """
    task = get_task(task)
    window = int(round(window_s * task.sample_rate))
    dataset = decoded_examples(task, task.split_name(split), data_dir, False, 0, input_context).enumerate()
    if max_clips is not None:
        dataset = dataset.take(max_clips)

    def windows(clip, example):
        audio = clip_windows(example["audio"], window, last_window)
        if normalize_loudness:
            audio = loudness_normalization(audio)
        count = tf.shape(audio)[0]
        labels = tf.repeat(example["label"][tf.newaxis], count, axis=0)
        return tf.data.Dataset.from_tensor_slices({"audio": audio, "clip": tf.fill([count], clip), "label": labels})

    dataset = dataset.flat_map(windows)
    return dataset.batch(_per_replica_batch_size(batch_size, input_context)).prefetch(AUTOTUNE).with_options(_options())


@gin.configurable
def multitask_train_dataset(
    tasks,
    batch_size: int,
    data_dir=None,
    window_s: float = 1.0,
    normalize_loudness: bool = False,
    shuffle_buffer: int = 1024,
    seed: int = 0,
    input_context: tf.distribute.InputContext | None = None,
) -> tf.data.Dataset:
    """Round-robin mix of the tasks' training windows: `(audio [B, window], {task: labels [B]})`.

    Labels of examples from other tasks are -1. With `batch_size` a multiple of
    the number of tasks, every batch holds the same number of examples of each
    task (see the module docstring).
    """
    tasks = [get_task(task) for task in tasks]
    rates = {task.sample_rate for task in tasks}
    if len(rates) != 1:
        raise ValueError(f"Multi-task training needs one sample rate; got {sorted(rates)} for {[t.name for t in tasks]}.")
    streams = []
    for index, task in enumerate(tasks):
        if task.multi_label:
            raise ValueError(f"Task {task.name!r} is multi-label; multi-task training mixes single-label tasks.")
        stream = train_windows(task, data_dir, window_s, normalize_loudness, shuffle_buffer, seed + index,
                               input_context=input_context)
        streams.append(stream.map(lambda audio, label, i=index: (audio, i, tf.cast(label, tf.int64))))
    selector = tf.data.Dataset.range(len(tasks)).repeat()
    mixed = tf.data.Dataset.choose_from_datasets(streams, selector)
    names = [task.name for task in tasks]

    def to_labels(audio, task_index, label):
        return audio, {name: tf.where(task_index == i, label, tf.constant(IGNORED_LABEL, tf.int64)) for i, name in enumerate(names)}

    batch_size = _per_replica_batch_size(batch_size, input_context)
    mixed = mixed.map(to_labels, num_parallel_calls=AUTOTUNE)
    return mixed.batch(batch_size, drop_remainder=True).prefetch(AUTOTUNE).with_options(_options())


def _per_replica_batch_size(batch_size: int, input_context) -> int:
    if input_context is None:
        return batch_size
    return input_context.get_per_replica_batch_size(batch_size)
