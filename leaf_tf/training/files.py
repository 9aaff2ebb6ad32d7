"""Files a run writes: atomic writes (readers never see half a file) and the workdir check."""

from __future__ import annotations

import os
import pathlib
import re
import shutil
import tempfile

import keras


def atomic_save_model(model: keras.Model, path: str | os.PathLike) -> None:
    """`model.save(path)` through a temporary file and an atomic rename: readers never see half a file."""
    path = pathlib.Path(path)
    with tempfile.TemporaryDirectory(dir=path.parent, prefix=f".{path.stem}-") as scratch:
        temporary = pathlib.Path(scratch) / path.name
        model.save(temporary)
        os.replace(temporary, path)


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    """Writes a text file through a temporary file and an atomic rename."""
    path = pathlib.Path(path)
    temporary = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    temporary.write_text(text)
    os.replace(temporary, path)


# The scratch names of the two functions above (`.final-k2j4x9a1/`, `.run.json.tmp-4242`, `.write-test-4242`).
_SCRATCH = re.compile(r"^\.(?:[\w.]+-[\w]{8}|[\w.]+\.tmp-\d+|write-test-\d+)$")


def remove_scratch(workdir: str | os.PathLike) -> None:
    """Removes what a killed process left of its atomic writes in `workdir`."""
    for entry in pathlib.Path(workdir).iterdir():
        if not _SCRATCH.match(entry.name):
            continue
        if entry.is_dir():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            entry.unlink(missing_ok=True)


def check_workdir(workdir: str | os.PathLike) -> pathlib.Path:
    """Creates `workdir` if needed, checks that it is writable and removes the scratch of killed writes."""
    workdir = pathlib.Path(workdir)
    try:
        workdir.mkdir(parents=True, exist_ok=True)
        probe = workdir / f".write-test-{os.getpid()}"
        probe.write_text("")
        probe.unlink()
    except OSError as error:
        raise PermissionError(
            f"workdir {workdir} is not writable ({error.strerror}); choose another --workdir."
        ) from None
    remove_scratch(workdir)
    return workdir
