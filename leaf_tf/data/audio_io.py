"""Reading audio files of any common format into float waveforms at a chosen rate.

`tf.audio.decode_wav` reads only 16-bit PCM WAV, and TFDS's `Audio` feature
needs `pydub` and `ffmpeg` to decode anything itself. This module decodes with
`soundfile` (libsndfile: WAV of any bit depth, FLAC, OGG/Vorbis, Opus, MP3)
and, for the AAC and WebM audio that YouTube downloaders write (`.m4a`,
`.aac`, `.webm`, `.mp4`), with FFmpeg through PyAV when it is installed
(`pip install 'leaf_tf[av]'`). It reads the bytes through `tf.io.gfile` (so
local paths, `gs://` paths and TFDS's fake test file system all work),
down-mixes to mono and resamples with `soxr` (falling back to
`scipy.signal.resample_poly` when `soxr` is missing).

Conventions shared with the dataset builders:

* waveforms are float32 in `[-1, 1]`, shape `[samples]`;
* stored integer audio is int16 with `x_int16 = round(32768 * x)` (clipped to
  `[-32768, 32767]`), so `x = x_int16 / 32768`, the convention of
  `soundfile`, `tf.audio.decode_wav` and the 16-bit WAV files themselves.

Example:

>>> x = np.array([0.0, 0.5, -1.0, 1.0], dtype=np.float32)
>>> to_int16(x)
array([     0,  16384, -32768,  32767], dtype=int16)
>>> resample(np.ones(441, np.float32), 44100, 16000).shape
(160,)
"""

from __future__ import annotations

import dataclasses
import functools
import io
import math
import os

import numpy as np
import soundfile as sf
import tensorflow as tf
import tensorflow_datasets as tfds

__all__ = [
    "AUDIO_EXTENSIONS",
    "FFMPEG_EXTENSIONS",
    "SOUNDFILE_EXTENSIONS",
    "AudioDecodeError",
    "AudioFile",
    "AudioFileInfo",
    "Int16Audio",
    "MissingDecoderError",
    "audio_file_info",
    "load_audio",
    "read_audio",
    "resample",
    "to_float_audio",
    "to_int16",
]

# File name extensions (lower case, with the dot) libsndfile decodes; `.opus` is Ogg Opus, as `yt-dlp -x` writes it.
SOUNDFILE_EXTENSIONS = (".wav", ".flac", ".ogg", ".opus", ".mp3")
# Containers libsndfile cannot read, decoded with FFmpeg through the optional PyAV package.
FFMPEG_EXTENSIONS = (".m4a", ".aac", ".webm", ".mp4")
# Every extension `load_audio` decodes.
AUDIO_EXTENSIONS = SOUNDFILE_EXTENSIONS + FFMPEG_EXTENSIONS

INT16_SCALE = 32768.0


class AudioDecodeError(ValueError):
    """An audio file could not be decoded: corrupt, empty, or not audio."""


class MissingDecoderError(ImportError):
    """The file's format needs a decoder that is not installed (PyAV for `.m4a`, `.aac`, `.webm`, `.mp4`).

    An `ImportError`, not an `AudioDecodeError`: every file of that format
    would fail alike, so callers that skip undecodable files must stop instead.
    """


@dataclasses.dataclass(frozen=True)
class AudioFileInfo:
    """What a file's header says: rate, frame count (may be approximate for compressed containers) and channels."""

    sample_rate: int
    frames: int
    channels: int

    @property
    def seconds(self) -> float:
        return self.frames / self.sample_rate


def _libsndfile_reason(error: Exception) -> str:
    """libsndfile's reason, without soundfile's "Error opening <_io.BytesIO object at 0x...>: " prefix."""
    text = str(error)
    return text.split(">: ", 1)[1] if text.startswith("Error opening <") and ">: " in text else text


def _needs_ffmpeg(path: str) -> bool:
    return path.lower().endswith(FFMPEG_EXTENSIONS)


def _import_av(path: str):
    try:
        import av
    except ImportError as e:
        raise MissingDecoderError(
            f"Decoding {path} needs FFmpeg through PyAV, which is not installed: pip install 'leaf_tf[av]' "
            f"(or pip install av). Without it leaf_tf reads {', '.join(SOUNDFILE_EXTENSIONS)} files."
        ) from e
    return av


def _read_bytes(path: str) -> bytes:
    try:
        with tf.io.gfile.GFile(path, "rb") as f:
            data = f.read()
    except tf.errors.NotFoundError as e:
        raise FileNotFoundError(f"Audio file not found: {path}") from e
    except tf.errors.OpError as e:
        raise AudioDecodeError(f"Could not read audio file {path}: {e.message}") from e
    if not data:
        raise AudioDecodeError(f"Audio file {path} is empty (0 bytes).")
    return data


def _decode_with_ffmpeg(path: str, data: bytes) -> tuple[np.ndarray, int]:
    """All of the first audio stream as float32 `[frames, channels]` (FFmpeg through PyAV)."""
    av = _import_av(path)
    try:
        with av.open(io.BytesIO(data)) as container:
            if not container.streams.audio:
                raise AudioDecodeError(f"{path} has no audio stream.")
            stream = container.streams.audio[0]
            # Planar float keeps every channel and rate as they are: [channels, n] per frame.
            to_float = av.AudioResampler(format="fltp", layout=stream.layout, rate=stream.rate)
            chunks = [out.to_ndarray() for frame in container.decode(stream) for out in to_float.resample(frame)]
            chunks += [out.to_ndarray() for out in to_float.resample(None)]
            rate = int(stream.rate)
    except AudioDecodeError:
        raise
    except Exception as e:  # FFmpeg reports corrupt data with several exception types.
        raise AudioDecodeError(f"Could not decode audio file {path} with FFmpeg (PyAV): {e}") from e
    if not chunks:
        raise AudioDecodeError(f"Audio file {path} contains no samples.")
    return np.ascontiguousarray(np.concatenate(chunks, axis=1).T, dtype=np.float32), rate


def _ffmpeg_stated_info(path: str, data: bytes) -> AudioFileInfo | None:
    """Rate, frames and channels from the container's stated duration; None when it states none."""
    av = _import_av(path)
    try:
        with av.open(io.BytesIO(data)) as container:
            if not container.streams.audio:
                return None
            stream = container.streams.audio[0]
            seconds = None
            if stream.duration is not None and stream.time_base is not None:
                seconds = float(stream.duration * stream.time_base)
            elif container.duration is not None:
                seconds = container.duration / 1e6  # microseconds
            if seconds is None or seconds <= 0:
                return None
            return AudioFileInfo(int(stream.rate), int(round(seconds * stream.rate)), stream.channels)
    except Exception as e:
        raise AudioDecodeError(f"Could not read the container of {path} with FFmpeg (PyAV): {e}") from e


class AudioFile:
    """One audio file, its bytes read once (through `tf.io.gfile`): its header (`info`) and any part of it (`read`).

    For callers that look at a file's length before choosing what to decode
    (the AudioSet builder cuts whole videos to their segment): one read of the
    bytes, local or `gs://`, and for FFmpeg formats at most one decode.

    Raises (on construction): FileNotFoundError, or AudioDecodeError for an
    unreadable or empty file.
    """

    def __init__(self, path: str | os.PathLike):
        self.path = os.fspath(path)
        self._data = _read_bytes(self.path)
        self._decoded: tuple[np.ndarray, int] | None = None  # FFmpeg formats, decoded once

    def _ffmpeg_decoded(self) -> tuple[np.ndarray, int]:
        if self._decoded is None:
            self._decoded = _decode_with_ffmpeg(self.path, self._data)
        return self._decoded

    @functools.cached_property
    def info(self) -> AudioFileInfo:
        """Rate, frames and channels: libsndfile's header, or for FFmpeg formats the container's stated
        duration (frames then approximate), else the decoded samples counted.

        Raises: AudioDecodeError, MissingDecoderError.
        """
        if _needs_ffmpeg(self.path):
            stated = _ffmpeg_stated_info(self.path, self._data)
            if stated is not None:
                return stated
            audio, rate = self._ffmpeg_decoded()
            return AudioFileInfo(rate, audio.shape[0], audio.shape[1])
        try:
            info = sf.info(io.BytesIO(self._data))
        except Exception as e:
            raise AudioDecodeError(
                f"Could not read the header of audio file {self.path} with soundfile: {_libsndfile_reason(e)}"
            ) from e
        return AudioFileInfo(int(info.samplerate), int(info.frames), int(info.channels))

    def read(self, start_seconds: float = 0.0, stop_seconds: float | None = None) -> tuple[np.ndarray, int]:
        """The samples in `[start_seconds, stop_seconds)` (see `read_audio`): `(audio [frames, channels], rate)`."""
        path = self.path
        if start_seconds < 0 or (stop_seconds is not None and stop_seconds < start_seconds):
            raise ValueError(
                f"read_audio({path}): need 0 <= start_seconds <= stop_seconds, got {start_seconds}, {stop_seconds}."
            )
        if _needs_ffmpeg(path):
            audio, sample_rate = self._ffmpeg_decoded()
            start = int(round(start_seconds * sample_rate))
            stop = None if stop_seconds is None else int(round(stop_seconds * sample_rate))
            audio = audio[start:stop]
        else:
            try:
                with sf.SoundFile(io.BytesIO(self._data)) as f:
                    sample_rate = f.samplerate
                    start = min(int(round(start_seconds * sample_rate)), f.frames)
                    if start:
                        f.seek(start)
                    # -1 reads to the end: the header's frame count of an MP3 can be an estimate.
                    count = -1 if stop_seconds is None else max(0, int(round(stop_seconds * sample_rate)) - start)
                    audio = f.read(count, dtype="float32", always_2d=True)
            except Exception as e:  # libsndfile reports corrupt data with several exception types.
                raise AudioDecodeError(
                    f"Could not decode audio file {path} with soundfile (it reads {', '.join(SOUNDFILE_EXTENSIONS)}): "
                    f"{_libsndfile_reason(e)}"
                ) from e
        if audio.shape[0] == 0:
            where = "" if start_seconds == 0 and stop_seconds is None else f" between {start_seconds} s and {stop_seconds} s"
            raise AudioDecodeError(f"Audio file {path} contains no samples{where}.")
        if not np.all(np.isfinite(audio)):
            raise AudioDecodeError(f"Audio file {path} contains NaN or infinite samples.")
        return audio, int(sample_rate)


def audio_file_info(path: str | os.PathLike) -> AudioFileInfo:
    """Rate, frames and channels of an audio file (`AudioFile(path).info`): cheap for libsndfile formats.

    Raises:
      FileNotFoundError, AudioDecodeError, MissingDecoderError: as `read_audio`.
    """
    return AudioFile(path).info


def read_audio(
    path: str | os.PathLike, *, start_seconds: float = 0.0, stop_seconds: float | None = None
) -> tuple[np.ndarray, int]:
    """Decodes an audio file, or the part `[start_seconds, stop_seconds)` of it, without changing rate or channels.

    Args:
      path: a local path or any path `tf.io.gfile` understands (`gs://...`).
      start_seconds: where to start, in seconds from the beginning.
      stop_seconds: where to stop (exclusive); None for the end of the file.
        Frames are `round(seconds * rate)`; a range past the end is cut at the
        end. libsndfile formats seek instead of decoding what is skipped.

    Returns:
      `(audio, sample_rate_hz)`: `audio` is float32 `[frames, channels]` as
      the decoder returns it (integer PCM scaled by `1 / 2**(bits - 1)`; float
      files unscaled, so they may exceed `[-1, 1]`).

    Raises:
      FileNotFoundError: the file does not exist.
      AudioDecodeError: the file is empty, corrupt, not audio, holds no
        samples (in the range asked for), or holds NaN / infinite samples.
      MissingDecoderError: the format needs PyAV, which is not installed.
    """
    return AudioFile(path).read(start_seconds, stop_seconds)


def resample(audio: np.ndarray, orig_rate_hz: int, target_rate_hz: int) -> np.ndarray:
    """Resamples `audio` `[samples]` or `[samples, channels]` along axis 0.

    Uses `soxr` (quality "HQ": linear phase, 20-bit precision, passband to
    ~0.91 of the lower Nyquist frequency); without `soxr` installed, a Kaiser
    windowed polyphase filter (`scipy.signal.resample_poly`). Returns `audio`
    itself (no copy) when the rates are equal. The output has
    `ceil(samples * target / orig)` samples (soxr) or the polyphase
    equivalent, and `audio`'s dtype.
    """
    orig_rate_hz, target_rate_hz = int(orig_rate_hz), int(target_rate_hz)
    if orig_rate_hz <= 0 or target_rate_hz <= 0:
        raise ValueError(f"Sample rates must be positive, got {orig_rate_hz} Hz -> {target_rate_hz} Hz.")
    if orig_rate_hz == target_rate_hz:
        return audio
    dtype = audio.dtype
    try:
        import soxr
    except ImportError:
        soxr = None
    if soxr is not None:
        return np.asarray(soxr.resample(audio, orig_rate_hz, target_rate_hz, quality="HQ"), dtype=dtype)
    try:
        from scipy import signal
    except ImportError as e:
        raise ImportError("Resampling needs `soxr` (pip install soxr) or `scipy` (pip install scipy).") from e
    gcd = math.gcd(orig_rate_hz, target_rate_hz)
    out = signal.resample_poly(audio, target_rate_hz // gcd, orig_rate_hz // gcd, axis=0)
    return out.astype(dtype)


def load_audio(
    path: str | os.PathLike | AudioFile,
    sample_rate: int = 16000,
    *,
    start_seconds: float = 0.0,
    stop_seconds: float | None = None,
) -> np.ndarray:
    """Decodes an audio file to a mono float32 waveform at `sample_rate` Hz.

    Multi-channel audio is down-mixed by averaging the channels; the result is
    resampled with `resample` (an exact no-op when the file's rate is
    `sample_rate`) and clipped to `[-1, 1]` (float files and resampling
    overshoot can exceed it).

    Args:
      path: a local path or any path `tf.io.gfile` understands, or an
        `AudioFile` already read.
      sample_rate: the output rate in Hz.
      start_seconds, stop_seconds: the part of the file to decode (see `read_audio`).

    Returns:
      float32 `[samples]` in `[-1, 1]`.

    Raises:
      FileNotFoundError: the file does not exist.
      AudioDecodeError: the file cannot be decoded or holds no samples.
      MissingDecoderError: the format needs PyAV, which is not installed.
    """
    source = path if isinstance(path, AudioFile) else AudioFile(path)
    audio, file_rate = source.read(start_seconds, stop_seconds)
    mono = audio[:, 0] if audio.shape[1] == 1 else audio.mean(axis=1, dtype=np.float32)
    mono = resample(mono, file_rate, sample_rate)
    return np.clip(mono, -1.0, 1.0).astype(np.float32, copy=False)


def to_int16(audio: np.ndarray) -> np.ndarray:
    """Float audio in `[-1, 1]` to int16: `clip(round(32768 x), -32768, 32767)`.

    The inverse is `x = x_int16 / 32768`; int16 -> float -> int16 is exact.

    Raises:
      ValueError: `audio` holds NaN or infinite values.
    """
    audio = np.asarray(audio, dtype=np.float32)
    if not np.all(np.isfinite(audio)):
        raise ValueError("to_int16: audio contains NaN or infinite values.")
    return np.clip(np.round(audio * INT16_SCALE), -INT16_SCALE, INT16_SCALE - 1).astype(np.int16)


def to_float_audio(audio: tf.Tensor) -> tf.Tensor:
    """Integer PCM (int16, or int16 values stored as int32/int64) -> float32 / 32768; float audio unchanged."""
    if audio.dtype.is_integer:
        return tf.cast(audio, tf.float32) / INT16_SCALE
    return tf.cast(audio, tf.float32)


class Int16Audio(tfds.features.Audio):
    """`tfds.features.Audio` stored as raw little-endian int16 bytes; decodes to int16 `[samples]`.

    TFDS 4.9's `Audio.encode_example` returns NumPy input unencoded, ignoring
    `encoding`, so int16 samples land in the `tf.train.Example` as int64
    varints (about 3x the bytes, and slow to write). This subclass applies the
    `Tensor` encoding (`bytes`); decoding is `Audio`'s (`tf.io.decode_raw`).
    Every leaf_tf builder stores its audio with it. Reloading a prepared
    dataset from its directory imports this module.
    """

    # Where the class lived in the first release: datasets prepared then name it so in features.json.
    ALIASES = ["leaf_tf.data.synthetic.Int16Audio"]

    def __init__(self, *, sample_rate: int = 16000, doc: str | None = None):
        super().__init__(
            shape=(None,), dtype=np.int16, sample_rate=sample_rate, encoding=tfds.features.Encoding.BYTES, doc=doc
        )

    @classmethod
    def from_json_content(cls, value) -> Int16Audio:
        return cls(sample_rate=value["sample_rate"] if isinstance(value, dict) else value.sample_rate)

    def encode_example(self, audio: np.ndarray) -> bytes:
        audio = np.asarray(audio)
        if audio.dtype != np.int16 or audio.ndim != 1:
            raise ValueError(f"Int16Audio takes a 1-D int16 array; got dtype {audio.dtype}, shape {audio.shape}.")
        return tfds.features.Tensor.encode_example(self, audio.astype("<i2", copy=False))
