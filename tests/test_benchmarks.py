"""Smoke test of `benchmarks/frontends.py`, so that the script cannot rot (tiny inputs, a tiny encoder)."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

BENCHMARK = Path(__file__).resolve().parents[1] / "benchmarks" / "frontends.py"


def _load(name: str, path: Path):
    """A benchmark script as a module (registered under `name`, as the scripts load each other)."""
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module  # dataclasses look their module up there
        spec.loader.exec_module(module)
    return sys.modules[name]


def _load_benchmark_module():
    return _load("benchmarks_frontends", BENCHMARK)


def test_quick_benchmark_run(tmp_path, capsys):
    benchmark = _load_benchmark_module()
    output = tmp_path / "results.json"
    [results] = benchmark.main(["--quick", "--frontends", "mel", "leaf", "leaf_reference", "--json", str(output)])
    printed = capsys.readouterr().out
    assert [r.frontend for r in results] == ["mel", "leaf", "leaf_reference"]
    for result in results:
        assert set(result.forward_ms) == set(benchmark.QUICK_SETTINGS)
        assert all(t > 0 for t in [*result.forward_ms.values(), *result.forward_backward_ms.values()])
        assert result.train_step_ms > 0
        assert set(result.forward_peak_mib) == set(benchmark.QUICK_SETTINGS)
    assert "| leaf_reference |" in printed and "LEAF vs reference-equivalent LEAF" in printed
    assert "Training step leaf / mel" in printed
    assert "Cost per second of audio relative to 2x0.2s" in printed
    assert json.loads(output.read_text())["results"][1]["frontend"] == "leaf"


OTHER_BACKENDS = [
    name
    for name, module in (("tensorflow", "tensorflow"), ("jax", "jax"), ("torch", "torch"))
    if importlib.util.find_spec(module) is not None and name != os.environ.get("KERAS_BACKEND", "tensorflow")
]


@pytest.mark.slow
@pytest.mark.parametrize("backend", OTHER_BACKENDS)
def test_quick_benchmark_run_on_another_backend(backend, tmp_path):
    """`--backend` measures the same table on another Keras backend (a process of its own)."""
    output = tmp_path / "results.json"
    environment = {key: value for key, value in os.environ.items() if key != "KERAS_BACKEND"}
    result = subprocess.run(
        [sys.executable, str(BENCHMARK), "--quick", "--backend", backend, "--frontends", "mel", "leaf",
         "leaf_reference", "--json", str(output)],
        env=environment, capture_output=True, text=True, cwd=tmp_path,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "| leaf_reference |" in result.stdout and "Training step leaf / mel" in result.stdout
    written = json.loads(output.read_text())
    assert written["backend"] == backend and f"backend {backend}" in written["machine"]
    for entry in written["results"]:
        times = [*entry["forward_ms"].values(), *entry["forward_backward_ms"].values(), entry["train_step_ms"]]
        assert all(t > 0 for t in times)
        # Peak memory comes from TensorFlow's allocator: reported there only.
        assert all((peak is None) == (backend != "tensorflow") for peak in entry["peak_mib"].values())


def test_backend_must_be_chosen_before_keras_is_imported():
    benchmark = _load_benchmark_module()
    assert benchmark._backend_from_argv(["--quick", "--backend", "jax"]) == "jax"
    assert benchmark._backend_from_argv(["--backend=torch"]) == "torch"
    assert benchmark._backend_from_argv(["--quick"]) is None
    other = next(name for name in benchmark.BACKENDS if name != benchmark.keras.backend.backend())
    with pytest.raises(SystemExit):
        benchmark.main(["--quick", "--backend", other])


def test_reference_leaf_matches_fast_leaf():
    """The benchmark's reference-equivalent LEAF computes the same features as the default one."""
    import numpy as np

    import leaf_tf
    from tests.helpers import global_relative_error, make_signal

    benchmark = _load_benchmark_module()
    x = make_signal(4000)
    reference, fast = benchmark.reference_leaf(), leaf_tf.Leaf(n_filters=benchmark.N_FILTERS)
    reference(x)
    fast(x)
    fast.set_weights(reference.get_weights())
    assert global_relative_error(np.asarray(fast(x)), np.asarray(reference(x))) <= 1e-5


def _result(benchmark, name, scale, step):
    settings = benchmark.QUICK_SETTINGS
    return benchmark.Result(
        name,
        forward_ms={setting: scale * (1 + index) for index, setting in enumerate(settings)},
        forward_backward_ms={setting: 2 * scale * (1 + index) for index, setting in enumerate(settings)},
        peak_mib={setting: scale for setting in settings},
        train_step_ms=step,
    )


def test_ratios_over_runs_report_median_and_range():
    benchmark = _load_benchmark_module()
    settings = benchmark.QUICK_SETTINGS  # 2 x 0.2 s, then 1 x 0.5 s: 1.25 times the audio
    runs = [
        [_result(benchmark, "mel", 1.0, 10.0), _result(benchmark, "leaf", 3.0, 12.0), _result(benchmark, "leaf_reference", 9.0, 20.0)],
        [_result(benchmark, "mel", 1.0, 10.0), _result(benchmark, "leaf", 4.0, 15.0), _result(benchmark, "leaf_reference", 9.0, 30.0)],
        [_result(benchmark, "mel", 1.0, 10.0), _result(benchmark, "leaf", 2.0, 13.0), _result(benchmark, "leaf_reference", 9.0, 25.0)],
    ]
    collected = benchmark.collect(runs, settings)
    assert collected["leaf 2x0.2s fwd"] == [3.0, 4.0, 2.0]
    assert collected["leaf step"] == pytest.approx([1.2, 1.5, 1.3])
    assert collected["speed-up 2x0.2s fwd"] == pytest.approx([3.0, 2.25, 4.5])
    # The second setting costs twice the time for 1.25 times the audio.
    assert collected["leaf per-second 1x0.5s fwd+bwd"] == pytest.approx([1.6, 1.6, 1.6])
    table = benchmark.runs_table(runs, settings, "tiny CNN")
    assert "| leaf | 3.0× (2.0–4.0) |" in table
    assert "1.30× (1.20–1.50)" in table
    text = benchmark.summary(collected, ["mel", "leaf", "leaf_reference"], settings)
    assert "forward 3.0× (2.2–4.5) faster" in text
    assert "Training step leaf / mel: 1.30× (1.20–1.50)" in text
    assert "1x0.5s: 1.60× (1.60–1.60), 1.60× (1.60–1.60)" in text


def test_machine_description_names_the_instruction_sets():
    benchmark = _load_benchmark_module()
    text = benchmark.machine_description("cpu")
    assert "CPU cores (instruction sets:" in text and "TensorFlow" in text


def _load_reference_timing():
    return _load("benchmarks_reference_timing", BENCHMARK.parent / "reference_timing.py")


def test_reference_timing_needs_a_checkout_of_the_reference(tmp_path):
    timing = _load_reference_timing()
    with pytest.raises(SystemExit, match="git clone https://github.com/google-research/leaf-audio"):
        timing.load_reference_code(str(tmp_path))


def test_reference_timing_reports_ratios_over_runs():
    timing = _load_reference_timing()

    def run(reference, yardstick, leaf, transforms):
        times = {"reference": reference, "leaf_reference": yardstick, "leaf": leaf, "transforms": transforms}
        return {
            "machine": "a machine",
            "load_average": "0.5",
            "agreement": {"8x1s": {"reference": 1e-6, "leaf_reference": 2e-7}},
            "milliseconds": {f"{kind} {name} 8x1s": ms for name, ms in times.items() for kind in ("fwd", "fwd+bwd")},
        }

    runs = [run(60.0, 50.0, 20.0, 10.0), run(90.0, 100.0, 30.0, 20.0), run(80.0, 80.0, 40.0, 16.0)]
    text = timing.report(runs, ["8x1s"])
    # reference ÷ leaf_reference: 1.2, 0.9, 1.0; reference ÷ leaf: 3.0, 3.0, 2.0; ÷ transforms: 6.0, 4.5, 5.0.
    assert "| 8x1s | fwd | 80.0 | 80.0 | 30.0 | 16.0 | 1.00× (0.90–1.20) | 3.00× (2.00–3.00) | 5.00× (4.50–6.00) |" in text
    assert "reference code 1.0e-06, leaf_reference 2.0e-07" in text


def test_reference_timing_transforms_are_the_fused_pass_ffts():
    """The FFT-only yardstick transforms what the fused pass would: its plan's blocks, every filter."""
    import leaf_tf
    from leaf_tf import ops

    timing = _load_reference_timing()
    leaf = leaf_tf.Leaf(n_filters=6)
    leaf(np.zeros((2, 4000), np.float32))
    (forward, (spectra,)), (forward_backward, (same_spectra, gradients)) = timing.transform_functions(leaf, 2, 4000)
    plan = ops.fused_pass_plan(4000, 401, 401, 160)
    assert spectra.shape == (2 * plan.num_blocks, 12, plan.fft_length // 2 + 1) and same_spectra is spectra
    assert gradients.shape == (2 * plan.num_blocks, 12, plan.hop)
    assert forward(spectra).shape == (2 * plan.num_blocks, 12, 1)
    # The blocks cover every energy the 25 frames need: (25 + 3 - 1) x 160 samples, in multiples of 160.
    assert plan.hop % 160 == 0 and plan.num_blocks * plan.hop >= 27 * 160 > (plan.num_blocks - 1) * plan.hop


@pytest.mark.slow
def test_prepare_audioset_benchmark_smoke(capsys):
    pytest.importorskip("apache_beam", reason="apache-beam is not installed (pip install 'leaf_tf[beam]')")
    benchmark = _load("benchmarks_prepare_audioset", BENCHMARK.parent / "prepare_audioset.py")
    output = benchmark.main(["--clips", "6", "--seconds", "1", "--runs", "1", "--decode_threads", "2"])
    [run] = output["runs"]
    assert [run[mode]["clips"] for mode in benchmark.MODES] == [6, 6, 6]
    assert run["sequential"]["ratio"] == 1 and all(run[mode]["clips_per_second"] > 0 for mode in benchmark.MODES)
    printed = capsys.readouterr().out
    assert "| one process, 2 decoding threads (`leaf-tf prepare`) |" in printed and "CPU cores" in printed


def _load_fused_layouts():
    return _load("benchmarks_fused_layouts", BENCHMARK.parent / "fused_layouts.py")


def test_fused_layouts_parse_and_reject_bad_layouts():
    layouts = _load_fused_layouts()
    assert layouts.parse_layout("2x4") == (2, 4) and layouts.parse_layout("16X1") == (16, 1)
    for bad in ("2", "2x", "0x4", "2x0", "axb"):
        with pytest.raises(Exception, match="layout"):
            layouts.parse_layout(bad)
    with pytest.raises(SystemExit):
        layouts.main(["--layouts", "2x4", "three"])


def test_fused_layouts_time_the_same_features_and_restore_the_defaults(monkeypatch):
    """Every layout is traced with its own split, computes the default's features, and the module
    constants are the defaults again afterwards."""
    from leaf_tf import ops

    layouts = _load_fused_layouts()
    benchmark = _load_benchmark_module()
    monkeypatch.setitem(benchmark.SETTINGS, "1x0.3s", (1, 4800))
    defaults = ops.CONCURRENT_PARTS, ops.GROUP_CHANNELS
    run = layouts.measure(["2x4", "1x1", "3x2"], ["1x0.3s"], repeats=1)
    assert (ops.CONCURRENT_PARTS, ops.GROUP_CHANNELS) == defaults
    assert set(run["disagreement"]) == {"2x4 1x0.3s", "1x1 1x0.3s", "3x2 1x0.3s"}
    assert max(run["disagreement"].values()) <= 1e-5
    assert set(run["milliseconds"]) == {f"{kind} {layout} 1x0.3s" for kind in ("fwd", "fwd+bwd") for layout in ("2x4", "1x1", "3x2")}
    text = layouts.report([run, run], ["2x4", "1x1", "3x2"], ["1x0.3s"])
    assert "| 1x0.3s | fwd | 2x4 |" in text and "| 1.00× (1.00–1.00) |" in text


def test_pcen_chunks_time_the_same_outputs_and_restore_the_default(monkeypatch):
    from leaf_tf import ops

    chunks = _load("benchmarks_pcen_chunks", BENCHMARK.parent / "pcen_chunks.py")
    monkeypatch.setitem(chunks.SETTINGS, "2x70", (2, 70))
    default = ops.EMA_CHUNK_LENGTH
    run = chunks.measure([default, 4, 64], ["2x70"], repeats=1)
    assert ops.EMA_CHUNK_LENGTH == default
    assert max(run["disagreement"].values()) <= 1e-5
    assert len(run["milliseconds"]) == 6 and all(value > 0 for value in run["milliseconds"].values())
    text = chunks.report([run], [default, 4, 64], ["2x70"])
    assert "| 2x70 | fwd+bwd | 64 |" in text
