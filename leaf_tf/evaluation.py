"""Full-clip evaluation of a trained run: `evaluate(workdir)` -> `results.json`.

Each clip of the evaluation split is cut into consecutive windows of the
training window length (the last one ending at the clip's end, overlapping
its predecessor; `last_window="padded"` zero-pads it instead), the model
scores every window, and the clip's scores are the mean of its windows' logits (the paper's
protocol). Single-label tasks report top-1 accuracy with a 95% Wilson
interval; multi-label tasks (AudioSet) report mAP, mean ROC AUC and d-prime.

`results.json` depends only on the trained model and the data: evaluating
the same run twice writes the same bytes. For single-label tasks it also
keeps each clip's label and predicted class (`labels`, `predictions`, in the
split's order), from which `leaf_tf.report` pairs runs clip by clip.
"""

from __future__ import annotations

import json
import pathlib
import weakref

import keras
import numpy as np
import tensorflow as tf

from leaf_tf import backend, metrics
from leaf_tf.data import pipeline
from leaf_tf.data.tasks import get_task, tasks_of_run
from leaf_tf.training import atomic_write_text

CHECKPOINTS = ("best", "final")


def load_run(workdir: str | pathlib.Path, checkpoint: str = "best") -> tuple[keras.Model, dict]:
    """The trained model of a workdir (`best.keras`, else `final.keras`) and its `run.json`."""
    workdir = pathlib.Path(workdir)
    if not workdir.is_dir():
        raise FileNotFoundError(f"workdir {workdir} does not exist.")
    run_file = workdir / "run.json"
    if not run_file.exists():
        raise FileNotFoundError(f"{workdir} has no run.json: train first (leaf-tf train --workdir={workdir} ...).")
    if checkpoint not in CHECKPOINTS:
        raise ValueError(f"checkpoint must be one of {CHECKPOINTS}, got {checkpoint!r}.")
    order = [checkpoint] + [c for c in CHECKPOINTS if c != checkpoint]
    for name in order:
        path = workdir / f"{name}.keras"
        if path.exists():
            # Not compiled: evaluation needs no optimizer, losses or metrics.
            return keras.models.load_model(path, compile=False), {**json.loads(run_file.read_text()),
                                                                   "checkpoint": path.name}
    raise FileNotFoundError(f"{workdir} has no best.keras or final.keras: training did not finish an epoch.")


_SCORING = weakref.WeakKeyDictionary()


def scoring_function(model: keras.Model):
    """`model(windows, training=False)` traced once for any batch size and window length, shared by every task
    and split evaluated with `model` (one trace per task would make TensorFlow warn about retracing)."""
    if model not in _SCORING:
        if backend.is_tensorflow():
            _SCORING[model] = tf.function(lambda audio: model(audio, training=False),
                                          input_signature=[tf.TensorSpec([None, None], tf.float32)])
        else:  # JAX / PyTorch: Keras' compiled predict step (one compilation per window shape)
            _SCORING[model] = lambda audio: model.predict_on_batch(np.asarray(audio))
    return _SCORING[model]


def predict_clips(model: keras.Model, task, split: str, data_dir=None, batch_size: int = 64, window_s: float = 1.0,
                  normalize_loudness: bool = False, max_clips: int | None = None, head: str | None = None,
                  last_window: str = "aligned"):
    """`(labels [clips] or [clips, classes], clip logits [clips, classes])` over a task's split.

    `last_window`: "aligned" (the last window ends at the clip's end) or
    "padded" (zero-padded); see `data.pipeline.clip_windows`.
    """
    task = get_task(task)
    windows = pipeline.eval_dataset(task, batch_size, split, data_dir, window_s, normalize_loudness,
                                    max_clips=max_clips, last_window=last_window)
    forward = scoring_function(model)

    def score(audio):
        outputs = forward(audio)
        return np.asarray(keras.ops.convert_to_numpy(outputs[head] if head is not None else outputs))

    clip_ids, logits, labels = [], [], {}
    for batch in windows:
        clip_ids.append(batch["clip"].numpy())
        logits.append(score(batch["audio"]))
        for clip, label in zip(batch["clip"].numpy(), batch["label"].numpy()):
            labels[int(clip)] = label
    if not clip_ids:
        raise ValueError(f"Split {split!r} of task {task.name!r} has no clips.")
    clips, clip_scores = pipeline.clip_logits(np.concatenate(clip_ids), np.concatenate(logits))
    return np.stack([labels[int(c)] for c in clips]), clip_scores


def evaluate(workdir: str | pathlib.Path, data_dir=None, split: str = "test", checkpoint: str = "best",
             batch_size: int = 64, max_clips: int | None = None, last_window: str = "aligned") -> dict:
    """Evaluates every task of a run on full clips; writes and returns `results.json`'s content."""
    workdir = pathlib.Path(workdir)
    model, run = load_run(workdir, checkpoint)
    multitask = len(run["tasks"]) > 1
    results = {}
    for task in tasks_of_run(run):
        name = task.name
        labels, scores = predict_clips(model, task, split, data_dir, batch_size, run.get("window_s", 1.0),
                                       run.get("normalize_loudness", False), max_clips, head=name if multitask else None,
                                       last_window=last_window)
        if task.multi_label:  # AUC and AP depend on the ranking only: logits rank as the sigmoids do, without ties
            results[name] = {"metric": "map", **metrics.multilabel_metrics(labels, scores)}
        else:
            results[name] = {"metric": "accuracy", **metrics.accuracy(labels, scores),
                             "labels": [int(label) for label in labels],
                             "predictions": [int(p) for p in np.argmax(scores, axis=-1)]}
        results[name].update(paper_task=task.paper_task, split=split)
        if task.class_names:
            results[name]["class_names"] = list(task.class_names)
    summary = {
        "checkpoint": run["checkpoint"],
        "frontend": run["frontend"],
        "label": run.get("label", run["frontend"]),
        "seed": run.get("seed"),
        "encoder": run["encoder"],
        "parameters": run["parameters"],
        "steps": run["steps"],
        "split": split,
        "max_clips": max_clips,
        "last_window": last_window,
        "tasks": results,
    }
    atomic_write_text(workdir / "results.json", json.dumps(summary, indent=2))
    return summary
