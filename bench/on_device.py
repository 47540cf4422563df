"""What learning on the device is worth: personalisation gain, and new items without a new model (LiteRT).

    python -m bench.on_device --dataset synthetic      # -> bench/results/synthetic-on-device.json

Personalisation: per test user, start from the shipped student's on-device export (zero state), `train` over
the user's own earlier next-item pairs (the test prefix, never the test target), then rank the test target
with `score`. New items: a slice of items is held out of training entirely; a student trained without them
receives their vectors through `set_items` (convert/new_items.py, from the training sessions they appear in),
and their HR@20 on test targets that are those items is compared with a student retrained with them.
Models (teacher + distilled student, twice) are trained into --work_dir and reused by a later run. With
--student (a trained student of the dataset, e.g. a `bench.run` ladder run) only personalisation is measured,
on that student, and nothing is trained. On datasets benchmarked with the history excluded (ML-1M) both
models rank that way, as `recommend` shows.
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from absl import app, flags

import model  # noqa: F401  (tf-keras before TensorFlow)
from bench.presets import EXCLUDE_HISTORY, TABLES, TEACHERS
from convert.export import export_tflite
from convert.export_folder import export_dataset
from convert.new_items import new_item_vectors
from convert.on_device import OnDeviceConfig, write_on_device_model
from distill.dataset import SequenceDataset
from distill.distiller import DistillConfig
from distill.item_order import reorder_dataset
from distill.model_io import load_model
from distill.registry import load_dataset
from distill.student import train_student
from distill.teacher import train_teacher
from model.sasrec import SASRecConfig
from runtime.atomic import atomic_write_text
from runtime.item_update import decode_item_update, encode_item_update
from runtime.metrics import ranking_metrics, target_ranks
from runtime.personalise import Personaliser
from runtime.provenance import command_line, git_commit, machine_info
from runtime.sidecar import VOCAB_FILE, contract_fields
from runtime.vocab import Vocab, write_vocab

RESULTS_DIR = Path(__file__).resolve().parent / "results"


def held_out_split(
    dataset: SequenceDataset, fraction: float, seed: int
) -> tuple[SequenceDataset, SequenceDataset]:
    """(full, base): the dataset relabelled so that a random `fraction` of items holds the top ids, and the
    same without those items (removed from every sequence; examples whose target is one are dropped).

    The full dataset's ids n_base + 1 .. are the base model's spare slots, in order.
    """
    rng = np.random.default_rng(seed)
    n_items = dataset.n_items
    held = np.zeros(n_items + 1, bool)
    held[1 + rng.permutation(n_items)[: max(1, int(round(fraction * n_items)))]] = True
    order = [item for item in range(1, n_items + 1) if not held[item]] + list(np.flatnonzero(held))
    full = reorder_dataset(dataset, np.asarray(order))
    n_base = n_items - int(held.sum())

    def kept(sequences):
        return tuple(sequence[sequence <= n_base] for sequence in sequences)

    def examples(prefixes, targets):
        rows = [
            row for row, target in enumerate(targets) if target <= n_base and np.any(prefixes[row] <= n_base)
        ]
        return kept([prefixes[row] for row in rows]), targets[rows]

    valid = examples(full.valid_prefixes, full.valid_targets)
    test = examples(full.test_prefixes, full.test_targets)
    base = dataclasses.replace(
        full,
        vocab=Vocab(full.vocab.original_ids[:n_base], full.vocab.titles[:n_base]),
        train_sequences=tuple(s for s in kept(full.train_sequences) if len(s)),
        valid_prefixes=valid[0],
        valid_targets=valid[1],
        test_prefixes=test[0],
        test_targets=test[1],
    )
    return full, base


def train_pair(dataset: SequenceDataset, folder: Path, teacher_epochs: int, student_epochs: int) -> Path:
    """Teacher (the dataset's preset backbone) and the distilled STP-TT student; returns the student
    folder."""
    backbone, train_config = TEACHERS[dataset.name]
    teacher = SASRecConfig(n_items=dataset.n_items, **backbone)
    student = dataclasses.replace(teacher, item_table="stp_tt", **TABLES[dataset.name]["main"])
    train_teacher(
        dataset, teacher, dataclasses.replace(train_config, epochs=teacher_epochs), folder / "teacher"
    )
    student_train = dataclasses.replace(train_config, epochs=student_epochs)
    train_student(dataset, folder / "teacher", student, DistillConfig(), student_train, folder / "student")
    return folder / "student"


def export_on_device(student_dir: Path, dataset: SequenceDataset, config: OnDeviceConfig, out: Path) -> dict:
    """Writes the on-device export of a student (and its vocab) into `out`; returns bytes of both files."""
    student = load_model(student_dir)
    out.mkdir(parents=True, exist_ok=True)
    write_vocab(out / VOCAB_FILE, dataset.vocab)
    fields = contract_fields(
        "student", "fp32_on_device", dataset.name, dataset.n_items, student.config.max_len, 20
    )
    path = write_on_device_model(student, 20, config, out / "student_fp32_on_device.tflite", fields)
    return {"path": path, "bytes": path.stat().st_size, "plain_bytes": len(export_tflite(student, 20))}


def personalisation(
    path: Path, dataset: SequenceDataset, max_users: int, epochs: int, exclude_history: bool = False
) -> dict:
    """Metrics of the unadapted and the personalised model on the same test users, and train-step times;
    `exclude_history`: both ranked without the items of the history the model is given."""
    personaliser = Personaliser(path)
    rows = min(max_users, len(dataset.test_prefixes)) if max_users else len(dataset.test_prefixes)
    plain, adapted, step_ms, histories = [], [], [], []
    for prefix in dataset.test_prefixes[:rows]:
        personaliser.reset()
        history = personaliser.encode(prefix)
        plain.append(personaliser.score(history))
        for _ in range(epochs):
            for end in range(1, len(prefix)):
                started = time.perf_counter()
                personaliser.train_step(personaliser.encode(prefix[:end]), int(prefix[end]))
                step_ms.append(1000 * (time.perf_counter() - started))
        adapted.append(personaliser.score(history))
        histories.append(history[history > 0])
    targets = dataset.test_targets[:rows]
    columns = dataset.n_items + 1
    excluded = histories if exclude_history else None
    return {
        "student": ranking_metrics(target_ranks(np.stack(plain)[:, :columns], targets, excluded)),
        "student-personalised": ranking_metrics(
            target_ranks(np.stack(adapted)[:, :columns], targets, excluded)
        ),
        "train_step_ms": {"p50": float(np.percentile(step_ms, 50)), "p95": float(np.percentile(step_ms, 95))},
        "n_users": rows,
        "n_train_steps": len(step_ms),
    }


def new_items(full: SequenceDataset, n_base: int, base_export: Path, retrained_export: Path) -> dict:
    """HR@20 on test targets that are held-out items: added by `set_items` to the base student, and in the
    student retrained with them; plus the update's bytes."""
    base_student = load_model(base_export.parent / "models" / "student")
    held_ids = list(range(n_base + 1, full.n_items + 1))
    vectors = new_item_vectors(base_student, full.train_sequences, held_ids)
    dim = base_student.config.hidden_dim
    matrix = np.stack([vectors.get(item, np.zeros(dim, np.float32)) for item in held_ids])
    personaliser = Personaliser(base_export)
    original_ids = [full.vocab.original_id(item) for item in held_ids]
    payload = encode_item_update(original_ids, matrix, personaliser.sidecar["sha256"])
    personaliser.add_items(decode_item_update(payload), "held-out items")
    retrained = Personaliser(retrained_export)
    rows = [row for row, target in enumerate(full.test_targets) if target > n_base]
    targets = full.test_targets[rows]
    added_scores = np.stack(
        [personaliser.score(personaliser.encode(full.test_prefixes[row])) for row in rows]
    )
    retrained_scores = np.stack([retrained.score(retrained.encode(full.test_prefixes[row])) for row in rows])
    columns = full.n_items + 1
    added = ranking_metrics(target_ranks(added_scores[:, :columns], targets))["HR@20"]
    reference = ranking_metrics(target_ranks(retrained_scores[:, :columns], targets))["HR@20"]
    return {
        "n_held_out_items": len(held_ids),
        "n_without_context": len(held_ids) - len(vectors),
        "n_test_targets": len(rows),
        "HR@20_set_items": added,
        "HR@20_retrained": reference,
        "ratio": added / reference if reference else None,
        "update_bytes": len(payload),
        "update_bytes_per_10_items": 10 * len(payload) / len(held_ids),
    }


FLAGS = flags.FLAGS
flags.DEFINE_string("dataset", "synthetic", "Dataset name (distill.registry).")
flags.DEFINE_string(
    "data_dir", None, "Benchmark data folder (default: $ODREC_DATA_DIR, then ../shared/data)."
)
flags.DEFINE_string(
    "work_dir", None, "Model folders (default runs/on-device/<dataset>); reused when present."
)
flags.DEFINE_integer("teacher_epochs", 20, "Teacher epochs of each of the two trainings.", lower_bound=1)
flags.DEFINE_integer("student_epochs", 20, "Student epochs of each of the two trainings.", lower_bound=1)
flags.DEFINE_float("held_out_fraction", 0.05, "Share of items held out of training for the new-items test.")
flags.DEFINE_integer("max_users", 500, "Test users of the personalisation protocol (0 = all).", lower_bound=0)
flags.DEFINE_integer("epochs", 2, "Passes over each user's own pairs.", lower_bound=1)
flags.DEFINE_float("learning_rate", 0.05, "SGD step of the exported `train`.")
flags.DEFINE_float("weight_decay", 0.01, "Pull of `train` toward the shipped model.")
flags.DEFINE_integer("seed", 0, "Seed of the data and of the held-out items.")
flags.DEFINE_string(
    "student",
    None,
    "A trained student folder of --dataset: personalisation only, on it, nothing trained (the new-items "
    "protocol needs a student trained without some items).",
)
flags.DEFINE_integer("spare_items", 16, "Spare item slots of the export with --student.", lower_bound=1)


def main(argv: Sequence[str]) -> None:
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {argv[1:]}")
    dataset = load_dataset(FLAGS.dataset, data_dir=FLAGS.data_dir, seed=FLAGS.seed)
    work = Path(FLAGS.work_dir or f"runs/on-device/{dataset.name}")
    exclude_history = dataset.name in EXCLUDE_HISTORY
    if FLAGS.student:
        config = on_device_config(FLAGS.spare_items)
        shipped_data = export_dataset(dataset, Path(FLAGS.student))  # the student's item order
        shipped = export_on_device(Path(FLAGS.student), shipped_data, config, work / "shipped")
        new = None
    else:
        full, base = held_out_split(dataset, FLAGS.held_out_fraction, FLAGS.seed)
        config = on_device_config(full.n_items - base.n_items)
        exports = {}
        for name, split in (("full", full), ("base", base)):
            train_pair(split, work / name / "models", FLAGS.teacher_epochs, FLAGS.student_epochs)
            exports[name] = export_on_device(work / name / "models" / "student", split, config, work / name)
        shipped, shipped_data = exports["full"], full
        new = new_items(full, base.n_items, exports["base"]["path"], shipped["path"])
    measured = personalisation(shipped["path"], shipped_data, FLAGS.max_users, FLAGS.epochs, exclude_history)
    result = {
        "dataset": dataset.name,
        "commit": git_commit(),
        "machine": machine_info(),
        "command": command_line(),
        "protocol": __doc__.split("\n\n")[1],
        "exclude_history": exclude_history,
        "student_dir": FLAGS.student,
        "on_device_config": dataclasses.asdict(config),
        "personalisation_epochs": FLAGS.epochs,
        "n_users": measured["n_users"],
        "student": {"metrics": measured["student"], "bytes": shipped["plain_bytes"]},
        "student-personalised": {
            "metrics": measured["student-personalised"],
            "bytes": shipped["bytes"],
            "added_bytes": shipped["bytes"] - shipped["plain_bytes"],
            "bytes_ratio": shipped["bytes"] / shipped["plain_bytes"],
            "train_step_ms": measured["train_step_ms"],
            "n_train_steps": measured["n_train_steps"],
            "threads": 1,
        },
        "ndcg@10_gain": measured["student-personalised"]["NDCG@10"] / measured["student"]["NDCG@10"] - 1,
        "new_items": new,
    }
    path = RESULTS_DIR / f"{dataset.name}-on-device.json"
    atomic_write_text(path, json.dumps(result, indent=2) + "\n")
    print(json.dumps({key: result[key] for key in ("ndcg@10_gain", "new_items")}, indent=2))
    print(f"wrote {path}")


def on_device_config(spare_items: int) -> OnDeviceConfig:
    return OnDeviceConfig(
        spare_items=spare_items, learning_rate=FLAGS.learning_rate, weight_decay=FLAGS.weight_decay
    )


if __name__ == "__main__":
    app.run(main)
