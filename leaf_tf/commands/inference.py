"""Your trained model on your audio files: `leaf-tf predict` (class scores) and `leaf-tf extract` (features).

    leaf-tf predict --model runs/mine --top_k 3 --output predictions.csv clips/
    leaf-tf extract --model runs/mine --what frontend --output features.npz clips/

`--model` is a training workdir, a `.keras` file or a SavedModel (predict
only); folders are searched recursively for audio files. See
`leaf_tf.inference` for the protocol (full clips, windows averaged).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from leaf_tf import cli

FEATURES = ("embedding", "frontend")  # leaf_tf.inference.FEATURES, without importing TensorFlow


def build_parser(command: str) -> argparse.ArgumentParser:
    """The options of `leaf-tf predict` or `leaf-tf extract`."""
    parser = argparse.ArgumentParser(prog=f"leaf-tf {command}", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("inputs", nargs="+", help="audio files or folders (searched recursively)")
    parser.add_argument("--model", required=True, help="a training workdir, a .keras file or a SavedModel")
    parser.add_argument("--checkpoint", default="best", choices=["best", "final"], help="of a workdir")
    parser.add_argument("--batch_size", type=int, default=64, help="windows per batch")
    if command == "predict":
        parser.add_argument("--output", help=".csv or .json (default: CSV on stdout)")
        parser.add_argument("--top_k", type=int, default=5)
        parser.add_argument("--sample_rate", type=int, help="a SavedModel's sample rate (default 16000)")
    else:
        parser.add_argument("--output", help="a .npz file or a folder of .npy files (required)")
        parser.add_argument("--what", choices=FEATURES, default="embedding")
    return parser


def predict(argv: Sequence[str] | None = None) -> None:
    """`leaf-tf predict`: writes each file's top classes as CSV (stdout or --output) or JSON."""
    args = build_parser("predict").parse_args(argv)

    def go():
        from leaf_tf import inference

        predictions = inference.predict(args.model, args.inputs, args.top_k, args.batch_size, args.checkpoint,
                                        args.sample_rate, _verbose())
        inference.write_predictions(predictions, args.output)
        if args.output:
            print(json.dumps({"predictions": args.output, "files": len({p["file"] for p in predictions})}))

    cli.run("leaf-tf predict", go)


def extract(argv: Sequence[str] | None = None) -> None:
    """`leaf-tf extract`: writes each file's features to a .npz file or a folder of .npy files."""
    args = build_parser("extract").parse_args(argv)

    def go():
        from leaf_tf import inference

        if not args.output:
            raise cli.UsageError("extract needs --output (a .npz file or a folder).")
        features = inference.extract(args.model, args.inputs, args.what, args.batch_size, args.checkpoint, _verbose())
        inference.write_features(features, args.output)
        print(json.dumps({"features": args.output, "files": len(features)}))

    cli.run("leaf-tf extract", go)


def _verbose() -> int:
    return 1 if sys.stderr.isatty() else 0
