"""Personalisation on the device: train an on-device export on a user's own history, add new items, and keep
the learnt state in a file of the app's own (nothing leaves the device).

    python -m runtime.personalise --model artifacts/synthetic/student_fp32_on_device.tflite \\
        --history "12,7,33,7" --state my_state.json [--items_update items.odri] [--epochs 2] [--reset]

The model is an export written with `convert/to_tflite.py --on_device_training` (convert/on_device.py). Its
state (adapter, item biases, added items) leaves and re-enters through `get_weights`/`set_weights`; the state
file is refused, like a sidecar, when it is corrupted or was saved for another model.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from absl import app, flags

from runtime.atomic import atomic_write_text
from runtime.history import check_original_ids, encode_history
from runtime.input_files import read_input_file
from runtime.item_update import ItemUpdate, ItemUpdateError, decode_item_update
from runtime.litert import _check_signature, _expected_signatures, check_num_threads, load_interpreter
from runtime.ranking import recommend_unseen
from runtime.sidecar import REEXPORT_HINT, ArtifactError, load_artifact, spare_items

TRAINING_SIGNATURES = ("recommend", "score", "train", "get_weights", "set_weights", "set_items")
STATE_NAMES = ("adapter_scale", "adapter_shift", "item_bias", "spare_vectors", "spare_active")
STATE_FORMAT = "odrec-on-device-state"
STATE_VERSION = 1


class StateError(ValueError):
    """A saved personal state that is corrupted or belongs to another model; the message says what to do."""


def training_pairs(item_ids: Sequence[int], max_len: int) -> list[tuple[np.ndarray, int]]:
    """Every consecutive next-item pair of a chronological history: (encoded prefix [max_len], next id).

    A caller that evaluates passes the history without its held-out target: no pair reads past the end.
    """
    return [(encode_history(item_ids[:end], max_len), int(item_ids[end])) for end in range(1, len(item_ids))]


def _state_digest(body: dict) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode("utf-8")).hexdigest()


class Personaliser:
    """One user's on-device model: recommend, train, add items, save and load the state.

    Internal ids: 1..n_items are the vocab's; n_items + 1 + j is spare slot j, filled by `add_items`.
    Not thread-safe: an interpreter runs one invocation at a time, and training changes its variables.
    """

    def __init__(self, model_path: str | os.PathLike[str], num_threads: int = 1) -> None:
        """Verifies the export like `Recommender` and that it is an on-device one.

        Raises:
            ArtifactError: the export breaks its contract or has no on-device signatures.
            ValueError: num_threads outside 1..max_threads().
        """
        self.model_path = Path(model_path)
        check_num_threads(num_threads)
        content = read_input_file(self.model_path, "model file", ArtifactError, REEXPORT_HINT)
        self.sidecar, self.vocab = load_artifact(self.model_path, model_content=content)
        if spare_items(self.sidecar, self.model_path) == 0:
            raise ArtifactError(
                f"{self.model_path} is not an on-device export (its sidecar has no on_device block); "
                "export with `python convert/to_tflite.py --on_device_training` and use "
                "student_fp32_on_device.tflite"
            )
        interpreter = load_interpreter(self.model_path, num_threads, content)
        missing = sorted(set(TRAINING_SIGNATURES) - set(interpreter.get_signature_list()))
        if missing:
            raise ArtifactError(f"{self.model_path} lacks the signatures {missing}; {REEXPORT_HINT}")
        self._runners = {name: interpreter.get_signature_runner(name) for name in TRAINING_SIGNATURES}
        for name, expected in _expected_signatures(self.sidecar).items():
            _check_signature(self.model_path, name, self._runners[name], expected)
        self._state_shapes = {
            name: details["shape"].tolist()
            for name, details in self._runners["set_weights"].get_input_details().items()
        }
        self.added_items: dict[str, int] = {}

    @property
    def max_len(self) -> int:
        return int(self.sidecar["max_len"])

    @property
    def n_items(self) -> int:
        """Trained catalogue size (the vocab's)."""
        return int(self.sidecar["n_items"])

    @property
    def spare_items(self) -> int:
        return spare_items(self.sidecar, self.model_path)

    @property
    def max_id(self) -> int:
        """The largest internal id in use: the vocab's, then the added items'."""
        return self.n_items + len(self.added_items)

    # ----- ids -----
    def internal_ids(self, original_ids: Sequence[str]) -> list[int]:
        """Internal ids of original ids (vocab, then added items).

        Raises:
            ValueError: an id neither in the vocab nor added, named with what to do.
        """
        internal = []
        for original in check_original_ids(original_ids):
            found = self.vocab.to_internal(original) or self.added_items.get(original)
            if found is None:
                raise ValueError(
                    f"item {original!r} is neither in {self.sidecar['vocab_file']} nor an added item; "
                    "apply the catalogue update that introduces it (--items_update) or drop it"
                )
            internal.append(found)
        return internal

    def original_id(self, internal: int) -> str:
        if internal <= self.n_items:
            return self.vocab.original_id(internal)
        by_internal = {value: key for key, value in self.added_items.items()}
        return by_internal[internal]

    def encode(self, item_ids: Sequence[int]) -> np.ndarray:
        """A chronological history of internal ids as the model's left-padded int32 [max_len] input."""
        return encode_history(item_ids, self.max_len, self.max_id)

    # ----- inference and training -----
    def recommend(self, history: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Top-K (ids, scores) for an encoded history; history items and unused slots are never returned."""
        outputs = self._runners["recommend"](history=np.asarray(history, np.int32)[None])
        return outputs["item_ids"][0].copy(), outputs["scores"][0].copy()

    def score(self, history: np.ndarray) -> np.ndarray:
        """float32 [n_items + 1 + spare_items]; padding and unused slots hold -1e9."""
        return self._runners["score"](history=np.asarray(history, np.int32)[None])["scores"][0].copy()

    def recommend_unseen(self, item_ids: Sequence[int]) -> tuple[np.ndarray, np.ndarray, str]:
        """Top-K with every item of the whole history excluded, also those older than `max_len`
        (`runtime.ranking.recommend_unseen`); returns (ids, scores, the signature that ran)."""
        top_k = int(self.sidecar["top_k"])
        return recommend_unseen(
            item_ids, self.encode(item_ids), self.max_len, top_k, self.recommend, self.score, self.max_id
        )

    def train_step(self, history: np.ndarray, target: int) -> float:
        """One SGD step towards `target` after the encoded `history`; returns the loss before the step.

        Raises:
            ValueError: a target that is not a trained item or an added one.
        """
        if not 1 <= int(target) <= self.max_id:
            raise ValueError(f"target {target} must be an item id in 1..{self.max_id}")
        history = np.asarray(history, np.int32)[None]
        return float(self._runners["train"](history=history, target=np.array([target], np.int32))["loss"])

    def personalise(self, item_ids: Sequence[int], epochs: int = 1) -> list[float]:
        """Trains on the user's own consecutive next-item pairs of `item_ids`, `epochs` passes; the losses."""
        pairs = training_pairs(list(item_ids), self.max_len)
        return [self.train_step(history, target) for _ in range(epochs) for history, target in pairs]

    def add_items(self, update: ItemUpdate, source: str = "item update") -> list[int]:
        """Writes the update's items into free spare slots (an id added before keeps its slot); their ids.

        Raises:
            ItemUpdateError: an update for another model or width, an id of the trained catalogue, or more
                new items than free slots.
        """
        if update.model_sha256_prefix != self.sidecar["sha256"][:16]:
            raise ItemUpdateError(
                f"{source} was computed for model {update.model_sha256_prefix}..., "
                f"not {self.model_path.name} "
                f"({self.sidecar['sha256'][:16]}...); fetch the update of the installed model"
            )
        dim = self._state_shapes["spare_vectors"][1]
        if update.vectors.shape[1] != dim:
            raise ItemUpdateError(
                f"{source} holds vectors of width {update.vectors.shape[1]}, the model {dim}"
            )
        trained = [item for item in update.original_ids if self.vocab.to_internal(item) is not None]
        if trained:
            raise ItemUpdateError(f"{source} re-adds items of the trained catalogue: {trained[:5]}")
        new = [item for item in update.original_ids if item not in self.added_items]
        if len(self.added_items) + len(new) > self.spare_items:
            raise ItemUpdateError(
                f"{source} adds {len(new)} items but only {self.spare_items - len(self.added_items)} of "
                f"{self.spare_items} spare slots are free; install the next full model export"
            )
        for item in new:
            self.added_items[item] = self.n_items + 1 + len(self.added_items)
        ids = [self.added_items[item] for item in update.original_ids]
        slots = np.full(self.spare_items, -1, np.int32)
        vectors = np.zeros((self.spare_items, dim), np.float32)
        slots[: len(ids)] = np.array(ids) - (self.n_items + 1)
        vectors[: len(ids)] = update.vectors
        self._runners["set_items"](slots=slots, vectors=vectors)
        return ids

    # ----- state -----
    def get_state(self) -> dict[str, np.ndarray]:
        """Copies of the learnt variables, by STATE_NAMES."""
        return {name: np.array(value) for name, value in self._runners["get_weights"]().items()}

    def set_state(self, state: dict[str, np.ndarray]) -> None:
        """Writes the variables; `state` must hold every name of STATE_NAMES in the model's shapes."""
        self._runners["set_weights"](**{name: np.asarray(state[name], np.float32) for name in STATE_NAMES})

    def reset(self) -> None:
        """Back to the shipped model: zero state, no added items."""
        self.set_state({name: np.zeros(shape, np.float32) for name, shape in self._state_shapes.items()})
        self.added_items = {}

    def save_state(self, path: str | os.PathLike[str]) -> Path:
        """Writes the state, the added items and the model's sha256 to `path` (JSON, atomically)."""
        tensors = {
            name: {
                "shape": list(value.shape),
                "data": base64.b64encode(value.astype("<f4").tobytes()).decode(),
            }
            for name, value in self.get_state().items()
        }
        body = {
            "format": STATE_FORMAT,
            "version": STATE_VERSION,
            "model_file": self.model_path.name,
            "model_sha256": self.sidecar["sha256"],
            "added_items": self.added_items,
            "tensors": tensors,
        }
        atomic_write_text(path, json.dumps({**body, "sha256": _state_digest(body)}) + "\n")
        return Path(path)

    def load_state(self, path: str | os.PathLike[str]) -> None:
        """Reads a state written by `save_state` for this model.

        Raises:
            StateError: unreadable, corrupted (checksum), for another model, or of other shapes.
        """
        fix = f"delete {path} to start again from the shipped model"
        content = read_input_file(path, "state file", StateError, fix)
        try:
            document = json.loads(content.decode("utf-8"))
            body = {key: value for key, value in document.items() if key != "sha256"}
            digest = document.get("sha256")
        except (ValueError, RecursionError, AttributeError) as error:
            # ValueError: not UTF-8, not JSON, an integer past Python's digit limit; AttributeError: not an
            # object; RecursionError: nested too deep.
            reason = " ".join(str(error).split())[:200] or type(error).__name__
            raise StateError(f"state file {path} cannot be read ({reason}); {fix}") from None
        if body.get("format") != STATE_FORMAT or body.get("version") != STATE_VERSION:
            raise StateError(f"{path} is not an odrec on-device state of version {STATE_VERSION}; {fix}")
        if digest != _state_digest(body):
            raise StateError(f"state file {path} is corrupted (its sha256 does not match its content); {fix}")
        if body.get("model_sha256") != self.sidecar["sha256"]:
            raise StateError(
                f"state file {path} was saved for model {body.get('model_file')!r} "
                f"(sha256 {str(body.get('model_sha256'))[:16]}...), not {self.model_path.name} "
                f"({self.sidecar['sha256'][:16]}...): a state only fits the model it was trained on; {fix}"
            )
        state = {}
        for name, shape in self._state_shapes.items():
            tensor = body["tensors"].get(name, {})
            values = np.frombuffer(base64.b64decode(tensor.get("data", "")), "<f4")
            if tensor.get("shape") != shape or values.size != int(np.prod(shape)):
                raise StateError(f"state file {path}: {name} is not of shape {shape}; {fix}")
            state[name] = values.reshape(shape).astype(np.float32)
        added = body["added_items"]
        if sorted(added.values()) != list(range(self.n_items + 1, self.n_items + 1 + len(added))):
            raise StateError(f"state file {path}: added items do not fill the spare slots in order; {fix}")
        self.set_state(state)
        self.added_items = dict(added)


FLAGS = flags.FLAGS


def define_flags() -> None:
    flags.DEFINE_string("model", None, "An on-device export (student_fp32_on_device.tflite).", required=True)
    flags.DEFINE_list("history", [], "The user's history, original ids, oldest first (comma-separated).")
    flags.DEFINE_string("state", None, "State file: loaded when it exists, written after training.")
    flags.DEFINE_string("items_update", None, "A catalogue update (runtime/item_update.py) to apply first.")
    flags.DEFINE_integer("epochs", 1, "Passes over the history's next-item pairs.", lower_bound=0)
    flags.DEFINE_bool("reset", False, "Start from the shipped model even when --state exists.")


def run(values: flags.FlagValues) -> list[str]:
    """The CLI's job; returns the printed lines."""
    personaliser = Personaliser(values.model)
    state = Path(values.state) if values.state else None
    if state is not None and state.exists() and not values.reset:
        personaliser.load_state(state)
    if values.items_update:
        hint = "give the catalogue update file the server sent"
        data = read_input_file(values.items_update, "catalogue update", ItemUpdateError, hint)
        added = personaliser.add_items(decode_item_update(data, values.items_update), values.items_update)
        print(f"added {len(added)} items from {values.items_update}")
    history = personaliser.internal_ids(values.history)
    started = time.perf_counter()
    losses = personaliser.personalise(history, values.epochs)
    if losses:
        milliseconds = 1000 * (time.perf_counter() - started) / len(losses)
        print(
            f"trained {len(losses)} steps ({milliseconds:.2f} ms each): "
            f"loss {losses[0]:.4f} -> {losses[-1]:.4f}"
        )
    if state is not None:
        personaliser.save_state(state)
        print(f"state saved to {state}")
    lines = []
    if history:
        item_ids, scores, _ = personaliser.recommend_unseen(history)
        lines = [
            f"{personaliser.original_id(int(i))}\t{s:.4f}" for i, s in zip(item_ids, scores, strict=True)
        ]
        print("\n".join(lines))
    return lines


def main(argv: Sequence[str]) -> None:
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {argv[1:]}")
    try:
        run(FLAGS)
    except (ArtifactError, StateError, ItemUpdateError, ValueError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    define_flags()
    app.run(main)
