"""Your trained model on your audio files: class scores (`predict`) and features (`extract`).

    from leaf_tf import inference
    predictions = inference.predict("runs/mine", ["clip.wav", "more_clips/"], top_k=3)
    predictions[0]   # {"file": "clip.wav", "task": "audio_folder", "top": [("dog", 0.91), ...], "scores": [...]}
    features = inference.extract("runs/mine", ["more_clips/"], what="embedding")   # {file: [features]}

The model comes from a workdir (its `best.keras`, else `final.keras`, with the
class names, window and loudness setting its `run.json` records), a `.keras`
file (classes `class_0`, `class_1`, ...; 1 s windows at the frontend's sample
rate), or a SavedModel exported with `model.export` (predictions only; its
sample rate must be given). Folders are searched recursively for audio files
(`audio_io.AUDIO_EXTENSIONS`: `.wav`, `.flac`, `.ogg`, `.opus`, `.mp3`, and `.m4a`, `.aac`, `.webm`,
`.mp4` with PyAV); each file is down-mixed and resampled to the
model's rate.

Predictions use the evaluation's full-clip protocol: the clip is cut into
consecutive windows (the last one ending at the clip's end), the windows'
logits are averaged, and the scores are the softmax of the mean (the sigmoid
for multi-label models). `extract` gives, per file, the frontend's
representation of the whole clip (`[frames, channels]`) or the encoder's
pooled embedding averaged over the clip's windows (`[features]`).

Command lines:

    leaf-tf predict --model runs/mine --top_k 3 --output predictions.csv clips/
    leaf-tf extract --model runs/mine --what frontend --output features.npz clips/

Files that cannot be decoded (corrupt, empty, NaN samples) are skipped, each
named in one warning; the others are processed.
"""

from __future__ import annotations

import contextlib
import csv
import dataclasses
import json
import os
import pathlib
import sys
from collections.abc import Callable, Sequence

import keras
import numpy as np
import tensorflow as tf
from absl import logging

from leaf_tf.data import pipeline
from leaf_tf.data.audio_io import AUDIO_EXTENSIONS, AudioDecodeError, load_audio
from leaf_tf.evaluation import load_run, scoring_function

FEATURES = ("embedding", "frontend")


@dataclasses.dataclass
class Predictor:
    """A loaded model and what it needs to score a clip.

    Attributes:
      serve: waveform windows `[batch, samples]` -> logits `[batch, classes]`
        (or `{task: logits}`).
      classes: `{task: class names}`, in the order of the logits.
      multi_label: `{task: whether its scores are sigmoids}`.
      sample_rate: the rate the model reads, Hz.
      window_s: the length of the windows it was trained on, s.
      normalize_loudness: whether training normalised each window's loudness.
      model: the Keras classifier (None for a SavedModel: no `extract`).
    """

    serve: Callable
    classes: dict[str, list[str]]
    multi_label: dict[str, bool]
    sample_rate: int
    window_s: float = 1.0
    normalize_loudness: bool = False
    model: keras.Model | None = None

    @property
    def window(self) -> int:
        return int(round(self.window_s * self.sample_rate))


def _class_names(count: int) -> list[str]:
    return [f"class_{i}" for i in range(count)]


def _keras_predictor(model: keras.Model, run: dict | None = None) -> Predictor:
    from leaf_tf import models

    if not isinstance(model, models._Classifier):
        raise ValueError(f"{type(model).__name__} is not a leaf_tf classifier (AudioClassifier, MultiTaskClassifier).")
    if isinstance(model, models.MultiTaskClassifier):
        sizes = dict(model.tasks)
        multi_label = {task: False for task in sizes}
    else:
        name = run["tasks"][0] if run else "output"
        sizes, multi_label = {name: model.num_outputs}, {name: bool(model.multi_label)}
    definitions = {d["name"]: d for d in (run or {}).get("task_definitions", [])}
    classes = {task: list(definitions.get(task, {}).get("class_names") or _class_names(size))
               for task, size in sizes.items()}
    rate = getattr(model.frontend, "sample_rate", None) or 16000
    return Predictor(scoring_function(model), classes, multi_label, int(rate), (run or {}).get("window_s", 1.0),
                     (run or {}).get("normalize_loudness", False), model)


def load_predictor(source: str | os.PathLike, checkpoint: str = "best", sample_rate: int | None = None) -> Predictor:
    """A `Predictor` from a workdir, a `.keras` file or an exported SavedModel directory."""
    source = pathlib.Path(source)
    if source.is_dir() and (source / "run.json").exists():
        model, run = load_run(source, checkpoint)
        return _keras_predictor(model, run)
    if source.is_file() and source.suffix == ".keras":
        import leaf_tf  # noqa: F401  (registers the layers the file names)

        return _keras_predictor(keras.models.load_model(source, compile=False))
    if source.is_dir() and (source / "saved_model.pb").exists():
        loaded = tf.saved_model.load(str(source))
        serve = loaded.serve
        probe = serve(tf.zeros([1, (sample_rate or 16000)]))
        outputs = probe if isinstance(probe, dict) else {"output": probe}
        classes = {task: _class_names(int(value.shape[-1])) for task, value in outputs.items()}
        return Predictor(serve, classes, {task: False for task in classes}, int(sample_rate or 16000))
    raise FileNotFoundError(
        f"{source} is neither a training workdir (with run.json), a .keras file nor a SavedModel directory."
    )


def audio_files(inputs: Sequence[str | os.PathLike]) -> list[pathlib.Path]:
    """The audio files named in `inputs`, folders searched recursively (sorted within each folder)."""
    files = []
    for item in inputs:
        path = pathlib.Path(item)
        if path.is_dir():
            files += sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in AUDIO_EXTENSIONS)
        elif path.is_file():
            files.append(path)
        else:
            raise FileNotFoundError(f"{path} does not exist.")
    if not files:
        raise FileNotFoundError(f"No audio files ({', '.join(AUDIO_EXTENSIONS)}) in {', '.join(map(str, inputs))}.")
    return files


def _windows(predictor: Predictor, audio: np.ndarray) -> tf.Tensor:
    windows = pipeline.clip_windows(tf.constant(audio, tf.float32), predictor.window, "aligned")
    return pipeline.loudness_normalization(windows) if predictor.normalize_loudness else windows


def _batches(function, windows: tf.Tensor, batch_size: int) -> list:
    """`function` on consecutive batches of at most `batch_size` windows."""
    return [function(windows[start:start + batch_size]) for start in range(0, int(windows.shape[0]), batch_size)]


def clip_logits(predictor: Predictor, audio: np.ndarray, batch_size: int = 64) -> dict[str, np.ndarray]:
    """`{task: [classes]}` mean logits of one clip's windows (float32 `[samples]` at the model's rate)."""
    outputs = _batches(predictor.serve, _windows(predictor, audio), batch_size)
    outputs = [o if isinstance(o, dict) else {next(iter(predictor.classes)): o} for o in outputs]
    return {task: np.concatenate([np.asarray(o[task]) for o in outputs]).mean(axis=0) for task in predictor.classes}


def _scores(logits: np.ndarray, multi_label: bool) -> np.ndarray:
    if multi_label:
        return 1.0 / (1.0 + np.exp(-logits))
    shifted = np.exp(logits - logits.max())
    return shifted / shifted.sum()


def _each_clip(predictor: Predictor, files, verbose: int):
    """Yields `(file, audio)` for every decodable file; warns once, naming the skipped ones."""
    progress = keras.utils.Progbar(len(files), verbose=verbose, unit_name="file")
    skipped = []
    for index, path in enumerate(files):
        try:
            audio = load_audio(path, predictor.sample_rate)
        except AudioDecodeError as error:
            skipped.append(f"{path}: {error}")
        else:
            yield path, audio
        progress.update(index + 1)
    if skipped:
        logging.warning("Skipped %d of %d files that could not be decoded: %s", len(skipped), len(files),
                        "; ".join(skipped[:5]) + ("" if len(skipped) <= 5 else f" (and {len(skipped) - 5} more)"))


def predict(source, inputs: Sequence[str | os.PathLike], top_k: int = 5, batch_size: int = 64,
            checkpoint: str = "best", sample_rate: int | None = None, verbose: int = 0) -> list[dict]:
    """Class scores of every audio file in `inputs`, one entry per file and task.

    Returns `[{"file", "task", "top": [(class, score), ...] (best first, at
    most `top_k`), "scores": [score per class]}]`.
    """
    predictor = source if isinstance(source, Predictor) else load_predictor(source, checkpoint, sample_rate)
    if top_k < 1:
        raise ValueError(f"top_k must be at least 1, got {top_k}.")
    results = []
    for path, audio in _each_clip(predictor, audio_files(inputs), verbose):
        for task, logits in clip_logits(predictor, audio, batch_size).items():
            scores = _scores(logits.astype(np.float64), predictor.multi_label[task])
            order = np.argsort(-scores, kind="stable")[:top_k]
            results.append({"file": str(path), "task": task,
                            "top": [(predictor.classes[task][i], float(scores[i])) for i in order],
                            "scores": [float(s) for s in scores]})
    return results


def extract(source, inputs: Sequence[str | os.PathLike], what: str = "embedding", batch_size: int = 64,
            checkpoint: str = "best", verbose: int = 0) -> dict[str, np.ndarray]:
    """`{file: features}` for every audio file in `inputs`.

    `what="frontend"`: the frontend's representation of the whole clip,
    `[frames, channels]`; `"embedding"`: the encoder's pooled features averaged
    over the clip's windows, `[features]`.
    """
    if what not in FEATURES:
        raise ValueError(f"what must be one of {FEATURES}, got {what!r}.")
    predictor = source if isinstance(source, Predictor) else load_predictor(source, checkpoint)
    if predictor.model is None:
        raise ValueError("extract needs a workdir or a .keras file: a SavedModel only gives logits.")
    model = predictor.model
    frontend = tf.function(lambda audio: model.frontend(audio, training=False), reduce_retracing=True)
    embed = tf.function(lambda audio: model.embed(audio, training=False), reduce_retracing=True)
    features = {}
    for path, audio in _each_clip(predictor, audio_files(inputs), verbose):
        if what == "frontend":
            features[str(path)] = np.asarray(frontend(tf.constant(audio[np.newaxis], tf.float32))[0])
        else:
            parts = _batches(embed, _windows(predictor, audio), batch_size)
            features[str(path)] = np.concatenate([np.asarray(part) for part in parts]).mean(axis=0)
    return features


# ------------------------------------------------------------------ command line


def write_predictions(predictions: list[dict], output: str | None) -> None:
    """CSV (`file,task,rank,class,score`), JSON (`.json`), or the CSV on stdout when `output` is None."""
    if output and output.endswith(".json"):
        pathlib.Path(output).write_text(json.dumps(predictions, indent=2))
        return
    with open(output, "w", newline="") if output else contextlib.nullcontext(sys.stdout) as stream:
        writer = csv.writer(stream)
        writer.writerow(["file", "task", "rank", "class", "score"])
        for entry in predictions:
            for rank, (name, score) in enumerate(entry["top"], 1):
                writer.writerow([entry["file"], entry["task"], rank, name, f"{score:.6f}"])


def write_features(features: dict[str, np.ndarray], output: str) -> None:
    """One `.npz` keyed by file path (`output` ends in `.npz`), else one `.npy` per file under folder `output`."""
    if output.endswith(".npz"):
        np.savez(output, **features)
        return
    root = pathlib.Path(output)
    common = pathlib.Path(os.path.commonpath([pathlib.Path(f).resolve().parent for f in features])) if features else root
    for name, value in features.items():
        target = root / pathlib.Path(name).resolve().relative_to(common).with_suffix(".npy")
        target.parent.mkdir(parents=True, exist_ok=True)
        np.save(target, value)


def main(argv: Sequence[str] | None = None) -> None:
    """The command line (`python -m leaf_tf.inference predict|extract ...` = `leaf-tf predict|extract ...`)."""
    from leaf_tf.commands import inference

    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] not in ("predict", "extract"):
        sys.exit("usage: python -m leaf_tf.inference {predict,extract} ... (or leaf-tf predict|extract)")
    getattr(inference, argv[0])(argv[1:])


if __name__ == "__main__":
    main()
