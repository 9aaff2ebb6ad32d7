"""Prepares one of leaf_tf's TFDS datasets from the files you downloaded (`leaf-tf prepare`).

    leaf-tf prepare tut_urban_acoustic_scenes_2018 --manual_dir=/data/tut [--data_dir=...]
    leaf-tf prepare audioset/full --manual_dir=/data/audioset

It runs the builder's `download_and_prepare` (the `tfds build` command of
tensorflow-datasets 4.9.10 does not start without apache-beam installed). A
dataset that TFDS downloads itself (e.g. `speech_commands`) needs no
--manual_dir.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from leaf_tf import cli


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="leaf-tf prepare", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("name", help="builder name, optionally with a config: e.g. audioset/balanced")
    parser.add_argument("--manual_dir", default=None, help="folder holding the unpacked dataset")
    parser.add_argument("--data_dir", default=None, help="TFDS data_dir (default: TFDS_DATA_DIR or ~/tensorflow_datasets)")
    return parser


def main(argv: Sequence[str] | None = None) -> None:
    args = build_parser().parse_args(argv)

    def go():
        import tensorflow_datasets as tfds

        import leaf_tf.data.builders  # noqa: F401 (registers the builders)

        builder = tfds.builder(args.name, data_dir=args.data_dir)
        builder.download_and_prepare(download_config=tfds.download.DownloadConfig(manual_dir=args.manual_dir))
        print(f"{builder.info.full_name} prepared in {builder.data_dir}")
        for split, info in builder.info.splits.items():
            print(f"  {split}: {info.num_examples:,} examples")

    cli.run("leaf-tf prepare", go)


if __name__ == "__main__":
    main()
