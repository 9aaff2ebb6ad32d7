"""train.py / eval.py as users run them: resumption after SIGKILL, strategies, one-line errors.

These tests start Python subprocesses (a killed run, logical devices, two
workers), so they are slower than the rest.
"""

from __future__ import annotations

import csv
import importlib.util
import json
import pathlib
import signal
import socket
import subprocess
import sys
import time

import h5py
import pytest

from tests.training.conftest import subprocess_env

ROOT = pathlib.Path(__file__).resolve().parents[2]
TINY = ["configured_encoder.encoder = @ConvNet()", "ConvNet.filters = (8, 16)", "ConvNet.dropout = 0.0", "N_FILTERS = 16"]


def _train_command(workdir, data_dir, bindings=(), configs=("configs/frontends/mel.gin",)):
    command = [sys.executable, str(ROOT / "train.py"), f"--workdir={workdir}", f"--data_dir={data_dir}"]
    command += [f"--gin_config={c}" for c in configs]
    command += [f"--gin_bindings={b}" for b in [*TINY, *bindings]]
    return command


def _backups(workdir) -> list[pathlib.Path]:
    backup = pathlib.Path(workdir) / "backup"
    return sorted(backup.glob("epoch-*"), key=lambda p: int(p.name.split("-")[1])) if backup.exists() else []


def _assert_backup_complete(path: pathlib.Path) -> int:
    state = json.loads((path / "state.json").read_text())
    with h5py.File(path / "model.weights.h5", "r") as weights:
        assert "optimizer" in weights and "vars" in weights  # weights and optimizer state, fully written
    return state["step"]


@pytest.mark.slow
def test_sigkill_mid_run_then_resume_ends_as_an_uninterrupted_run(data_dir, tmp_path):
    bindings = ['train.tasks = "synthetic_event"', "train.batch_size = 4", "train.steps = 40",
                "train.steps_per_epoch = 4", "train.validation_clips = 4", "train.verbose = 0"]
    command = _train_command(tmp_path, data_dir, bindings)
    process = subprocess.Popen(command, env=subprocess_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.time() + 240
    while len(_backups(tmp_path)) < 2 and process.poll() is None and time.time() < deadline:
        time.sleep(0.05)
    assert process.poll() is None, "the run finished before it could be killed: " + process.stderr.read().decode()
    process.send_signal(signal.SIGKILL)
    process.wait()
    survivors = _backups(tmp_path)
    assert len(survivors) >= 2
    steps_before = [_assert_backup_complete(path) for path in survivors]  # nothing half-written counts
    assert steps_before == sorted(steps_before) and steps_before[-1] % 4 == 0
    resumed_from = int(survivors[-1].name.split("-")[1])

    finished = subprocess.run(command, env=subprocess_env(), capture_output=True, text=True, timeout=600)
    assert finished.returncode == 0, finished.stderr[-2000:]
    run = json.loads((tmp_path / "run.json").read_text())
    assert run["steps"] == 40
    assert len(run["history"]["loss"]) == 10 - resumed_from  # resumed, not restarted
    for path in _backups(tmp_path):
        _assert_backup_complete(path)
    assert not list((tmp_path / "backup").glob(".epoch-*"))  # no scratch left behind
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith(".")]  # nor of the killed atomic writes

    # The killed and resumed run is the uninterrupted run: same losses after the restart, same weights.
    uninterrupted = tmp_path / "uninterrupted"
    command = _train_command(uninterrupted, data_dir, bindings)
    finished = subprocess.run(command, env=subprocess_env(), capture_output=True, text=True, timeout=600)
    assert finished.returncode == 0, finished.stderr[-2000:]
    reference = json.loads((uninterrupted / "run.json").read_text())
    assert run["history"]["loss"] == reference["history"]["loss"][resumed_from:]
    with h5py.File(tmp_path / "backup" / "epoch-10" / "model.weights.h5") as a, \
            h5py.File(uninterrupted / "backup" / "epoch-10" / "model.weights.h5") as b:
        names = []
        a.visit(lambda name: names.append(name) if isinstance(a[name], h5py.Dataset) else None)
        assert names and all((a[name][()] == b[name][()]).all() for name in names)


MIRRORED_CHECK = """
import json, sys
import tensorflow as tf
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
import gin, keras
from leaf_tf import training
data_dir, workdir = sys.argv[1], sys.argv[2]
bindings = {bindings}
histories = {{}}
for strategy in ("default", "mirrored"):
    gin.clear_config()
    gin.parse_config_files_and_bindings(["configs/frontends/leaf.gin"], bindings)
    summary = training.train(f"{{workdir}}/{{strategy}}", data_dir, tasks="synthetic_scene", batch_size=8, steps=12,
                             steps_per_epoch=4, learning_rate=1e-3, validation_clips=6, strategy=strategy, verbose=0)
    histories[strategy] = summary["history"]["loss"], summary["replicas"]
try:
    training.train(f"{{workdir}}/odd", data_dir, tasks="synthetic_scene", batch_size=7, steps=2, strategy="mirrored")
except ValueError as error:
    histories["odd"] = str(error)
print(json.dumps(histories))
"""


@pytest.mark.slow
def test_mirrored_strategy_on_two_logical_cpus_matches_the_default_strategy(data_dir, tmp_path):
    # No batch statistics or dropout: replicas then compute exactly the global batch's gradient.
    bindings = [*TINY, "ConvNet.normalization = None"]
    script = MIRRORED_CHECK.format(bindings=bindings)
    result = subprocess.run([sys.executable, "-c", script, data_dir, str(tmp_path)], cwd=ROOT, env=subprocess_env(),
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    histories = json.loads(result.stdout.strip().splitlines()[-1])
    (default, one), (mirrored, two) = histories["default"], histories["mirrored"]
    assert (one, two) == (1, 2)
    assert mirrored == pytest.approx(default, rel=1e-4), (default, mirrored)
    assert "batch_size=7 is not divisible by the 2 replicas" in histories["odd"]


DATA_PARALLEL_CHECK = """
import json, os, sys
os.environ["KERAS_BACKEND"] = "jax"
os.environ["XLA_FLAGS"] = "--xla_force_host_platform_device_count=2"  # two CPU devices
import gin, keras
from leaf_tf import training
data_dir, workdir = sys.argv[1], sys.argv[2]
bindings = {bindings}
runs = {{"single": ("leaf", "synthetic_scene"), "multi": ("mel", ["synthetic_scene", "synthetic_event"])}}
results = {{}}
for kind, (frontend, tasks) in runs.items():
    for strategy in ("default", "data_parallel"):
        gin.clear_config()
        gin.parse_config_files_and_bindings([f"configs/frontends/{{frontend}}.gin"], bindings)
        summary = training.train(f"{{workdir}}/{{kind}}-{{strategy}}", data_dir, tasks=tasks, batch_size=8, steps=8,
                                 steps_per_epoch=4, learning_rate=1e-3, validation_clips=6, strategy=strategy,
                                 verbose=0)
        results[f"{{kind}} {{strategy}}"] = summary["history"], summary["replicas"]
    tasks = [training.loop.get_task(t) for t in ([tasks] if isinstance(tasks, str) else tasks)]
    validation = training.loop._validation_data(tasks, 8, data_dir, 1.0, False, 6)
    results[f"{{kind}} windows"] = sum(int(audio.shape[0]) for audio, _ in validation)
for strategy, batch in (("data_parallel", 7), ("mirrored", 8)):
    try:
        training.train(f"{{workdir}}/bad", data_dir, tasks="synthetic_scene", batch_size=batch, steps=2,
                       strategy=strategy)
    except ValueError as error:
        results[strategy + " error"] = str(error)
print(json.dumps(results))
"""


@pytest.mark.slow
@pytest.mark.skipif(importlib.util.find_spec("jax") is None, reason="JAX is not installed")
def test_jax_data_parallel_on_two_cpu_devices_matches_one_device(data_dir, tmp_path):
    """`train.strategy = "data_parallel"` on JAX: `keras.distribution.DataParallel` over two (forced) CPU devices
    trains and validates as one device does, the last validation batch padded with examples of weight 0."""
    bindings = [*TINY, "ConvNet.normalization = None"]  # no batch statistics: the same update on any split
    script = DATA_PARALLEL_CHECK.format(bindings=bindings)
    result = subprocess.run([sys.executable, "-c", script, data_dir, str(tmp_path)], cwd=ROOT, env=subprocess_env(),
                            capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
    results = json.loads(result.stdout.strip().splitlines()[-1])
    for kind in ("single", "multi"):
        (default, one), (parallel, two) = results[f"{kind} default"], results[f"{kind} data_parallel"]
        assert (one, two) == (1, 2)
        accuracies = [name for name in default if name.endswith("accuracy")]
        assert "val_accuracy" in accuracies and (kind == "single" or "val_synthetic_event_accuracy" in accuracies)
        assert results[f"{kind} windows"] % 2 == 1  # an odd count of validation windows: the last batch is padded
        for name in ["loss", *accuracies]:
            assert parallel[name] == pytest.approx(default[name], rel=1e-4), (kind, name, default, parallel)
    assert "batch_size=7 is not divisible by the 2 replicas" in results["data_parallel error"]
    assert "'mirrored' is not available on the jax backend" in results["mirrored error"]


def test_data_parallel_is_the_mirrored_strategy_on_tensorflow():
    import keras

    if keras.backend.backend() != "tensorflow":
        pytest.skip("a tf.distribute strategy")
    import tensorflow as tf

    from leaf_tf.training import make_strategy

    assert isinstance(make_strategy("data_parallel"), tf.distribute.MirroredStrategy)
    with pytest.raises(ValueError, match="Unknown strategy 'horovod'"):
        make_strategy("horovod")


def _free_ports(n):
    sockets = [socket.socket() for _ in range(n)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


@pytest.mark.slow
def _start_workers(workdir, data_dir, bindings) -> list[subprocess.Popen]:
    workers = [f"127.0.0.1:{port}" for port in _free_ports(2)]
    processes = []
    for index in range(2):
        env = subprocess_env()
        env["TF_CONFIG"] = json.dumps({"cluster": {"worker": workers}, "task": {"type": "worker", "index": index}})
        processes.append(subprocess.Popen(_train_command(workdir, data_dir, bindings), env=env,
                                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    return processes


def _finish(processes) -> None:
    outputs = [p.communicate(timeout=600) for p in processes]
    for process, (_, stderr) in zip(processes, outputs):
        assert process.returncode == 0, stderr[-3000:]


MULTI_WORKER = ["train.tasks = ['synthetic_scene', 'synthetic_event']", "train.batch_size = 8",
                "train.steps_per_epoch = 3", 'train.strategy = "multi_worker"', "train.validation_clips = 4"]


@pytest.mark.slow
def test_two_worker_multi_worker_mirrored_run_writes_what_fit_writes(data_dir, tmp_path):
    _finish(_start_workers(tmp_path, data_dir, [*MULTI_WORKER, "train.steps = 6"]))
    run = json.loads((tmp_path / "run.json").read_text())
    assert run["strategy"] == "multi_worker" and run["replicas"] == 2 and run["steps"] == 6
    assert (tmp_path / "final.keras").exists() and list((tmp_path / "checkpoints").glob("ckpt-6*"))
    history = run["history"]
    for key in ("loss", "val_accuracy", "val_synthetic_scene_accuracy", "val_synthetic_event_accuracy"):
        assert len(history[key]) == 2, key  # one value per epoch, as fit logs them
    assert history["val_accuracy"][1] == pytest.approx(
        (history["val_synthetic_scene_accuracy"][1] + history["val_synthetic_event_accuracy"][1]) / 2)
    best = json.loads((tmp_path / "best.keras.json").read_text())
    assert (tmp_path / "best.keras").exists() and best["value"] == pytest.approx(max(history["val_accuracy"]))
    for name in ("config.gin", "operative_config.gin", "checkpoints/settings.json"):
        assert (tmp_path / name).exists(), name
    assert list((tmp_path / "tensorboard" / "validation").glob("events.out.tfevents.*"))


@pytest.mark.slow
def test_two_workers_killed_together_resume_from_the_chiefs_checkpoint(data_dir, tmp_path):
    bindings = [*MULTI_WORKER, "train.steps = 60"]
    processes = _start_workers(tmp_path, data_dir, bindings)
    deadline = time.time() + 300
    while not list((tmp_path / "checkpoints").glob("ckpt-6.index")) and time.time() < deadline:
        assert all(p.poll() is None for p in processes), processes[0].stderr.read()[-3000:]
        time.sleep(0.05)
    for process in processes:
        process.send_signal(signal.SIGKILL)
        process.wait()
    resumed_from = max(int(p.name.split("-")[1].split(".")[0]) for p in (tmp_path / "checkpoints").glob("ckpt-*.index"))
    assert 6 <= resumed_from < 60

    _finish(_start_workers(tmp_path, data_dir, bindings))
    run = json.loads((tmp_path / "run.json").read_text())
    assert run["steps"] == 60 and len(run["history"]["loss"]) == (60 - resumed_from) // 3  # resumed, not restarted
    assert (tmp_path / "final.keras").exists() and (tmp_path / "best.keras").exists()


def _run_cli(arguments, cwd=ROOT):
    return subprocess.run([sys.executable, *arguments], cwd=cwd, env=subprocess_env(), capture_output=True, text=True,
                          timeout=300)


def _one_line_error(result, program, fragment):
    assert result.returncode == 2, result.stderr[-2000:]
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, lines  # the error alone: no start-up notices, no library logs
    assert lines[0].startswith(f"{program}: error: ") and fragment in lines[0], lines
    assert "Traceback" not in result.stderr


@pytest.fixture
def used_workdir(tmp_path):
    """A workdir that already holds files: failed commands must leave them alone."""
    workdir = tmp_path / "run"
    (workdir / "backup" / "epoch-3").mkdir(parents=True)
    (workdir / "backup" / "epoch-3" / "state.json").write_text('{"epoch": 3, "step": 30}')
    (workdir / "config.gin").write_text("# from an earlier run\n")
    yield workdir
    assert (workdir / "config.gin").read_text() == "# from an earlier run\n"
    assert (workdir / "backup" / "epoch-3" / "state.json").exists()


@pytest.mark.slow
@pytest.mark.parametrize(
    "case, fragment",
    [
        ("unknown_binding", "No configurable matching 'Leafy'"),
        ("missing_gin_file", "gin config file not found: configs/no_such_file.gin"),
        ("dataset_not_prepared", "'crema_d', which is not prepared in"),
        ("zero_steps", "steps and steps_per_epoch must be positive"),
    ],
)
def test_train_errors_are_one_line_and_keep_the_workdir(case, fragment, used_workdir, tmp_path):
    bindings = ['train.tasks = "synthetic_event"']
    configs = ["configs/frontends/mel.gin"]
    data_dir = tmp_path / "empty_data_dir"
    if case == "unknown_binding":
        bindings.append("Leafy.n_filters = 3")
    elif case == "missing_gin_file":
        configs.append("configs/no_such_file.gin")
    elif case == "dataset_not_prepared":
        bindings = ['train.tasks = "emotion"']
    elif case == "zero_steps":
        bindings.append("train.steps = 0")
        data_dir = tmp_path / "data"
    result = _run_cli(_train_command(used_workdir, data_dir, bindings, configs)[1:])
    _one_line_error(result, "train.py", fragment)


@pytest.mark.slow
def test_unwritable_workdir_is_a_one_line_error(tmp_path):
    blocker = tmp_path / "a_file"
    blocker.write_text("not a directory")
    result = _run_cli(_train_command(blocker / "run", tmp_path, ['train.tasks = "synthetic_event"'])[1:])
    _one_line_error(result, "train.py", "is not writable")
    assert blocker.read_text() == "not a directory"


@pytest.mark.slow
def test_eval_errors(tmp_path):
    _one_line_error(_run_cli(["eval.py", f"--workdir={tmp_path / 'missing'}"]), "eval.py", "does not exist")
    _one_line_error(_run_cli(["eval.py", f"--workdir={tmp_path}"]), "eval.py", "has no run.json: train first")


def test_report_error_names_the_missing_results(tmp_path):
    result = _run_cli(["-m", "leaf_tf.report", str(tmp_path)])
    assert result.returncode != 0 and "has no results.json: run leaf-tf eval" in result.stderr




@pytest.mark.slow
def test_your_own_audio_from_folder_to_train_eval_predict_extract_and_plot(tmp_path):
    """The README's "Your own audio" walk, command by command (tiny sizes): run.json records the folder task, so
    eval.py and the inference commands, each a fresh process, need only the workdir."""
    import numpy as np
    import soundfile as sf

    root = tmp_path / "sounds"
    rng = np.random.default_rng(0)
    for split, count in (("train", 6), ("test", 3)):
        for label, freq in (("high", 2000.0), ("low", 300.0)):
            for index in range(count):
                path = root / split / label / f"{index}.wav"
                path.parent.mkdir(parents=True, exist_ok=True)
                t = np.arange(16000) / 16000
                audio = 0.3 * np.sin(2 * np.pi * freq * t) + 0.01 * rng.standard_normal(t.size)
                sf.write(str(path), audio.astype(np.float32), 16000)
    # Skipped when the folder is prepared: NaN samples, a corrupt file. Kept: stereo at 44.1 kHz.
    sf.write(str(root / "train" / "high" / "nan.wav"), np.full(16000, np.nan, np.float32), 16000, subtype="FLOAT")
    (root / "train" / "low" / "corrupt.wav").write_bytes(b"RIFF\x10\x00\x00\x00WAVEjunk")
    t = np.arange(44100) / 44100
    stereo = np.stack([np.sin(2 * np.pi * 300.0 * t), 0.5 * np.sin(2 * np.pi * 300.0 * t)], axis=1)
    sf.write(str(root / "test" / "low" / "stereo.wav"), (0.3 * stereo).astype(np.float32), 44100)
    t = np.arange(40000) / 16000  # 2.5 s: three windows, the last one overlapping
    sf.write(str(root / "test" / "high" / "long.flac"), (0.3 * np.sin(2 * np.pi * 2000.0 * t)).astype(np.float32), 16000)
    workdir, data_dir = tmp_path / "run", tmp_path / "tfds"
    bindings = [f'audio_folder_task.root = "{root}"', "train.steps = 4", "train.steps_per_epoch = 2",
                "train.batch_size = 4"]
    trained = _run_cli(_train_command(workdir, data_dir, bindings,
                                      ("configs/leaf.gin", "configs/tasks/audio_folder.gin"))[1:])
    assert trained.returncode == 0, trained.stderr[-3000:]
    run = json.loads((workdir / "run.json").read_text())
    assert run["task_definitions"] == [{
        "name": "audio_folder", "tfds_name": f"audio_folder:{root}", "num_classes": 2, "multi_label": False,
        "sample_rate": 16000, "splits": {"train": "train[:90%]", "validation": "train[90%:]", "test": "test"},
        "class_names": ["high", "low"], "folder": str(root),
    }]

    evaluated = _run_cli(["eval.py", f"--workdir={workdir}", f"--data_dir={data_dir}"])
    assert evaluated.returncode == 0, evaluated.stderr[-3000:]
    result = json.loads((workdir / "results.json").read_text())["tasks"]["audio_folder"]
    assert result["count"] == 8 and sorted(result["labels"]) == [0, 0, 0, 0, 1, 1, 1, 1]
    assert result["class_names"] == ["high", "low"] and "audio_folder: accuracy" in evaluated.stdout

    # predict: class names and scores per file, by the full-clip protocol.
    predicted = _run_cli(["-m", "leaf_tf.inference", "predict", "--model", str(workdir), "--top_k", "2",
                          "--output", str(tmp_path / "predictions.csv"), str(root / "test")])
    assert predicted.returncode == 0, predicted.stderr[-3000:]
    with open(tmp_path / "predictions.csv") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 8 * 2 and {row["class"] for row in rows} == {"high", "low"}
    assert {row["rank"] for row in rows} == {"1", "2"} and {row["task"] for row in rows} == {"audio_folder"}
    scores = {(row["file"], row["class"]): float(row["score"]) for row in rows}
    import keras

    import leaf_tf  # noqa: F401
    from leaf_tf.data.audio_io import load_audio

    model = keras.models.load_model(workdir / "best.keras", compile=False)
    for name in ("test/high/long.flac", "test/low/stereo.wav"):
        audio = load_audio(root / name, 16000)
        starts = [min(i * 16000, len(audio) - 16000) for i in range(-(-len(audio) // 16000))]
        logits = np.asarray(model(np.stack([audio[s:s + 16000] for s in starts]))).mean(axis=0)
        expected = np.exp(logits - logits.max()) / np.exp(logits - logits.max()).sum()
        got = [scores[(str(root / name), label)] for label in ("high", "low")]
        np.testing.assert_allclose(got, expected, atol=2e-6)

    # extract: the frontend's representation of each whole clip, and the clip embeddings as .npy files.
    extracted = _run_cli(["-m", "leaf_tf.inference", "extract", "--model", str(workdir), "--what", "frontend",
                          "--output", str(tmp_path / "frontend.npz"), str(root / "test")])
    assert extracted.returncode == 0, extracted.stderr[-3000:]
    features = np.load(tmp_path / "frontend.npz")
    assert len(features.files) == 8 and features[str(root / "test/high/long.flac")].shape == (250, 16)
    extracted = _run_cli(["-m", "leaf_tf.inference", "extract", "--model", str(workdir), "--output",
                          str(tmp_path / "embeddings"), str(root / "test")])
    assert extracted.returncode == 0, extracted.stderr[-3000:]
    embeddings = sorted((tmp_path / "embeddings").rglob("*.npy"))
    assert len(embeddings) == 8 and (tmp_path / "embeddings" / "high" / "long.npy") in embeddings
    assert np.load(tmp_path / "embeddings" / "high" / "long.npy").shape == (16,)

    plotted = _run_cli(["-m", "leaf_tf.plot", "filters", "--workdir", str(workdir), "--output",
                        str(tmp_path / "filters.png")])
    assert plotted.returncode == 0, plotted.stderr[-3000:]
    assert (tmp_path / "filters.png").read_bytes()[:4] == b"\x89PNG"

    # The folder moved: eval.py says so in one line, and a binding points it to the new place.
    root.rename(tmp_path / "moved")
    _one_line_error(_run_cli(["eval.py", f"--workdir={workdir}", f"--data_dir={data_dir}"]), "eval.py",
                    "which is not there any more")
    moved = _run_cli(["eval.py", f"--workdir={workdir}", f"--data_dir={data_dir}",
                      f"--gin_bindings=audio_folder_task.root = \"{tmp_path / 'moved'}\""])
    assert moved.returncode == 0, moved.stderr[-3000:]
    assert json.loads((workdir / "results.json").read_text())["tasks"]["audio_folder"]["count"] == 8


@pytest.mark.slow
def test_an_unknown_frontend_stops_the_quickstart_before_anything_runs(tmp_path):
    result = _run_cli(["-m", "leaf_tf.quickstart", "--frontends", "mel", "lef", "--workdir", str(tmp_path / "qs")])
    _one_line_error(result, "leaf-tf quickstart", "unknown frontend 'lef': choose from leaf, mel")
    assert not (tmp_path / "qs").exists()


@pytest.mark.slow
def test_nan_loss_and_a_resume_with_other_settings_are_one_line_errors(data_dir, tmp_path):
    base = ['train.tasks = "synthetic_event"', "train.batch_size = 4", "train.steps = 2", "train.steps_per_epoch = 2",
            "train.validation_clips = 4"]
    nan = _run_cli(_train_command(tmp_path / "nan", data_dir, [*base, "train.learning_rate = 1e30"])[1:])
    _one_line_error(nan, "train.py", "The training loss became NaN or infinite at step")

    finished = _run_cli(_train_command(tmp_path / "run", data_dir, base)[1:])
    assert finished.returncode == 0, finished.stderr[-3000:]
    before = (tmp_path / "run" / "config.gin").read_text()
    changed = _run_cli(_train_command(tmp_path / "run", data_dir, [*base, "train.steps = 4",
                                                                   "train.learning_rate = 0.5"])[1:])
    _one_line_error(changed, "train.py", "holds a run trained with other settings (learning_rate 0.0001 -> 0.5)")
    assert (tmp_path / "run" / "config.gin").read_text() == before
