"""Saving and loading SASRec teachers and students: config.json + weights, both written atomically."""

from __future__ import annotations

import json
from pathlib import Path

from model.sasrec import SASRec, SASRecConfig
from runtime.atomic import atomic_path, atomic_write_text

CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.weights.h5"


def save_model(model: SASRec, directory: str | Path) -> None:
    directory = Path(directory)
    with atomic_path(directory / WEIGHTS_FILE) as temporary:
        model.save_weights(str(temporary))
    atomic_write_text(directory / CONFIG_FILE, json.dumps(model.config.to_dict(), indent=2))


def load_model(directory: str | Path) -> SASRec:
    """Rebuilds a model from config.json and loads its weights (raises naming the missing file)."""
    directory = Path(directory)
    for name in (CONFIG_FILE, WEIGHTS_FILE):
        if not (directory / name).exists():
            raise FileNotFoundError(
                f"{directory / name} not found: pass a model directory written by distill.train_teacher or "
                "distill.train_student"
            )
    model = SASRec(SASRecConfig.from_dict(json.loads((directory / CONFIG_FILE).read_text())))
    model.build_for_inference()
    model.load_weights(str(directory / WEIGHTS_FILE))
    return model
