"""Full-clip evaluation against a hand computation: windows -> mean logits per clip -> predictions -> accuracy."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow_datasets as tfds

from leaf_tf import evaluation, metrics
from leaf_tf.data import tasks

WINDOW = 16000


def _hand_windows(audio: np.ndarray, last: str) -> np.ndarray:
    """Consecutive 1 s windows covering the clip, written out with Python lists."""
    if len(audio) < WINDOW:
        audio = np.concatenate([audio, np.zeros(WINDOW - len(audio), audio.dtype)])
    count = -(-len(audio) // WINDOW)
    if last == "padded":
        audio = np.concatenate([audio, np.zeros(count * WINDOW - len(audio), audio.dtype)])
    starts = [min(i * WINDOW, len(audio) - WINDOW) for i in range(count)]
    return np.stack([audio[s:s + WINDOW] for s in starts])


@pytest.mark.parametrize("last", ["aligned", "padded"])
def test_clip_predictions_and_accuracy_equal_a_hand_computation(last, data_dir):
    task = tasks.get_task("synthetic_pitch")
    rng = np.random.default_rng(0)
    weights = rng.standard_normal((WINDOW, task.num_classes)).astype(np.float32) / 100
    model = keras.Sequential([keras.Input((WINDOW,)), keras.layers.Dense(task.num_classes, use_bias=False)])
    model.set_weights([weights])

    # batch_size 7: a clip's windows straddle batches, so the averaging must gather them by clip id.
    labels, scores = evaluation.predict_clips(model, task, "test", data_dir, batch_size=7, max_clips=12,
                                              last_window=last)

    raw = list(tfds.as_numpy(tasks.load_split(task, "test", data_dir).take(12)))
    expected_labels = np.array([int(example["label"]) for example in raw])
    expected = []
    for example in raw:
        audio = example["audio"].astype(np.float64) / 32768.0  # int16 as stored
        windows = _hand_windows(audio, last)
        expected.append((windows @ weights.astype(np.float64)).mean(axis=0))
    expected = np.stack(expected)
    np.testing.assert_array_equal(labels, expected_labels)
    np.testing.assert_allclose(scores, expected, rtol=1e-4, atol=1e-5)
    hand_accuracy = np.mean(np.argmax(expected, axis=1) == expected_labels)
    assert metrics.accuracy(labels, scores)["accuracy"] == pytest.approx(hand_accuracy)
    assert metrics.accuracy(labels, scores)["count"] == 12


@pytest.mark.parametrize("pipelines", [2, 3])
def test_input_pipelines_read_disjoint_shares_that_cover_the_split(pipelines, data_dir):
    """What each worker of a distributed run reads: disjoint shares, all of the split together."""
    import tensorflow as tf

    shares = []
    for index in range(pipelines):
        context = tf.distribute.InputContext(num_input_pipelines=pipelines, input_pipeline_id=index)
        dataset = tasks.load_split("synthetic_event", "train", data_dir, input_context=context)
        shares.append([example["id"] for example in tfds.as_numpy(dataset)])
    everything = [example["id"] for example in tfds.as_numpy(tasks.load_split("synthetic_event", "train", data_dir))]
    assert all(len(share) > 0 for share in shares)
    assert sum(len(share) for share in shares) == len(everything)
    assert sorted(id_ for share in shares for id_ in share) == sorted(everything)  # disjoint and complete
