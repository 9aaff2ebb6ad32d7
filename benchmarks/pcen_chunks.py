"""sPCEN's parallel smoother with other chunk lengths, timed against the default in one process.

`ops.linear_recurrence` (the PCEN smoother's "parallel" form) works in chunks
of `ops.EMA_CHUNK_LENGTH` frames: a Toeplitz matrix of powers within each
chunk, the same recurrence one level up across chunks. This script builds
LEAF's sPCEN (40 channels, the XLA-compiled path LEAF uses) once per chunk
length, checks that each computes the default's output, and times forward and
forward + backward (gradient with respect to its weights) of all of them in
turn, round after round, so that each figure is a ratio to the default in the
same run. `--runs N` repeats everything in N separate processes and prints
each ratio's median and range.

    python benchmarks/pcen_chunks.py --runs 3
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))  # the sibling scripts, also when this one is loaded as a module
from reference_timing import _frontends_benchmark  # noqa: E402  (frontends.py as a module: its settings and timing)

# Frames of LEAF's output at 100 per second: 8 x 1 s, 1 x 10 s, 1 x 60 s.
SETTINGS = {"8x100": (8, 100), "1x1000": (1, 1000), "1x6000": (1, 6000)}
CHANNELS = 40


def traced_functions(chunk_length: int, batch: int, frames: int) -> tuple[tuple, tuple, np.ndarray]:
    """sPCEN's forward and forward + backward with `chunk_length`, traced (the length is read while
    tracing), and its output on positive noise."""
    import tensorflow as tf

    from leaf_tf import ops
    from leaf_tf.layers import compression

    inputs = tf.constant(np.random.default_rng(0).uniform(1e-3, 1.0, (batch, frames, CHANNELS)).astype(np.float32))
    saved = ops.EMA_CHUNK_LENGTH
    ops.EMA_CHUNK_LENGTH = chunk_length
    compression._compiled_pcen.cache_clear()  # a new compiled function, traced with this length
    try:
        layer = compression.learnable_pcen()
        layer(inputs)  # built first: `frontend_functions` differentiates its trainable weights
        forward, forward_backward = _frontends_benchmark().frontend_functions(layer)
        outputs = forward(inputs).numpy()
        forward_backward(inputs)
    finally:
        ops.EMA_CHUNK_LENGTH = saved
        compression._compiled_pcen.cache_clear()
    return (forward, (inputs,)), (forward_backward, (inputs,)), outputs


def measure(chunk_lengths: list[int], settings: list[str], repeats: int) -> dict:
    def build(length, setting):
        return traced_functions(length, *SETTINGS[setting])

    return _frontends_benchmark().timed_variants(build, chunk_lengths, settings, repeats)


def report(runs: list[dict], chunk_lengths: list[int], settings: list[str]) -> str:
    """Each chunk length's median time and its time ÷ the first one's, median (min–max) over runs."""
    return _frontends_benchmark().variants_report(runs, [str(n) for n in chunk_lengths], settings, "chunk length", "Outputs", digits=2)


def main(argv: list[str] | None = None) -> list[dict]:
    from leaf_tf import ops

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--chunk-lengths", nargs="+", type=int, default=None,
        help="chunk lengths to time; the first is the baseline (default: the current one, then 8 16 32 64)",
    )
    parser.add_argument("--settings", nargs="+", choices=list(SETTINGS), default=list(SETTINGS))
    parser.add_argument("--repeats", type=int, default=30, help="timed calls per measurement (median)")
    parser.add_argument("--runs", type=int, default=1, help="repeat everything in this many separate processes")
    parser.add_argument("--json", help="also write the results to this file")
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error(f"--runs must be at least 1, got {args.runs}.")
    lengths = args.chunk_lengths or [ops.EMA_CHUNK_LENGTH, *(n for n in (8, 16, 32, 64) if n != ops.EMA_CHUNK_LENGTH)]
    if min(lengths) < 2:
        parser.error(f"--chunk-lengths: a chunk holds at least 2 frames, got {min(lengths)}.")
    child = ["--chunk-lengths", *map(str, lengths), "--settings", *args.settings, "--repeats", str(args.repeats)]
    runs = _frontends_benchmark().measured_runs(lambda: measure(lengths, args.settings, args.repeats), child, args.runs, args.json, __file__)
    print(report(runs, lengths, args.settings))
    return runs


if __name__ == "__main__":
    main()
