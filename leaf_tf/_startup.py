"""TensorFlow imported without its start-up notices on stderr.

Importing TensorFlow 2.21 writes informational lines to the process's stderr
(file descriptor 2, from C++, whatever `TF_CPP_MIN_LOG_LEVEL` says): absl's
"All log messages before absl::InitializeLog() ..." warning, the oneDNN
round-off notice (twice) and the CPU-instruction notice. They are not errors,
and they would bury the one line a command prints when a user can fix
something. `import_tensorflow` captures descriptor 2 during the import and
writes back every other line (a missing CUDA library, a failed import), so
nothing else is lost. `LEAF_TF_STARTUP_LOGS=1` keeps everything.

It also makes TensorFlow's CPU memory allocator the BFC allocator (a pool that
keeps freed buffers for reuse), unless `TF_CPU_ALLOCATOR_USE_BFC` is already
set. TensorFlow uses that allocator by default only where oneDNN is on (CPUs
with AVX-512); elsewhere every large temporary is a fresh `malloc`, returned to
the system when freed and faulted in page by page on the next call. LEAF's
fused pass allocates tens of MiB of temporaries per call: on a 2-core AVX2 CPU
(no AVX-512) its forward + backward at 8 x 1 s took 217 ms before and 115 ms
with the pool and the compiled PCEN (README, "On a CPU without AVX-512"). The
variable is read when TensorFlow first creates its CPU device, so it takes
effect unless TensorFlow already ran an operation before leaf_tf was imported.
`TF_CPU_ALLOCATOR_USE_BFC=false` keeps TensorFlow's default.
"""

from __future__ import annotations

import os
import re
import sys
import tempfile

os.environ.setdefault("TF_CPU_ALLOCATOR_USE_BFC", "true")

_NOTICES = re.compile(
    r"All log messages before absl::InitializeLog\(\) is called"
    r"|\] oneDNN custom operations are on"
    r"|cpu_feature_guard\.cc.*This TensorFlow binary is optimized"
    r"|^To enable the following instructions: .* rebuild TensorFlow with the appropriate compiler flags"
)


def startup_lines_to_keep(text: str) -> list[str]:
    """The lines of TensorFlow's start-up output that are not its routine notices."""
    return [line for line in text.splitlines() if line.strip() and not _NOTICES.search(line)]


NO_TENSORFLOW = (
    "leaf_tf needs TensorFlow, which is not installed in this Python. Install it with leaf_tf's extra for your "
    "machine: pip install 'leaf_tf[tensorflow]' (CPU and NVIDIA GPU on Linux), 'leaf_tf[cpu]' (CPU only, "
    "half the download) or 'leaf_tf[and-cuda]' (CUDA libraries included)."
)


def running_a_command() -> bool:
    """Whether this process is one of leaf_tf's commands (`leaf-tf ...`, `python -m leaf_tf...`, train.py/eval.py)."""
    argv = list(getattr(sys, "orig_argv", []))
    if "-m" in argv[:-1]:
        return argv[argv.index("-m") + 1].split(".")[0] == "leaf_tf"
    script = os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else ""
    if script == "leaf-tf":
        return True
    return script in ("train.py", "eval.py") and os.path.isdir(os.path.join(os.path.dirname(os.path.abspath(
        sys.argv[0])), "leaf_tf"))


def _import_tensorflow_module() -> None:
    try:
        import tensorflow  # noqa: F401
    except ModuleNotFoundError as error:
        if error.name != "tensorflow":
            raise
        raise ImportError(NO_TENSORFLOW) from None


def import_tensorflow() -> None:
    """Imports TensorFlow once, dropping its routine start-up notices from stderr (see the module docstring).

    Raises:
      ImportError: TensorFlow is not installed; the message names the pip extras that install it.
    """
    if "tensorflow" in sys.modules or os.environ.get("LEAF_TF_STARTUP_LOGS") == "1":
        _import_tensorflow_module()
        return
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as capture:
        os.dup2(capture.fileno(), 2)
        try:
            _import_tensorflow_module()
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            capture.seek(0)
            kept = startup_lines_to_keep(capture.read().decode(errors="replace"))
            if kept:
                sys.stderr.write("\n".join(kept) + "\n")
                sys.stderr.flush()


# A command imports TensorFlow only once its arguments are parsed (`leaf_tf.load`): `--help` answers at once.
COMMAND = running_a_command()
if COMMAND:  # TensorFlow's C++ info and warning lines (buffer sizes, ...) are not for a command's user
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
