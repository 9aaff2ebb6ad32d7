"""`leaf_synthetic`: a procedurally generated multi-task audio benchmark, registered with TFDS.

The dataset ships as code: every clip is synthesised with NumPy from a seed, so
it builds offline, in seconds, identically on every machine, and goes through
the same `tfds.builder(...)` / `as_dataset` pipeline as the paper's datasets.
Five tasks in the spirit of the paper's, one `BuilderConfig` each:

| config | classes | paper analogue | what the classes differ in |
|---|---|---|---|
| `pitch` | 8 notes, C3 … E5 | NSynth pitch | fundamental frequency (major-third steps) |
| `timbre` | 5 instrument families | NSynth instrument | harmonic recipe and temporal envelope |
| `scene` | 6 scenes | acoustic scenes | which sound textures make up the scene |
| `modulation` | steady, 2.5, 5, 10, 20, 40 Hz | (temporal resolution) | AM / FM rate |
| `event` | absent / present | birdsong detection | presence of bird-like chirps |

Every clip is 16 kHz mono, 1–3 s long (uniform, in 10 ms steps), with features
`audio` (int16 `[samples]`; pipelines divide by 32768 to get [-1, 1)), `label`
(`ClassLabel`) and `id` (`"<task>/<split>/<index:05d>"`); supervised keys are
`("audio", "label")`. Clips are faded in and out over 5 ms and normalised to a
random loudness (RMS −38 … −14 dBFS, turned down where needed to keep the peak
≤ 0.99: nothing clips). Classes are
balanced (`label = index % num_classes`). The label's evidence is present in
every 1 s window of a clip, so random 1 s training crops keep their label.

The tasks are built so that a bag-of-frames linear model (mean and standard
deviation over time of 40 log-mel bands + logistic regression, see
`benchmarks/synthetic_baseline.py`) is well above chance but, on most tasks,
far from 100 %: the label lives in how the spectrum is structured or changes in
time, while the average spectrum is dominated by nuisance variation.

Tasks
-----
`pitch` — one sustained harmonic note. Label: the nearest of 8 notes a major
third apart (C3 131 Hz, E3, G#3, C4, E4, G#4, C5, E5 659 Hz); f0 is drawn
within ±1.5 semitones of the note, so neighbouring classes are one semitone
apart at the closest. Nuisance: random timbre (spectral tilt −12 … −2 dB per
octave, weak even harmonics, 1–3 formant resonances, a 1.5–7.6 kHz lowpass,
±3 dB per-harmonic jitter, in 20 % of clips a weak or missing fundamental),
vibrato (0–0.3 semitones at 4–7 Hz), onset and offset within 0.15 s of the
clip edges, attack and release, background noise of random colour at
0–30 dB SNR. Non-trivial because the strongest band is often a harmonic or a
formant, not the fundamental, and the mel bands near 150 Hz are ~50 Hz wide.

`timbre` — a random melody (f0 110–880 Hz; notes of 0.25–0.8 s, or
0.15–0.5 s for struck families) played by one of five families: `bowed` (all
harmonics, slow attack, vibrato), `reed` (odd harmonics, even ones 15–30 dB
down), `flute` (3–4 harmonics plus breath noise), `plucked` (all harmonics,
exponential decay, faster for higher harmonics) and `mallet` (inharmonic bar
partials 1 : 2.76 : 5.40 : 8.93, fast decay). Nuisance: the melody, a
brightness tilt (−6 … +3 dB per octave) shared by all families, per-note
level, noise at 5–35 dB SNR. Non-trivial because the average spectrum mostly
reflects the melody and the tilt; the family shows in the spacing of the
partials and in the temporal envelope.

`scene` — a sound scene made of textures: `rain` (high hiss and dense droplet
clicks), `traffic` (low rumble with swells, engine harmonics), `wind` (a
gusty noise band with a whistle), `crowd` (babble of 4–7 speech-like voices),
`birds` (frequent high chirps over quiet noise), `machinery` (a harmonic hum
and periodic impacts at 2–8 Hz). Nuisance: every texture's parameters, in
half the clips a texture of another scene 6–20 dB down, background noise of
random colour at 3–25 dB SNR. The easiest task, as acoustic scenes are in the
paper.

`modulation` — a carrier (a tone 200–4000 Hz, a harmonic complex of random
timbre, or a noise band) modulated in amplitude, frequency (±1–3 semitones)
or both at a rate of 2.5, 5, 10, 20 or 40 Hz (±7 %), or `steady`
(unmodulated). Nuisance: carrier type and frequency, AM depth (0.8–1) and
shape (sinusoidal to pulse-like), unmodulated background noise at 5–25 dB SNR,
in half the clips a steady distractor tone. Non-trivial because the average
spectrum and the per-band variance hardly depend on the rate (only `steady`
and, through the 25 ms analysis window, 40 Hz show in them): the rate is the
periodicity of the spectro-temporal envelope.

`event` — a background (noise of random colour, in 30 % of clips a hum, and
1–3 distractor transients per second: 10 ms clicks and 30–150 ms noise bursts
at 1.5–7 kHz) with or without bird-like events (1–3 tonal FM sweeps of
30–100 ms at 2–7 kHz; the event track is −12 … +6 dB relative to the
background). Present clips repeat the event: the first starts within 0.25 s,
successive onsets are 0.35–0.75 s apart and each event lasts ≤ 0.25 s, so
**every 1 s window of a present clip contains a whole event** (random 1 s
training crops keep their label; clips stay 1–3 s). Non-trivial because
transients occur in both classes in the same frequency range: only their shape
(a tonal sweep, not a noise burst) tells.

Sizes and speed
---------------
`DEFAULT_EXAMPLES_PER_SPLIT` = 300 / 60 / 160 clips (train / validation /
test) per task, 2,600 clips in all, ~167 MB on disk; all five configs build
in 15-30 s on 2 CPU cores. Example `i` of a split comes from
`np.random.default_rng([DATASET_SEED, task_seed, split_seed, i])` alone, so it
is the same in a build of any size.

Usage
-----
    import leaf_tf.data.synthetic  # registers `leaf_synthetic` with TFDS
    builder = tfds.builder("leaf_synthetic/pitch", data_dir=data_dir)
    builder.download_and_prepare()  # generates the clips; nothing is downloaded
    ds = builder.as_dataset(split="train")  # {"audio": int16 [T], "label": int64, "id": string}

or `prepare(data_dir)` to build all five. Smaller (or larger) versions, e.g.
for tests, use a config with other counts; it gets its own name, since TFDS
does not allow a custom config to reuse a built-in config's name:

    config = make_config("pitch", {"train": 8, "validation": 4, "test": 4})  # named "pitch_8_4_4"
    builder = tfds.builder("leaf_synthetic", config=config, data_dir=tmp_dir)

`generate_example(task, split, index)` returns one clip without TFDS.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Iterator, Mapping, Sequence

import numpy as np
import tensorflow_datasets as tfds

from leaf_tf.data.audio_io import INT16_SCALE, Int16Audio

SAMPLE_RATE_HZ = 16000
SPLITS = ("train", "validation", "test")
DATASET_SEED = 20210125  # the paper's arXiv date; any constant would do
SPLIT_SEEDS = {"train": 0, "validation": 1, "test": 2}
MIN_DURATION_S = 1.0
MAX_DURATION_S = 3.0

DEFAULT_EXAMPLES_PER_SPLIT = {"train": 300, "validation": 60, "test": 160}

_NYQUIST_MARGIN_HZ = 7600.0  # no synthesised component above this (no aliasing)


# --------------------------------------------------------------------------- #
# DSP building blocks (pure NumPy, float64)
# --------------------------------------------------------------------------- #


def _rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(x)) + 1e-20))


def _unit_rms(x: np.ndarray) -> np.ndarray:
    return x / _rms(x)


def _db(value_db: float) -> float:
    return 10.0 ** (value_db / 20.0)


def _midi_to_hz(midi: float | np.ndarray) -> float | np.ndarray:
    return 440.0 * 2.0 ** ((np.asarray(midi) - 69.0) / 12.0)


def _shaped_noise(rng: np.random.Generator, n: int, gain: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
    """Gaussian noise of unit RMS whose amplitude spectrum is `gain(f_hz)` (no DC), made in the frequency domain."""
    freqs = np.fft.rfftfreq(n, 1.0 / SAMPLE_RATE_HZ)
    spectrum = rng.standard_normal(freqs.size) + 1j * rng.standard_normal(freqs.size)
    spectrum[0] = 0.0
    return _unit_rms(np.fft.irfft(spectrum * gain(freqs), n))


def _tilt(db_per_octave: float, reference_hz: float = 1000.0) -> Callable[[np.ndarray], np.ndarray]:
    """A spectral slope: gain `db_per_octave * log2(f / reference)` dB, flat below 30 Hz."""
    return lambda f: 10.0 ** (db_per_octave * np.log2(np.maximum(f, 30.0) / reference_hz) / 20.0)


def _band(center_hz: float, width_octaves: float) -> Callable[[np.ndarray], np.ndarray]:
    """A Gaussian bump in log frequency with the given full width at half maximum."""
    sigma = width_octaves / 2.355
    return lambda f: np.exp(-0.5 * (np.log2(np.maximum(f, 1.0) / center_hz) / sigma) ** 2)


def _lowpass(cutoff_hz: float, db_per_octave: float = 24.0) -> Callable[[np.ndarray], np.ndarray]:
    return lambda f: 10.0 ** (-db_per_octave * np.log2(np.maximum(f, cutoff_hz) / cutoff_hz) / 20.0)


def _colored_noise(rng: np.random.Generator, n: int) -> np.ndarray:
    """Background noise: a random slope (−9 … +1.5 dB / octave: brown-ish to white-ish)."""
    return _shaped_noise(rng, n, _tilt(rng.uniform(-9.0, 1.5)))


_TABLE_SIZE = 4096


def _wavetable(amplitudes: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One period of `sum_k a_k sin(2 pi k t + phi_k)` (random phases), `_TABLE_SIZE + 1` samples (wraps)."""
    spectrum = np.zeros(_TABLE_SIZE // 2 + 1, dtype=complex)
    k = np.arange(1, amplitudes.size + 1)
    spectrum[k] = amplitudes * np.exp(1j * rng.uniform(0.0, 2.0 * np.pi, amplitudes.size)) * (_TABLE_SIZE / 2) / 1j
    table = np.fft.irfft(spectrum, _TABLE_SIZE)
    return np.append(table, table[0])


def _play_wavetable(table: np.ndarray, phase_cycles: np.ndarray) -> np.ndarray:
    """Reads a periodic table at `phase_cycles` (in periods), linearly interpolated."""
    position = (phase_cycles % 1.0) * _TABLE_SIZE
    index = position.astype(np.int64)
    frac = position - index
    return table[index] * (1.0 - frac) + table[index + 1] * frac


def _phase(freq_hz: np.ndarray | float, n: int, rng: np.random.Generator) -> np.ndarray:
    """Phase in cycles of an oscillator with instantaneous frequency `freq_hz`, random start."""
    if np.ndim(freq_hz) == 0:
        return rng.uniform() + float(freq_hz) * np.arange(n) / SAMPLE_RATE_HZ
    return rng.uniform() + np.cumsum(freq_hz) / SAMPLE_RATE_HZ


def _harmonic_tone(rng: np.random.Generator, freq_hz: np.ndarray | float, amplitudes: np.ndarray, n: int) -> np.ndarray:
    """A harmonic complex following `freq_hz`, harmonic `k` with amplitude `amplitudes[k - 1]`."""
    return _play_wavetable(_wavetable(amplitudes, rng), _phase(freq_hz, n, rng))


def _num_harmonics(max_f0_hz: float) -> int:
    return max(1, int(_NYQUIST_MARGIN_HZ // max_f0_hz))


def _envelope(n: int, attack_s: float, release_s: float) -> np.ndarray:
    """Linear attack, flat sustain, linear release (clamped to the length)."""
    env = np.ones(n)
    a = min(n // 2, max(1, int(attack_s * SAMPLE_RATE_HZ)))
    r = min(n - a, max(1, int(release_s * SAMPLE_RATE_HZ)))
    env[:a] = np.linspace(0.0, 1.0, a, endpoint=False)
    env[n - r :] = np.linspace(1.0, 0.0, r)
    return env


def _vibrato(rng: np.random.Generator, f0_hz: float, n: int, depth_semitones: float, rate_hz: float) -> np.ndarray:
    t = np.arange(n) / SAMPLE_RATE_HZ
    return f0_hz * 2.0 ** (depth_semitones * np.sin(2 * np.pi * rate_hz * t + rng.uniform(0, 2 * np.pi)) / 12.0)


def _add(out: np.ndarray, start: int, x: np.ndarray) -> None:
    """Adds `x` into `out` from sample `start`, dropping what falls outside."""
    stop = min(out.size, start + x.size)
    if stop > start >= 0:
        out[start:stop] += x[: stop - start]


def _mix(signal: np.ndarray, background: np.ndarray, snr_db: float) -> np.ndarray:
    """`signal + background`, the background scaled to `snr_db` below the signal (RMS)."""
    return signal + background * (_rms(signal) / _rms(background) / _db(snr_db))


def _finish(rng: np.random.Generator, x: np.ndarray) -> np.ndarray:
    """5 ms fades, random loudness (RMS −38 … −14 dBFS, lowered if the peak would exceed 0.99), int16."""
    fade = int(0.005 * SAMPLE_RATE_HZ)
    ramp = 0.5 - 0.5 * np.cos(np.linspace(0.0, np.pi, fade))
    x = x.copy()
    x[:fade] *= ramp
    x[-fade:] *= ramp[::-1]
    x = x * (_db(rng.uniform(-38.0, -14.0)) / _rms(x))
    x = x * min(1.0, 0.99 / (np.max(np.abs(x)) + 1e-12))
    # Rounded in float64 (`audio_io.to_int16` rounds float32): the clips of version 1.0.0, bit for bit.
    return np.clip(np.round(x * INT16_SCALE), -32768, 32767).astype(np.int16)


def _duration_samples(rng: np.random.Generator) -> int:
    """A clip length uniform in [1, 3] s in 10 ms steps (so FFT sizes factor into small primes)."""
    hops = rng.integers(int(MIN_DURATION_S * 100), int(MAX_DURATION_S * 100) + 1)
    return int(hops * SAMPLE_RATE_HZ // 100)


# --------------------------------------------------------------------------- #
# Task: pitch
# --------------------------------------------------------------------------- #

PITCH_MIDI = (48, 52, 56, 60, 64, 68, 72, 76)
PITCH_CLASSES = ("C3", "E3", "G#3", "C4", "E4", "G#4", "C5", "E5")


def _random_timbre(rng: np.random.Generator, max_f0_hz: float, f0_hz: float) -> np.ndarray:
    """Harmonic amplitudes of a random instrument-like timbre (tilt, odd/even, formants, lowpass, jitter)."""
    k = np.arange(1, _num_harmonics(max_f0_hz) + 1)
    freqs = k * f0_hz
    level_db = rng.uniform(-12.0, -2.0) * np.log2(k)
    if rng.uniform() < 0.3:
        level_db[1::2] -= rng.uniform(6.0, 25.0)  # weak even harmonics (clarinet-like)
    for _ in range(rng.integers(1, 4)):
        center = np.exp(rng.uniform(np.log(300.0), np.log(4000.0)))
        level_db += rng.uniform(3.0, 20.0) * np.exp(-0.5 * (np.log2(freqs / center) / rng.uniform(0.15, 0.5)) ** 2)
    cutoff = rng.uniform(1500.0, 7600.0)
    level_db -= 24.0 * np.log2(np.maximum(freqs, cutoff) / cutoff)
    level_db += rng.normal(0.0, 3.0, k.size)
    if rng.uniform() < 0.2:
        level_db[0] -= rng.uniform(15.0, 30.0)  # weak or missing fundamental
    return 10.0 ** (level_db / 20.0)


def _pitch_clip(rng: np.random.Generator, label: int, n: int) -> np.ndarray:
    f0 = float(_midi_to_hz(PITCH_MIDI[label] + rng.uniform(-1.5, 1.5)))
    depth = rng.uniform(0.0, 0.3)
    freq = _vibrato(rng, f0, n, depth, rng.uniform(4.0, 7.0))
    tone = _harmonic_tone(rng, freq, _random_timbre(rng, f0 * 2 ** (depth / 12), f0), n)
    start = int(rng.uniform(0.0, 0.15) * SAMPLE_RATE_HZ)
    stop = n - int(rng.uniform(0.0, 0.15) * SAMPLE_RATE_HZ)
    note = np.zeros(n)
    note[start:stop] = tone[start:stop] * _envelope(stop - start, rng.uniform(0.005, 0.1), rng.uniform(0.02, 0.2))
    return _mix(note, _colored_noise(rng, n), rng.uniform(0.0, 30.0))


# --------------------------------------------------------------------------- #
# Task: timbre
# --------------------------------------------------------------------------- #

TIMBRE_CLASSES = ("bowed", "reed", "flute", "plucked", "mallet")
_MALLET_RATIOS = np.array([1.0, 2.756, 5.404, 8.933])  # free-free bar modes


def _melody(rng: np.random.Generator, n: int, min_s: float, max_s: float) -> list[tuple[int, int, float]]:
    """(start, length, f0) of consecutive notes covering `n` samples, f0 in A2 … A5."""
    notes, start = [], 0
    while start < n:
        length = int(rng.uniform(min_s, max_s) * SAMPLE_RATE_HZ)
        notes.append((start, length, float(_midi_to_hz(rng.uniform(45.0, 81.0)))))
        start += length
    return notes


def _sustained_note(rng: np.random.Generator, family: str, f0: float, n: int, tilt_db: float) -> np.ndarray:
    k = np.arange(1, _num_harmonics(f0 * 1.02) + 1)
    if family == "bowed":
        amps = k ** -rng.uniform(0.8, 1.2)
        depth, attack = rng.uniform(0.1, 0.3), rng.uniform(0.06, 0.2)
    elif family == "reed":
        amps = k ** -rng.uniform(0.8, 1.2) * np.where(k % 2 == 0, _db(-rng.uniform(15.0, 30.0)), 1.0)
        depth, attack = rng.uniform(0.0, 0.08), rng.uniform(0.02, 0.06)
    else:  # flute
        amps = np.zeros(k.size)
        amps[0] = 1.0
        amps[1:4] = [rng.uniform(0.1, 0.5), rng.uniform(0.03, 0.2), rng.uniform(0.01, 0.08)][: max(0, k.size - 1)]
        depth, attack = rng.uniform(0.1, 0.25), rng.uniform(0.04, 0.1)
    amps = amps * 10.0 ** (tilt_db * np.log2(k) / 20.0)
    tone = _harmonic_tone(rng, _vibrato(rng, f0, n, depth, rng.uniform(4.5, 6.5)), amps, n)
    if family == "flute":
        breath = _shaped_noise(rng, n, lambda f: _band(f0 * 2.0, 3.0)(f) + 0.3 * _band(4000.0, 2.0)(f))
        tone = tone / _rms(tone) + breath * _db(rng.uniform(-22.0, -12.0))
    return tone * _envelope(n, attack, rng.uniform(0.03, 0.08))


def _struck_note(rng: np.random.Generator, family: str, f0: float, n: int, tilt_db: float) -> np.ndarray:
    t = np.arange(n) / SAMPLE_RATE_HZ
    if family == "plucked":
        k = np.arange(1, _num_harmonics(f0) + 1)
        pluck_position = rng.uniform(0.1, 0.3)
        amps = np.abs(np.sin(np.pi * k * pluck_position)) / k ** rng.uniform(0.6, 1.0)
        decay_s = rng.uniform(0.3, 1.0) / (1.0 + 0.15 * (k - 1))
        partials = k * f0
    else:  # mallet
        keep = _MALLET_RATIOS * f0 < _NYQUIST_MARGIN_HZ
        partials = (_MALLET_RATIOS * f0)[keep]
        amps = np.array([1.0, rng.uniform(0.2, 0.6), rng.uniform(0.05, 0.3), rng.uniform(0.02, 0.15)])[keep]
        decay_s = rng.uniform(0.1, 0.4) / _MALLET_RATIOS[keep] ** 0.7
        k = partials / f0
    amps = amps * 10.0 ** (tilt_db * np.log2(k) / 20.0)
    note = np.zeros(n)
    for freq, amp, tau in zip(partials, amps, decay_s):
        m = min(n, int(6.0 * tau * SAMPLE_RATE_HZ) + 1)  # beyond 6 tau it is below -52 dB
        note[:m] += amp * np.exp(-t[:m] / tau) * np.sin(2 * np.pi * freq * t[:m] + rng.uniform(0, 2 * np.pi))
    return note * _envelope(n, 0.002, 0.01)


def _timbre_clip(rng: np.random.Generator, label: int, n: int) -> np.ndarray:
    family = TIMBRE_CLASSES[label]
    tilt_db = rng.uniform(-6.0, 3.0)  # brightness, shared by every family
    out = np.zeros(n)
    struck = family in ("plucked", "mallet")
    for start, length, f0 in _melody(rng, n, 0.15 if struck else 0.25, 0.5 if struck else 0.8):
        length = min(length, n - start)
        make = _struck_note if struck else _sustained_note
        out[start : start + length] += make(rng, family, f0, length, tilt_db) * _db(rng.uniform(-4.0, 0.0))
    return _mix(out, _colored_noise(rng, n), rng.uniform(5.0, 35.0))


# --------------------------------------------------------------------------- #
# Task: scene
# --------------------------------------------------------------------------- #

SCENE_CLASSES = ("rain", "traffic", "wind", "crowd", "birds", "machinery")


def _slow_gain(rng: np.random.Generator, n: int, rate_hz: float, depth_db: float) -> np.ndarray:
    """A smooth random gain (`depth_db` peak-to-peak-ish), varying at about `rate_hz`."""
    knots = rng.uniform(-0.5, 0.5, int(n / SAMPLE_RATE_HZ * rate_hz) + 3) * depth_db
    curve = np.interp(np.linspace(0, knots.size - 1, n), np.arange(knots.size), knots)
    return 10.0 ** (curve / 20.0)


def _clicks(
    rng: np.random.Generator, n: int, rate_hz: float, decay_s: tuple[float, float], band_hz: float
) -> np.ndarray:
    """Poisson-timed decaying noise clicks, high-passed around `band_hz`."""
    out = np.zeros(n)
    count = rng.poisson(rate_hz * n / SAMPLE_RATE_HZ)
    m = int(6 * decay_s[1] * SAMPLE_RATE_HZ)
    grains = rng.standard_normal((count, m)) * np.exp(
        -np.arange(m)[None, :] / (rng.uniform(*decay_s, (count, 1)) * SAMPLE_RATE_HZ)
    )
    for start, grain, amp in zip(rng.integers(0, n, count), grains, rng.uniform(0.2, 1.0, count)):
        _add(out, int(start), amp * grain)
    spectrum = np.fft.rfft(out)
    freqs = np.fft.rfftfreq(n, 1.0 / SAMPLE_RATE_HZ)
    return _unit_rms(np.fft.irfft(spectrum * (1.0 - _lowpass(band_hz, 12.0)(freqs) * 0.99), n))


def _chirp(rng: np.random.Generator, low_hz: float, high_hz: float) -> np.ndarray:
    """A short tonal sweep (30–100 ms, Hann envelope), up, down or up-down, with a weak 2nd harmonic."""
    m = int(rng.uniform(0.03, 0.1) * SAMPLE_RATE_HZ)
    f_start = np.exp(rng.uniform(np.log(low_hz), np.log(high_hz)))
    f_end = float(np.clip(f_start * 2.0 ** rng.uniform(-1.0, 1.0), low_hz * 0.7, high_hz))
    u = np.linspace(0.0, 1.0, m)
    shape = u if rng.uniform() < 0.7 else np.sin(np.pi * u)
    freq = f_start * (f_end / f_start) ** shape
    phase = 2 * np.pi * np.cumsum(freq) / SAMPLE_RATE_HZ
    second = _db(-rng.uniform(8.0, 20.0)) if 2 * max(f_start, f_end) < _NYQUIST_MARGIN_HZ else 0.0
    return np.hanning(m) * (np.sin(phase) + second * np.sin(2 * phase))


def _chirps(
    rng: np.random.Generator, n: int, rate_hz: float, low_hz: float = 2000.0, high_hz: float = 7000.0
) -> np.ndarray:
    out = np.zeros(n)
    for start in rng.integers(0, n, rng.poisson(rate_hz * n / SAMPLE_RATE_HZ) + 1):
        _add(out, int(start), _chirp(rng, low_hz, high_hz) * rng.uniform(0.3, 1.0))
    return _unit_rms(out)


def _voice(rng: np.random.Generator, n: int) -> np.ndarray:
    """A speech-like voice: harmonic syllables (f0 90–250 Hz, random formants) at 3–6 Hz, with pauses."""
    out = np.zeros(n)
    f0 = np.exp(rng.uniform(np.log(90.0), np.log(250.0)))
    start = int(rng.uniform(-0.3, 0.2) * SAMPLE_RATE_HZ)
    k = np.arange(1, _num_harmonics(f0 * 1.3) + 1)
    while start < n:
        m = int(rng.uniform(1 / 6, 1 / 3) * SAMPLE_RATE_HZ)
        formants = (rng.uniform(300, 900), rng.uniform(900, 2500), rng.uniform(2400, 3400))
        amps = sum(np.exp(-0.5 * ((k * f0 - f) / (0.15 * f)) ** 2) for f in formants) + 0.02
        glide = f0 * 2.0 ** (rng.uniform(-3, 3) / 12 * np.linspace(0, 1, m))
        syllable = _harmonic_tone(rng, glide, amps / k**0.5, m) * np.hanning(m)
        _add(out, start, syllable)
        start += m + (int(rng.uniform(0.2, 0.6) * SAMPLE_RATE_HZ) if rng.uniform() < 0.2 else 0)
    return out


def _scene_texture(rng: np.random.Generator, scene: str, n: int) -> np.ndarray:
    if scene == "rain":
        hiss = _shaped_noise(rng, n, _band(rng.uniform(3000.0, 6000.0), rng.uniform(1.5, 3.0)))
        drops = _clicks(rng, n, rng.uniform(40.0, 150.0), (0.001, 0.004), rng.uniform(1000.0, 3000.0))
        return hiss + drops * _db(rng.uniform(-3.0, 6.0))
    if scene == "traffic":
        rumble = _shaped_noise(rng, n, _lowpass(rng.uniform(150.0, 500.0), 18.0))
        rumble = rumble * _slow_gain(rng, n, rng.uniform(0.5, 1.5), rng.uniform(6.0, 15.0))
        f0 = rng.uniform(25.0, 60.0)
        k = np.arange(1, int(1000 // f0) + 1)
        freq = f0 * _slow_gain(rng, n, 0.7, 2.0)  # engine speed wanders by a few %
        engine = _harmonic_tone(rng, freq, k ** -rng.uniform(0.5, 1.0), n)
        return rumble + _unit_rms(engine) * _db(rng.uniform(-12.0, 0.0))
    if scene == "wind":
        center = np.exp(rng.uniform(np.log(250.0), np.log(1500.0)))
        base = _shaped_noise(rng, n, _band(center, rng.uniform(1.0, 2.5)))
        whistle = _shaped_noise(rng, n, _band(center * rng.uniform(1.5, 3.0), 0.3))
        return (base + whistle * _db(rng.uniform(-12.0, -3.0))) * _slow_gain(rng, n, rng.uniform(1.0, 3.0), 20.0)
    if scene == "crowd":
        return _unit_rms(sum(_voice(rng, n) * _db(rng.uniform(-8.0, 0.0)) for _ in range(rng.integers(4, 8))))
    if scene == "birds":
        air = _shaped_noise(rng, n, _tilt(rng.uniform(-6.0, 0.0)))
        return _chirps(rng, n, rng.uniform(4.0, 10.0)) + air * _db(rng.uniform(-20.0, -8.0))
    # machinery
    f0 = rng.uniform(50.0, 200.0)
    k = np.arange(1, _num_harmonics(f0) + 1)
    hum = _unit_rms(_harmonic_tone(rng, f0, k ** -rng.uniform(0.3, 1.2) * rng.uniform(0.3, 1.0, k.size), n))
    period = int(SAMPLE_RATE_HZ / rng.uniform(2.0, 8.0))
    hits = np.zeros(n)
    m = int(0.1 * SAMPLE_RATE_HZ)
    hit = rng.standard_normal(m) * np.exp(-np.arange(m) / (rng.uniform(0.005, 0.02) * SAMPLE_RATE_HZ))
    for start in range(int(rng.integers(0, period)), n, period):
        _add(hits, start, hit * rng.uniform(0.7, 1.0))
    return hum + _unit_rms(hits) * _db(rng.uniform(-6.0, 6.0))


def _scene_clip(rng: np.random.Generator, label: int, n: int) -> np.ndarray:
    scene = _unit_rms(_scene_texture(rng, SCENE_CLASSES[label], n))
    if rng.uniform() < 0.5:
        other = SCENE_CLASSES[(label + rng.integers(1, len(SCENE_CLASSES))) % len(SCENE_CLASSES)]
        scene = scene + _unit_rms(_scene_texture(rng, other, n)) * _db(-rng.uniform(6.0, 20.0))
    return _mix(scene, _colored_noise(rng, n), rng.uniform(3.0, 25.0))


# --------------------------------------------------------------------------- #
# Task: modulation
# --------------------------------------------------------------------------- #

MODULATION_RATES_HZ = (0.0, 2.5, 5.0, 10.0, 20.0, 40.0)
MODULATION_CLASSES = ("steady", "2.5Hz", "5Hz", "10Hz", "20Hz", "40Hz")


def _modulation_clip(rng: np.random.Generator, label: int, n: int) -> np.ndarray:
    rate = MODULATION_RATES_HZ[label] * rng.uniform(0.93, 1.07)
    t = np.arange(n) / SAMPLE_RATE_HZ
    lfo = np.sin(2 * np.pi * rate * t + rng.uniform(0, 2 * np.pi)) if rate else np.zeros(n)
    carrier = rng.choice(["tone", "harmonic", "noise"])
    kind = "am" if carrier == "noise" else rng.choice(["am", "fm", "both"])
    if carrier == "noise":
        signal = _shaped_noise(rng, n, _band(np.exp(rng.uniform(np.log(300.0), np.log(5000.0))), rng.uniform(0.3, 1.0)))
    else:
        f0 = np.exp(rng.uniform(np.log(200.0), np.log(4000.0))) if carrier == "tone" else rng.uniform(100.0, 400.0)
        fm_depth = rng.uniform(1.0, 3.0) if kind != "am" else 0.0  # semitones
        freq = f0 * 2.0 ** (fm_depth * lfo / 12.0)
        amps = np.ones(1) if carrier == "tone" else _random_timbre(rng, f0 * 2 ** (fm_depth / 12), f0)
        signal = _harmonic_tone(rng, freq, amps, n)
    if kind != "fm":
        depth = rng.uniform(0.8, 1.0)
        sharpness = rng.uniform(1.0, 3.0)  # >1 gives shorter, pulse-like bursts
        signal = signal * (1.0 - depth + depth * ((1.0 + lfo) / 2.0) ** sharpness)
    background = _colored_noise(rng, n)
    if rng.uniform() < 0.5:
        steady = np.sin(2 * np.pi * np.exp(rng.uniform(np.log(150.0), np.log(5000.0))) * t + rng.uniform(0, 6.3))
        background = _unit_rms(background) + _unit_rms(steady) * _db(rng.uniform(-6.0, 6.0))
    return _mix(signal, background, rng.uniform(5.0, 25.0))


# --------------------------------------------------------------------------- #
# Task: event
# --------------------------------------------------------------------------- #

EVENT_CLASSES = ("absent", "present")
EVENT_MAX_S = 0.25
EVENT_FIRST_ONSET_MAX_S = 0.25
EVENT_GAP_S = (0.35, 0.75)


def event_onsets(rng: np.random.Generator, n: int) -> list[int]:
    """Onsets (samples) of repeated events such that every 1 s window of `n >= 1 s` samples holds a whole event.

    The first onset is within `EVENT_FIRST_ONSET_MAX_S`, consecutive onsets are
    `EVENT_GAP_S` apart, and onsets are drawn while an event of the maximum
    length `EVENT_MAX_S` still fits, so the last one is less than
    `max gap + EVENT_MAX_S = 1 s` from the end. For a window `[a, a + 1 s]` the
    first onset `o >= a` is then within `max(EVENT_FIRST_ONSET_MAX_S, max gap)
    = 0.75 s` of `a`, and its event ends by `a + 1 s`.
    """
    max_length = int(EVENT_MAX_S * SAMPLE_RATE_HZ)
    onsets, onset = [], int(rng.uniform(0.0, EVENT_FIRST_ONSET_MAX_S) * SAMPLE_RATE_HZ)
    while onset + max_length <= n:
        onsets.append(onset)
        onset += int(rng.uniform(*EVENT_GAP_S) * SAMPLE_RATE_HZ)
    return onsets


def _bird_event(rng: np.random.Generator) -> np.ndarray:
    """1–3 chirps (syllables) with 15–50 ms gaps, at most `EVENT_MAX_S` long."""
    out = np.zeros(int(EVENT_MAX_S * SAMPLE_RATE_HZ))
    start = 0
    for _ in range(rng.integers(1, 4)):
        syllable = _chirp(rng, 2000.0, 7000.0)
        if start + syllable.size > out.size:
            break
        out[start : start + syllable.size] += syllable
        start += syllable.size + int(rng.uniform(0.015, 0.05) * SAMPLE_RATE_HZ)
    return out[:start]


def _distractors(rng: np.random.Generator, n: int) -> np.ndarray:
    """Clicks and 30–150 ms band-noise bursts at 1–3 per second, 1.5–7 kHz."""
    out = np.zeros(n)
    for start in rng.integers(0, n, rng.poisson(rng.uniform(1.0, 3.0) * n / SAMPLE_RATE_HZ) + 1):
        m = int(rng.uniform(0.03, 0.15) * SAMPLE_RATE_HZ) if rng.uniform() < 0.7 else int(0.01 * SAMPLE_RATE_HZ)
        center = np.exp(rng.uniform(np.log(1500.0), np.log(7000.0)))
        burst = _shaped_noise(rng, m, _band(center, rng.uniform(0.3, 1.5))) * np.hanning(m)
        _add(out, int(start), burst * rng.uniform(0.3, 1.0))
    return out


def _event_clip(rng: np.random.Generator, label: int, n: int) -> np.ndarray:
    background = _colored_noise(rng, n)
    if rng.uniform() < 0.3:
        f0 = rng.uniform(50.0, 300.0)
        hum = _harmonic_tone(rng, f0, np.arange(1, int(2000 // f0) + 1) ** -1.0, n)
        background = background + _unit_rms(hum) * _db(rng.uniform(-10.0, 0.0))
    background = _unit_rms(background)
    background = background + _unit_rms(_distractors(rng, n)) * _db(rng.uniform(-9.0, 3.0))
    if label == 0:
        return background
    track = np.zeros(n)
    for onset in event_onsets(rng, n):
        _add(track, onset, _bird_event(rng) * rng.uniform(0.5, 1.0))
    return background + _unit_rms(track) * _db(rng.uniform(-12.0, 6.0))


# --------------------------------------------------------------------------- #
# Task registry and example generation
# --------------------------------------------------------------------------- #


@dataclasses.dataclass(frozen=True)
class SyntheticTask:
    """One task: its classes, seed and clip generator `(rng, label, num_samples) -> float waveform`."""

    name: str
    classes: tuple[str, ...]
    seed: int
    generate: Callable[[np.random.Generator, int, int], np.ndarray]
    description: str


_TASK_LIST = (
    SyntheticTask(
        "pitch",
        PITCH_CLASSES,
        1,
        _pitch_clip,
        "Pitch of a harmonic note with random timbre (8 notes a major third apart).",
    ),
    SyntheticTask(
        "timbre", TIMBRE_CLASSES, 2, _timbre_clip, "Instrument family of a random melody (5 synthetic families)."
    ),
    SyntheticTask("scene", SCENE_CLASSES, 3, _scene_clip, "Sound scene made of noise-band textures (6 scenes)."),
    SyntheticTask(
        "modulation", MODULATION_CLASSES, 4, _modulation_clip, "AM / FM rate of a random carrier (steady or 2.5-40 Hz)."
    ),
    SyntheticTask(
        "event", EVENT_CLASSES, 5, _event_clip, "Presence of repeated bird-like chirps among distractor transients."
    ),
)
SYNTHETIC_TASKS: dict[str, SyntheticTask] = {task.name: task for task in _TASK_LIST}
TASKS: tuple[str, ...] = tuple(SYNTHETIC_TASKS)


def _task(name: str) -> SyntheticTask:
    if name not in SYNTHETIC_TASKS:
        raise ValueError(f"Unknown leaf_synthetic task {name!r}; expected one of {TASKS}.")
    return SYNTHETIC_TASKS[name]


def generate_example(task: str, split: str, index: int) -> tuple[np.ndarray, int]:
    """Clip `index` of `split` for `task`: `(int16 audio [samples], label)`, deterministic.

    >>> audio, label = generate_example("pitch", "train", 3)
    >>> audio.dtype.name, label, 16000 <= audio.size <= 48000
    ('int16', 3, True)
    """
    spec = _task(task)
    if split not in SPLIT_SEEDS:
        raise ValueError(f"Unknown split {split!r}; expected one of {SPLITS}.")
    rng = np.random.default_rng([DATASET_SEED, spec.seed, SPLIT_SEEDS[split], index])
    label = index % len(spec.classes)
    n = _duration_samples(rng)
    return _finish(rng, spec.generate(rng, label, n)), label


# --------------------------------------------------------------------------- #
# TFDS builder
# --------------------------------------------------------------------------- #


@dataclasses.dataclass(eq=False)
class LeafSyntheticConfig(tfds.core.BuilderConfig):
    """A `leaf_synthetic` config: which task to generate and how many clips per split.

    Attributes:
      task: one of `TASKS`.
      examples_per_split: `{"train": int, "validation": int, "test": int}`.
    """

    task: str = ""
    examples_per_split: dict[str, int] = dataclasses.field(default_factory=lambda: dict(DEFAULT_EXAMPLES_PER_SPLIT))


def make_config(
    task: str, examples_per_split: Mapping[str, int] | None = None, name: str | None = None
) -> LeafSyntheticConfig:
    """A config for `task`; other counts than the default get their own name (`pitch_8_4_4`).

    Example `i` of a split is the same whatever the split's size, so a small
    config holds the first examples of the full one.
    """
    spec = _task(task)
    counts = dict(DEFAULT_EXAMPLES_PER_SPLIT if examples_per_split is None else examples_per_split)
    if set(counts) != set(SPLITS) or any(int(v) < 0 for v in counts.values()):
        raise ValueError(f"examples_per_split needs a count >= 0 for each of {SPLITS}; got {examples_per_split}.")
    if name is None:
        name = task if counts == DEFAULT_EXAMPLES_PER_SPLIT else "_".join([task] + [str(counts[s]) for s in SPLITS])
    return LeafSyntheticConfig(name=name, task=task, examples_per_split=counts, description=spec.description)


class LeafSynthetic(tfds.core.GeneratorBasedBuilder):
    """Procedurally generated multi-task audio benchmark (see the module docstring)."""

    VERSION = tfds.core.Version("1.0.0")  # bump whenever a generator's output changes
    RELEASE_NOTES = {"1.0.0": "Five tasks: pitch, timbre, scene, modulation, event."}
    BUILDER_CONFIGS = [make_config(task) for task in TASKS]

    def _info(self) -> tfds.core.DatasetInfo:
        spec = _task(self.builder_config.task)
        return self.dataset_info_from_configs(
            description=(
                f"{spec.description} Procedurally generated with NumPy (leaf_tf.data.synthetic): "
                "16 kHz, 1-3 s, int16 (divide by 32768)."
            ),
            features=tfds.features.FeaturesDict(
                {
                    "audio": Int16Audio(sample_rate=SAMPLE_RATE_HZ),
                    "label": tfds.features.ClassLabel(names=list(spec.classes)),
                    "id": tfds.features.Text(),
                }
            ),
            supervised_keys=("audio", "label"),
        )

    def _split_generators(self, dl_manager: tfds.download.DownloadManager) -> dict[str, Iterator]:
        del dl_manager  # nothing to download: the data is generated
        return {split: self._generate_examples(split) for split in SPLITS}

    def _generate_examples(self, split: str) -> Iterator[tuple[int, dict]]:
        config = self.builder_config
        for index in range(config.examples_per_split[split]):
            audio, label = generate_example(config.task, split, index)
            yield index, {"audio": audio, "label": label, "id": f"{config.task}/{split}/{index:05d}"}


def prepare(data_dir: str | os.PathLike | None = None, tasks: Sequence[str] | None = None) -> list[str]:
    """Builds every task's config (or finds it built) under `data_dir`; returns the dataset names.

    Names are `leaf_synthetic/<task>`, ready for `tfds.builder(name, data_dir=data_dir)`.
    `data_dir` defaults to TFDS's (`~/tensorflow_datasets` or `$TFDS_DATA_DIR`).
    """
    names = []
    for task in TASKS if tasks is None else tasks:
        _task(task)
        name = f"leaf_synthetic/{task}"
        tfds.builder(name, data_dir=None if data_dir is None else os.fspath(data_dir)).download_and_prepare()
        names.append(name)
    return names
