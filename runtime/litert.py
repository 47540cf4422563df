"""LiteRT inference behind the export contract: signatures selected by name, inputs validated first.

Imports LiteRT (or the older tflite-runtime wheel) and never TensorFlow: edge boards do not have it.
"""

import os
import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from runtime.history import EmptyHistoryError, check_encoded_history, encode_history
from runtime.input_files import read_input_file
from runtime.ranking import recommend_unseen
from runtime.sidecar import REEXPORT_HINT, ArtifactError, load_artifact, spare_items
from runtime.vocab import Vocab

__all__ = [
    "EmptyHistoryError",
    "Recommender",
    "check_num_threads",
    "interpreter_class",
    "load_interpreter",
    "max_threads",
]


def interpreter_class() -> type:
    """The LiteRT `Interpreter`: `ai_edge_litert` first, `tflite_runtime` (older boards) as the fallback.

    Raises:
        ImportError: neither package is installed; the message says what to install.
    """
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError:
        try:
            from tflite_runtime.interpreter import Interpreter
        except ImportError:
            raise ImportError(
                "no LiteRT interpreter is installed: run `pip install ai-edge-litert` "
                "(or `pip install tflite-runtime` on a board without an ai-edge-litert wheel)"
            ) from None
    return Interpreter


def max_threads() -> int:
    """The most interpreter threads this machine offers (its CPU count); more only oversubscribe it, and
    absurd counts crashed the process inside LiteRT."""
    return os.cpu_count() or 1


def check_num_threads(num_threads: int) -> int:
    """Returns `num_threads` once it is an integer in 1..max_threads().

    Raises:
        ValueError: anything else, naming the allowed range.
    """
    if (
        isinstance(num_threads, bool)
        or not isinstance(num_threads, int)
        or not 1 <= num_threads <= max_threads()
    ):
        raise ValueError(
            f"num_threads must be an integer in 1..{max_threads()} (this machine's CPUs), got {num_threads!r}"
        )
    return num_threads


def load_interpreter(
    model_path: str | os.PathLike[str], num_threads: int = 1, model_content: bytes | None = None
):
    """Opens a flatbuffer with `num_threads` CPU threads, from `model_content` when given (then the file is
    not read again: what the caller verified is what runs).

    Raises:
        ValueError: num_threads outside 1..max_threads().
        ArtifactError: the file is missing or not a loadable flatbuffer (the interpreter's own error is kept).
    """
    check_num_threads(num_threads)
    interpreter = interpreter_class()
    try:
        if model_content is not None:
            return interpreter(model_content=model_content, num_threads=num_threads)
        return interpreter(model_path=str(model_path), num_threads=num_threads)
    except (ValueError, RuntimeError) as error:
        raise ArtifactError(
            f"LiteRT cannot load {model_path} ({error}); the file is truncated, corrupted or not a "
            f"flatbuffer: {REEXPORT_HINT}"
        ) from error


def _expected_signatures(sidecar: dict) -> dict[str, dict[str, dict[str, tuple[list[int], type]]]]:
    """Shapes and dtypes every consumer relies on, derived from the sidecar (docs/artifacts.md)."""
    history = {"history": ([1, sidecar["max_len"]], np.int32)}
    return {
        "recommend": {
            "inputs": history,
            "outputs": {
                "item_ids": ([1, sidecar["top_k"]], np.int32),
                "scores": ([1, sidecar["top_k"]], np.float32),
            },
        },
        "score": {
            "inputs": history,
            "outputs": {"scores": ([1, sidecar["n_items"] + 1 + spare_items(sidecar)], np.float32)},
        },
    }


def _check_signature(model_path: Path, name: str, runner, expected: dict) -> None:
    """Refuses a model whose signature tensors differ from what the sidecar (so every consumer) expects."""
    actual = {"inputs": runner.get_input_details(), "outputs": runner.get_output_details()}
    for direction, tensors in expected.items():
        for tensor_name, (shape, dtype) in tensors.items():
            details = actual[direction].get(tensor_name)
            if details is None:
                found = "nothing"
            elif details["shape"].tolist() == shape and details["dtype"] == dtype:
                continue
            else:
                found = f"{np.dtype(details['dtype']).name} {details['shape'].tolist()}"
            raise ArtifactError(
                f"{model_path}: signature {name!r} {direction[:-1]} {tensor_name!r} should be "
                f"{np.dtype(dtype).name} {shape} per its sidecar, the model has {found}; {REEXPORT_HINT}"
            )


class Recommender:
    """A verified export (model + sidecar + vocab) ready to recommend from encoded histories.

    Histories are internal ids, left-padded to `max_len` (see `runtime.history.encode_history`). A history
    with no real item raises `EmptyHistoryError` rather than recommend from padding alone.

    Thread safety: one interpreter runs one invocation at a time, so calls on one `Recommender` are serialised
    by a lock; threads that need parallel throughput each open their own `Recommender`.
    """

    def __init__(
        self,
        model_path: str | os.PathLike[str],
        num_threads: int = 1,
        expected_dataset: str | None = None,
        expected_n_items: int | None = None,
    ) -> None:
        """Verifies the sidecar (sha256 of model and vocab, vocab length) and the signatures' shapes.

        Args:
            model_path: the `.tflite` file; its sidecar and vocab sit beside it.
            num_threads: CPU threads of the interpreter, 1..max_threads().
            expected_dataset / expected_n_items: refuse an export of another dataset or catalogue size.

        Raises:
            ArtifactError: anything in the export that does not match the contract or the expectations.
            ValueError: num_threads outside 1..max_threads().
            ImportError: no LiteRT interpreter is installed.
        """
        self.model_path = Path(model_path)
        check_num_threads(num_threads)
        # Read once: the hash is checked on these bytes and the interpreter runs them, so replacing or
        # truncating the file under a live Recommender changes nothing (a memory-mapped file did: bus error).
        self._model_content = read_input_file(self.model_path, "model file", ArtifactError, REEXPORT_HINT)
        self.sidecar, self._vocab = load_artifact(
            self.model_path, expected_dataset, expected_n_items, self._model_content
        )
        self._lock = threading.Lock()
        interpreter = load_interpreter(self.model_path, num_threads, self._model_content)
        self.num_threads = num_threads
        expected = _expected_signatures(self.sidecar)
        available = interpreter.get_signature_list()
        missing = sorted(set(expected) - set(available))
        if missing:
            raise ArtifactError(
                f"{self.model_path} lacks the signatures {missing} (it has {sorted(available)}); "
                f"{REEXPORT_HINT}"
            )
        self._runners = {name: interpreter.get_signature_runner(name) for name in expected}
        for name, runner in self._runners.items():
            _check_signature(self.model_path, name, runner, expected[name])

    @property
    def max_len(self) -> int:
        """Input length L of both signatures."""
        return int(self.sidecar["max_len"])

    @property
    def top_k(self) -> int:
        """Number of items `recommend` returns."""
        return int(self.sidecar["top_k"])

    @property
    def n_items(self) -> int:
        """Catalogue size; internal ids are 1..n_items."""
        return int(self.sidecar["n_items"])

    @property
    def vocab(self) -> Vocab:
        """The verified vocab of the export."""
        return self._vocab

    def recommend(self, history: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Top-K next items; history items and padding are excluded inside the graph.

        Args:
            history: int `[max_len]` encoded, left-padded internal ids.

        Returns:
            (int32 `[top_k]` internal ids, float32 `[top_k]` scores), best first.

        Raises:
            InvalidItemIdError: wrong shape or dtype, or ids outside 0..n_items.
            EmptyHistoryError: the history is all padding.
        """
        history = check_encoded_history(history, self.max_len, self.n_items)
        with self._lock:
            outputs = self._runners["recommend"](history=history[np.newaxis])
            return outputs["item_ids"][0].copy(), outputs["scores"][0].copy()

    def score(self, history: np.ndarray) -> np.ndarray:
        """Full-catalogue scores for evaluation, nothing excluded; column 0 (padding) scores below every item.

        Args:
            history: int `[max_len]` encoded, left-padded internal ids.

        Returns:
            float32 `[n_items + 1]`.

        Raises:
            InvalidItemIdError, EmptyHistoryError: as `recommend`.
        """
        history = check_encoded_history(history, self.max_len, self.n_items)
        with self._lock:
            return self._runners["score"](history=history[np.newaxis])["scores"][0].copy()

    def recommend_unseen(self, item_ids: Sequence[int]) -> tuple[np.ndarray, np.ndarray, str]:
        """Top-K next items with EVERY item of a history of any length excluded, not only the last `max_len`
        that the model reads.

        When the window holds every item of the history, `recommend` excludes them in the graph. Otherwise the
        items before the window would come back, so `score` runs and top-K is taken here without the whole
        history (`runtime.ranking`): one forward pass either way.

        Args:
            item_ids: internal ids, oldest first; the model reads the last `max_len`.

        Returns:
            (int32 `[<= top_k]` ids, float32 scores, best first; the signature that ran, "recommend" or
            "score").

        Raises:
            InvalidItemIdError: ids outside 1..n_items.
            EmptyHistoryError: no item.
        """
        history = encode_history(item_ids, self.max_len, self.n_items)
        return recommend_unseen(item_ids, history, self.max_len, self.top_k, self.recommend, self.score)
