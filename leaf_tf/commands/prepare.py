"""Prepares one of leaf_tf's TFDS datasets from the files you downloaded (`leaf-tf prepare`).

    leaf-tf prepare tut_urban_acoustic_scenes_2018 --manual_dir=/data/tut [--data_dir=...]
    leaf-tf prepare audioset/full --manual_dir=/data/audioset --check
    leaf-tf prepare audioset/full --manual_dir=/data/audioset \\
        --beam_pipeline_options=direct_num_workers=8,direct_running_mode=multi_processing

It runs the builder's `download_and_prepare` (the `tfds build` command of
tensorflow-datasets 4.9.10 does not start without apache-beam and mlcroissant). A
dataset that TFDS downloads itself (e.g. `speech_commands`) needs no
--manual_dir.

--check scans the manual_dir instead of preparing (AudioSet): what is
present, missing, unreadable or outside the layout, per split, decoding a
sample of the files; it exits with status 1 when something needs fixing.

--beam_pipeline_options prepares with Apache Beam (`pip install
'leaf_tf[beam]'`; builders that support it: audioset), as `tfds build` does:
comma-separated `key=value` Beam options, e.g.
`direct_num_workers=2,direct_running_mode=multi_processing` for local worker
processes (run by Beam's FnApiRunner, never a downloaded runner; see
leaf_tf/data/builders/beam.py), or `runner=DataflowRunner,project=...,region=...,temp_location=gs://...`
(likewise FlinkRunner / SparkRunner with their options) for a cluster, whose
workers must have leaf_tf installed and reach the manual_dir and data_dir
(e.g. both on `gs://`).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from leaf_tf import cli


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="leaf-tf prepare", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("name", help="builder name, optionally with a config: e.g. audioset/balanced")
    parser.add_argument("--manual_dir", default=None, help="folder holding the unpacked dataset")
    parser.add_argument("--data_dir", default=None, help="TFDS data_dir (default: TFDS_DATA_DIR or ~/tensorflow_datasets)")
    parser.add_argument("--layout", default=None,
                        help="audioset only: folder layout auto (default), leaf_tf, panns or audiosetdl")
    parser.add_argument("--check", action="store_true", help="scan the manual_dir and report; prepare nothing")
    parser.add_argument("--check_samples", type=int, default=64, help="files decoded per split by --check")
    parser.add_argument("--beam_pipeline_options", default=None,
                        help="prepare with Apache Beam: comma-separated key=value Beam pipeline options")
    return parser


def main(argv: Sequence[str] | None = None) -> None:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.check_samples < 1:
        parser.error("--check_samples must be at least 1")

    def go():
        import tensorflow_datasets as tfds

        import leaf_tf.data.builders  # noqa: F401 (registers the builders)

        kwargs = {} if args.layout is None else {"layout": args.layout}
        if args.layout is not None and not args.name.startswith("audioset"):
            raise cli.UsageError("--layout applies to audioset only")
        builder = tfds.builder(args.name, data_dir=args.data_dir, **kwargs)
        if args.check:
            if not hasattr(builder, "check_manual_dir"):
                raise cli.UsageError(f"--check scans AudioSet manual_dirs; {builder.name} checks its files while preparing")
            if args.manual_dir is None:
                raise cli.UsageError("--check needs --manual_dir")
            report = builder.check_manual_dir(args.manual_dir, samples=args.check_samples)
            print(report.format())
            if not report.ok:
                sys.exit(1)
            return
        if args.beam_pipeline_options is None:
            download_config = tfds.download.DownloadConfig(manual_dir=args.manual_dir)
        else:
            from leaf_tf.data.builders import beam

            try:
                download_config = beam.download_config(args.manual_dir, args.beam_pipeline_options)
            except (ImportError, ValueError) as error:
                raise cli.UsageError(f"--beam_pipeline_options: {error}") from None
        builder.download_and_prepare(download_config=download_config)
        print(f"{builder.info.full_name} prepared in {builder.data_dir}")
        for split, info in builder.info.splits.items():
            print(f"  {split}: {info.num_examples:,} examples")

    cli.run("leaf-tf prepare", go)


if __name__ == "__main__":
    main()
