"""Benchmarks: full training runs on real data; results land in bench/results/*.json and BENCHMARKS.md."""

import model.keras_setup  # noqa: F401  (selects tf-keras before TensorFlow loads)
