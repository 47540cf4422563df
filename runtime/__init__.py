"""On-device harness: pre/post-processing, metrics and LiteRT inference. Never imports TensorFlow."""
