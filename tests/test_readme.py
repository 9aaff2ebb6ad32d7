"""The README's Python examples run as written."""

from __future__ import annotations

import os
import pathlib
import re

import gin
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]


def test_readme_python_examples_run(tmp_path, monkeypatch):
    blocks = re.findall(r"```python\n(.*?)```", (ROOT / "README.md").read_text(), re.S)
    assert blocks
    (tmp_path / "configs").symlink_to(ROOT / "configs")
    monkeypatch.chdir(tmp_path)
    try:
        for block in blocks:
            exec(compile(block, "README.md", "exec"), {})
    finally:
        gin.clear_config()
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
    (tmp_path / "configs").symlink_to(ROOT / "configs")
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
