"""On-device export: SASRec teacher and STP-TT student -> LiteRT flatbuffers, sidecars, golden cases, report.

Importing the package selects tf-keras (Keras 2) for TensorFlow, as every module here needs it, without
loading TensorFlow yet: the main job filters TensorFlow's load-time notices from stderr first
(`runtime.quiet`), and `tensorflow_model_optimization` (convert/qat.py) imports TensorFlow before
`model.keras_setup` checks the choice.
"""

import os

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
