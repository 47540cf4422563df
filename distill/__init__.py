"""Data loading and splits, training loops, distillation losses and evaluation for odrec."""

import model.keras_setup  # noqa: F401  (selects tf-keras before anything here imports TensorFlow)
