"""LEAF's speed measured against the reference implementation's own code, in one process.

`frontends.py` reports LEAF's speed-up over `leaf_reference`, a LEAF computed
with the reference's formulation (401-tap `tf.nn.conv1d`, transpose-based
squared modulus, depthwise Gaussian pooling, `tf.scan` PCEN) inside leaf_tf.
This script checks that yardstick against the real thing: it loads the
reference code (google-research/leaf-audio, Keras 2) from a checkout you
provide, gives it leaf_tf's weights, checks that both compute the same
features, then times the three of them in turn, call after call:

* `reference`: the reference code's `Leaf` (its default sPCEN, built fresh);
* `leaf_reference`: the yardstick of `frontends.py`;
* `leaf`: leaf_tf's default LEAF.

It prints `reference ÷ leaf_reference` (about 1 when the yardstick costs what
the reference code costs) and `reference ÷ leaf` (the speed-up a user of the
reference code gets), forward and forward + backward (gradient of
`mean(output^2)` with respect to the trainable weights, as in `frontends.py`).

It also times `transforms`: only the FFTs of `leaf`'s exact overlap-save pass
(`ops.fused_pass_plan`), XLA-compiled, nothing else: one inverse FFT per
filter and block forward, and as many forward FFTs for the weight gradient.
An exact FFT formulation cannot skip them (each of the `2C` filter outputs is
needed at every sample, since the pooling windows overlap), so
`reference ÷ transforms` is the most any such formulation can gain on that
machine with TensorFlow's FFT.

Set-up, outside this repository (the reference code is never part of it):

    git clone https://github.com/google-research/leaf-audio /tmp/leaf-audio
    pip install "tf-keras~=$(python -c 'import tensorflow as tf; print(tf.__version__)')"
    python benchmarks/reference_timing.py --reference-code /tmp/leaf-audio --runs 3

`TF_USE_LEGACY_KERAS=1` (set here before TensorFlow is imported) makes the
reference's `tf.keras` tf_keras, while leaf_tf keeps using Keras 3. The
reference imports `lingvo` (SpecAugment) and `tensorflow_addons` (instance
normalisation) at module level; neither installs with current TensorFlow and
LEAF's default configuration uses neither, so stand-ins that raise when used
take their place.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import statistics
import sys
import types
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent


def _frontends_benchmark():
    """`benchmarks/frontends.py` as a module (its settings, yardstick and timing loop)."""
    name = "benchmarks_frontends"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, HERE / "frontends.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


class _Unavailable:
    """A class of a dependency that cannot be installed: constructing it raises."""

    what = "?"

    def __init__(self, *args, **kwargs):
        raise NotImplementedError(f"{self.what} is not installed (a stand-in of benchmarks/reference_timing.py)")


def _stand_in(name: str, **attributes) -> types.ModuleType:
    module = types.ModuleType(name)
    module.__dict__.update(attributes)
    sys.modules[name] = module
    return module


def install_stand_ins() -> None:
    """Stand-in modules for the reference's uninstallable imports (only those that are missing)."""
    try:
        import lingvo.core.spectrum_augmenter  # noqa: F401
    except ImportError:

        class SpectrumAugmenter:
            @staticmethod
            def Params():  # noqa: N802 (lingvo's name)
                raise NotImplementedError("lingvo is not installed: the reference's SpecAugment is unavailable")

        augmenter = _stand_in("lingvo.core.spectrum_augmenter", SpectrumAugmenter=SpectrumAugmenter)
        _stand_in("lingvo", core=_stand_in("lingvo.core", spectrum_augmenter=augmenter))
    try:
        import tensorflow_addons  # noqa: F401
    except ImportError:
        layers = {
            name: type(name, (_Unavailable,), {"what": f"tensorflow_addons.layers.{name}"})
            for name in ("InstanceNormalization", "GroupNormalization")
        }
        _stand_in("tensorflow_addons", layers=_stand_in("tensorflow_addons.layers", **layers))


def load_reference_code(folder: str):
    """The reference's `leaf_audio.frontend` and `leaf_audio.postprocessing` modules, from `folder`."""
    root = Path(folder).expanduser().resolve()
    if not (root / "leaf_audio" / "frontend.py").is_file():
        raise SystemExit(
            f"--reference-code {folder}: no leaf_audio/frontend.py there. Clone the reference first:\n"
            "  git clone https://github.com/google-research/leaf-audio /tmp/leaf-audio"
        )
    try:
        import tf_keras  # noqa: F401
    except ImportError:
        raise SystemExit(
            "The reference code is Keras 2 code: install tf_keras matching your TensorFlow, e.g.\n"
            "  pip install \"tf-keras~=$(python -c 'import tensorflow as tf; print(tf.__version__)')\""
        ) from None
    install_stand_ins()
    sys.path.insert(0, str(root))
    from leaf_audio import frontend, postprocessing

    return frontend, postprocessing


def reference_leaf(frontend, postprocessing):
    """The reference's default LEAF with its own fresh sPCEN (its default PCEN object is shared by all
    `Leaf` instances)."""
    pcen = postprocessing.PCENLayer(
        alpha=0.96, smooth_coef=0.04, delta=2.0, floor=1e-12, trainable=True, learn_smooth_coef=True,
        per_channel_smooth_coef=True,
    )
    return frontend.Leaf(compression_fn=pcen)


def copy_weights(source, reference) -> None:
    """Gives the reference's LEAF the weights of a leaf_tf `Leaf` (filters, pooling widths, sPCEN)."""
    reference._complex_conv._kernel.assign(source.filterbank.kernel)
    reference._pooling.kernel.assign(source.pooling.kernel)
    pcen = reference._compress_fn
    for name in ("alpha", "delta", "root"):
        getattr(pcen, name).assign(getattr(source.compression, name))
    pcen.ema._weights.assign(source.compression.ema.smooth)


def transform_functions(leaf, batch: int, samples: int) -> tuple[tuple, tuple]:
    """`(function, args)` for the FFTs alone of `leaf`'s fused pass: forward (inverse FFTs of the
    filter spectra products) and forward + backward (those and the FFTs of the output gradients)."""
    import tensorflow as tf

    from leaf_tf import ops

    kernel = leaf.filterbank.conv_kernel()  # [K, 1, 2C]
    windows = leaf.pooling.windows()  # [1, K_p, C, 1]
    num_taps, num_filters = int(kernel.shape[0]), int(kernel.shape[2])
    plan = ops.fused_pass_plan(samples, num_taps, int(windows.shape[1]), leaf.pooling.strides, leaf.pooling.padding)
    rng = np.random.default_rng(0)
    shape = (batch * plan.num_blocks, num_filters)
    bins = plan.fft_length // 2 + 1
    spectra = tf.constant(rng.standard_normal((*shape, bins)) + 1j * rng.standard_normal((*shape, bins)), tf.complex64)
    gradients = tf.constant(rng.standard_normal((*shape, plan.hop)), tf.float32)

    # Only a corner of each result leaves the call: the benchmark times the transforms, not a copy.
    @tf.function(jit_compile=True)
    def forward(spectra):
        return tf.signal.irfft(spectra, fft_length=[plan.fft_length])[:, :, :1]

    @tf.function(jit_compile=True)
    def forward_backward(spectra, gradients):
        return forward(spectra), tf.signal.rfft(gradients, fft_length=[plan.fft_length])[:, :, :1]

    return (forward, (spectra,)), (forward_backward, (spectra, gradients))


def measure(reference_code: str, settings: list[str], repeats: int) -> dict:
    frontend, postprocessing = load_reference_code(reference_code)
    benchmark = _frontends_benchmark()
    import leaf_tf

    calls, agreement = {}, {}
    for setting in settings:
        batch, samples = benchmark.SETTINGS[setting]
        waveforms = benchmark._signal(batch, samples)
        leaf = leaf_tf.Leaf(n_filters=benchmark.N_FILTERS)
        yardstick, reference = benchmark.reference_leaf(), reference_leaf(frontend, postprocessing)
        for layer in (leaf, yardstick, reference):
            layer(waveforms)  # builds the weights
        yardstick.set_weights(leaf.get_weights())
        copy_weights(leaf, reference)
        expected = np.asarray(leaf(waveforms))
        agreement[setting] = {
            name: float(np.max(np.abs(np.asarray(layer(waveforms)) - expected)) / np.max(np.abs(expected)))
            for name, layer in (("reference", reference), ("leaf_reference", yardstick))
        }
        for name, layer in (("reference", reference), ("leaf_reference", yardstick), ("leaf", leaf)):
            forward, forward_backward = benchmark.frontend_functions(layer)
            calls["fwd", name, setting] = (forward, (waveforms,))
            calls["fwd+bwd", name, setting] = (forward_backward, (waveforms,))
        calls["fwd", "transforms", setting], calls["fwd+bwd", "transforms", setting] = transform_functions(
            leaf, batch, samples
        )
    return benchmark.timed_run(calls, repeats, agreement=agreement)


def report(runs: list[dict], settings: list[str]) -> str:
    """The ratios of each run, as median (min–max) over the runs."""
    benchmark = _frontends_benchmark()
    lines = [f"Over {len(runs)} run(s), median (min–max):"]
    for run in runs:
        lines.append(f"  {run['machine']}; load average {run['load_average']}")
    lines.append("")
    names = ("reference", "leaf_reference", "leaf", "transforms")
    lines.append(
        "| setting | pass | reference ms | leaf_reference ms | leaf ms | transforms ms "
        "| reference ÷ leaf_reference | reference ÷ leaf | reference ÷ transforms |"
    )
    lines.append("|---|---|---:|---:|---:|---:|---|---|---|")
    for setting in settings:
        for kind in ("fwd", "fwd+bwd"):
            times = {name: [run["milliseconds"][f"{kind} {name} {setting}"] for run in runs] for name in names}
            ratios = [
                benchmark._spread([r / other for r, other in zip(times["reference"], times[name])])
                for name in names[1:]
            ]
            medians = " | ".join(f"{statistics.median(times[name]):.1f}" for name in names)
            lines.append(f"| {setting} | {kind} | {medians} | {' | '.join(ratios)} |")
    worst = {
        name: max(run["agreement"][setting][name] for run in runs for setting in settings)
        for name in ("reference", "leaf_reference")
    }
    lines.append("")
    lines.append(
        "Same features (largest difference ÷ largest value, vs leaf): "
        f"reference code {worst['reference']:.1e}, leaf_reference {worst['leaf_reference']:.1e}"
    )
    return "\n".join(lines)


def use_tf_keras() -> None:
    """Makes `tf.keras` tf_keras (the reference is Keras 2 code); must run before TensorFlow is imported."""
    if "tensorflow" in sys.modules and os.environ.get("TF_USE_LEGACY_KERAS") != "1":
        raise RuntimeError("TensorFlow was imported before TF_USE_LEGACY_KERAS=1 could be set.")
    os.environ["TF_USE_LEGACY_KERAS"] = "1"
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--reference-code", required=True, help="a checkout of google-research/leaf-audio")
    parser.add_argument("--settings", nargs="+", default=["8x1s", "1x10s"], help="input sizes (see frontends.py)")
    parser.add_argument("--repeats", type=int, default=10, help="timed calls per measurement (median)")
    parser.add_argument("--runs", type=int, default=1, help="repeat everything in this many separate processes")
    parser.add_argument("--json", help="also write the results to this file")
    args = parser.parse_args(argv)
    use_tf_keras()
    benchmark = _frontends_benchmark()
    unknown = sorted(set(args.settings) - set(benchmark.SETTINGS))
    if unknown:
        parser.error(f"--settings: unknown {unknown}; choose from {sorted(benchmark.SETTINGS)}.")
    child = ["--reference-code", args.reference_code, "--settings", *args.settings, "--repeats", str(args.repeats)]
    runs = benchmark.measured_runs(
        lambda: measure(args.reference_code, args.settings, args.repeats), child, args.runs, args.json, __file__
    )
    print(report(runs, args.settings))
    return runs


if __name__ == "__main__":
    main()
