"""Keras (tf-keras, Keras 2) layers and models: SASRec teacher, STP tensor-train item table, compact student.

Importing this package selects Keras 2 for TensorFlow before TensorFlow loads; every entry point imports it
first.
"""

from model.keras_setup import keras, tf

__all__ = ["keras", "tf"]
