"""What a frontend has learnt, as numbers: filter centres and bandwidths, pooling widths, PCEN values.

Pure functions, no plotting (`leaf_tf.plot` draws them):

* `load_frontend(source)`: a frontend from a training workdir (`final.keras`,
  else `best.keras`), a `.keras` file, or a short name (`"leaf"`, `"mel"`,
  ...) for a freshly initialised one.
* `describe_filters(frontend)`: per-channel parameters in physical units
  (Hz, ms) next to the values they started from.
* `frequency_responses(frontend)`: the magnitude response of every filter,
  computed from the convolution taps the forward pass actually uses.
* `export_filters(description, path)` / `read_filters(path)`: the description
  as JSON or CSV, for use outside TensorFlow.

Every function accepts a frontend or a model holding one (`AudioClassifier`,
`MultiTaskClassifier`: `model.frontend`; any Keras model with a frontend
layer). Wavegram has no per-channel filter parameters and is rejected with a
`ValueError`.

Example:
  >>> info = describe_filters(load_frontend("leaf"))   # a fresh LEAF: 40 filters on the mel scale
  >>> info["center_hz"][:3].round(3)   # 512-point FFT bins at 16 kHz
  array([ 93.75, 156.25, 218.75])
  >>> round(float(info["pooling_width_ms"][0]), 3), round(float(info["pcen_alpha"][0]), 3)
  (5.0, 0.96)
"""

from __future__ import annotations

import csv
import json
import math
import os
import pathlib

import keras
import numpy as np

from leaf_tf import frontends as frontends_lib
from leaf_tf.frontends import Frontend, Leaf, MelFilterbanks, Wavegram
from leaf_tf.initializers import GaborInit, SincInit
from leaf_tf.layers.activations import SquaredModulus
from leaf_tf.layers.compression import PCENLayer
from leaf_tf.layers.gabor import GaborConv1D
from leaf_tf.layers.pooling import GaussianLowpass, LearnablePooling1D
from leaf_tf.layers.sinc import SincConv1D

__all__ = [
    "CHECKPOINT_NAMES",
    "FWHM_FACTOR",
    "describe_filters",
    "export_filters",
    "find_frontend",
    "frequency_responses",
    "load_frontend",
    "per_channel_keys",
    "read_filters",
]

# Checkpoints a training workdir may hold, in order of preference.
CHECKPOINT_NAMES = ("final.keras", "best.keras")

# Full width at half maximum of a Gaussian, in units of its standard deviation.
FWHM_FACTOR = 2.0 * math.sqrt(2.0 * math.log(2.0))

# Frequency grid used to measure centres and bandwidths of free-form filters (TD-filterbanks).
_MEASURE_N_FFT = 8192


# ---------------------------------------------------------------- loading


def find_frontend(model) -> Frontend:
    """The frontend of `model`: the object itself, its `.frontend`, or its one frontend layer.

    Raises:
      ValueError: `model` holds no frontend (e.g. a classifier built with
        `frontend=None`).
    """
    if isinstance(model, Frontend):
        return model
    frontend = getattr(model, "frontend", None)
    if isinstance(frontend, Frontend):
        return frontend
    if isinstance(model, keras.layers.Layer):
        found = [layer for layer in model._flatten_layers(include_self=False) if isinstance(layer, Frontend)]
        if found:
            return found[0]
    raise ValueError(
        f"{type(model).__name__} {getattr(model, 'name', '')!r} has no leaf_tf frontend: expected a frontend, "
        "or a model with a `.frontend` (AudioClassifier, MultiTaskClassifier) or a frontend layer."
    )


def _checkpoint_in(workdir: pathlib.Path) -> pathlib.Path:
    for name in CHECKPOINT_NAMES:
        if (workdir / name).is_file():
            return workdir / name
    raise FileNotFoundError(
        f"{workdir} has no checkpoint ({' or '.join(CHECKPOINT_NAMES)}): train first or pass a .keras file"
    )


def resolve_checkpoint(path: str | os.PathLike) -> pathlib.Path:
    """The `.keras` file behind `path`: the file itself, or a workdir's `final.keras` / `best.keras`.

    Raises:
      FileNotFoundError: `path` does not exist, or is a directory without a checkpoint.
      ValueError: `path` is a file that is not a `.keras` archive.
    """
    path = pathlib.Path(path)
    if path.is_dir():
        return _checkpoint_in(path)
    if not path.exists():
        raise FileNotFoundError(f"{path} does not exist (expected a training workdir or a .keras file)")
    if path.suffix != ".keras":
        raise ValueError(f"{path} is not a .keras file (expected a training workdir or a model saved as .keras)")
    return path


def load_trained_frontend(path: str | os.PathLike) -> Frontend:
    """The frontend saved in a workdir (`final.keras`, else `best.keras`) or a `.keras` file.

    The file holds a full Keras model, typically an `AudioClassifier` or a
    `MultiTaskClassifier`; its `.frontend` (or its frontend layer) is returned.
    Loaded without compiling (no optimizer, losses or metrics are needed).
    """
    checkpoint = resolve_checkpoint(path)
    try:
        model = keras.models.load_model(checkpoint, compile=False)
    except Exception as e:  # Keras reports broken archives with many exception types.
        message = " ".join(str(e).split()) or type(e).__name__
        raise ValueError(f"could not load {checkpoint}: {message}") from e
    return find_frontend(model)


def fresh_frontend(name: str, n_filters: int = 40, sample_rate: float = 16000) -> Frontend:
    """A newly initialised, built frontend by short name (`leaf_tf.frontends.FRONTENDS`)."""
    frontend = frontends_lib.build_frontend(name, n_filters=n_filters, sample_rate=sample_rate)
    frontend.build((None, max(int(sample_rate), frontend.min_samples)))
    return frontend


def load_frontend(source, n_filters: int = 40, sample_rate: float = 16000) -> Frontend:
    """A frontend from a workdir, a `.keras` file, a short name, or a model / frontend object.

    Args:
      source: a training workdir (holding `final.keras`, preferred, or
        `best.keras`), a `.keras` file, a frontend short name from
        `leaf_tf.frontends.FRONTENDS` (a fresh, initialised frontend), or a
        frontend or model (returned as `find_frontend(source)`).
      n_filters: number of filters of a fresh frontend (ignored otherwise).
      sample_rate: sample rate of a fresh frontend (ignored otherwise).

    Raises:
      FileNotFoundError: the path does not exist, or the workdir has no checkpoint.
      ValueError: the file is not a loadable `.keras` model with a frontend.
    """
    if isinstance(source, keras.layers.Layer):
        return find_frontend(source)
    if isinstance(source, str) and source in frontends_lib.FRONTENDS and not os.path.exists(source):
        return fresh_frontend(source, n_filters, sample_rate)
    if not os.path.exists(source):
        raise FileNotFoundError(
            f"{source} does not exist (expected a training workdir, a .keras file or a frontend name: "
            f"{', '.join(frontends_lib.FRONTENDS)})"
        )
    return load_trained_frontend(source)


# ---------------------------------------------------------------- descriptions


def _numpy(value) -> np.ndarray:
    return np.asarray(keras.ops.convert_to_numpy(value), dtype=np.float64)


def _per_channel(value, channels: int) -> np.ndarray:
    return np.broadcast_to(_numpy(value).reshape(-1), (channels,)).copy()


def _hz_to_mel_tf(frequency_hz):
    """The mel scale of `tf.signal.linear_to_mel_weight_matrix`: `1127 ln(1 + f / 700)`."""
    return 1127.0 * np.log1p(np.asarray(frequency_hz, dtype=np.float64) / 700.0)


def _mel_to_hz_tf(mel):
    return 700.0 * np.expm1(np.asarray(mel, dtype=np.float64) / 1127.0)


def gabor_bandwidth_hz(sigma_samples, sample_rate: float) -> np.ndarray:
    """FWHM (Hz) of the magnitude response of a Gabor filter with envelope std `sigma` (samples).

    The Gaussian envelope `exp(-t^2 / (2 sigma^2))` has the Gaussian frequency
    response `exp(-sigma^2 w^2 / 2)`, of std `1 / sigma` rad/sample, so

        fwhm_hz = 2 sqrt(2 ln 2) / (2 pi sigma) * sample_rate.

    (The truncation to `K` taps, negligible while `sigma <~ K / 6`, is ignored.)
    """
    return FWHM_FACTOR / (2.0 * np.pi * _numpy(sigma_samples)) * sample_rate


def _peak_and_fwhm(freqs_hz: np.ndarray, magnitude: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per row of `magnitude` `[C, F]`: the peak frequency and the width where it stays >= half the peak.

    The half-maximum crossings on either side of the peak are linearly
    interpolated between grid points.
    """
    centres, widths = [], []
    for row in magnitude:
        peak = int(np.argmax(row))
        half = row[peak] / 2.0
        below = np.flatnonzero(row[:peak] < half)
        if below.size:
            i = below[-1]  # row[i] < half <= row[i + 1]
            low = np.interp(half, [row[i], row[i + 1]], freqs_hz[i:i + 2])
        else:
            low = freqs_hz[0]
        above = np.flatnonzero(row[peak:] < half)
        if above.size:
            j = peak + above[0]  # row[j - 1] >= half > row[j]
            high = np.interp(half, [row[j], row[j - 1]], [freqs_hz[j], freqs_hz[j - 1]])
        else:
            high = freqs_hz[-1]
        centres.append(freqs_hz[peak])
        widths.append(high - low)
    return np.asarray(centres), np.asarray(widths)


def _check_supported(frontend: Frontend) -> None:
    if isinstance(frontend, Wavegram):
        raise ValueError(
            "Wavegram has no per-channel filter parameters (it is a stack of learnt 1-D convolutions); "
            "describe a Leaf, TD-filterbanks, SincNet, SincNet+, Mel or Mel-PCEN frontend instead."
        )
    if not isinstance(frontend, (Leaf, MelFilterbanks)):
        raise ValueError(f"Cannot describe the filters of {type(frontend).__name__}: not a leaf_tf frontend.")
    if not frontend.built:
        raise ValueError(f"{type(frontend).__name__} {frontend.name!r} is not built: call it on audio once first.")


def _describe_filterbank(frontend: Leaf, info: dict) -> None:
    conv, sample_rate, channels = frontend.filterbank, float(frontend.sample_rate), frontend.n_filters
    init = frontend.complex_conv_init
    if isinstance(conv, GaborConv1D):
        eta, sigma = _numpy(conv.clipped_kernel()).T
        info["gabor_center_rad_per_sample"] = eta
        info["gabor_sigma_samples"] = sigma
        info["center_hz"] = eta * sample_rate / (2 * np.pi)
        info["bandwidth_hz"] = gabor_bandwidth_hz(sigma, sample_rate)
    elif isinstance(conv, SincConv1D):
        low, high = (_numpy(edge) for edge in conv.band_edges())
        info["sinc_low_hz"], info["sinc_high_hz"] = low, high
        info["center_hz"] = (low + high) / 2
        info["bandwidth_hz"] = high - low
    else:  # a free-form convolution (TD-filterbanks): measure its responses
        freqs, magnitude = frequency_responses(frontend, n_fft=_MEASURE_N_FFT)
        info["center_hz"], info["bandwidth_hz"] = _peak_and_fwhm(freqs, magnitude)

    if isinstance(init, GaborInit):
        eta0, sigma0 = _numpy(init.params(channels)).T
        info["mel_init_center_hz"] = eta0 * sample_rate / (2 * np.pi)
        info["mel_init_bandwidth_hz"] = gabor_bandwidth_hz(sigma0, sample_rate)
    elif isinstance(init, SincInit) and isinstance(conv, SincConv1D):
        a0, b0 = _numpy(init((channels, 2))).T
        low0 = conv.min_low_hz + np.abs(a0)
        high0 = np.clip(low0 + conv.min_band_hz + np.abs(b0), conv.min_low_hz, conv.sample_rate / 2)
        info["mel_init_center_hz"] = (low0 + high0) / 2
        info["mel_init_bandwidth_hz"] = high0 - low0


def _describe_mel(frontend: MelFilterbanks, info: dict) -> None:
    # Exact band geometry of `tf.signal.linear_to_mel_weight_matrix`: C + 2 edges equally
    # spaced in mel; triangle n rises from edge n to its peak at edge n + 1 and falls to n + 2.
    edges = np.linspace(_hz_to_mel_tf(frontend.min_freq), _hz_to_mel_tf(frontend.max_freq), frontend.n_filters + 2)
    lower, centre, upper = edges[:-2], edges[1:-1], edges[2:]
    info["center_hz"] = _mel_to_hz_tf(centre)
    # sqrt(M), the magnitude-equivalent response, is >= 1/2 where the triangle M >= 1/4.
    info["bandwidth_hz"] = _mel_to_hz_tf(upper - (upper - centre) / 4) - _mel_to_hz_tf(lower + (centre - lower) / 4)


def _describe_pooling(frontend: Leaf, info: dict) -> None:
    pooling, channels = frontend.pooling, frontend.n_filters
    kernel_size, sample_rate = frontend.kernel_size, float(frontend.sample_rate)
    half_window_ms = (kernel_size - 1) / 2 / sample_rate * 1000
    if isinstance(pooling, GaussianLowpass):
        raw = _per_channel(pooling.kernel, channels)
        clipped = np.clip(raw, 2.0 / kernel_size, 0.5)
        info["pooling_sigma_fraction_raw"] = raw
        info["pooling_sigma_fraction"] = clipped
        info["pooling_width_ms"] = clipped * half_window_ms
        initial = _per_channel(frontend.pooling_init(tuple(pooling.kernel.shape)), channels)
        info["pooling_init_width_ms"] = np.clip(initial, 2.0 / kernel_size, 0.5) * half_window_ms
    elif isinstance(pooling, LearnablePooling1D):
        taps = np.abs(_numpy(pooling.kernel).reshape(-1))
        times_ms = np.arange(taps.size) / sample_rate * 1000
        mean = np.sum(taps * times_ms) / np.sum(taps)
        std = math.sqrt(np.sum(taps * (times_ms - mean) ** 2) / np.sum(taps))
        info["pooling_width_ms"] = np.full(channels, std)


def _describe_pcen(compression, channels: int, info: dict) -> None:
    if not isinstance(compression, PCENLayer):
        return
    raw = {
        "alpha": _per_channel(compression.alpha, channels),
        "delta": _per_channel(compression.delta, channels),
        "root": _per_channel(compression.root, channels),
        "smooth": _per_channel(compression.ema.smooth, channels),
    }
    effective = {
        "alpha": np.minimum(raw["alpha"], 1.0),
        "delta": np.maximum(raw["delta"], 0.0),
        "root": np.maximum(raw["root"], 1.0),
        "smooth": np.clip(raw["smooth"], 0.0, 1.0),
    }
    for name in ("alpha", "delta", "root", "smooth"):
        info[f"pcen_{name}"] = effective[name]
        info[f"pcen_{name}_raw"] = raw[name]
    info["pcen_init"] = {
        "alpha": float(compression.alpha_init),
        "delta": float(compression.delta_init),
        "root": float(compression.root_init),
        "smooth": float(compression.smooth_coef),
    }


def describe_filters(frontend) -> dict:
    """Per-channel parameters of a frontend (or of a model's frontend) in physical units.

    Per-channel entries are float64 arrays of shape `[C]`, in channel order;
    entries a frontend has no stage for are absent (e.g. no PCEN for Mel, no
    pooling width for SincNet's max pooling).

    * `center_hz`: centre frequency. Gabor: `eta * sr / (2 pi)` from the
      clipped kernel; sinc: `(f_lo + f_hi) / 2`; Mel: the triangle's peak (its
      mel centre); TD-filterbanks: the peak of the measured magnitude response.
    * `bandwidth_hz`: full width at half maximum of the filter's *magnitude*
      response. Gabor (envelope std `sigma` samples):
      `2 sqrt(2 ln 2) / (2 pi sigma) * sr` (see `gabor_bandwidth_hz`); sinc:
      `f_hi - f_lo`; Mel: where `sqrt(M) >= 1/2` (the width `GaborInit`
      matches); TD-filterbanks: measured on an 8192-point grid.
    * `mel_init_center_hz`, `mel_init_bandwidth_hz`: the same for the
      filterbank's initializer (`GaborInit`: the mel curve; `SincInit`: HTK
      mel spacing). Absent for Mel, whose filters are the mel scale.
    * `gabor_center_rad_per_sample`, `gabor_sigma_samples` (Gabor) or
      `sinc_low_hz`, `sinc_high_hz` (sinc): the raw filter parameters as used.
    * `pooling_width_ms`: Gaussian pooling: the window's std in ms,
      `clip(sigma_frac, 2/K, 0.5) * (K - 1) / 2 / sr * 1000`;
      `pooling_sigma_fraction` (clipped) and `_raw` (stored) alongside,
      `pooling_init_width_ms` at initialisation. TD-filterbanks' shared
      lowpass: the std of its normalised `|h|`, in ms, repeated per channel.
    * `pcen_alpha`, `pcen_delta`, `pcen_root`, `pcen_smooth`: the values the
      forward pass uses, `min(alpha, 1)`, `max(delta, 0)`, `max(root, 1)`,
      `clip(smooth, 0, 1)`; `pcen_*_raw` the stored weights; a shared smoothing
      coefficient is repeated per channel. `pcen_init` is a dict of the
      initial values.

    Scalar entries: `frontend` (class name), `name`, `sample_rate`,
    `n_filters`, `kernel_size` and `stride` (samples), `compression` and for
    LEAF-family frontends `filterbank` and `pooling` (class names).

    Raises:
      ValueError: a Wavegram (no per-channel filter parameters) or an unbuilt frontend.
    """
    frontend = find_frontend(frontend)
    _check_supported(frontend)
    info: dict = {
        "frontend": type(frontend).__name__,
        "name": frontend.name,
        "sample_rate": float(frontend.sample_rate),
        "n_filters": int(frontend.n_filters),
    }
    if isinstance(frontend, MelFilterbanks):
        info.update(kernel_size=int(frontend.kernel_size), stride=int(frontend.stride))
        _describe_mel(frontend, info)
    else:
        info.update(
            kernel_size=int(frontend.kernel_size),
            stride=int(frontend.stride),
            filterbank=type(frontend.filterbank).__name__,
            pooling=type(frontend.pooling).__name__,
        )
        _describe_filterbank(frontend, info)
        _describe_pooling(frontend, info)
    compression = frontend.compression
    info["compression"] = type(compression).__name__ if isinstance(compression, keras.layers.Layer) else getattr(
        compression, "__name__", type(compression).__name__
    )
    _describe_pcen(compression, frontend.n_filters, info)
    return info


def per_channel_keys(description: dict) -> list[str]:
    """The keys of `description` holding one value per channel, in order."""
    channels = description["n_filters"]
    return [
        key for key, value in description.items()
        if isinstance(value, np.ndarray) and value.shape == (channels,)
    ]


# ---------------------------------------------------------------- frequency responses


def _filter_taps(frontend) -> tuple[np.ndarray, np.ndarray]:
    """`(taps [K', C] real or complex, tap times [K'])` of a LEAF-family filterbank."""
    conv = frontend.filterbank
    if isinstance(conv, (GaborConv1D, SincConv1D)):
        kernel = _numpy(conv.conv_kernel())
    else:
        kernel = _numpy(conv.kernel)
    kernel = kernel[:, 0, :]  # [K', channels]
    times = np.arange(kernel.shape[0]) - kernel.shape[0] // 2
    if isinstance(conv, SincConv1D) or not isinstance(frontend.activation, SquaredModulus):
        return kernel, times
    return kernel[:, 0::2] + 1j * kernel[:, 1::2], times  # (real, imaginary) output pairs


def frequency_responses(frontend, n_fft: int = 1024) -> tuple[np.ndarray, np.ndarray]:
    """Magnitude responses of a frontend's filters on `n_fft // 2 + 1` frequencies from 0 to sr/2.

    Computed from the taps the forward pass uses (the DTFT evaluated directly,
    so filters longer than `n_fft` are not truncated):

    * Gabor: the complex taps `phi_n` (`conv_kernel()`, clipped parameters),
      `|sum_t phi_n(t) exp(-i w t)|`, which peaks at `eta_n`;
    * TD-filterbanks: each (real, imaginary) pair of output channels as one
      complex filter, the same way;
    * SincNet: the real windowed band-pass taps;
    * Mel: `sqrt` of the mel matrix rows (the magnitude that, squared, weighs
      the power spectrum), linearly interpolated onto the grid.

    Args:
      frontend: a frontend or a model holding one.
      n_fft: the grid has `n_fft // 2 + 1` points, spacing `sr / n_fft`.

    Returns:
      `(freqs_hz [n_fft // 2 + 1], magnitude [C, n_fft // 2 + 1])`, linear
      magnitudes (not normalised).
    """
    frontend = find_frontend(frontend)
    _check_supported(frontend)
    sample_rate = float(frontend.sample_rate)
    freqs = np.arange(n_fft // 2 + 1) * sample_rate / n_fft
    if isinstance(frontend, MelFilterbanks):
        matrix = np.sqrt(np.maximum(_numpy(frontend.mel_matrix()), 0.0))  # [bins, C]
        bin_freqs = np.arange(matrix.shape[0]) * sample_rate / frontend.fft_length
        return freqs, np.stack([np.interp(freqs, bin_freqs, column) for column in matrix.T])
    taps, times = _filter_taps(frontend)
    omega = 2 * np.pi * freqs / sample_rate
    response = np.exp(-1j * np.outer(omega, times)) @ taps  # [F, C]
    return freqs, np.abs(response).T


# ---------------------------------------------------------------- export


def _jsonable(value):
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, dict):
        return {key: _jsonable(item) for key, item in value.items()}
    if isinstance(value, np.generic):
        return value.item()
    return value


def export_filters(description: dict, path: str | os.PathLike) -> pathlib.Path:
    """Writes `describe_filters`' output as JSON (every entry) or CSV (one row per channel).

    The format follows the extension: `.json` keeps scalars and nested
    entries; `.csv` has a `channel` column and one column per per-channel key.
    Floats are written with full precision, so `read_filters` gives back the
    same values.

    Raises:
      ValueError: the extension is neither `.json` nor `.csv`.
    """
    path = pathlib.Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".json", ".csv"):
        raise ValueError(f"cannot export to {path}: use a .json or .csv file name")
    if path.parent != pathlib.Path(""):
        path.parent.mkdir(parents=True, exist_ok=True)
    if suffix == ".json":
        path.write_text(json.dumps(_jsonable(description), indent=1) + "\n")
        return path
    keys = per_channel_keys(description)
    with path.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["channel", *keys])
        for channel in range(description["n_filters"]):
            writer.writerow([channel, *(repr(float(description[key][channel])) for key in keys)])
    return path


def read_filters(path: str | os.PathLike) -> dict:
    """Reads a file written by `export_filters`; per-channel lists come back as float64 arrays.

    From CSV only the per-channel entries exist (and `n_filters`).
    """
    path = pathlib.Path(path)
    if path.suffix.lower() == ".json":
        data = json.loads(path.read_text())
        return {key: np.asarray(value, dtype=np.float64) if isinstance(value, list) else value
                for key, value in data.items()}
    with path.open(newline="") as f:
        rows = list(csv.reader(f))
    header, values = rows[0], np.asarray(rows[1:], dtype=np.float64).reshape(-1, len(rows[0]))
    data = {key: values[:, i] for i, key in enumerate(header) if key != "channel"}
    data["n_filters"] = values.shape[0]
    return data

