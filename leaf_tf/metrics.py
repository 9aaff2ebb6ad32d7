"""Metrics used by the classifiers (more, with confidence intervals, come with evaluation)."""

from __future__ import annotations

import keras
import tensorflow as tf

from leaf_tf.registry import register


@register()
class MaskedSparseCategoricalAccuracy(keras.metrics.SparseCategoricalAccuracy):
    """Sparse categorical accuracy over the examples whose label is >= 0.

    Multi-task batches label the examples of other tasks -1 (see
    `models.MultiTaskClassifier`); they are left out of the count.
    """

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_true = tf.convert_to_tensor(y_true)
        valid = tf.cast(y_true >= 0, self.dtype)
        if len(valid.shape) > 1:
            valid = tf.reshape(valid, tf.shape(valid)[:1])
        weights = valid if sample_weight is None else valid * tf.cast(sample_weight, self.dtype)
        return super().update_state(tf.maximum(y_true, 0), y_pred, sample_weight=weights)
