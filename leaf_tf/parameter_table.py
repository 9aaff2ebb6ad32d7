"""Trainable parameters of every frontend x encoder classifier (frontend / encoder / head).

    leaf-tf parameters [--n_filters 64] [--num_outputs 527] [--encoders cnn14 ...]

The defaults are the paper's AudioSet setting (Table 4: 64 filters, 527
labels). Each model is built on one second of silence (longer where the encoder needs
more frames); nothing is trained.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from leaf_tf import configs

# The encoders a config selects by name, without importing TensorFlow (`leaf_tf.encoders.ENCODERS`' keys).
ENCODER_NAMES = configs.names_in("encoders")


def parameter_table(n_filters: int = 64, num_outputs: int = 527, encoders: Sequence[str] | None = None) -> list[dict]:
    """One row per (frontend, encoder): `{"frontend": name, "encoder": name, "params": describe(model)}`.

    `encoders` defaults to every encoder, in `leaf_tf.encoders.ENCODERS`' order.
    """
    import numpy as np

    from leaf_tf.encoders import ENCODERS
    from leaf_tf.frontends import FRONTENDS, build_frontend
    from leaf_tf.models import AudioClassifier, describe

    rows = []
    for encoder in encoders or ENCODERS:
        for frontend in FRONTENDS:
            model = AudioClassifier(num_outputs, build_frontend(frontend, n_filters=n_filters), encoder)
            # One second, or what the pair needs (Wavegram's 25 frames a second are too few for EfficientNetB0).
            model(np.zeros((1, max(16000, model.min_samples())), np.float32))
            rows.append({"frontend": frontend, "encoder": encoder, "params": describe(model)})
    return rows


def to_markdown(rows: list[dict]) -> str:
    lines = ["| encoder | frontend | frontend params | encoder params | head params | total |", "|---|---|---:|---:|---:|---:|"]
    for row in rows:
        counts = row["params"]
        lines.append(
            f"| {row['encoder']} | {row['frontend']} | {counts['frontend']:,} | {counts['encoder']:,} | "
            f"{counts['heads']:,} | {counts['total']:,} |"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="leaf-tf parameters", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n_filters", type=int, default=64)
    parser.add_argument("--num_outputs", type=int, default=527)
    parser.add_argument("--encoders", nargs="*", default=None, choices=ENCODER_NAMES, help="default: all")
    args = parser.parse_args(argv)
    import leaf_tf

    leaf_tf.load()
    print(to_markdown(parameter_table(args.n_filters, args.num_outputs, args.encoders)))


if __name__ == "__main__":
    main()
