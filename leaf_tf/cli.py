"""What `train.py` and `eval.py` share: gin parsing with clear errors, one-line failures.

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

import gin
from absl import logging as absl_logging

from leaf_tf.data.tasks import DatasetNotPreparedError
from leaf_tf.training import TrainingError

# The repository root (configs/ lives there) and the current directory are searched for gin files.
REPO_ROOT = pathlib.Path(__file__).resolve().parents[1]

# Errors that are the user's to fix: reported in one line.
USER_ERRORS = (DatasetNotPreparedError, FileNotFoundError, PermissionError, ValueError, TypeError, TrainingError)


class UsageError(Exception):
    """A problem with the command line itself."""


def find_config(path: str) -> str:
    """Resolves a gin file given relative to the current directory or to the repository."""
    for candidate in (pathlib.Path(path), REPO_ROOT / path):
        if candidate.is_file():
            return str(candidate)
    places = sorted({str(pathlib.Path.cwd()), str(REPO_ROOT)})
    raise UsageError(f"gin config file not found: {path} (looked in {' and '.join(places)}).")


def parse_gin(configs: Sequence[str], bindings: Sequence[str]) -> None:
    """Parses gin files then bindings (bindings win), with one-line errors for unknown names."""
    gin.add_config_file_search_path(str(REPO_ROOT))
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
    handler = absl_logging.get_absl_handler()
    if not any(isinstance(f, _LeafTfWarningsOnly) for f in handler.filters):
        handler.addFilter(_LeafTfWarningsOnly())


def run(program: str, main: Callable[[], object]) -> None:
    """Runs `main`, turning the errors a user can fix into one line on stderr and exit status 2.

    Other libraries' log lines below error level are dropped (`quiet_library_logs`).
    """
    quiet_library_logs()
    if not sys.stderr.isatty():  # TFDS' progress bars are carriage-return animations: not for a log file
        import tensorflow_datasets as tfds

        tfds.disable_progress_bar()
    try:
        main()
    except UsageError as error:
        _fail(f"{program}: error: {error}")
    except USER_ERRORS as error:
        _fail(f"{program}: error: {_first_line(error)}")
    except KeyboardInterrupt:
        _fail(f"{program}: interrupted; re-run the same command to resume from the last completed epoch.")


def _fail(message: str) -> None:
    print(message, file=sys.stderr)
    sys.exit(2)
