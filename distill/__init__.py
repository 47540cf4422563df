"""Data, training pipeline and distillation of the SASRec teacher into the tensor-train student."""
