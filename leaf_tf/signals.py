"""Synthetic test audio: speech-like harmonic glides, chirps, tones and noise.

Used by the demo and the benchmarks; generated, never downloaded.
"""

from __future__ import annotations

import numpy as np


def speech_like(duration_s: float = 3.0, sample_rate: int = 16000, seed: int = 0) -> np.ndarray:
    """A `[samples]` float32 signal in [-1, 1] with structure at every scale a frontend resolves.

    Three "syllables" of a harmonic voice (gliding pitch, three formant-like
    resonances, syllabic amplitude envelope), a rising chirp from 200 Hz to
    7 kHz, a steady 1 kHz tone, two noise bursts (broadband and high-passed
    "fricative"), and light background noise.
    """
    rng = np.random.default_rng(seed)
    n = int(duration_s * sample_rate)
    t = np.arange(n) / sample_rate
    out = 0.003 * rng.standard_normal(n)

    # Voiced syllables: harmonics of a gliding f0, shaped by three formant bumps.
    for start, f0_a, f0_b, formants in [
        (0.1, 120.0, 180.0, (700.0, 1200.0, 2600.0)),
        (0.9, 200.0, 140.0, (300.0, 2300.0, 3000.0)),
        (1.7, 160.0, 220.0, (500.0, 900.0, 2400.0)),
    ]:
        length = 0.6
        mask = (t >= start) & (t < start + length)
        tau = t[mask] - start
        f0 = f0_a + (f0_b - f0_a) * tau / length
        phase = 2 * np.pi * np.cumsum(f0) / sample_rate
        voice = np.zeros_like(tau)
        for k in range(1, int(7000 // max(f0_a, f0_b))):
            freq = k * f0
            gain = sum(np.exp(-0.5 * ((freq - f) / (0.12 * f)) ** 2) for f in formants) + 0.02
            voice += gain * np.sin(k * phase)
        envelope = np.sin(np.pi * tau / length) ** 2
        out[mask] += 0.08 * envelope * voice

    # A rising chirp, a steady tone and two noise bursts.
    chirp_mask = (t >= 2.35) & (t < 2.95)
    tau = t[chirp_mask] - 2.35
    out[chirp_mask] += 0.2 * np.sin(2 * np.pi * (200.0 * tau + (6800.0 / (2 * 0.6)) * tau**2))
    out += 0.03 * np.sin(2 * np.pi * 1000.0 * t) * (t < 2.3)
    burst = (t >= 0.75) & (t < 0.85)
    out[burst] += 0.1 * rng.standard_normal(burst.sum())
    fricative = (t >= 1.5) & (t < 1.65)
    noise = rng.standard_normal(fricative.sum())
    out[fricative] += 0.1 * np.diff(noise, prepend=0.0)  # first difference: a high-frequency tilt
    return (out / max(1.0, np.abs(out).max())).astype(np.float32)
