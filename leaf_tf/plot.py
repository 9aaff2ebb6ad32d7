"""Pictures of what a frontend learnt and of what it outputs, and the `leaf-tf plot` command.

    leaf-tf plot filters (--workdir W | --model FILE | --frontend NAME) [--output filters.png]
    leaf-tf plot features --audio FILE [--workdir W ...] [--model FILE ...]
                          [--frontends leaf mel ...] [--output features.png]
    leaf-tf plot export-filters (--workdir W | --model FILE | --frontend NAME) --output F.json|F.csv
    leaf-tf plot drift RUN_OR_COMPARE_DIR [...] [--output drift.png]

* `filters`: centre frequencies against the mel initialisation, bandwidths,
  pooling widths, PCEN alpha / delta / root / smoothing per channel, and the
  frequency responses of all filters (`filters_figure`).
* `features`: the waveform of an audio file and every selected frontend's
  representation of it, frequency axis in Hz (`features_figure`).
* `export-filters`: the numbers behind the `filters` figure as JSON or CSV
  (`leaf_tf.inspection.describe_filters`).
* `drift`: for trained runs grouped by label (e.g. a `leaf-tf compare`
  workdir), each filter's centre-frequency change from initialisation and
  PCEN's α and smoothing per channel, one line per seed (`drift_figure`).

A workdir is a training directory holding `final.keras` (used first) or
`best.keras`; `--frontend NAME` (`leaf`, `mel`, `tdfbanks`, `sincnet`,
`sincnet_plus`, `mel_pcen`) plots a freshly initialised frontend. Errors
(missing file, workdir without checkpoint, unreadable audio) print one line
`leaf-tf plot: error: ...` and exit with status 2.

`FilterPlotCallback` logs the `filters` figure to TensorBoard while training.

Figures are built on `matplotlib.figure.Figure` and rendered with the Agg
canvas, never through pyplot: no display is needed and no global backend is
changed. Needs matplotlib (`pip install 'leaf_tf[plots]'`).
"""

from __future__ import annotations

import io
import logging
import os
import pathlib
import sys
from collections.abc import Sequence

import keras
import numpy as np
import tensorflow as tf

from leaf_tf import demo, inspection
from leaf_tf.frontends import Frontend, Wavegram

__all__ = ["FilterPlotCallback", "drift_figure", "features_figure", "filters_figure", "main", "save_figure"]

logger = logging.getLogger(__name__)

# Display names of the frontends (the demo's, without its note on Wavegram's initialisation).
TITLES = {**demo.TITLES, "wavegram": "Wavegram"}

# Frequencies (Hz) that may label the frequency axis of a representation.
_FREQUENCY_TICKS_HZ = (50, 100, 200, 500, 1000, 2000, 4000, 8000, 16000)
_RESPONSE_FLOOR_DB = -60.0


class PlotError(Exception):
    """A user error the command line reports in one line (exit status 2)."""


def _matplotlib():
    try:
        import matplotlib  # noqa: F401
    except ImportError as e:
        raise PlotError("plotting needs matplotlib: pip install 'leaf_tf[plots]'") from e
    from matplotlib.figure import Figure

    return Figure


def figure_png_bytes(figure, dpi: int = 100, palette: bool = True) -> bytes:
    """The PNG encoding of `figure` (Agg canvas).

    With `palette`, the image is reduced to 256 colours (median cut, no
    dithering): line plots and colour maps look the same at a third of the size.
    """
    buffer = io.BytesIO()
    figure.savefig(buffer, dpi=dpi, format="png")
    if not palette:
        return buffer.getvalue()
    from PIL import Image  # a matplotlib dependency

    image = Image.open(io.BytesIO(buffer.getvalue())).convert("RGB")
    image = image.quantize(colors=256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    buffer = io.BytesIO()
    image.save(buffer, format="png", optimize=True)
    return buffer.getvalue()


def save_figure(figure, path: str | os.PathLike, dpi: int = 100, palette: bool = True) -> pathlib.Path:
    """Writes `figure` as a PNG (see `figure_png_bytes`), creating parent directories; returns the path."""
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(figure_png_bytes(figure, dpi, palette))
    return path


# ---------------------------------------------------------------- the filters figure


def _missing(axis, text: str) -> None:
    axis.text(0.5, 0.5, text, ha="center", va="center", transform=axis.transAxes, color="0.35", wrap=True)
    axis.set_xticks([])
    axis.set_yticks([])
    for spine in axis.spines.values():
        spine.set_color("0.8")


def _per_channel_axes(axis, title: str, ylabel: str) -> None:
    axis.set_title(title, fontsize=10, loc="left")
    axis.set_xlabel("filter index")
    axis.set_ylabel(ylabel)
    axis.grid(True, alpha=0.3)


def _readable_ylim(axis, *series) -> None:
    """Plain tick labels and a y range of at least 10 % of the values' size (constant series stay readable)."""
    values = np.concatenate([np.ravel(np.asarray(v, dtype=np.float64)) for v in series])
    low, high = float(values.min()), float(values.max())
    margin = max(0.1 * (high - low), 0.05 * max(abs(low), abs(high)), 1e-3)
    axis.set_ylim(low - margin, high + margin)
    axis.ticklabel_format(axis="y", style="plain", useOffset=False)


def _plain_log_axis(axis) -> None:
    from matplotlib.ticker import FuncFormatter

    axis.set_yscale("log")
    formatter = FuncFormatter(lambda value, _: f"{value:g}")
    axis.yaxis.set_major_formatter(formatter)
    axis.yaxis.set_minor_formatter(formatter)


def _init_label(info: dict) -> str:
    return "initialisation (HTK mel)" if info.get("filterbank") == "SincConv1D" else "initialisation (mel scale)"


def _plot_against_init(axis, info: dict, index: np.ndarray, key: str, color: str) -> None:
    """`info[key]` per filter, over its mel initialisation `info["mel_init_" + key]` when it has one."""
    if f"mel_init_{key}" in info:
        axis.plot(index, info[f"mel_init_{key}"], color="0.55", linewidth=2.5, label=_init_label(info))
        axis.plot(index, info[key], "o", markersize=3.5, color=color, label="current filters")
    else:
        axis.plot(index, info[key], "o-", markersize=3.5, color=color, label="mel filterbank (fixed)")
    axis.legend(fontsize=8, loc="upper left")


def _plot_centres(axis, info: dict, index: np.ndarray, letter: str) -> None:
    _per_channel_axes(axis, f"({letter}) Centre frequencies", "centre frequency (Hz)")
    _plot_against_init(axis, info, index, "center_hz", "C0")
    axis.set_ylim(0, info["sample_rate"] / 2)


def _plot_bandwidths(axis, info: dict, index: np.ndarray, letter: str) -> None:
    _per_channel_axes(axis, f"({letter}) Bandwidths (FWHM of |H|)", "bandwidth (Hz)")
    _plot_against_init(axis, info, index, "bandwidth_hz", "C1")
    _plain_log_axis(axis)


def _plot_pooling(axis, info: dict, index: np.ndarray, letter: str) -> None:
    if "pooling_width_ms" not in info:
        axis.set_title(f"({letter}) Pooling widths", fontsize=10, loc="left")
        stage = info.get("pooling", f"a fixed {info.get('kernel_size', '')}-sample Hann STFT window")
        _missing(axis, f"no learnable pooling width\n({stage})")
        return
    shared = info.get("pooling") == "LearnablePooling1D"
    title = "shared lowpass, std of |h|" if shared else "Gaussian std"
    _per_channel_axes(axis, f"({letter}) Pooling widths ({title})", "width (ms)")
    if "pooling_init_width_ms" in info:
        axis.plot(index, info["pooling_init_width_ms"], "--", color="0.55", linewidth=1.5, label="initialisation")
    axis.plot(index, info["pooling_width_ms"], "o", markersize=3.5, color="C2", label="current")
    _readable_ylim(axis, info["pooling_width_ms"], info.get("pooling_init_width_ms", []))
    axis.legend(fontsize=8, loc="upper left")


_PCEN_PANELS = (
    ("alpha", "PCEN α (gain exponent)", "min(α, 1)"),
    ("delta", "PCEN δ (bias)", "max(δ, 0)"),
    ("root", "PCEN r (root)", "max(r, 1)"),
    ("smooth", "PCEN s (smoothing)", "clip(s, 0, 1)"),
)


def _plot_pcen(axes, info: dict, index: np.ndarray, letter: str) -> None:
    for number, (axis, (key, title, effective)) in enumerate(zip(axes, _PCEN_PANELS)):
        _per_channel_axes(axis, f"({letter}{number + 1}) {title}", effective)
        raw, used = info[f"pcen_{key}_raw"], info[f"pcen_{key}"]
        axis.axhline(info["pcen_init"][key], linestyle="--", color="0.55", linewidth=1.5, label="initialisation")
        axis.plot(index, used, "o", markersize=3, color="C3", label="used in call")
        clipped = raw != used
        if clipped.any():
            axis.plot(index[clipped], raw[clipped], "x", markersize=4, color="C7", label="stored (clipped)")
        _readable_ylim(axis, raw, used, [info["pcen_init"][key]])
        axis.legend(fontsize=7, loc="best")


def _plot_responses(figure, axis, freqs: np.ndarray, magnitude: np.ndarray, letter: str) -> None:
    from matplotlib.cm import ScalarMappable
    from matplotlib.collections import LineCollection
    from matplotlib.colors import Normalize

    channels = magnitude.shape[0]
    peak = max(float(magnitude.max()), 1e-30)
    decibels = 20 * np.log10(np.maximum(magnitude / peak, 10 ** ((_RESPONSE_FLOOR_DB - 20) / 20)))
    norm = Normalize(0, max(channels - 1, 1))
    lines = LineCollection(
        [np.column_stack([freqs, row]) for row in decibels], cmap="viridis", norm=norm, linewidths=0.9
    )
    lines.set_array(np.arange(channels))
    axis.add_collection(lines)
    axis.set_xlim(0, freqs[-1])
    axis.set_ylim(_RESPONSE_FLOOR_DB, 3)
    axis.set_xlabel("frequency (Hz)")
    axis.set_ylabel("magnitude (dB re. largest peak)")
    axis.set_title(f"({letter}) Frequency responses of all {channels} filters", fontsize=10, loc="left")
    axis.grid(True, alpha=0.3)
    colorbar = figure.colorbar(ScalarMappable(norm=norm, cmap="viridis"), ax=axis, pad=0.01, aspect=30)
    colorbar.set_label("filter index")


def filters_figure(frontend, title: str | None = None, n_fft: int = 1024):
    """A figure of a frontend's learnt (or initial) filter, pooling and compression parameters.

    Panels: (a) centre frequency (Hz) per filter, with the mel initialisation;
    (b) bandwidth (FWHM of the magnitude response, Hz, log scale) with the
    initial one; (c) pooling width (ms); (d1-d4) PCEN alpha, delta, root and
    smoothing per channel, as used in the forward pass (stored values outside
    the clip ranges marked separately), with the initial values; (e) magnitude
    responses of all filters in dB, 0 to sr/2. Panels for stages a frontend
    does not have say so (row (d) is left out without PCEN). The numbers are
    `inspection.describe_filters(frontend)` and
    `inspection.frequency_responses(frontend, n_fft)`.

    Args:
      frontend: a frontend (not Wavegram) or a model holding one.
      title: figure title (the frontend's class and name when None).
      n_fft: frequency grid of the responses (`n_fft // 2 + 1` points).

    Returns:
      A `matplotlib.figure.Figure` (save it with `save_figure`).
    """
    figure_cls = _matplotlib()
    frontend = inspection.find_frontend(frontend)
    info = inspection.describe_filters(frontend)
    freqs, magnitude = inspection.frequency_responses(frontend, n_fft)
    index = np.arange(info["n_filters"])
    has_pcen = "pcen_alpha" in info

    figure = figure_cls(figsize=(14, 10.5 if has_pcen else 7.5), layout="constrained")
    ratios = [1.0, 0.8, 1.1] if has_pcen else [1.0, 1.1]
    grid = figure.add_gridspec(len(ratios), 12, height_ratios=ratios)
    _plot_centres(figure.add_subplot(grid[0, 0:4]), info, index, "a")
    _plot_bandwidths(figure.add_subplot(grid[0, 4:8]), info, index, "b")
    _plot_pooling(figure.add_subplot(grid[0, 8:12]), info, index, "c")
    if has_pcen:
        _plot_pcen([figure.add_subplot(grid[1, 3 * i:3 * i + 3]) for i in range(4)], info, index, "d")
    _plot_responses(figure, figure.add_subplot(grid[-1, :]), freqs, magnitude, "e" if has_pcen else "d")
    heading = title or f"{info['frontend']} '{info['name']}'"
    figure.suptitle(
        f"{heading}: {info['n_filters']} filters at {info['sample_rate']:g} Hz, compression {info['compression']}",
        fontsize=12,
    )
    return figure


# ---------------------------------------------------------------- the features figure


def _channel_order(frontend: Frontend) -> np.ndarray | None:
    """Channel centre frequencies (Hz), or None for a frontend without them (Wavegram)."""
    try:
        return inspection.describe_filters(frontend)["center_hz"]
    except ValueError:
        return None


def _frequency_axis(axis, centres_sorted: np.ndarray) -> None:
    """Ticks at round frequencies on an axis whose row `i` is the channel centred on `centres_sorted[i]`."""
    low, high = centres_sorted[0], centres_sorted[-1]
    ticks, positions = [], []
    for hz in _FREQUENCY_TICKS_HZ:
        if low <= hz <= high:
            position = float(np.interp(hz, centres_sorted, np.arange(centres_sorted.size)))
            if not positions or position - positions[-1] >= 0.08 * centres_sorted.size:  # labels must not collide
                ticks.append(hz)
                positions.append(position)
    axis.set_yticks(positions)
    axis.set_yticklabels([f"{hz // 1000}k" if hz >= 1000 else str(hz) for hz in ticks])
    axis.set_ylabel("frequency (Hz)")


def _output_label(frontend: Frontend) -> str:
    compression = getattr(frontend, "compression", None)
    name = getattr(compression, "__name__", type(compression).__name__)
    return {
        "LogCompression": "log energy",
        "log_compression": "log energy",
        "PCENLayer": "PCEN",
        "LayerNormalization": "layer-normalised",
        "NoneType": "output",
    }.get(name, name)


def features_figure(
    audio_path: str | os.PathLike,
    frontends: Sequence[tuple[str, Frontend]],
    max_duration_s: float | None = 30.0,
):
    """The waveform of an audio file and each frontend's representation of it, stacked on one time axis.

    The file is read with `leaf_tf.data.audio_io.load_audio` at each
    frontend's sample rate (down-mixed, resampled) and cut to its first
    `max_duration_s` seconds. Each representation `[frames, channels]` is
    drawn with its channels sorted by centre frequency and the frequency axis
    labelled in Hz (`describe_filters(frontend)["center_hz"]`; channel index
    for Wavegram).

    Args:
      audio_path: any file `load_audio` reads (WAV, FLAC, OGG, MP3).
      frontends: `(label, frontend)` pairs, drawn top to bottom.
      max_duration_s: longest stretch of audio shown (None: all of it).

    Returns:
      A `matplotlib.figure.Figure`.
    """
    from leaf_tf.data.audio_io import load_audio

    figure_cls = _matplotlib()
    if not frontends:
        raise ValueError("features_figure needs at least one frontend.")
    cache: dict[float, np.ndarray] = {}

    def audio_at(sample_rate: float) -> np.ndarray:
        if sample_rate not in cache:
            audio = load_audio(audio_path, int(sample_rate))
            if max_duration_s is not None:
                audio = audio[: int(max_duration_s * sample_rate)]
            cache[sample_rate] = audio
        return cache[sample_rate]

    first_rate = float(frontends[0][1].sample_rate)
    waveform = audio_at(first_rate)
    duration = waveform.size / first_rate
    figure = figure_cls(figsize=(12, 1.8 + 2.3 * len(frontends)), layout="constrained")
    grid = figure.add_gridspec(len(frontends) + 1, 1, height_ratios=[0.7] + [1.0] * len(frontends))
    wave_axis = figure.add_subplot(grid[0])
    wave_axis.plot(np.arange(waveform.size) / first_rate, waveform, linewidth=0.4, color="black")
    wave_axis.set_xlim(0, duration)
    wave_axis.set_ylabel("amplitude")
    wave_axis.set_title(f"{pathlib.Path(audio_path).name}: {duration:.2f} s at {first_rate:g} Hz", fontsize=10,
                        loc="left")
    wave_axis.grid(True, alpha=0.3)

    image_axes = []
    for row, (label, frontend) in enumerate(frontends, start=1):
        audio = audio_at(float(frontend.sample_rate))
        features = keras.ops.convert_to_numpy(frontend(audio[np.newaxis]))[0]
        frames, channels = features.shape
        hop_s = frontend.stride / frontend.sample_rate if hasattr(frontend, "stride") else duration / max(frames, 1)
        axis = figure.add_subplot(grid[row], sharex=wave_axis)
        image_axes.append(axis)
        centres = _channel_order(frontend)
        note = ""
        if centres is not None:
            order = np.argsort(centres, kind="stable")
            features = features[:, order]
            if np.any(order != np.arange(channels)):
                note = ", channels sorted by centre frequency"
        image = axis.imshow(
            features.T, origin="lower", aspect="auto", cmap="magma", interpolation="nearest",
            extent=(0.0, frames * hop_s, -0.5, channels - 0.5),
        )
        if centres is not None:
            _frequency_axis(axis, centres[order])
        else:
            axis.set_ylabel("channel")
        colorbar = figure.colorbar(image, ax=axis, pad=0.01, aspect=12)
        colorbar.set_label(_output_label(frontend), fontsize=8)
        axis.set_title(f"{label}: {frames} frames x {channels} channels{note}", fontsize=10, loc="left")
    for axis in [wave_axis, *image_axes[:-1]]:
        axis.tick_params(labelbottom=False)
    image_axes[-1].set_xlabel("time (s)")
    return figure


# ---------------------------------------------------------------- drift across runs


def drift_figure(runs: dict[str, list[dict]], title: str | None = None):
    """How far the learnt parameters moved from initialisation, per configuration, one line per seed.

    `runs`: `{label: [describe_filters(frontend) of each seed's trained frontend]}`.
    One row per label: (a) centre-frequency change in Hz per filter, over the
    filter's initial centre; (b) PCEN α and (c) PCEN smoothing per channel
    (the values the forward pass uses), the initial value dashed.
    """
    from matplotlib.figure import Figure

    labels = [label for label, infos in runs.items() if infos and "mel_init_center_hz" in infos[0]]
    if not labels:
        raise PlotError("no run with learnable filters to show (mel has none)")
    figure = Figure(figsize=(13, 2.9 * len(labels) + 0.6), layout="constrained")
    axes = figure.subplots(len(labels), 3, squeeze=False)
    for row, label in enumerate(labels):
        infos = runs[label]
        centre_axis, alpha_axis, smooth_axis = axes[row]
        for seed, info in enumerate(infos):
            change = info["center_hz"] - info["mel_init_center_hz"]
            centre_axis.plot(info["mel_init_center_hz"], change, "o-", markersize=2.5, linewidth=0.8,
                             color=f"C{seed}", label=f"seed {seed}" if row == 0 else None)
        centre_axis.axhline(0.0, color="0.55", linewidth=1)
        centre_axis.set_xscale("log")
        centre_axis.xaxis.set_major_formatter(_plain_formatter())
        centre_axis.set_title(f"{label}: centre-frequency change", fontsize=10, loc="left")
        centre_axis.set_ylabel("Δ centre (Hz)")
        for axis, key, name in ((alpha_axis, "alpha", "PCEN α"), (smooth_axis, "smooth", "PCEN smoothing s")):
            if f"pcen_{key}" not in infos[0]:
                _missing(axis, "no PCEN")
                continue
            for seed, info in enumerate(infos):
                axis.plot(info["mel_init_center_hz"], info[f"pcen_{key}"], "o-", markersize=2.5, linewidth=0.8,
                          color=f"C{seed}")
            axis.axhline(infos[0]["pcen_init"][key], linestyle="--", color="0.55", linewidth=1.5)
            axis.set_xscale("log")
            axis.xaxis.set_major_formatter(_plain_formatter())
            axis.set_title(f"{label}: {name} per channel", fontsize=10, loc="left")
        if row == len(labels) - 1:
            for axis in axes[row]:
                axis.set_xlabel("initial centre frequency (Hz)")
    if len(runs[labels[0]]) > 1:
        axes[0][0].legend(fontsize=7, loc="upper left")
    if title:
        figure.suptitle(title, fontsize=11)
    return figure


def _plain_formatter():
    from matplotlib.ticker import FuncFormatter

    return FuncFormatter(lambda value, _: f"{value:g}")


def _trained_frontends_by_label(paths) -> dict[str, list[dict]]:
    """`{label: [describe_filters(...) per run]}` for training workdirs (or directories of them)."""
    import json

    workdirs = []
    for path in map(pathlib.Path, paths):
        found = [path] if (path / "run.json").exists() else sorted(p.parent for p in path.glob("**/run.json"))
        if not found:
            raise PlotError(f"{path} holds no training run (no run.json)")
        workdirs += found
    runs: dict[str, list[dict]] = {}
    for workdir in workdirs:
        run = json.loads((workdir / "run.json").read_text())
        frontend = inspection.load_trained_frontend(workdir)
        if isinstance(frontend, Wavegram):
            continue
        runs.setdefault(run.get("label", run["frontend"]), []).append(inspection.describe_filters(frontend))
    return runs


# ---------------------------------------------------------------- TensorBoard


class FilterPlotCallback(keras.callbacks.Callback):
    """Logs `filters_figure(model.frontend)` to TensorBoard as an image while training.

    Writes `tf.summary.image(tag, ...)` every `every_n_steps` training batches
    and at the end of training, at step `model.optimizer.iterations` (the
    number of batches seen by this callback when there is no optimizer). Give
    it the directory of the training run, e.g. `<workdir>/tensorboard/train`
    next to `keras.callbacks.TensorBoard(<workdir>/tensorboard)`'s scalars.

    The frontend is `self.model.frontend` (or the model's frontend layer).
    Plotting never stops training: without matplotlib, for a frontend that
    cannot be described (Wavegram) or if rendering fails, it logs one warning
    and does nothing more.

    Args:
      log_dir: directory of the event file.
      every_n_steps: training batches between two images.
      tag: the image's summary name.
      dpi: resolution of the rendered figure.
    """

    def __init__(self, log_dir: str | os.PathLike, every_n_steps: int = 1000, tag: str = "frontend/filters",
                 dpi: int = 72):
        super().__init__()
        if every_n_steps < 1:
            raise ValueError(f"every_n_steps must be >= 1, got {every_n_steps}.")
        self.log_dir = os.fspath(log_dir)
        self.every_n_steps = int(every_n_steps)
        self.tag = tag
        self.dpi = dpi
        self._writer = None
        self._batches = 0
        self._last_step = None
        self._disabled = False
        try:
            _matplotlib()
        except PlotError as e:
            self._disable(f"{e}; frontend filter plots are not logged.")

    def _disable(self, message: str) -> None:
        if not self._disabled:
            logger.warning("FilterPlotCallback: %s", message)
        self._disabled = True

    def _step(self) -> int:
        optimizer = getattr(self.model, "optimizer", None)
        iterations = getattr(optimizer, "iterations", None)
        return self._batches if iterations is None else int(keras.ops.convert_to_numpy(iterations))

    def log_figure(self) -> None:
        """Renders the figure for the current weights and writes it (once per step)."""
        if self._disabled:
            return
        step = self._step()
        if step == self._last_step:
            return
        try:
            figure = filters_figure(self.model, title=f"{self.model.name}, step {step}")
            png = figure_png_bytes(figure, self.dpi, palette=False)
        except Exception as e:  # a diagnostic plot must never stop a training run
            self._disable(f"cannot plot the frontend ({type(e).__name__}: {e}); not logging filter plots.")
            return
        if self._writer is None:
            self._writer = tf.summary.create_file_writer(self.log_dir)
        image = tf.io.decode_png(png, channels=4)[tf.newaxis]
        with self._writer.as_default():
            tf.summary.image(self.tag, image, step=step)
        self._writer.flush()
        self._last_step = step

    def on_train_batch_end(self, batch, logs=None):
        self._batches += 1
        if self._batches % self.every_n_steps == 0:
            self.log_figure()

    def on_train_end(self, logs=None):
        self.log_figure()
        if self._writer is not None:
            self._writer.close()
            self._writer = None


# ---------------------------------------------------------------- command line


def _source_frontend(args) -> tuple[Frontend, str]:
    """The frontend `--workdir` / `--model` / `--frontend` selects, and a label for it."""
    if args.frontend is None:
        for option in ("n_filters", "sample_rate"):
            if getattr(args, option) is not None:
                raise PlotError(f"--{option} applies to --frontend only (a checkpoint has its own)")
        checkpoint = inspection.resolve_checkpoint(args.workdir or args.model)
        frontend = inspection.load_trained_frontend(checkpoint)
        return frontend, f"{type(frontend).__name__} from {checkpoint}"
    frontend = inspection.fresh_frontend(
        args.frontend,
        40 if args.n_filters is None else args.n_filters,
        16000.0 if args.sample_rate is None else args.sample_rate,
    )
    return frontend, f"{TITLES[args.frontend]} at initialisation"


def _run_filters(args) -> None:
    frontend, label = _source_frontend(args)
    path = save_figure(filters_figure(frontend, title=label, n_fft=args.n_fft), args.output, args.dpi)
    print(f"wrote {path}")


def _run_features(args) -> None:
    if not os.path.isfile(args.audio):
        raise PlotError(f"audio file {args.audio} does not exist")
    selected: list[tuple[str, Frontend]] = []
    for source in [*args.workdir, *args.model]:
        checkpoint = inspection.resolve_checkpoint(source)
        frontend = inspection.load_trained_frontend(checkpoint)
        selected.append((f"{type(frontend).__name__} from {checkpoint}", frontend))
    names = args.frontends if args.frontends is not None else ([] if selected else ["leaf", "mel"])
    for name in names:
        frontend = inspection.fresh_frontend(name, args.n_filters, args.sample_rate)
        fixed = not frontend.trainable_weights  # e.g. log-mel: nothing to initialise
        selected.append((TITLES[name] if fixed else f"{TITLES[name]}, at initialisation", frontend))
    figure = features_figure(args.audio, selected, args.max_duration_s)
    print(f"wrote {save_figure(figure, args.output, args.dpi)}")


def _run_export(args) -> None:
    if pathlib.Path(args.output).suffix.lower() not in (".json", ".csv"):
        raise PlotError(f"--output {args.output}: use a .json or .csv file name")
    frontend, _ = _source_frontend(args)
    description = inspection.describe_filters(frontend)
    path = inspection.export_filters(description, args.output)
    print(f"wrote {path} ({description['n_filters']} filters of {description['frontend']})")


def _run_drift(args) -> None:
    figure = drift_figure(_trained_frontends_by_label(args.runs), args.title)
    print(f"wrote {save_figure(figure, args.output, args.dpi)}")


_COMMANDS = {"filters": _run_filters, "features": _run_features, "export-filters": _run_export, "drift": _run_drift}


def run(args) -> None:
    """Runs the parsed `leaf-tf plot` command (`leaf_tf.commands.plot` parses it)."""
    _COMMANDS[args.command](args)


def main(argv: Sequence[str] | None = None) -> int:
    """The `leaf-tf plot` command line (kept for `python -m leaf_tf.plot`)."""
    from leaf_tf.commands import plot

    return plot.main(argv)


if __name__ == "__main__":
    sys.exit(main())
