"""Mel filterbanks: the fixed baseline (log-mel) and Mel-PCEN."""

from __future__ import annotations

import keras
import numpy as np

from leaf_tf import backend, dsp
from leaf_tf.frontends.base import Frontend, build_stage, deserialize, serialize
from leaf_tf.layers.compression import LogCompression
from leaf_tf.layers.compression import learnable_pcen as _learnable_pcen
from leaf_tf.registry import register


@register()
class MelFilterbanks(Frontend):
    """Mel filterbank energies of a short-time Fourier transform, then a compression.

    `tf.signal.stft` with a `K`-sample Hann window (`tf.signal.hann_window`,
    periodic; for odd `K` this is the symmetric Hann over `K - 1`), hop `s`,
    `fft_length` FFT and end padding (`ceil(T / s)` frames, frame `l` starting at
    sample `l * s`, so centred on `l * s + (K - 1) / 2`); power `|X|^2`; a
    triangular mel filterbank (`tf.signal.linear_to_mel_weight_matrix`,
    `min_freq..max_freq`); then `compression_fn` (`ln(x + 1e-5)` by default, no
    floor). `fft_length = n_fft`, raised to the next power of two when
    `n_fft < K` (the reference silently truncates the frame instead). On other
    Keras backends the same frames, window and FFT are formed with `keras.ops`.

    Input `[B, T]` or `[B, T, 1]`; output `[B, ceil(T / s), n_filters]` float32.

    Args:
      n_filters: number of mel bands.
      sample_rate: sample rate in Hz.
      n_fft: FFT size.
      window_len: window length in ms.
      window_stride: hop in ms.
      compression_fn: layer or callable applied to the energies
        (`LogCompression()` when None).
      min_freq: lowest band edge in Hz.
      max_freq: highest band edge in Hz (`sample_rate / 2` when falsy).
      check_numerics: raise on NaN/inf input samples.
    """

    def __init__(
        self,
        n_filters: int = 40,
        sample_rate: float = 16000,
        n_fft: int = 512,
        window_len: float = 25.0,
        window_stride: float = 10.0,
        compression_fn=None,
        min_freq: float = 60.0,
        max_freq: float = 7800.0,
        check_numerics: bool = False,
        name: str = "mel_filterbanks",
        **kwargs,
    ):
        super().__init__(sample_rate=sample_rate, check_numerics=check_numerics, name=name, **kwargs)
        self.n_filters = self.n_channels = n_filters
        self.n_fft = n_fft
        self.window_len = window_len
        self.window_stride = window_stride
        self.min_freq = min_freq
        self.max_freq = max_freq if max_freq else sample_rate / 2
        if not 0 <= self.min_freq < self.max_freq <= sample_rate / 2:
            raise ValueError(
                f"Mel band edges must satisfy 0 <= min_freq < max_freq <= sample_rate / 2 = {sample_rate / 2}; "
                f"got min_freq={min_freq}, max_freq={self.max_freq}."
            )
        self.kernel_size = dsp.window_length_samples(sample_rate, window_len)
        self.stride = dsp.window_stride_samples(sample_rate, window_stride)
        self.fft_length = n_fft if n_fft >= self.kernel_size else dsp.next_power_of_two(self.kernel_size)
        self._compression = self._own(
            compression_fn if compression_fn is not None else self._default_compression()
        )
        # A constant, computed once (eagerly) with the reference's float32 TF op.
        self._mel_matrix = dsp.mel_weight_matrix(
            n_filters, self.fft_length, sample_rate, self.min_freq, self.max_freq
        ).numpy()

    def _default_compression(self):
        return LogCompression(log_offset=1e-5, dtype=self.dtype_policy.name)

    @property
    def compression(self):
        return self._compression

    def mel_matrix(self) -> np.ndarray:
        """The `[fft_length // 2 + 1, n_filters]` mel filterbank (float32)."""
        return self._mel_matrix

    def num_frames(self, num_samples: int) -> int:
        return -(-num_samples // self.stride)

    def build(self, input_shape):
        self._check_shape(tuple(input_shape))
        frames = None if input_shape[1] is None else self.num_frames(input_shape[1])
        build_stage(self._compression, (input_shape[0], frames, self.n_filters))

    def compute_features(self, waveforms, training=None):
        return self._compression(keras.ops.matmul(self.power_spectrogram(waveforms[:, :, 0]), self.mel_matrix()))

    def power_spectrogram(self, signals):
        """`[B, T]` -> `|STFT|^2` `[B, ceil(T / s), fft_length // 2 + 1]` (the framing above)."""
        if backend.is_tensorflow():
            import tensorflow as tf

            stft = tf.signal.stft(
                signals, frame_length=self.kernel_size, frame_step=self.stride, fft_length=self.fft_length, pad_end=True
            )
            return tf.math.square(tf.math.abs(stft))
        length, size = signals.shape[1], self.kernel_size
        frames = self.num_frames(length)
        padded = keras.ops.pad(signals, [[0, 0], [0, max((frames - 1) * self.stride + size - length, 0)]])
        samples = np.arange(frames)[:, None] * self.stride + np.arange(size)[None, :]
        # `tf.signal.hann_window(K, periodic=True)`: its period is K for even K, K - 1 for odd K.
        period = size if size % 2 == 0 else max(size - 1, 1)
        window = (0.5 - 0.5 * np.cos(2 * np.pi * np.arange(size) / period)).astype(np.float32)
        framed = keras.ops.multiply(keras.ops.take(padded, samples, axis=1), window)  # [B, frames, K]
        framed = keras.ops.pad(framed, [[0, 0], [0, 0], [0, self.fft_length - self.kernel_size]])
        real, imag = keras.ops.rfft(framed, fft_length=self.fft_length)
        return keras.ops.square(real) + keras.ops.square(imag)

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "n_filters": self.n_filters,
            "n_fft": self.n_fft,
            "window_len": self.window_len,
            "window_stride": self.window_stride,
            "compression_fn": serialize(self._compression),
            "min_freq": self.min_freq,
            "max_freq": self.max_freq,
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        if isinstance(config.get("compression_fn"), dict):
            config["compression_fn"] = deserialize(config["compression_fn"])
        return cls(**config)


@register()
class MelPCEN(MelFilterbanks):
    """Mel filterbanks compressed by LEAF's learnable per-channel sPCEN.

    `4 n_filters` trainable weights (alpha, delta, root, smoothing; 256 for 64
    bands). Same arguments as `MelFilterbanks`; `compression_fn` defaults to
    `layers.compression.learnable_pcen()`.
    """

    def __init__(self, name: str = "mel_pcen", **kwargs):
        super().__init__(name=name, **kwargs)

    def _default_compression(self):
        return _learnable_pcen(dtype=self.dtype_policy.name)
