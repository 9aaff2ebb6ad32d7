"""The README's Python examples run as written."""

from __future__ import annotations

import os
import pathlib
import re

import gin
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]


def _run_python_blocks(text: str) -> int:
    """Runs each ```python block of `text` in the current directory; returns how many there were."""
    blocks = re.findall(r"```python\n(.*?)```", text, re.S)
    try:
        for block in blocks:
            exec(compile(block, "README.md", "exec"), {})
    finally:
        gin.clear_config()
    return len(blocks)


def test_readme_python_examples_run(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # an empty directory: the examples need only the installed package
    assert _run_python_blocks((ROOT / "README.md").read_text())
    assert os.path.exists(tmp_path / "model.keras")


def test_readme_usage_examples_run_on_this_backend(tmp_path, monkeypatch):
    """The "Usage" section's examples, as written, on whichever backend KERAS_BACKEND selects (the backend
    suite of tests/test_backends.py runs this on JAX and PyTorch too)."""
    text = (ROOT / "README.md").read_text()
    usage = text[text.index("\n## Usage\n") : text.index("\n## Encoders and classifiers\n")]
    monkeypatch.chdir(tmp_path)
    assert _run_python_blocks(usage) == 2
    assert os.path.exists(tmp_path / "model.keras")


SHAPE_CLAIM = re.compile(r"^(?:(\w+) = )?(.+?)\s+#.*?\[(\d+(?:, \d+)*)\]")
COUNT_CLAIM = re.compile(r"'(\w+)': (\d+)")


def test_readme_outputs_in_comments_are_what_the_code_gives(tmp_path, monkeypatch):
    """`x = ...  # [8, 100, 40]`: the value's shape (a layer's: its output on the block's `waveforms`); and
    `print(describe(model))  # {'frontend': 280, ...}`: the counts describe() gives. Each claim is checked
    right after the statement that holds it runs, with the names as they are at that point."""
    import ast

    import keras

    from leaf_tf.models import describe

    blocks = re.findall(r"```python\n(.*?)```", (ROOT / "README.md").read_text(), re.S)
    monkeypatch.chdir(tmp_path)
    checked = 0
    try:
        for block in blocks:
            gin.clear_config()  # each block as a reader runs it: on its own
            namespace: dict = {}
            lines = block.splitlines()
            for statement in ast.parse(block).body:
                exec(compile(ast.Module([statement], []), "README.md", "exec"), namespace)
                line = lines[statement.end_lineno - 1].strip()
                if "#" not in line:
                    continue
                comment = line.split("#", 1)[1]
                if "describe(" in line and "{" in comment:
                    counts = describe(namespace["model"])
                    claims = {k: int(v) for k, v in COUNT_CLAIM.findall(comment)}
                    assert claims and {k: counts[k] for k in claims} == claims, (line, counts)
                    checked += 1
                    continue
                match = SHAPE_CLAIM.match(line)
                if not match:
                    continue
                name, expression, dims = match.groups()
                value = namespace[name] if name else eval(expression, namespace)
                if isinstance(value, keras.layers.Layer):
                    value = value(namespace["waveforms"])
                expected = tuple(int(d) for d in dims.split(", "))
                assert tuple(value.shape) == expected, f"README says {line!r}; the code gives {value.shape}"
                checked += 1
    finally:
        gin.clear_config()
    assert checked >= 6


@pytest.mark.slow
def test_readme_parameter_table_is_what_parameter_table_prints():
    from leaf_tf import parameter_table

    readme = (ROOT / "README.md").read_text()
    header = "| encoder | frontend | frontend params | encoder params | head params | total |"
    start = readme.index(header)
    end = readme.index("\n\n", start)
    printed = parameter_table.to_markdown(parameter_table.parameter_table())
    assert readme[start:end] == printed


HOME = "https://github.com/leaf-tf/leaf_tf/blob/main/"
RAW = "https://raw.githubusercontent.com/leaf-tf/leaf_tf/main/"


def test_readme_links_work_on_a_package_index():
    """PyPI shows the README without the repository: links and images are absolute, and each file of ours
    that they name exists; nothing points outside the repository but public sites."""
    readme = (ROOT / "README.md").read_text()
    targets = re.findall(r"\]\(([^)\s]+)\)", readme)
    assert targets
    for target in targets:
        assert target.startswith(("https://", "http://", "#")), f"relative link {target!r} breaks on a package index"
        for prefix in (HOME, RAW):
            if target.startswith(prefix):
                assert (ROOT / target[len(prefix):]).is_file(), target
    assert "../" not in readme and "shared/" not in readme.replace("shared learnable", "")


def test_readme_commands_are_installed_commands_with_shipped_configs():
    """Shell lines use `leaf-tf <command>` (not a clone's train.py or module paths), with known commands, and
    every `--gin_config` names a shipped config."""
    from leaf_tf import commands, configs

    readme = (ROOT / "README.md").read_text()
    shell = "\n".join(re.findall(r"```bash\n(.*?)```", readme, re.S))
    for pattern in (r"python (?:train|eval)\.py", r"python -m leaf_tf\.(?!frontends\b)"):
        assert not re.search(pattern, readme), pattern
    used = re.findall(r"leaf-tf (\w+)", readme)
    assert used and set(used) <= set(commands.COMMANDS), set(used) - set(commands.COMMANDS)
    names = re.findall(r"--gin_config[= ]([\w/$]+)", shell)
    assert names
    for name in names:
        if "$" not in name:
            configs.find(name)
