"""The installed command line: `leaf-tf <command>`, shipped configs by short name, fast `--help`, no-TF message."""

from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys

import gin
import pytest

from leaf_tf import cli, commands, compare, configs, parameter_table
from leaf_tf.encoders import ENCODERS
from leaf_tf.frontends import FRONTENDS

ROOT = pathlib.Path(__file__).resolve().parents[1]


def _python(code: str, cwd=None, env=None) -> subprocess.CompletedProcess:
    environment = dict(os.environ, PYTHONPATH=str(ROOT), **(env or {}))
    return subprocess.run([sys.executable, "-c", code], cwd=cwd, env=environment, capture_output=True, text=True,
                          timeout=300)


@pytest.fixture(autouse=True)
def clean_gin():
    gin.clear_config()
    yield
    gin.clear_config()


def test_shipped_configs_are_named_by_their_path_without_gin():
    names = configs.names()
    assert {"leaf", "quickstart", "frontends/mel", "tasks/speech_commands", "paper/table3_leaf",
            "paper/table4_leaf_efficientnet_b0"} <= set(names)
    assert all(not name.endswith(".gin") and not name.startswith("/") for name in names)
    assert configs.find("paper/table3_leaf") == configs.DIRECTORY / "paper" / "table3_leaf.gin"


def test_find_takes_short_names_old_spellings_and_files_on_disk(tmp_path, monkeypatch):
    shipped = configs.DIRECTORY / "frontends" / "leaf.gin"
    for spelling in ("frontends/leaf", "frontends/leaf.gin", "configs/frontends/leaf.gin"):
        assert configs.find(spelling) == shipped
    monkeypatch.chdir(tmp_path)
    mine = tmp_path / "leaf.gin"
    mine.write_text("N_FILTERS = 8\n")
    assert configs.find("leaf.gin") == pathlib.Path("leaf.gin")  # a file on disk wins over a shipped name
    assert configs.find(str(mine)) == mine
    assert configs.short_name("configs/frontends/leaf.gin") == "frontends/leaf"
    assert configs.short_name(str(mine)) == str(mine)


def test_unknown_config_names_the_closest_shipped_ones():
    with pytest.raises(cli.UsageError, match=r"gin config file not found: frontends/leaff .*Did you mean frontends/leaf"):
        cli.find_config("frontends/leaff")
    with pytest.raises(cli.UsageError, match="leaf-tf configs` lists the shipped configs"):
        cli.find_config("no/such/thing")


def test_shipped_configs_parse_by_short_name_from_any_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no configs/ folder here: include lines must resolve through the package
    cli.parse_gin(["paper/table4_leaf_efficientnet_b0"], [])
    assert gin.query_parameter("%FRONTEND").selector == "Leaf"
    assert gin.query_parameter("train.tasks") == "audioset"


@pytest.mark.parametrize("include", ["leaf_tf/configs/frontends/mel.gin", "configs/frontends/mel.gin"])
def test_your_own_gin_file_includes_shipped_configs(tmp_path, monkeypatch, include):
    monkeypatch.chdir(tmp_path)
    mine = tmp_path / "mine.gin"
    mine.write_text(f'include "{include}"\ninclude "leaf_tf/configs/quickstart.gin"\ntrain.steps = 7\n')
    cli.parse_gin([str(mine)], ["train.batch_size = 3"])
    assert gin.query_parameter("%FRONTEND").selector == "MelFilterbanks"
    assert gin.query_parameter("train.steps") == 7 and gin.query_parameter("train.batch_size") == 3


def test_static_name_lists_match_the_registries():
    """The commands list frontends and encoders without importing TensorFlow; the lists are the registries'."""
    assert sorted(commands.FRONTEND_NAMES) == sorted(FRONTENDS)
    assert sorted(parameter_table.ENCODER_NAMES) == sorted(ENCODERS)


def test_compare_accepts_an_arm_recorded_with_the_old_config_spelling(tmp_path):
    arms = compare.make_arms(["mel"], [], ["quickstart"], [])
    old = {"frontend": "mel", "configs": ["configs/frontends/mel.gin", "configs/quickstart.gin"], "bindings": []}
    (tmp_path / compare.COMPARE_FILE).write_text(json.dumps({"arms": {"mel": old}}))
    compare.check_manifest(tmp_path, arms)  # the same arm: no error
    changed = compare.make_arms(["mel"], [], ["quickstart"], ["train.steps = 3"])
    with pytest.raises(cli.UsageError, match="holds runs of another 'mel'"):
        compare.check_manifest(tmp_path, changed)


def test_every_command_answers_help_without_importing_tensorflow():
    code = """
import sys
name = " ".join(sys.argv[1:])
sys.argv = ["leaf-tf", *sys.argv[1:]]
from leaf_tf.commands import main
try:
    main(sys.argv[1:])
except SystemExit as stop:
    assert stop.code in (None, 0), stop.code
assert "tensorflow" not in sys.modules and "keras" not in sys.modules, name
"""
    names = [[name, "--help"] for name in commands.COMMANDS if name != "configs"]
    for argv in [[], ["--help"], ["--version"], ["configs"], ["plot", "filters", "--help"], *names]:
        done = subprocess.run([sys.executable, "-c", code, *argv], capture_output=True, text=True, timeout=120,
                              env=dict(os.environ, PYTHONPATH=str(ROOT)))
        assert done.returncode == 0, (argv, done.stderr)
        assert done.stdout.strip(), argv
        if argv[-1:] == ["--help"] and argv[0] in commands.COMMANDS:
            assert f"leaf-tf {argv[0]}" in done.stdout, (argv, done.stdout[:300])


def test_dispatcher_runs_subcommands_and_rejects_unknown_ones(tmp_path):
    done = subprocess.run([sys.executable, "-m", "leaf_tf", "train", "--help"], capture_output=True, text=True,
                          env=dict(os.environ, PYTHONPATH=str(ROOT)), timeout=120)
    assert done.returncode == 0 and "--gin_config" in done.stdout and "--workdir" in done.stdout
    done = subprocess.run([sys.executable, "-m", "leaf_tf", "trian"], capture_output=True, text=True,
                          env=dict(os.environ, PYTHONPATH=str(ROOT)), timeout=120)
    assert done.returncode == 2 and done.stderr.startswith("leaf-tf: error: unknown command 'trian'")
    done = subprocess.run([sys.executable, "-m", "leaf_tf", "configs"], capture_output=True, text=True,
                          env=dict(os.environ, PYTHONPATH=str(ROOT)), timeout=120)
    assert done.returncode == 0 and "paper/table3_leaf " in done.stdout


def test_without_tensorflow_import_and_commands_say_which_extra_to_install(tmp_path):
    hide = "import sys; sys.modules['tensorflow'] = None; "  # `import tensorflow` now fails as if not installed
    done = _python(hide + "import leaf_tf")
    assert done.returncode != 0 and "pip install 'leaf_tf[tensorflow]'" in done.stderr
    assert "'leaf_tf[cpu]'" in done.stderr and "'leaf_tf[and-cuda]'" in done.stderr
    command = (hide + "sys.argv = ['leaf-tf', 'eval', '--workdir', 'run']; from leaf_tf.commands import main; "
               "main(sys.argv[1:])")
    done = _python(command, cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [f"leaf-tf eval: error: {_first_line_of_no_tensorflow()}"]


def _first_line_of_no_tensorflow() -> str:
    from leaf_tf import _startup

    return _startup.NO_TENSORFLOW


def test_argparse_commands_drop_library_warnings_logged_through_absl():
    """A command without an absl app (quickstart, compare, predict, ...): a library's absl warning (e.g. TFDS'
    deprecation notices) must not reach stderr through `logging.basicConfig`, which absl installs otherwise."""
    done = _python("import sys; sys.argv = ['leaf-tf', 'quickstart']; from leaf_tf import cli; "
                   "cli.quiet_library_logs(); from absl import logging; logging.warning('a library notice'); "
                   "logging.error('an error'); import logging as std; print(len(std.root.handlers))")
    assert done.returncode == 0, done.stderr
    assert "a library notice" not in done.stderr and "an error" in done.stderr
    assert done.stdout.strip() == "1"


def test_the_version_is_written_once():
    """`leaf_tf.__version__` is the only copy: the package metadata reads it, the changelog has its section."""
    import leaf_tf

    text = (ROOT / "pyproject.toml").read_text()
    assert 'dynamic = ["version"]' in text and 'version = { attr = "leaf_tf.__version__" }' in text
    assert f"## [{leaf_tf.__version__}] - " in (ROOT / "CHANGELOG.md").read_text()
    for name in ("README.md", "CITATION.cff", "pyproject.toml"):
        assert leaf_tf.__version__ not in (ROOT / name).read_text().replace("cff-version: 1.2.0", ""), name


@pytest.mark.parametrize("setting", [None, "false"])
def test_import_makes_tensorflow_pool_cpu_memory_unless_told_otherwise(setting):
    """`import leaf_tf` sets TensorFlow's CPU allocator to its BFC pool (see leaf_tf/_startup.py) unless the
    variable is set: the pool keeps allocator statistics, TensorFlow's plain allocator (without oneDNN) has none."""
    env = {} if setting is None else {"TF_CPU_ALLOCATOR_USE_BFC": setting, "TF_ENABLE_ONEDNN_OPTS": "0"}
    done = _python(
        ("import os; os.environ.pop('TF_CPU_ALLOCATOR_USE_BFC', None)\n" if setting is None else "")
        + "import os, tensorflow as tf, leaf_tf; kept = tf.zeros([4096]) + 1; print(os.environ['TF_CPU_ALLOCATOR_USE_BFC']); "
        "print(tf.config.experimental.get_memory_info('CPU:0')['current'] > 0)",
        env=env,
    )
    if setting is None:
        assert done.returncode == 0, done.stderr
        assert done.stdout.split() == ["true", "True"]
    else:  # no pool: TensorFlow's plain allocator keeps no statistics
        assert "Allocator stats not available" in done.stderr
