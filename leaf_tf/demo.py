"""Renders every frontend's representation of a synthetic speech-like signal into one PNG.

    leaf-tf demo [--output outputs/frontends.png] [--n_filters 40]

Frontends are used at their initialisation (nothing is trained): LEAF, built to
start as a mel filterbank, looks like log-mel / PCEN-mel; TD-filterbanks like a
log-mel; Wavegram's random convolutions show what an untrained learnt frontend
gives. Needs matplotlib (`pip install 'leaf_tf[plots]'`).
"""

from __future__ import annotations

import argparse
import pathlib
import time
from collections.abc import Sequence

TITLES = {
    "mel": "Mel filterbanks (log)",
    "mel_pcen": "Mel-PCEN",
    "tdfbanks": "TD-filterbanks",
    "sincnet": "SincNet",
    "sincnet_plus": "SincNet+",
    "leaf": "LEAF",
    "wavegram": "Wavegram (random init)",
}


def render(output: pathlib.Path, n_filters: int = 40, sample_rate: int = 16000, duration_s: float = 3.0) -> dict:
    """Writes the figure to `output`; returns `{frontend: (frames, channels, seconds)}`."""
    import numpy as np

    from leaf_tf import plot  # a plain Figure on an Agg canvas: the caller's pyplot backend stays as it was
    from leaf_tf.frontends import FRONTENDS, build_frontend
    from leaf_tf.signals import speech_like

    audio = speech_like(duration_s, sample_rate)
    figure = plot._matplotlib()(figsize=(10, 2.0 * (len(FRONTENDS) + 1)))
    axes = figure.subplots(len(FRONTENDS) + 1, 1, sharex=True)
    time_axis = np.arange(audio.size) / sample_rate
    axes[0].plot(time_axis, audio, linewidth=0.4, color="black")
    axes[0].set_ylabel("waveform")
    axes[0].set_title(f"Synthetic speech-like signal, {sample_rate} Hz")
    summary = {}
    for axis, name in zip(axes[1:], FRONTENDS):
        frontend = build_frontend(name, n_filters=n_filters, sample_rate=sample_rate)
        start = time.perf_counter()
        features = frontend(audio[np.newaxis]).numpy()[0]
        summary[name] = (*features.shape, time.perf_counter() - start)
        extent = (0.0, duration_s, 0, features.shape[1])
        axis.imshow(features.T, origin="lower", aspect="auto", extent=extent, cmap="magma", interpolation="nearest")
        axis.set_ylabel("channel")
        axis.set_title(f"{TITLES[name]}: {features.shape[0]} frames x {features.shape[1]} channels", fontsize=9)
    axes[-1].set_xlabel("time (s)")
    figure.tight_layout()
    plot.save_figure(figure, output, dpi=90)
    return summary


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="leaf-tf demo", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--output", type=pathlib.Path, default=pathlib.Path("outputs/frontends.png"))
    parser.add_argument("--n_filters", type=int, default=40)
    parser.add_argument("--sample_rate", type=int, default=16000)
    args = parser.parse_args(argv)
    import leaf_tf

    leaf_tf.load()
    summary = render(args.output, args.n_filters, args.sample_rate)
    for name, (frames, channels, seconds) in summary.items():
        print(f"{name:>13}: {frames} frames x {channels} channels ({seconds * 1000:.0f} ms, first call)")
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
