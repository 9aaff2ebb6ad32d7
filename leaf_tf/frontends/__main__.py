"""Prints every frontend's trainable parameter count: `python -m leaf_tf.frontends [--n_filters 64]`."""

from __future__ import annotations

import argparse

from leaf_tf.frontends import trainable_parameter_counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n_filters", type=int, default=64)
    parser.add_argument("--sample_rate", type=int, default=16000)
    args = parser.parse_args()
    counts = trainable_parameter_counts(args.n_filters, args.sample_rate)
    print(f"| frontend | trainable parameters (n_filters={args.n_filters}) |")
    print("|---|---:|")
    for name, count in counts.items():
        print(f"| {name} | {count:,} |")


if __name__ == "__main__":
    main()
