"""The one place that selects tf-keras (Keras 2) for TensorFlow; it must run before TensorFlow is imported."""

import os

# tensorflow-model-optimization 0.8 needs Keras 2 models, and TFLiteConverter.from_keras_model must see the
# same Keras that built them: both hold only when tf.keras resolves to tf-keras.
os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import tensorflow as tf  # noqa: E402
import tf_keras as keras  # noqa: E402, F401  (re-exported: the package imports keras from here)

if not tf.keras.__name__.startswith("tf_keras"):
    raise ImportError(
        "tf.keras is not tf-keras: TensorFlow was imported before TF_USE_LEGACY_KERAS=1 was set. "
        "Import `model` (or set TF_USE_LEGACY_KERAS=1 in the environment) before importing tensorflow."
    )
