"""The task registry: one declarative entry per classification task.

A `Task` says where the data lives (TFDS name and config, audio and label
keys, split names), what the labels are (number of classes, single- or
multi-label), the sample rate, how the TFDS version differs from the paper's
task, and how to prepare the data. `load_split` turns a task and a split into
a `tf.data.Dataset` of raw TFDS examples, with a clear error when the dataset
has not been prepared.

The registry holds the paper's tasks (Table 3 and AudioSet), VoxCeleb1 for the
single-task speaker-identification table, and the embedded synthetic tasks;
`audio_folder_task(root)` makes a task of a user's own audio folder.
"""

from __future__ import annotations

import dataclasses
import importlib
from collections.abc import Callable

import gin
import tensorflow as tf
import tensorflow_datasets as tfds

from leaf_tf.data.audio_io import to_float_audio

SPLITS = ("train", "validation", "test")


class DatasetNotPreparedError(FileNotFoundError):
    """A task's TFDS dataset is not in the data directory; the message says how to prepare it."""


@dataclasses.dataclass(frozen=True)
class Task:
    """A classification task over a TFDS dataset.

    Attributes:
      name: short name used by configs, tables and results (`"speech_commands"`).
      tfds_name: TFDS builder name with optional config (`"nsynth/full"`).
      num_classes: number of classes (labels, when `multi_label`).
      paper_task: the paper's name for the task (Table 3 / Table 4 row).
      audio_key: feature holding the waveform.
      label_key: feature holding the label; `/` separates nested keys
        (`"instrument/family"`).
      sample_rate: sample rate of the stored audio, Hz.
      splits: our split name (`train` / `validation` / `test`) -> TFDS split
        string (slicing allowed, e.g. `"train[:90%]"`).
      multi_label: labels are lists of positive classes (made multi-hot).
      hash_splits: for tasks whose TFDS splits do not fit (speaker id), our split
        -> `(TFDS split, lo, hi)`: keep examples whose `id` hashes to a bucket in
        `[lo, hi)` out of 10.
      label_values: optional `(key, values_fn)`: the label is the index of
        `example[key]` among the sorted `values_fn(tfds_builder)` (e.g. the
        251 LibriSpeech train-clean-100 speaker ids); examples whose key is
        not among them are dropped.
      imports: module that registers the TFDS builder (our own builders).
      notes: how the TFDS data differs from the paper's task, and what we do.
      how_to_get: how to prepare the dataset (shown when it is missing).
      prepare: for generated data (no download): `prepare(data_dir)` builds it
        when missing.
      builder_fn: for datasets that are not registered TFDS names (audio
        folders): `builder_fn(data_dir)` returns the (prepared) builder.
      folder: the audio folder of an `audio_folder_task` (else None).
      class_names: the classes' names, index = class id, where the task
        knows them (audio folders); else empty.
    """

    name: str
    tfds_name: str
    num_classes: int
    paper_task: str = ""
    audio_key: str = "audio"
    label_key: str = "label"
    sample_rate: int = 16000
    splits: dict = dataclasses.field(default_factory=lambda: {s: s for s in SPLITS})
    multi_label: bool = False
    hash_splits: dict | None = None
    label_values: tuple | None = None
    imports: str | None = None
    notes: str = ""
    how_to_get: str = ""
    prepare: Callable | None = None
    builder_fn: Callable | None = None
    folder: str | None = None
    class_names: tuple[str, ...] = ()

    def split_name(self, split: str) -> str:
        """Validates one of our split names (`train`, `validation`, `test`)."""
        if split not in self.splits and not (self.hash_splits and split in self.hash_splits):
            raise ValueError(f"Task {self.name!r} has no split {split!r}; it has {sorted(self.splits)}.")
        return split

    def decode(self, example: dict) -> dict:
        """TFDS example -> `{"audio": float32 [samples] in [-1, 1], "label": int64 or multi-hot float32}`."""
        audio = to_float_audio(_get(example, self.audio_key))
        if audio.shape.rank == 2:  # [samples, channels]
            audio = tf.reduce_mean(audio, axis=-1)
        label = _get(example, self.label_key)
        if self.multi_label:
            label = tf.reduce_max(tf.one_hot(tf.cast(label, tf.int64), self.num_classes, dtype=tf.float32), axis=0)
        else:
            label = tf.cast(label, tf.int64)
        return {"audio": audio, "label": label}


def _get(example: dict, path: str):
    value = example
    for key in path.split("/"):
        value = value[key]
    return value


# ------------------------------------------------------------------ registry

TASKS: dict[str, Task] = {}


def register_task(task: Task) -> Task:
    """Adds (or replaces) a task in the registry."""
    TASKS[task.name] = task
    return task


def get_task(task: Task | str) -> Task:
    """A task from itself or its registered name; unknown names list the known ones."""
    if isinstance(task, Task):
        return task
    try:
        return TASKS[task]
    except KeyError:
        raise ValueError(f"Unknown task {task!r}; known tasks: {', '.join(sorted(TASKS))}.") from None



def _missing_message(task: Task, data_dir) -> str:
    location = str(data_dir) if data_dir else tfds.core.constants.DATA_DIR
    how = task.how_to_get or _prepare_command(task.tfds_name, False)
    return (
        f"Task {task.name!r} needs the TFDS dataset {task.tfds_name!r}, which is not prepared in {location}. "
        + " ".join(how.replace("DATA_DIR", location).split())
    )


def load_split(task: Task | str, split: str, data_dir=None, shuffle_files: bool = False, seed: int = 0,
               input_context: tf.distribute.InputContext | None = None) -> tf.data.Dataset:
    """Raw TFDS examples of one of the task's splits (never downloads).

    Raises:
      DatasetNotPreparedError: the dataset is not in `data_dir`; the message
        names it, where to get it and the command that prepares it.
    """
    task = get_task(task)
    split = task.split_name(split)
    if task.imports:
        importlib.import_module(task.imports)
    if task.prepare is not None:
        task.prepare(data_dir)
    tfds_split, bucket = (task.hash_splits[split][0], task.hash_splits[split][1:]) if task.hash_splits else (task.splits[split], None)

    def load(context):
        read_config = tfds.ReadConfig(input_context=context, shuffle_seed=seed)
        if task.builder_fn is not None:
            return task.builder_fn(data_dir).as_dataset(split=tfds_split, shuffle_files=shuffle_files,
                                                        read_config=read_config)
        return tfds.load(task.tfds_name, split=tfds_split, data_dir=data_dir, shuffle_files=shuffle_files,
                         read_config=read_config, download=False)

    try:
        try:
            dataset = load(input_context)
        except ValueError:
            if input_context is None or input_context.num_input_pipelines == 1:
                raise
            # Fewer files than input pipelines: every pipeline reads all files and keeps its share of examples.
            dataset = load(None).shard(input_context.num_input_pipelines, input_context.input_pipeline_id)
    except (AssertionError, FileNotFoundError, tfds.core.registered.DatasetNotFoundError):
        raise DatasetNotPreparedError(_missing_message(task, data_dir)) from None
    except ModuleNotFoundError as error:  # a TFDS builder's optional dependency
        raise DatasetNotPreparedError(f"Task {task.name!r}: {error}") from None
    if task.label_values is not None:
        key, values_fn = task.label_values
        values = sorted(int(v) for v in values_fn(tfds.builder(task.tfds_name, data_dir=data_dir), dataset))
        table = tf.lookup.StaticHashTable(
            tf.lookup.KeyValueTensorInitializer(tf.constant(values, tf.int64), tf.range(len(values), dtype=tf.int64)),
            default_value=-1,
        )
        dataset = dataset.map(lambda ex: {**ex, "label": table.lookup(tf.cast(ex[key], tf.int64))})
        dataset = dataset.filter(lambda ex: ex["label"] >= 0)
    # After the label table, which is read from the whole split: every bucket gets the same labels.
    if bucket is not None:
        lo, hi = bucket
        dataset = dataset.filter(lambda ex: _in_bucket(ex["id"], lo, hi))
    return dataset


def _in_bucket(key: tf.Tensor, lo: int, hi: int) -> tf.Tensor:
    bucket = tf.strings.to_hash_bucket_fast(key, 10)
    return (bucket >= lo) & (bucket < hi)


# ------------------------------------------------------------------ your own audio


@gin.configurable
def audio_folder_task(root: str, name: str = "audio_folder", splits=None, sample_rate: int = 16000) -> str:
    """Registers `root` (see `leaf_tf.data.audio_folder`) as a task and returns its name.

    For gin: `train.tasks = @audio_folder_task()` with
    `audio_folder_task.root = "/data/my_sounds"`. The folder is decoded once
    into the TFDS data_dir on first use. `splits` maps our split names to the
    folder's (default: the folder's `train`, `validation` and `test`; without a
    `validation` split, the last 10% of `train` validates; without a `test`
    split, the validation split is also the test split).
    """
    from leaf_tf.data.audio_folder import AudioFolder

    builders = {}

    def builder_fn(data_dir):
        key = str(data_dir)
        if key not in builders:
            builder = AudioFolder(root, data_dir=data_dir, sample_rate=sample_rate)
            builder.download_and_prepare()
            builders[key] = builder
        return builders[key]

    probe = AudioFolder(root, sample_rate=sample_rate)
    available = set(probe.split_names)
    if "train" not in available:
        raise ValueError(f"Audio folder {root} has no train split; it has {sorted(available)}.")
    if splits is None:
        held_out = "validation" in available
        splits = {
            "train": "train" if held_out else "train[:90%]",
            "validation": "validation" if held_out else "train[90%:]",
        }
        splits["test"] = "test" if "test" in available else splits["validation"]
    register_task(Task(
        name=name, tfds_name=f"audio_folder:{root}", num_classes=len(probe.class_names),
        multi_label=probe.multi_label, sample_rate=sample_rate, splits=dict(splits),
        paper_task=f"(your data) {root}", notes=f"Audio folder {root}: classes {probe.class_names}.",
        builder_fn=builder_fn, folder=probe.root, class_names=tuple(probe.class_names),
    ))
    return name


# ------------------------------------------------------------------ tasks recorded in run.json


def task_definition(task: Task | str) -> dict:
    """What `run.json` records of a task: enough to rebuild it in another process (`task_from_definition`)."""
    task = get_task(task)
    definition = {
        "name": task.name, "tfds_name": task.tfds_name, "num_classes": task.num_classes,
        "multi_label": task.multi_label, "sample_rate": task.sample_rate, "splits": dict(task.splits),
    }
    if task.class_names:
        definition["class_names"] = list(task.class_names)
    if task.folder is not None:
        definition["folder"] = task.folder
    return definition


def task_from_definition(definition: dict | str) -> Task:
    """The task a run was trained on, registered again from its `task_definition` (a bare name: registered tasks).

    Audio-folder tasks are registered again from their folder, which must
    still hold the classes the run was trained on; registered tasks must still
    have as many classes as the run's heads.
    """
    if isinstance(definition, str):
        return get_task(definition)
    name = definition["name"]
    if definition.get("folder") is not None:
        folder = _bound_folder() or definition["folder"]
        if not tf.io.gfile.isdir(folder):
            raise FileNotFoundError(
                f"Task {name!r} was trained on the audio folder {folder}, which is not there any more: restore it, "
                f"or give its new place with --gin_bindings='audio_folder_task.root = \"/new/place\"' "
                f"(evaluation reads its {'/'.join(definition['splits'])} files)."
            )
        audio_folder_task(folder, name=name, splits=definition["splits"], sample_rate=definition["sample_rate"])
        task = TASKS[name]
        if list(task.class_names) != list(definition.get("class_names", task.class_names)):
            raise ValueError(
                f"The audio folder {folder} now has the classes {list(task.class_names)}; task {name!r} was "
                f"trained on {definition['class_names']}."
            )
        return task
    task = get_task(name)
    if task.num_classes != definition["num_classes"]:
        raise ValueError(
            f"Task {name!r} has {task.num_classes} classes here; the run was trained with {definition['num_classes']}."
        )
    return task


def _bound_folder() -> str | None:
    """`audio_folder_task.root` where a gin binding gives it (a folder that moved since training), else None."""
    try:
        return gin.query_parameter("audio_folder_task.root")
    except ValueError:
        return None


def tasks_of_run(run: dict) -> list[Task]:
    """The tasks of a run's `run.json` (`task_definitions`; older runs: registered task names)."""
    definitions = run.get("task_definitions") or run["tasks"]
    return [task_from_definition(definition) for definition in definitions]


# ------------------------------------------------------------------ the embedded synthetic tasks


def _register_synthetic_tasks() -> tuple[str, ...]:
    """Registers `synthetic_<task>` for every task of the embedded dataset; returns their names."""
    from leaf_tf.data import synthetic

    for name, spec in synthetic.SYNTHETIC_TASKS.items():
        register_task(
            Task(
                name=f"synthetic_{name}",
                tfds_name=f"leaf_synthetic/{name}",
                num_classes=len(spec.classes),
                paper_task=f"(embedded) {spec.description}",
                imports="leaf_tf.data.synthetic",
                notes="Generated by leaf_tf (no download): see leaf_tf/data/synthetic.py.",
                how_to_get='It is generated, not downloaded: python -c "from leaf_tf.data import synthetic; synthetic.prepare()"',
                prepare=lambda data_dir, name=name: synthetic.prepare(data_dir, [name]),
            )
        )
    return tuple(f"synthetic_{name}" for name in synthetic.SYNTHETIC_TASKS)


SYNTHETIC_TASK_NAMES = _register_synthetic_tasks()


# ------------------------------------------------------------------ the paper's tasks

_BUILDERS = "leaf_tf.data.builders"


def _prepare_command(tfds_name: str, manual: bool, extra: str = "") -> str:
    """How to prepare a dataset: `extra` says where to get the files (manual) or what TFDS needs."""
    if manual:
        return (
            f"{extra} Then run: leaf-tf prepare {tfds_name} --manual_dir=FOLDER --data_dir=DATA_DIR "
            f"(the builder's instructions: python -c \"import {_BUILDERS}, tensorflow_datasets as tfds; "
            f"print(tfds.builder('{tfds_name}').MANUAL_DOWNLOAD_INSTRUCTIONS)\")."
        )
    return (
        f"Prepare it (with network access) with: leaf-tf prepare {tfds_name} --data_dir=DATA_DIR{extra}"
    )


def _librispeech_speakers(builder, dataset) -> list[int]:
    """Speaker ids of LibriSpeech train-clean-100 (251) from the dataset's SPEAKERS.TXT metadata.

    Without the metadata (e.g. under `tfds.testing.mock_data`) the ids are read
    from the examples themselves (slow on the real 34 GB split).
    """
    speakers = (builder.info.metadata or {}).get("speakers")
    if speakers:
        return [int(k) for k, v in speakers.items() if v.get("subset") == "train-clean-100"]
    return sorted({int(x) for x in dataset.map(lambda ex: ex["speaker_id"]).as_numpy_iterator()})


def _register_paper_tasks() -> None:
    own = dict(imports=_BUILDERS)
    register_task(Task(
        name="acoustic_scenes", tfds_name="tut_urban_acoustic_scenes_2018", num_classes=10,
        paper_task="Acoustic scenes", **own,
        notes="Our builder (no TFDS one). Validation carved from fold1-train by recording location; test = fold1 evaluate.",
        how_to_get=_prepare_command(
            "tut_urban_acoustic_scenes_2018", True,
            "Download the development set of TUT Urban Acoustic Scenes 2018 (https://zenodo.org/record/1228142) "
            "and unpack it into FOLDER (meta.csv, evaluation_setup/, audio/).",
        ),
    ))
    register_task(Task(
        name="birdsong", tfds_name="dcase2018_bird_audio_detection", num_classes=2, paper_task="Birdsong detection",
        **own,
        notes="Our builder (no TFDS one): freefield1010 + warblrb10k + BirdVox-DCASE-20k pooled, 80/10/10 by a hash "
              "of the item id (the paper's split is not published).",
        how_to_get=_prepare_command(
            "dcase2018_bird_audio_detection", True,
            "Download freefield1010, warblrb10k and BirdVox-DCASE-20k with their CSVs from the DCASE 2018 bird audio "
            "detection task (https://dcase.community/challenge2018/task-bird-audio-detection) into FOLDER.",
        ),
    ))
    register_task(Task(
        name="emotion", tfds_name="crema_d", num_classes=6, paper_task="Emotion recognition",
        notes="TFDS crema_d 1.0.0: 6 classes as in the paper, speaker-disjoint 5,144 / 738 / 1,556 clips; int64 "
              "audio holding int16 values (divided by 32768).",
        how_to_get=_prepare_command("crema_d", False, " (579 MiB; TFDS needs `pip install pydub` to prepare it)."),
    ))
    register_task(Task(
        name="speaker_id", tfds_name="librispeech", num_classes=251, paper_task="Speaker Id. (LibriSpeech)",
        audio_key="speech",
        hash_splits={"train": ("train_clean100", 0, 8), "validation": ("train_clean100", 8, 9),
                     "test": ("train_clean100", 9, 10)},
        label_values=("speaker_id", _librispeech_speakers),
        notes="TFDS librispeech's official splits share no speaker: we take its speaker_id labels of the 251 "
              "speakers of train-clean-100 and split their utterances 80/10/10 by a hash of the utterance id.",
        how_to_get=_prepare_command("librispeech", False, " (all 57 GiB of archives are downloaded; TFDS needs "
                                    "pydub and ffmpeg to decode FLAC)."),
    ))
    nsynth = dict(tfds_name="nsynth/full", splits={"train": "train", "validation": "valid", "test": "test"},
                  how_to_get=_prepare_command("nsynth/full", False, " (73 GiB; needs `pip install apache-beam`)."))
    register_task(Task(
        name="instrument", num_classes=11, paper_task="Music (instrument)", label_key="instrument/family",
        notes="TFDS nsynth/full 2.3.3: 11 instrument families; float32 audio (not rescaled).", **nsynth,
    ))
    register_task(Task(
        name="pitch", num_classes=128, paper_task="Music (pitch)", label_key="pitch",
        notes="TFDS nsynth/full 2.3.3: 128 MIDI pitches; float32 audio (not rescaled).", **nsynth,
    ))
    register_task(Task(
        name="speech_commands", tfds_name="speech_commands_v2_35", num_classes=35, paper_task="Speech commands",
        **own,
        notes="Our builder: all 35 words of Speech Commands v2 with the official validation/testing lists. TFDS's "
              "speech_commands is the 12-class version (task speech_commands_12).",
        how_to_get=_prepare_command(
            "speech_commands_v2_35", True,
            "Download http://download.tensorflow.org/data/speech_commands_v0.02.tar.gz and unpack it into FOLDER.",
        ),
    ))
    register_task(Task(
        name="speech_commands_12", tfds_name="speech_commands", num_classes=12,
        paper_task="Speech commands (12-class TFDS version)",
        notes="TFDS speech_commands 0.0.3: 10 words + silence + unknown; not the paper's 35-word task.",
        how_to_get=_prepare_command("speech_commands", False, " (2.4 GiB; TFDS needs pydub)."),
    ))
    register_task(Task(
        name="language_id", tfds_name="voxforge", num_classes=6, paper_task="Language Id.",
        notes="TFDS voxforge 1.0.0: 6 languages, speaker-disjoint 70/10/20 splits; int64 audio holding int16 values.",
        how_to_get=_prepare_command(
            "voxforge", True,
            "It needs a manual download: every archive listed in "
            "https://storage.googleapis.com/tfds-data/downloads/voxforge/voxforge_urls.txt, downloaded into FOLDER "
            "keeping its path (~100 GB while building), and `pip install apache-beam`.",
        ),
    ))
    register_task(Task(
        name="speaker_id_voxceleb", tfds_name="voxceleb", num_classes=1252, paper_task="Speaker Id. (VoxCeleb1)",
        notes="TFDS voxceleb 1.2.1: labels are the numbers of id10001..id11251 (1,252 outputs, 0 unused); it reads "
              "only the dev archive, so the 40 speakers of the VoxCeleb1 test archive are missing (1,211 speakers).",
        how_to_get=_prepare_command(
            "voxceleb", True,
            "It needs a manual download (registration at https://www.robots.ox.ac.uk/~vgg/data/voxceleb/vox1.html): "
            "join the dev archive's parts into the file TFDS reads, `cat vox1_dev_wav_parta* > FOLDER/vox_dev_wav.zip`; "
            "TFDS downloads iden_split.txt itself while preparing (network needed).",
        ),
    ))
    register_task(Task(
        name="audioset", tfds_name="audioset/balanced", num_classes=527, multi_label=True,
        paper_task="AudioSet (balanced train)",
        splits={"train": "balanced_train[:90%]", "validation": "balanced_train[90%:]", "test": "eval"},
        **own,
        notes="Our builder over user-provided audio + the public CSVs. This task trains on the balanced set (the "
              "last 10% held out for validation); audioset_full adds the unbalanced set as the paper did.",
        how_to_get=_prepare_command(
            "audioset/balanced", True,
            "Get the segment CSVs and class_labels_indices.csv from https://research.google.com/audioset/download.html "
            "and the clips' audio as FOLDER/audio/<split>/<YTID>.wav|flac|ogg.",
        ),
    ))
    register_task(Task(
        name="audioset_full", tfds_name="audioset/full", num_classes=527, multi_label=True,
        paper_task="AudioSet",
        splits={"train": "unbalanced_train+balanced_train[:90%]", "validation": "balanced_train[90%:]",
                "test": "eval"},
        **own,
        notes="Our builder: balanced + unbalanced training sets (~2M segments; ~650 GB at 16 kHz int16).",
        how_to_get=_prepare_command(
            "audioset/full", True,
            "Get the segment CSVs and class_labels_indices.csv from https://research.google.com/audioset/download.html "
            "and the clips' audio as FOLDER/audio/<split>/<YTID>.wav|flac|ogg.",
        ),
    ))


_register_paper_tasks()
PAPER_TASK_NAMES = ("acoustic_scenes", "birdsong", "emotion", "speaker_id", "instrument", "pitch", "speech_commands",
                    "language_id")
