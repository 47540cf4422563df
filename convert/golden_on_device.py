"""golden_on_device.json: a golden training sequence for the on-device export, for cross-runtime parity.

A user taps the items of one history in order; after each tap the app runs one `train` step towards the tapped
item from the items before it (`runtime.personalise.training_pairs`). The file holds that sequence of `train`
calls with the loss Python's LiteRT returned for each, the state after the last step as a saved-state document
(`Personaliser.save_state`), and the top 10 before and after training, for the whole history and for its first
item alone (a single tap trains nothing, so an app shows that ranking from a restored state as it is). Another
runtime that replays the steps must reach the same state and the same top 10 (docs/artifacts.md).
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Sequence
from pathlib import Path

from runtime.atomic import atomic_write_text
from runtime.personalise import Personaliser, training_pairs
from runtime.sidecar import file_sha256

GOLDEN_ON_DEVICE_FILE = "golden_on_device.json"
TOP_N = 10


def _top(personaliser: Personaliser, history: Sequence[int], top_n: int) -> dict:
    item_ids, scores, signature = personaliser.recommend_unseen(history)
    item_ids, scores = item_ids[:top_n], scores[:top_n]
    return {
        "signature": signature,
        "item_ids": item_ids.tolist(),
        "scores": scores.tolist(),
        "original_ids": [personaliser.original_id(int(item)) for item in item_ids],
    }


def golden_training(model_path: str | Path, history: Sequence[int], top_n: int | None = None) -> dict:
    """Runs the training sequence of `history` (internal ids, oldest first) on a fresh copy of the shipped
    model and records it, with the top `top_n` (default: TOP_N, or the model's top_k when that is smaller).

    Raises:
        ValueError: a history of fewer than two items (no training pair) or top_n outside 1..top_k.
    """
    history = [int(item) for item in history]
    personaliser = Personaliser(model_path)
    if len(history) < 2:
        raise ValueError(f"a golden training history needs at least 2 items, got {len(history)}")
    if top_n is None:
        top_n = min(TOP_N, int(personaliser.sidecar["top_k"]))
    if not 1 <= top_n <= int(personaliser.sidecar["top_k"]):
        raise ValueError(f"top_n={top_n} must be in 1..top_k={personaliser.sidecar['top_k']}")
    before = _top(personaliser, history, top_n)
    first_item_before = _top(personaliser, history[:1], top_n)
    steps = []
    for encoded, target in training_pairs(history, personaliser.max_len):
        loss = personaliser.train_step(encoded, target)
        steps.append({"history": encoded.tolist(), "target": target, "loss": loss})
    with tempfile.TemporaryDirectory(prefix="odrec_golden_state_") as directory:
        state = json.loads(personaliser.save_state(Path(directory) / "state.json").read_text())
    return {
        "model_file": Path(model_path).name,
        "model_sha256": file_sha256(model_path),
        "history_original_ids": [personaliser.original_id(item) for item in history],
        "learning_rate": personaliser.sidecar["on_device"]["learning_rate"],
        "steps": steps,
        "state_after": state,
        "top_n": top_n,
        "before": before,
        "after": _top(personaliser, history, top_n),
        "first_item_before": first_item_before,
        "first_item_after": _top(personaliser, history[:1], top_n),
    }


def write_golden_on_device(model_path: str | Path, history: Sequence[int], out_path: str | Path) -> dict:
    """Writes `golden_training(model_path, history)` to `out_path` atomically; returns it."""
    golden = golden_training(model_path, history)
    atomic_write_text(out_path, json.dumps(golden, indent=1) + "\n")
    return golden


def golden_training_history(prefixes: Sequence[Sequence[int]], max_len: int) -> list[int]:
    """The golden training history: the shortest golden prefix with more than `max_len` // 4 items (a few
    steps, each a `train` call the browser and Python must agree on), else the longest prefix."""
    usable = [list(prefix) for prefix in prefixes if len(prefix) >= 2]
    if not usable:
        raise ValueError("no golden prefix has 2 items or more; a training sequence needs a next-item pair")
    longer = [prefix for prefix in usable if len(prefix) > max_len // 4]
    return min(longer, key=len) if longer else max(usable, key=len)
