"""On-device export: SASRec teacher and STP-TT student -> LiteRT flatbuffers, sidecars, golden cases, report.

Importing the package selects tf-keras (Keras 2) before TensorFlow loads, as every module here needs it.
"""

import model.keras_setup  # noqa: F401
