"""Why does a learnable frontend train the way it does? Diagnostics of trained runs, grouped by label.

    python benchmarks/frontend_diagnostics.py RUN_OR_COMPARE_DIR [...] [--data_dir DIR] [--windows 24]

For every run (a training workdir with `run.json`, `config.gin` and
`final.keras`; a `leaf_tf.compare` workdir holds several), prints Markdown
tables, one row per label (mean over seeds, range in brackets):

0. curves: validation and training accuracy after each epoch, mean over
   tasks and seeds (`--curves_only` prints this table alone, from `run.json`);
1. fit: training accuracy of the last epoch (from `run.json`) against the
   full-clip test accuracy (`results.json`), per task;
2. representation statistics, at initialisation (the run's own seed) and
   after training, on the same fixed batch of training windows (`--windows`
   per task, 1 s): the spread across clips of each channel's time average
   (the steady spectrum: what pitch needs) and the spread over time within a
   clip (onsets, modulation), both after per-channel standardisation over
   the batch, so that frontends of different scales compare;
3. gradient norms per parameter group (frontend filters, pooling,
   compression; encoder; heads) on that batch, at initialisation and after
   training;
4. drift: how far the centre frequencies moved (Hz; median and largest over
   filters), how many adjacent filters swapped order, PCEN's α, δ, r and
   smoothing after training (median over channels), and the most one Adam
   step can move a Gabor centre (Adam moves every parameter by about its
   learning rate per step: `lr * sample_rate / 2 pi` Hz for a centre in
   radians per sample), and how much the seeds agree: the mean correlation,
   over pairs of seeds, of the filters' centre changes and of PCEN's α
   changes (0: each seed wanders its own way; 1: all learn the same).

Nothing here is timed; the numbers depend only on the runs and the data.
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import gin  # noqa: E402
import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

import leaf_tf  # noqa: E402, F401
from leaf_tf import inspection, training  # noqa: E402
from leaf_tf.data import pipeline  # noqa: E402
from leaf_tf.data.tasks import get_task, tasks_of_run  # noqa: E402


def find_runs(paths) -> list[pathlib.Path]:
    runs = []
    for path in map(pathlib.Path, paths):
        runs += [path] if (path / "run.json").exists() else sorted(p.parent for p in path.glob("**/run.json"))
    if not runs:
        raise SystemExit(f"no training runs under {paths}")
    return runs


def fixed_batch(tasks: list[str], windows: int, data_dir) -> tuple[tf.Tensor, dict]:
    """`windows` 1-second training windows of each task (seed 0, loudness as in the run), and their labels."""
    audio, labels = [], {}
    for index, name in enumerate(tasks):
        stream = pipeline.train_windows(get_task(name), data_dir, seed=1234, repeat=False)
        batch = list(stream.take(windows).as_numpy_iterator())
        audio += [a for a, _ in batch]
        labels[name] = np.concatenate([np.full(len(tasks[:index]) * windows, -1), [b for _, b in batch],
                                       np.full((len(tasks) - index - 1) * windows, -1)]).astype(np.int64)
    return tf.constant(np.stack(audio)), labels


def representation_statistics(frontend, audio, tasks_count: int, normalize_loudness: bool) -> dict:
    """Across-clip spread of per-channel time averages, and within-clip spread over time (standardised)."""
    if normalize_loudness:
        audio = pipeline.loudness_normalization(audio)
    features = frontend(audio).numpy().astype(np.float64)  # [B, T, C]
    features = (features - features.mean(axis=(0, 1))) / (features.std(axis=(0, 1)) + 1e-12)
    return {"across_clips": float(features.mean(axis=1).std(axis=0).mean()),
            "within_clip": float(features.std(axis=1).mean())}


def model_groups(model) -> dict[str, list]:
    groups = {f"frontend/{g}": v for g, v in model.frontend.parameter_groups().items()}
    encoder = list(model.encoder.trainable_variables) + (list(model.feature_norm.trainable_variables)
                                                         if getattr(model, "feature_norm", None) else [])
    groups["encoder"] = encoder
    heads = model.heads.values() if hasattr(model, "heads") else [model.head]
    groups["heads"] = [v for head in heads for v in head.trainable_variables]
    return groups


def gradient_norms(model, audio, labels, normalize_loudness: bool) -> dict[str, float]:
    if normalize_loudness:
        audio = pipeline.loudness_normalization(audio)
    losses = model.default_loss()
    with tf.GradientTape() as tape:
        outputs = model(audio, training=True)
        loss = tf.add_n([losses[name](labels[name], outputs[name]) for name in outputs])
    groups = model_groups(model)
    variables = [v for vs in groups.values() for v in vs]
    gradients = dict(zip(map(id, variables), tape.gradient(loss, variables)))
    return {group: float(np.sqrt(sum(np.sum(np.square(gradients[id(v)])) for v in vs))) for group, vs in groups.items()}


def centre_step_hz(run: dict, sample_rate: float) -> float | None:
    """The most an Adam step can move a Gabor centre frequency, in Hz: its learning rate (rad/sample) x sr / 2 pi."""
    rate = run.get("frontend_learning_rates", {}).get("filters")
    return None if rate is None else rate * sample_rate / (2 * np.pi)


def initial_model(workdir: pathlib.Path, run: dict):
    """The run's model as it was before its first step: its config and seed, rebuilt."""
    gin.clear_config()
    gin.parse_config_file(str(workdir / "config.gin"), skip_unknown=True)
    keras.utils.set_random_seed(run["seed"])
    tasks = tasks_of_run(run)
    model = training.build_classifier(tasks, gin.query_parameter("train.pooling"),
                                      run.get("feature_normalization"))
    model(tf.zeros([1, int(run["window_s"] * tasks[0].sample_rate)]))
    gin.clear_config()
    return model


def describe(frontend) -> dict | None:
    try:
        return inspection.describe_filters(frontend)
    except ValueError:  # e.g. Wavegram: no per-channel parameters
        return None


def seed_agreement(infos: list[dict]) -> dict[str, float]:
    """Mean correlation, over pairs of seeds, of each filter's centre change and each channel's PCEN α change:
    near 0 when the parameters wander, near 1 when every seed learns the same thing."""
    out = {}
    if len(infos) < 2:
        return out
    for key, name in (("center_hz", "seed agreement Δ centre"), ("pcen_alpha", "seed agreement Δ α")):
        reference = "mel_init_center_hz" if key == "center_hz" else None
        if key not in infos[0] or (reference and reference not in infos[0]):
            continue
        changes = [info[key] - (info[reference] if reference else info["pcen_init"]["alpha"]) for info in infos]
        pairs_of_changes = [(a, b) for i, a in enumerate(changes) for b in changes[i + 1:]]
        out[name] = float(np.mean([np.corrcoef(a, b)[0, 1] for a, b in pairs_of_changes]))
    return out


def drift(info: dict | None) -> dict[str, float]:
    if info is None:
        return {}
    out = {}
    if "mel_init_center_hz" in info:
        change = np.abs(info["center_hz"] - info["mel_init_center_hz"])
        out["median |Δ centre| Hz"] = float(np.median(change))
        out["max |Δ centre| Hz"] = float(change.max())
        out["order swaps"] = int(np.sum(np.diff(info["center_hz"][np.argsort(info["mel_init_center_hz"])]) < 0))
    for key in ("alpha", "delta", "root", "smooth"):
        if f"pcen_{key}" in info:
            out[f"PCEN {key}"] = float(np.median(info[f"pcen_{key}"]))
    return out


def summarise(values: list[float]) -> str:
    values = np.asarray(values, np.float64)
    if values.size == 1:
        return f"{values[0]:.3g}"
    return f"{values.mean():.3g} [{values.min():.3g}, {values.max():.3g}]"


def table(title: str, rows: dict[str, dict[str, list[float]]]) -> str:
    columns = list(dict.fromkeys(c for row in rows.values() for c in row))
    lines = [f"**{title}**", "", "| label | " + " | ".join(columns) + " |", "|---" * (len(columns) + 1) + "|"]
    for label, row in rows.items():
        lines.append(f"| {label} | " + " | ".join(summarise(row[c]) if c in row else "–" for c in columns) + " |")
    return "\n".join(lines)


def curves(workdirs) -> dict[str, dict[str, list[float]]]:
    """Per label: mean over seeds of the validation and training accuracy (mean over tasks) after each epoch."""
    runs: dict[str, list[dict]] = {}
    for workdir in workdirs:
        run = json.loads((workdir / "run.json").read_text())
        runs.setdefault(run.get("label", run["frontend"]), []).append(run)
    rows = {}
    for label, group in runs.items():
        row = {}
        for run in group:
            history = run["history"]
            for epoch, value in enumerate(history.get("val_accuracy", [])):
                row.setdefault(f"val {epoch + 1}", []).append(100 * value)
            for epoch in range(len(history["loss"])):
                value = np.mean([history[f"{task}_accuracy"][epoch] for task in run["tasks"]])
                row.setdefault(f"train {epoch + 1}", []).append(100 * value)
        rows[label] = {key: [float(np.mean(values))] for key, values in row.items()}
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("runs", nargs="+")
    parser.add_argument("--data_dir", default=None)
    parser.add_argument("--windows", type=int, default=24, help="training windows per task in the fixed batch")
    parser.add_argument("--curves_only", action="store_true", help="only the accuracy curves (no model is loaded)")
    args = parser.parse_args()
    workdirs = find_runs(args.runs)
    print(table("Accuracy after each epoch, mean over tasks and seeds, %: validation (the model as evaluated, "
                "batch normalisation from its moving averages) and training (batch statistics)", curves(workdirs)))
    if args.curves_only:
        return

    fit, representation, gradients, drifts, descriptions = {}, {}, {}, {}, {}
    batch = None
    for workdir in workdirs:
        run = json.loads((workdir / "run.json").read_text())
        label = run.get("label", run["frontend"])
        if batch is None:
            batch = fixed_batch(run["tasks"], args.windows, args.data_dir)
        audio, labels = batch
        results = json.loads((workdir / "results.json").read_text()) if (workdir / "results.json").exists() else None
        row = fit.setdefault(label, {})
        for task in run["tasks"]:
            short = task.replace("synthetic_", "")
            row.setdefault(f"{short} train", []).append(100 * run["history"][f"{task}_accuracy"][-1])
            if results:
                row.setdefault(f"{short} test", []).append(100 * results["tasks"][task]["accuracy"])
        loud = run["normalize_loudness"]
        start, trained = initial_model(workdir, run), keras.models.load_model(workdir / "final.keras", compile=False)
        for when, model in (("init", start), ("trained", trained)):
            stats = representation_statistics(model.frontend, audio, len(run["tasks"]), loud)
            row = representation.setdefault(label, {})
            row.setdefault(f"across clips, {when}", []).append(stats["across_clips"])
            row.setdefault(f"within clip, {when}", []).append(stats["within_clip"])
            for group, norm in gradient_norms(model, audio, labels, loud).items():
                gradients.setdefault(label, {}).setdefault(f"{group}, {when}", []).append(norm)
        info = describe(trained.frontend)
        if info is not None:
            descriptions.setdefault(label, []).append(info)
        for key, value in drift(info).items():
            drifts.setdefault(label, {}).setdefault(key, []).append(value)
        step = centre_step_hz(run, tasks_of_run(run)[0].sample_rate)
        if step is not None and label in drifts:
            drifts[label].setdefault("centre step bound Hz", []).append(step)
        print(f"read {workdir}", flush=True)

    print()
    print(table("Training accuracy (last epoch) and test accuracy (full clips), %", fit))
    print()
    print(table("Representation after per-channel standardisation: spread of time averages across clips, "
                "spread over time within a clip", representation))
    print()
    print(table("Gradient norm per parameter group (fixed batch, sum of the tasks' losses)", gradients))
    for label, infos in descriptions.items():
        for key, value in seed_agreement(infos).items():
            drifts.setdefault(label, {})[key] = [value]
    if any(drifts.values()):
        print()
        print(table("Drift after training (median over channels for PCEN)", {k: v for k, v in drifts.items() if v}))


if __name__ == "__main__":
    main()
