"""The frozen teacher's side of distillation, computed once per (teacher, training rows, k, temperature).

At distillation time the teacher runs in inference mode, so what the losses need from it is a function of
the training row alone: its top-k KD targets at every supervised position and its sequence vector.
Recomputing them every step cost a teacher forward pass and a catalogue-wide scoring of every supervised
position per epoch; here they are computed once, stored in the teacher's folder under a key that hashes the
teacher's files and the training rows, and reused by every epoch and every student of a ladder. Only top-k
KD can be cached (full-catalogue KD would store n_items floats per position).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from distill.losses import TeacherTopK, teacher_top_k
from distill.model_io import CONFIG_FILE, WEIGHTS_FILE
from distill.pipeline import EpochBatches
from model.keras_setup import tf
from model.sasrec import SASRec
from runtime.atomic import atomic_path

CACHE_FOLDER = "distill_cache"
BUILD_BATCH = 256


def supervised_mask(teacher: SASRec, targets: tf.Tensor) -> tf.Tensor | None:
    """[batch, L] bool of the positions the losses supervise, or None for a readout (one row per sequence)."""
    return tf.not_equal(targets, 0) if teacher.readout is None else None


def live_teacher_targets(
    teacher: SASRec, history: tf.Tensor, targets: tf.Tensor, top_k: int, temperature: float
) -> tuple[TeacherTopK, tf.Tensor]:
    """The teacher's top-k KD targets of every supervised row (in `tf.boolean_mask` order) and its sequence
    vectors [batch, d], computed now in inference mode; no gradient flows into them."""
    hidden = teacher.encode(history, training=False)
    final = teacher.final_vector(hidden, history)
    supervised = supervised_mask(teacher, targets)
    rows = final if supervised is None else tf.boolean_mask(hidden, supervised)
    scores = teacher.scores_after(rows, teacher.supervised_histories(history, supervised))
    top = teacher_top_k(tf.stop_gradient(scores), temperature, top_k)
    return top, tf.stop_gradient(final)


def cached_teacher_targets(
    teacher: SASRec, targets: tf.Tensor, cached: dict
) -> tuple[TeacherTopK, tf.Tensor]:
    """The same as `live_teacher_targets`, read from a batch of cache rows (`EpochBatches.row_extras`)."""
    supervised = supervised_mask(teacher, targets)
    if supervised is None:
        pick = lambda values: values[:, 0]  # noqa: E731  (one stored position: the sequence's last)
    else:
        pick = lambda values: tf.boolean_mask(values, supervised)  # noqa: E731
    top = TeacherTopK(pick(cached["log_probs"]), pick(cached["items"]), pick(cached["tail_log_prob"]))
    return top, cached["final"]


TOP_K_FIELDS = ("log_probs", "items", "tail_log_prob")


@dataclass(frozen=True, eq=False)
class TeacherCache:
    """The teacher's targets of every training row, stored ragged: only supervised positions, each row's
    latest first (`row_splits` delimits the rows, as in tf.RaggedTensor), so short sessions in a long window
    cost what they hold; and its sequence vector per row.

    Attributes:
        values: TOP_K_FIELDS -> [supervised positions, k] (tail: [supervised positions]).
        row_splits: int64 [rows + 1].
        final: float32 [rows, d].
        positions: the window a batch is rebuilt to: L, or 1 for a readout (one row per sequence).
    """

    values: dict[str, np.ndarray]
    row_splits: np.ndarray
    final: np.ndarray
    positions: int

    def arrays(self) -> dict[str, np.ndarray]:
        return {**self.values, "row_splits": self.row_splits, "final": self.final}

    def batch_rows(self, rows: tf.Tensor) -> dict[str, tf.Tensor]:
        """The batch's entries as dense, right-aligned [batch, positions, ...] tensors (the layout of the
        training targets: padding first), zero at unsupervised positions; use as `EpochBatches.row_extras`."""
        splits = tf.constant(self.row_splits)
        batch = {"final": tf.gather(tf.constant(self.final), rows)}
        for name, values in self.values.items():
            ragged = tf.gather(tf.RaggedTensor.from_row_splits(tf.constant(values), splits), rows)
            dense = ragged.to_tensor(shape=[None, self.positions, *values.shape[1:]])
            batch[name] = tf.reverse(dense, axis=[1])
        return batch


def build_teacher_cache(
    teacher: SASRec, batches: EpochBatches, top_k: int, temperature: float
) -> TeacherCache:
    """Runs the teacher once over every training row of `batches`."""
    rows, length = batches.inputs.shape
    positions = length if teacher.readout is None else 1
    supervised = batches.targets != 0 if positions > 1 else np.ones((rows, 1), bool)
    compute = tf.function(lambda h, t: live_teacher_targets(teacher, h, t, top_k, temperature))
    parts = {name: [] for name in TOP_K_FIELDS}
    finals = []
    for start in range(0, rows, BUILD_BATCH):
        end = min(start + BUILD_BATCH, rows)
        top, final = compute(batches.inputs[start:end], batches.targets[start:end])
        mask = supervised[start:end]
        for name, rows_values in zip(TOP_K_FIELDS, top, strict=True):
            # Live rows come in mask order (positions ascending); store each row's latest position first.
            dense = np.zeros((*mask.shape, *rows_values.shape[1:]), rows_values.dtype.as_numpy_dtype)
            dense[mask] = rows_values.numpy()
            parts[name].append(dense[:, ::-1][mask[:, ::-1]])
        finals.append(final.numpy())
    counts = supervised.sum(axis=1)
    return TeacherCache(
        values={name: np.concatenate(chunks) for name, chunks in parts.items()},
        row_splits=np.concatenate([[0], np.cumsum(counts)]).astype(np.int64),
        final=np.concatenate(finals),
        positions=positions,
    )


def cache_key(
    teacher_dir: Path,
    batches: EpochBatches,
    top_k: int,
    temperature: float,
    item_order: np.ndarray | None = None,
) -> str:
    """Hash of the teacher's files, the training rows, k, the temperature and the item order the teacher
    was renumbered to (`distill.item_order`; None: its own): any change is a new entry. The order counts
    even when the rows are the same: items that never occur in a training row still take new ids among the
    teacher's top k."""
    digest = hashlib.sha256()
    for name in (CONFIG_FILE, WEIGHTS_FILE):
        digest.update((teacher_dir / name).read_bytes())
    for array in (batches.inputs, batches.targets):
        digest.update(str(array.shape).encode())
        digest.update(np.ascontiguousarray(array).tobytes())
    digest.update(f"top_k={top_k} temperature={temperature!r}".encode())
    if item_order is not None:
        digest.update(b"item_order=" + np.asarray(item_order, dtype=np.int64).tobytes())
    return digest.hexdigest()[:24]


def load_or_build_teacher_cache(
    teacher_dir: str | Path,
    teacher: SASRec,
    batches: EpochBatches,
    top_k: int,
    temperature: float,
    write: bool = True,
    item_order: np.ndarray | None = None,
) -> TeacherCache:
    """The cache of (teacher, rows, k, temperature, item order) from `teacher_dir/distill_cache/`, built and
    stored on a miss. `write=False` (a non-chief worker) builds without storing. `item_order`: the order
    `teacher` was renumbered to after loading (`distill.item_order.reorder_item_table`), None if none."""
    teacher_dir = Path(teacher_dir)
    key = cache_key(teacher_dir, batches, top_k, temperature, item_order)
    path = teacher_dir / CACHE_FOLDER / f"{key}.npz"
    positions = batches.inputs.shape[1] if teacher.readout is None else 1
    if path.is_file():
        with np.load(path) as stored:
            arrays = {name: stored[name] for name in stored.files}
        cache = TeacherCache(
            values={name: arrays[name] for name in TOP_K_FIELDS},
            row_splits=arrays["row_splits"],
            final=arrays["final"],
            positions=positions,
        )
        print(f"teacher cache: hit, {path}")
        return cache
    print(f"teacher cache: miss, running the teacher once over {len(batches.inputs)} training rows")
    cache = build_teacher_cache(teacher, batches, top_k, temperature)
    if write:
        with atomic_path(path) as temporary:
            np.savez(temporary, **cache.arrays())
        print(f"teacher cache: stored {path.stat().st_size / 2**20:.1f} MiB at {path}")
    return cache
