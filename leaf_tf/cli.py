"""What the commands share: gin parsing with clear errors, one-line failures.

A command-line error (missing gin file, unknown gin name, dataset not
prepared, unwritable workdir, bad batch size, ...) prints one line,
`<program>: error: <what went wrong and how to fix it>`, and exits with
status 2: no stack trace, and nothing already in the workdir is touched.
"""

from __future__ import annotations

import logging
import os
import pathlib
import sys
from collections.abc import Callable, Sequence

from absl import logging as absl_logging

from leaf_tf import configs as shipped_configs

# The folder holding the leaf_tf package: the repository root in a clone, site-packages when installed.
PACKAGE_PARENT = pathlib.Path(__file__).resolve().parents[1]


class UsageError(Exception):
    """A problem with the command line itself."""


def user_errors() -> tuple[type[BaseException], ...]:
    """Errors that are the user's to fix, reported in one line (imported late: they need TensorFlow)."""
    from leaf_tf.data.audio_io import MissingDecoderError
    from leaf_tf.data.tasks import DatasetNotPreparedError
    from leaf_tf.training import TrainingError

    return (DatasetNotPreparedError, FileNotFoundError, PermissionError, ValueError, TypeError, TrainingError,
            MissingDecoderError)


def find_config(path: str) -> str:
    """Resolves a `--gin_config` value: a file on disk, else a shipped config's short name (`leaf_tf.configs`)."""
    try:
        return str(shipped_configs.find(path))
    except FileNotFoundError as error:
        raise UsageError(str(error)) from None


def parse_gin(configs: Sequence[str], bindings: Sequence[str]) -> None:
    """Parses gin files then bindings (bindings win), with one-line errors for unknown names."""
    import gin

    import leaf_tf
    import leaf_tf.data.pipeline
    import leaf_tf.data.tasks
    import leaf_tf.training  # noqa: F401  (with leaf_tf.load: every configurable registered before gin reads a name)

    leaf_tf.load()
    files = [find_config(path) for path in configs or ()]
    try:
        gin.parse_config_files_and_bindings(files, list(bindings or ()), finalize_config=False)
    except (OSError, ValueError, KeyError, SyntaxError) as error:
        raise UsageError(f"bad gin configuration: {_first_line(error)}") from None


def _first_line(error: BaseException) -> str:
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    return lines[0] if lines else type(error).__name__


_PACKAGE_DIR = str(pathlib.Path(__file__).resolve().parent) + os.sep


class _LeafTfWarningsOnly(logging.Filter):
    """Passes leaf_tf's warnings and everyone's errors; drops other libraries' info and warnings (TFDS', Keras')."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno >= logging.ERROR:
            return True
        return record.levelno >= logging.WARNING and record.pathname.startswith(_PACKAGE_DIR)


def quiet_library_logs(argv: Sequence[str] | None = None) -> None:
    """Commands show leaf_tf's warnings and every error, not the libraries' routine logs; `--verbosity` shows all."""
    argv = sys.argv if argv is None else argv
    if any(arg == "-v" or arg.startswith(("--verbosity", "-v=")) for arg in argv):
        return
    handlers = [absl_logging.get_absl_handler()]
    if not logging.root.handlers:
        # An argparse command (no absl app): a plain stderr handler now, or absl's first log call would
        # install `logging.basicConfig`'s, which this filter would not reach.
        handlers.append(logging.StreamHandler())
        handlers[-1].setFormatter(logging.Formatter("%(levelname)s: %(message)s"))
        logging.root.addHandler(handlers[-1])
    for handler in handlers:
        if not any(isinstance(f, _LeafTfWarningsOnly) for f in handler.filters):
            handler.addFilter(_LeafTfWarningsOnly())


def run(program: str, main: Callable[[], object]) -> None:
    """Imports the library, then runs `main`, turning the errors a user can fix into one line and exit status 2.

    Other libraries' log lines below error level are dropped (`quiet_library_logs`).
    """
    import leaf_tf

    try:
        leaf_tf.load()
    except ImportError as error:  # no TensorFlow: the message says which extra to install
        _fail(f"{program}: error: {_first_line(error)}")
    quiet_library_logs()
    if not sys.stderr.isatty():  # TFDS' progress bars are carriage-return animations: not for a log file
        import tensorflow_datasets as tfds

        tfds.disable_progress_bar()
    try:
        main()
    except UsageError as error:
        _fail(f"{program}: error: {error}")
    except user_errors() as error:
        _fail(f"{program}: error: {_first_line(error)}")
    except KeyboardInterrupt:
        _fail(f"{program}: interrupted; re-run the same command to resume from the last completed epoch.")


HELP_FLAGS = ("-h", "--help", "-?", "--helpshort")


def run_absl(main: Callable[[list[str]], object], argv: Sequence[str] | None, program: str, doc: str) -> None:
    """Runs an absl `main` as the `program` command on `argv` (the arguments after the program name);
    `main` gets `[program, *unparsed]`.

    `--help` prints `doc` and the flags `main`'s module defines, without importing
    TensorFlow (absl's own help would describe the `__main__` module, which under
    `leaf-tf` is the dispatcher).
    """
    from absl import app, flags

    module = main.__module__ if main.__module__ != "__main__" else sys.argv[0]  # absl's key for __main__'s flags

    argv = list(sys.argv[1:] if argv is None else argv)
    if any(arg in HELP_FLAGS for arg in argv):
        print(f"usage: {program} [flags]\n\n{doc.strip()}\n\nflags:\n{flags.FLAGS.module_help(module)}")
        sys.exit(0)
    app.run(main, argv=[program, *argv])


def _fail(message: str) -> None:
    print(message, file=sys.stderr)
    sys.exit(2)
