"""How LEAF's fused pass splits its work: other layouts timed against the default, in one process.

`ops.fused_filterbank_pooling` (TensorFlow) splits the channels into
`ops.CONCURRENT_PARTS` parts, each its own XLA computation run side by side
by TensorFlow's executor, and each part runs its channels in groups of
`ops.GROUP_CHANNELS` one after another. This script builds LEAF (40 filters,
as `frontends.py`) once per layout `PARTSxGROUP` (e.g. `2x4`, the default),
checks that every layout computes the default's features, and times forward
and forward + backward (gradient with respect to LEAF's weights) of all
layouts in turn, round after round (`frontends.py`'s interleaved loop), so
that each figure is a ratio to the default measured in the same run.
`--runs N` repeats everything in N separate processes and prints each
ratio's median and range.

    python benchmarks/fused_layouts.py --runs 3
    python benchmarks/fused_layouts.py --layouts 2x4 4x4 8x4 16x2 --runs 3   # a machine with more cores

The split is a module constant rather than a per-machine choice so that
every machine computes the same sums (the input gradient adds the parts in
order); a layout that wins on another machine is a reason to change the
constant for everyone, with the figures of this script from several kinds of
machine.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))  # the sibling scripts, also when this one is loaded as a module
from reference_timing import _frontends_benchmark  # noqa: E402  (frontends.py as a module: its settings and timing)

DEFAULT_LAYOUTS = ("2x4", "1x4", "2x2", "2x8", "3x4", "4x4")


def parse_layout(text: str) -> tuple[int, int]:
    """`"PARTSxGROUP"` -> `(parts, group)`, both positive."""
    try:
        parts, group = (int(value) for value in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"a layout is PARTSxGROUP, e.g. 2x4; got {text!r}") from None
    if parts < 1 or group < 1:
        raise argparse.ArgumentTypeError(f"a layout needs at least one part and one channel per group; got {text!r}")
    return parts, group


def default_layout() -> str:
    from leaf_tf import ops

    return f"{ops.CONCURRENT_PARTS}x{ops.GROUP_CHANNELS}"


def traced_functions(layout: str, batch: int, samples: int) -> tuple[tuple, tuple, np.ndarray]:
    """LEAF's forward and forward + backward with `layout`, traced (the layout is read while tracing),
    and its features on the benchmark signal."""
    import leaf_tf
    from leaf_tf import ops

    benchmark = _frontends_benchmark()
    parts, group = parse_layout(layout)
    saved = ops.CONCURRENT_PARTS, ops.GROUP_CHANNELS
    ops.CONCURRENT_PARTS, ops.GROUP_CHANNELS = parts, group
    ops._fused_function.cache_clear()  # its compiled passes are built with the group size of their time
    try:
        waveforms = benchmark._signal(batch, samples)
        leaf = leaf_tf.Leaf(n_filters=benchmark.N_FILTERS)
        leaf(waveforms)  # built first: `frontend_functions` differentiates its trainable weights
        forward, forward_backward = benchmark.frontend_functions(leaf)
        features = np.asarray(forward(waveforms))
        forward_backward(waveforms)
    finally:
        ops.CONCURRENT_PARTS, ops.GROUP_CHANNELS = saved
        ops._fused_function.cache_clear()
    return (forward, (waveforms,)), (forward_backward, (waveforms,)), features


def measure(layouts: list[str], settings: list[str], repeats: int) -> dict:
    benchmark = _frontends_benchmark()
    def build(layout, setting):
        return traced_functions(layout, *benchmark.SETTINGS[setting])

    return benchmark.timed_variants(build, layouts, settings, repeats)


def report(runs: list[dict], layouts: list[str], settings: list[str]) -> str:
    """Each layout's median time and its time ÷ the first layout's, median (min–max) over runs."""
    return _frontends_benchmark().variants_report(runs, layouts, settings, "layout (parts x group)", "Features of every layout")


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--layouts", nargs="+", default=None,
        help=f"PARTSxGROUP layouts; the first is the baseline (default: the current one, then {DEFAULT_LAYOUTS[1:]})",
    )
    parser.add_argument("--settings", nargs="+", default=["8x1s", "1x10s"], help="input sizes (see frontends.py)")
    parser.add_argument("--repeats", type=int, default=20, help="timed calls per measurement (median)")
    parser.add_argument("--runs", type=int, default=1, help="repeat everything in this many separate processes")
    parser.add_argument("--json", help="also write the results to this file")
    args = parser.parse_args(argv)
    benchmark = _frontends_benchmark()
    unknown = sorted(set(args.settings) - set(benchmark.SETTINGS))
    if unknown:
        parser.error(f"--settings: unknown {unknown}; choose from {sorted(benchmark.SETTINGS)}.")
    if args.runs < 1:
        parser.error(f"--runs must be at least 1, got {args.runs}.")
    layouts = args.layouts or [default_layout(), *(layout for layout in DEFAULT_LAYOUTS if layout != default_layout())]
    for layout in layouts:
        try:
            parse_layout(layout)
        except argparse.ArgumentTypeError as error:
            parser.error(f"--layouts: {error}")
    child = ["--layouts", *layouts, "--settings", *args.settings, "--repeats", str(args.repeats)]
    runs = _frontends_benchmark().measured_runs(lambda: measure(layouts, args.settings, args.repeats), child, args.runs, args.json, __file__)
    print(report(runs, layouts, args.settings))
    return runs


if __name__ == "__main__":
    main()
