"""The `leaf-tf` command (also `python -m leaf_tf`): one entry point, a subcommand per job.

    leaf-tf train --gin_config=leaf --gin_config=synthetic --workdir=runs/leaf
    leaf-tf eval --workdir=runs/leaf
    leaf-tf predict --model runs/leaf clips/

Each subcommand is a thin layer over a library function, in its own module
that parses its arguments without importing TensorFlow, so `--help` answers at
once; the library is imported (`leaf_tf.load`) only to run. `train` and `eval`
take absl flags (`--gin_config`, `--gin_bindings`, ...), the others argparse
options. `train.py` and `eval.py` in a clone are wrappers of `train` and `eval`.
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Sequence

from leaf_tf import configs

# The frontends a config selects by name (`configs/frontends/<name>.gin`), without importing TensorFlow.
FRONTEND_NAMES = configs.names_in("frontends")

# name -> (module, function called with the arguments after the name, one-line summary)
COMMANDS: dict[str, tuple[str, str, str]] = {
    "train": ("leaf_tf.commands.train", "run_main", "train a classifier described by gin configs"),
    "eval": ("leaf_tf.commands.eval", "run_main", "evaluate a trained run on full clips (writes results.json)"),
    "compare": ("leaf_tf.compare", "main", "train and evaluate frontends over several seeds, then report"),
    "report": ("leaf_tf.report", "main", "paper-style tables from evaluated runs, seeds aggregated"),
    "quickstart": ("leaf_tf.quickstart", "main", "the main job: mel vs LEAF on the embedded synthetic data"),
    "predict": ("leaf_tf.commands.inference", "predict", "class scores of a trained model for audio files"),
    "extract": ("leaf_tf.commands.inference", "extract", "features (frontend or embedding) for audio files"),
    "plot": ("leaf_tf.commands.plot", "main", "figures: learnt filters, features, drift"),
    "prepare": ("leaf_tf.commands.prepare", "main", "prepare a TFDS dataset from downloaded files"),
    "configs": ("leaf_tf.commands", "list_configs", "list the shipped gin configs by short name"),
    "parameters": ("leaf_tf.parameter_table", "main", "trainable parameters of every frontend x encoder"),
    "demo": ("leaf_tf.demo", "main", "render every frontend's view of a synthetic signal"),
}


def usage() -> str:
    """The `leaf-tf --help` text."""
    from leaf_tf import __version__

    width = max(map(len, COMMANDS))
    lines = [f"usage: leaf-tf <command> [options]   (leaf_tf {__version__})", "", "commands:"]
    lines += [f"  {name:<{width}}  {summary}" for name, (_, _, summary) in COMMANDS.items()]
    lines += ["", "`leaf-tf <command> --help` describes a command's options."]
    return "\n".join(lines)


def list_configs(argv: Sequence[str]) -> None:
    """`leaf-tf configs`: every shipped config's short name and file."""
    if argv:
        sys.exit(f"leaf-tf configs: error: takes no arguments, got {' '.join(argv)}")
    configs.main()


def main(argv: Sequence[str] | None = None) -> None:
    """Runs `leaf-tf <command> [arguments]` (`argv` without the program name; default `sys.argv[1:]`)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        if not argv or argv[0] in ("-h", "--help", "help"):
            print(usage())
            return
        if argv[0] == "--version":
            from leaf_tf import __version__

            print(f"leaf_tf {__version__}")
            return
        name, rest = argv[0], argv[1:]
        if name not in COMMANDS:
            print(f"leaf-tf: error: unknown command {name!r}; choose from {', '.join(COMMANDS)} "
                  "(`leaf-tf --help` describes them).", file=sys.stderr)
            sys.exit(2)
        module, function, _ = COMMANDS[name]
        result = getattr(importlib.import_module(module), function)(rest)
        if isinstance(result, int) and result:
            sys.exit(result)
    except BrokenPipeError:  # `leaf-tf ... | head`: the reader left; not an error of ours
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # nothing left to flush at exit
