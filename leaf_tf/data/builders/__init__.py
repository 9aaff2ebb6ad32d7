"""TFDS builders for the paper's datasets that TFDS lacks; importing this package registers them.

| name | task | splits | label |
|---|---|---|---|
| `tut_urban_acoustic_scenes_2018` | acoustic scenes | train / validation / test | `ClassLabel`, 10 scenes |
| `dcase2018_bird_audio_detection` | birdsong detection | train / validation / test | `ClassLabel`, no_bird / bird |
| `speech_commands_v2_35` | speech commands | train / validation / test | `ClassLabel`, 35 words |
| `audioset` (`balanced`, `full`) | AudioSet | balanced_train (/ unbalanced_train) / eval | `Sequence(ClassLabel(527))` |

Every builder reads a manual_dir (its `MANUAL_DOWNLOAD_INSTRUCTIONS` say what
to download and how to lay it out), and stores `audio` as mono 16 kHz int16
(`tfds.features.Audio`, divide by 32768 for float), `label` and `id`, with
`supervised_keys=("audio", "label")`. Prepare one with
`leaf-tf prepare <name> --manual_dir=<dir> [--data_dir=<dir>]`.
"""

from leaf_tf.data.builders.audioset import Audioset
from leaf_tf.data.builders.dcase2018_bird_audio_detection import Dcase2018BirdAudioDetection
from leaf_tf.data.builders.speech_commands_v2_35 import SpeechCommandsV235
from leaf_tf.data.builders.tut_urban_acoustic_scenes_2018 import TutUrbanAcousticScenes2018

__all__ = ["Audioset", "Dcase2018BirdAudioDetection", "SpeechCommandsV235", "TutUrbanAcousticScenes2018"]
