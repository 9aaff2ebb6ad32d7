"""Apache Beam settings for preparing datasets on Beam (`leaf-tf prepare --beam_pipeline_options=...`).

`download_config(manual_dir, "key=value,...")` gives the TFDS `DownloadConfig`
that prepares on Beam. Two choices are made for local runs, that is when the
options name no runner or Beam's `DirectRunner`:

* the pipeline runs on Beam's `FnApiRunner`, which honours
  `direct_num_workers` and `direct_running_mode`. Beam 2.77's `DirectRunner`
  first tries its Prism runner, a Go binary it downloads from GitHub at run
  time (and falls back to the FnApiRunner when that fails); a local build
  here never downloads anything. The runner gets the pipeline options as the
  `DirectRunner` gives them to it, so that worker processes see them too.
* worker processes log at WARNING (`default_sdk_harness_log_level`) unless
  the options say otherwise: at INFO every worker line is printed twice.

Any other runner (`runner=DataflowRunner,...`, `FlinkRunner`, `SparkRunner`)
gets the options as they are.
"""

from __future__ import annotations

import tensorflow_datasets as tfds

BEAM_EXTRA = "pip install 'leaf_tf[beam]' (or pip install apache-beam)"
LOCAL_RUNNERS = (None, "DirectRunner", "SwitchingDirectRunner")


def parse_pipeline_options(text: str) -> list[str]:
    """`"a=1, b=x"` -> `["--a=1", "--b=x"]`; a `ValueError` for anything that is not `key=value` pairs."""
    flags = [f"--{item.strip().removeprefix('--')}" for item in text.split(",") if item.strip()]
    if not flags or any("=" not in flag for flag in flags):
        raise ValueError(f"Beam pipeline options are key=value pairs separated by commas, got {text!r}.")
    return flags


def pipeline_options(text: str):
    """`PipelineOptions` from `"key=value,..."`, with worker logs at WARNING unless set; an `ImportError`
    naming the extra when apache-beam is missing."""
    try:
        from apache_beam.options.pipeline_options import PipelineOptions
    except ImportError as e:
        raise ImportError(f"Preparing on Apache Beam needs apache-beam: {BEAM_EXTRA}.") from e
    flags = parse_pipeline_options(text)
    if not any(flag.startswith("--default_sdk_harness_log_level=") for flag in flags):
        flags.append("--default_sdk_harness_log_level=WARNING")
    return PipelineOptions(flags)


def local_runner(options):
    """The `FnApiRunner` that Beam's `DirectRunner` falls back to, built as it builds it (options included);
    None when `options` name a runner that is not local."""
    if options.get_all_options().get("runner") not in LOCAL_RUNNERS:
        return None
    from apache_beam.runners.portability.fn_api_runner import fn_runner

    try:  # How DirectRunner hands the options to the FnApiRunner's workers (apache-beam 2.77).
        from apache_beam.portability.api import beam_provision_api_pb2
        from apache_beam.runners.portability.portable_runner import JobServiceHandle

        encoded = JobServiceHandle.encode_pipeline_options(options.get_all_options())
        info = fn_runner.ExtendedProvisionInfo(beam_provision_api_pb2.ProvisionInfo(pipeline_options=encoded))
        return fn_runner.FnApiRunner(provision_info=info)
    except (ImportError, AttributeError, TypeError):  # Another Beam release: workers get default options.
        return fn_runner.FnApiRunner()


def download_config(manual_dir: str | None, options_text: str) -> tfds.download.DownloadConfig:
    """The `DownloadConfig` that prepares on Beam with the options `"key=value,..."` (see the module doc)."""
    options = pipeline_options(options_text)
    return tfds.download.DownloadConfig(manual_dir=manual_dir, beam_options=options, beam_runner=local_runner(options))
