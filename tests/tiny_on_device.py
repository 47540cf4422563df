"""A tiny untrained student exported with the on-device writer (convert/on_device.py), beside its vocab: what
the runtime and golden tests of on-device training run on."""

from __future__ import annotations

from pathlib import Path

from runtime.sidecar import VOCAB_FILE, contract_fields
from runtime.vocab import write_vocab
from tests.conftest import tiny_sasrec_config
from tests.runtime.conftest import tiny_vocab


def write_tiny_on_device_model(
    folder: Path, n_items: int, max_len: int, top_k: int, spare: int, learning_rate: float = 0.3
):
    """Writes `student_fp32_on_device.tflite`, its sidecar and `vocab.tsv` (sku-style ids) into `folder`.

    Returns:
        (the model's path, the Keras student it was exported from).
    """
    import model  # noqa: F401  (tf-keras before TensorFlow)
    from convert.export_folder import ON_DEVICE_FILE
    from convert.on_device import OnDeviceConfig, write_on_device_model
    from model.sasrec import SASRec

    config = tiny_sasrec_config(n_items, max_len=max_len, item_table="stp_tt")
    keras_model = SASRec(config).build_for_inference()
    write_vocab(folder / VOCAB_FILE, tiny_vocab(n_items))
    fields = contract_fields("student", "fp32_on_device", "synthetic", n_items, max_len, top_k)
    path = folder / ON_DEVICE_FILE
    on_device = OnDeviceConfig(spare_items=spare, learning_rate=learning_rate, weight_decay=0.0)
    write_on_device_model(keras_model, top_k, on_device, path, fields)
    return path, keras_model
