"""Prepares one of leaf_tf's builders from a manual_dir, without the `tfds` CLI.

    python -m leaf_tf.data.builders tut_urban_acoustic_scenes_2018 --manual_dir=/data/tut [--data_dir=...]
    python -m leaf_tf.data.builders audioset/full --manual_dir=/data/audioset

(`tfds build` in tensorflow-datasets 4.9.10 does not start without
apache-beam installed; this does the same `download_and_prepare`.)
"""

from __future__ import annotations

import argparse

import tensorflow_datasets as tfds

import leaf_tf.data.builders  # noqa: F401 (registers the builders)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("name", help="builder name, optionally with a config: e.g. audioset/balanced")
    parser.add_argument("--manual_dir", required=True, help="folder holding the unpacked dataset")
    parser.add_argument("--data_dir", default=None, help="TFDS data_dir (default: TFDS_DATA_DIR or ~/tensorflow_datasets)")
    args = parser.parse_args(argv)
    builder = tfds.builder(args.name, data_dir=args.data_dir)
    builder.download_and_prepare(download_config=tfds.download.DownloadConfig(manual_dir=args.manual_dir))
    print(f"{builder.info.full_name} prepared in {builder.data_dir}")
    for split, info in builder.info.splits.items():
        print(f"  {split}: {info.num_examples:,} examples")


if __name__ == "__main__":
    main()
