"""Smoke test of `benchmarks/frontends.py`, so that the script cannot rot (tiny inputs, a tiny encoder)."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

BENCHMARK = Path(__file__).resolve().parents[1] / "benchmarks" / "frontends.py"


def _load_benchmark_module():
    name = "benchmarks_frontends"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, BENCHMARK)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module  # dataclasses look their module up there
        spec.loader.exec_module(module)
    return sys.modules[name]


def test_quick_benchmark_run(tmp_path, capsys):
    benchmark = _load_benchmark_module()
    output = tmp_path / "results.json"
    results = benchmark.main(["--quick", "--frontends", "mel", "leaf", "leaf_reference", "--json", str(output)])
    printed = capsys.readouterr().out
    assert [r.frontend for r in results] == ["mel", "leaf", "leaf_reference"]
    for result in results:
        assert set(result.forward_ms) == set(benchmark.QUICK_SETTINGS)
        assert all(t > 0 for t in [*result.forward_ms.values(), *result.forward_backward_ms.values()])
        assert result.train_step_ms > 0
    assert "| leaf_reference |" in printed and "LEAF vs reference-equivalent LEAF" in printed
    assert "Training step LEAF / Mel" in printed
    assert json.loads(output.read_text())["results"][1]["frontend"] == "leaf"


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
