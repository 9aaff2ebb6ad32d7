"""The gin configs shipped with leaf_tf, addressable by short name from any directory.

A short name is a file's path under this folder without `.gin`: `leaf`,
`frontends/mel`, `tasks/speech_commands`, `paper/table3_leaf`. Commands accept a
short name or a file on disk (`--gin_config=leaf`, `--gin_config=my.gin`); the
older `configs/leaf.gin` spelling still works. Shipped files include one another
as `include "leaf_tf/configs/<name>.gin"`, which gin reads from the installed
package wherever the command runs (gin looks such a path up as a package
resource; each folder here is a package for that reason); your own gin files
can include them the same way.

    >>> from leaf_tf import configs
    >>> "paper/table3_leaf" in configs.names()
    True
    >>> configs.find("leaf").name
    'leaf.gin'

`leaf-tf configs` prints every name.
"""

from __future__ import annotations

import difflib
import pathlib

DIRECTORY = pathlib.Path(__file__).resolve().parent

# Where gin looks up the older `include "configs/x.gin"` lines (users' own files): the package folder.
SEARCH_PATH = str(DIRECTORY.parent)


def names() -> list[str]:
    """Every shipped config's short name, sorted."""
    return sorted(path.relative_to(DIRECTORY).with_suffix("").as_posix() for path in DIRECTORY.rglob("*.gin"))


def names_in(folder: str) -> tuple[str, ...]:
    """The shipped configs of one folder, by file name (`names_in("frontends")` -> `("leaf", "mel", ...)`)."""
    return tuple(name.removeprefix(f"{folder}/") for name in names() if name.startswith(f"{folder}/"))


def find(name: str) -> pathlib.Path:
    """The file a `--gin_config` value names: a file on disk, else a shipped config's short name.

    Raises:
      FileNotFoundError: neither exists; the message suggests the closest shipped names.
    """
    on_disk = pathlib.Path(name).expanduser()
    if on_disk.is_file():
        return on_disk
    short = name.removeprefix("configs/").removesuffix(".gin")
    shipped = DIRECTORY / f"{short}.gin"
    if short and shipped.is_file():
        return shipped
    close = difflib.get_close_matches(short, names(), n=3, cutoff=0.6)
    hint = f" Did you mean {' or '.join(close)}?" if close else " `leaf-tf configs` lists the shipped configs."
    raise FileNotFoundError(f"gin config file not found: {name} (neither a file from {pathlib.Path.cwd()} nor a "
                            f"shipped config name).{hint}")


def short_name(name: str) -> str:
    """`name` as a shipped config's short name when it denotes one (`configs/leaf.gin` -> `leaf`), else unchanged."""
    try:
        path = find(name).resolve()
    except FileNotFoundError:
        return name
    return path.relative_to(DIRECTORY).with_suffix("").as_posix() if path.is_relative_to(DIRECTORY) else name


def add_search_paths() -> None:
    """Lets gin find the older `include "configs/<name>.gin"` lines from any working directory."""
    import gin

    if SEARCH_PATH not in gin.config._LOCATION_PREFIXES:  # gin has no public getter
        gin.add_config_file_search_path(SEARCH_PATH)


def main() -> None:
    """Prints every shipped config's short name and file (`leaf-tf configs`)."""
    for name in names():
        print(f"{name:<42} {DIRECTORY / name}.gin")


if __name__ == "__main__":
    main()
