"""The README's main job: every frontend rendered into one PNG."""

from __future__ import annotations

import numpy as np

from leaf_tf import demo
from leaf_tf.signals import speech_like


def test_speech_like_signal():
    audio = speech_like(1.0, 16000)
    assert audio.shape == (16000,) and audio.dtype == np.float32
    assert 0.1 < np.abs(audio).max() <= 1.0
    np.testing.assert_array_equal(audio, speech_like(1.0, 16000))  # deterministic


def test_demo_renders_every_frontend(tmp_path):
    output = tmp_path / "frontends.png"
    summary = demo.render(output, n_filters=16, duration_s=1.0)
    assert output.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert output.stat().st_size > 20_000
    assert set(summary) == set(demo.TITLES)
    assert summary["leaf"][:2] == (100, 16) and summary["wavegram"][:2] == (25, 64)
