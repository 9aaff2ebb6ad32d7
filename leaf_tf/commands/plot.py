"""Pictures of what a frontend learnt and of what it outputs (`leaf-tf plot`; figures from `leaf_tf.plot`).

    leaf-tf plot filters (--workdir W | --model FILE | --frontend NAME) [--output filters.png]
    leaf-tf plot features --audio FILE [--workdir W ...] [--model FILE ...]
                          [--frontends leaf mel ...] [--output features.png]
    leaf-tf plot export-filters (--workdir W | --model FILE | --frontend NAME) --output F.json|F.csv
    leaf-tf plot drift RUN_OR_COMPARE_DIR [...] [--output drift.png]

A workdir is a training directory holding `final.keras` (used first) or
`best.keras`; `--frontend NAME` plots a freshly initialised frontend. Needs
matplotlib (`pip install 'leaf_tf[plots]'`).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from leaf_tf.commands import FRONTEND_NAMES

PROG = "leaf-tf plot"


def _add_source_arguments(parser: argparse.ArgumentParser) -> None:
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--workdir", help="training directory holding final.keras (preferred) or best.keras")
    source.add_argument("--model", help="a .keras file (a classifier or any model with a leaf_tf frontend)")
    source.add_argument("--frontend", choices=FRONTEND_NAMES, help="a freshly initialised frontend")
    parser.add_argument("--n_filters", type=int, help="filters of a fresh --frontend (default 40)")
    parser.add_argument("--sample_rate", type=float, help="sample rate of a fresh --frontend in Hz (default 16000)")


def build_parser() -> argparse.ArgumentParser:
    """The `leaf-tf plot` argument parser (subcommands `filters`, `features`, `export-filters`, `drift`)."""
    parser = argparse.ArgumentParser(
        prog=PROG, description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", required=True,
                                     metavar="{filters,features,export-filters,drift}")

    filters = commands.add_parser("filters", help="plot learnt filters, pooling and PCEN parameters")
    _add_source_arguments(filters)
    filters.add_argument("--output", default="filters.png", help="PNG to write (default filters.png)")
    filters.add_argument("--n_fft", type=int, default=1024, help="frequency grid of the responses (default 1024)")
    filters.add_argument("--dpi", type=int, default=100, help="PNG resolution (default 100)")

    features = commands.add_parser("features", help="plot a waveform and each frontend's representation of it")
    features.add_argument("--audio", required=True, help="audio file (WAV, FLAC, OGG, MP3)")
    features.add_argument("--workdir", action="append", default=[], help="trained frontend (repeatable)")
    features.add_argument("--model", action="append", default=[], help=".keras file (repeatable)")
    features.add_argument("--frontends", nargs="+", choices=FRONTEND_NAMES, default=None,
                          help="freshly initialised frontends (default: leaf mel when no --workdir / --model)")
    features.add_argument("--n_filters", type=int, default=40, help="filters of the fresh frontends (default 40)")
    features.add_argument("--sample_rate", type=float, default=16000.0, help="rate of the fresh frontends (Hz)")
    features.add_argument("--max_duration_s", type=float, default=30.0, help="plot at most this much audio")
    features.add_argument("--output", default="features.png", help="PNG to write (default features.png)")
    features.add_argument("--dpi", type=int, default=100, help="PNG resolution (default 100)")

    export = commands.add_parser("export-filters", help="write the learnt parameters as JSON or CSV")
    _add_source_arguments(export)
    export.add_argument("--output", required=True, help="FILE.json (every entry) or FILE.csv (one row per filter)")

    drift = commands.add_parser("drift", help="plot how far trained runs moved their filters and PCEN, per seed")
    drift.add_argument("runs", nargs="+", help="training workdirs, or directories of them (e.g. a compare workdir)")
    drift.add_argument("--output", default="drift.png", help="PNG to write (default drift.png)")
    drift.add_argument("--title", default=None)
    drift.add_argument("--dpi", type=int, default=100, help="PNG resolution (default 100)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Parses and runs `leaf-tf plot`; returns 0, or exits with status 2 and a one-line error."""
    args = build_parser().parse_args(argv)
    import leaf_tf

    leaf_tf.load()
    from leaf_tf import plot

    try:
        plot.run(args)
    except (plot.PlotError, FileNotFoundError, ValueError, OSError) as e:
        print(f"{PROG}: error: {' '.join(str(e).split()) or type(e).__name__}", file=sys.stderr)
        raise SystemExit(2) from None
    return 0


if __name__ == "__main__":
    sys.exit(main())
