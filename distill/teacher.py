"""Training the SASRec teacher (the library behind `python -m distill.train_teacher`), and the fit/evaluate
steps the student's distillation shares with it.

A teacher folder holds the model (config.json + weights), vocab.tsv, metrics.json (validation and test
metrics, baselines, epochs, seconds), checkpoints/ for resume and logs/ for TensorBoard.
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import numpy as np

from distill.baselines import (
    MarkovBaseline,
    PopularityBaseline,
    RecentItemsBaseline,
    SequentialRulesBaseline,
    SessionKNNBaseline,
)
from distill.dataset import SequenceDataset
from distill.evaluate import evaluate_scorer, model_scorer
from distill.model_io import load_model, save_model
from distill.pipeline import EpochBatches, training_dataset
from distill.run_folder import owned_run_folder
from distill.training import (
    TrainConfig,
    fit,
    learning_curve,
    make_optimizer,
    make_strategy,
    remove_worker_dir,
    worker_write_dir,
)
from model.keras_setup import keras, tf
from model.parameters import parameter_report
from model.sasrec import SASRec, SASRecConfig
from runtime.atomic import atomic_write_text
from runtime.metrics import TARGET_KIND_KEYS, head_item_mask
from runtime.vocab import write_vocab


def item_counts(sequences: Sequence[np.ndarray], n_items: int) -> np.ndarray:
    """Training frequency of every id [n_items + 1] (popularity negatives, hot/cold split)."""
    return np.bincount(np.concatenate(sequences), minlength=n_items + 1).astype(np.int64)


def prefix_sequences(sequences: Sequence[np.ndarray]) -> list[np.ndarray]:
    """Every prefix of length >= 2 as its own sequence (SR-GNN augmentation), for readouts that read the whole
    sequence and so supervise only its final target."""
    return [sequence[: end + 1] for sequence in sequences for end in range(1, len(sequence))]


def training_sequences(dataset: SequenceDataset, config: SASRecConfig) -> list[np.ndarray]:
    if config.readout == "attention":
        return prefix_sequences(dataset.train_sequences)
    return list(dataset.train_sequences)


BASELINES = (
    ("most-popular", PopularityBaseline),
    ("markov", MarkovBaseline),
    ("recent-items", RecentItemsBaseline),
    ("sequential-rules", SequentialRulesBaseline),
    ("session-knn", SessionKNNBaseline),
)


def evaluate_baselines(
    dataset: SequenceDataset,
    head_mask: np.ndarray,
    exclude_history: bool,
    max_len: int | None,
    test_limit: int = 0,
) -> list[dict]:
    """Fits every learn-nothing baseline on the training sequences only and evaluates it on validation and
    test, seeing the same last `max_len` items of each prefix as the model it is compared with.

    Args:
        test_limit: evaluate the first `test_limit` test examples only (0: all), as an export evaluates them.
    """
    limit = test_limit if test_limit > 0 else len(dataset.test_prefixes)
    entries = []
    for name, baseline_class in BASELINES:
        baseline = baseline_class().fit(dataset.train_sequences, dataset.n_items)
        reports = {
            split: evaluate_scorer(
                baseline.score, prefixes, targets, head_mask, exclude_history=exclude_history, max_len=max_len
            )
            for split, prefixes, targets in (
                ("test", dataset.test_prefixes[:limit], dataset.test_targets[:limit]),
                ("valid", dataset.valid_prefixes, dataset.valid_targets),
            )
        }
        entries.append(
            {
                "name": name,
                "role": "baseline",
                "params": 0,
                **split_metrics(reports["test"]),
                "valid_metrics": reports["valid"]["metrics"],
            }
        )
    return entries


def split_metrics(report: dict) -> dict:
    """The metrics of a results entry: overall/head/tail under `metrics_protocol`, the target-kind split, and
    `metrics_all_items` (nothing excluded) when the report ranked with the history excluded."""
    entry = {
        "metrics_protocol": report["metrics_protocol"],
        "metrics": report["metrics"],
        "metrics_head": report.get("metrics_head", {}),
        "metrics_tail": report.get("metrics_tail", {}),
        "coverage@10": report.get("coverage@10"),
        **{key: report[key] for key in TARGET_KIND_KEYS},
    }
    if "metrics_all_items" in report:
        entry["metrics_all_items"] = report["metrics_all_items"]
    return entry


def train_and_evaluate(
    model: keras.Model,
    dataset: SequenceDataset,
    sequences: Sequence[np.ndarray],
    train_config: TrainConfig,
    out_dir: Path,
    exclude_history: bool,
    restore_dir: Path | None = None,
    row_extras: Callable[[EpochBatches], Callable[[tf.Tensor], Mapping[str, tf.Tensor]]] | None = None,
) -> tuple[keras.Model, dict]:
    """Fits a compiled model with validation early stopping, reloads the best one and evaluates it on test.

    `out_dir` is where this process writes; `restore_dir` (default `out_dir`) where it resumes from (a
    non-chief worker writes to its scratch folder and resumes from the chief's, see `distill.training.fit`).
    `row_extras`, given the training rows, returns what each batch carries beside them (`EpochBatches`; the
    distiller's teacher cache).

    Returns the best model and {"state", "valid", "test"} reports.
    """
    config = model.config if isinstance(model, SASRec) else model.student.config
    head_mask = head_item_mask(dataset.train_sequences, dataset.n_items)
    deployable = model if isinstance(model, SASRec) else model.student
    scorer = model_scorer(deployable, config.max_len)

    def evaluate(scorer, prefixes: Sequence[np.ndarray], targets: np.ndarray) -> dict:
        return evaluate_scorer(
            scorer, prefixes, targets, head_mask, exclude_history=exclude_history, max_len=config.max_len
        )

    def validate() -> dict:
        return evaluate(scorer, dataset.valid_prefixes, dataset.valid_targets)

    data = training_dataset(sequences, config.max_len, train_config.batch_size, train_config.seed)
    if row_extras is not None:
        batches = data.epoch_batches
        data.epoch_batches = dataclasses.replace(batches, row_extras=row_extras(batches))
    state = fit(
        model, data, validate, lambda: save_model(deployable, out_dir), out_dir, train_config, restore_dir
    )
    best = load_model(out_dir)
    # The trained model takes the best weights, so that its scorer, traced for validation, serves the test
    # too (a scorer of `best` would trace the model once more).
    deployable.set_weights(best.get_weights())
    test = evaluate(scorer, dataset.test_prefixes, dataset.test_targets)
    valid = state.get("best_valid") or evaluate(scorer, dataset.valid_prefixes, dataset.valid_targets)
    return best, {"state": state, "valid": valid, "test": test}


def train_teacher(
    dataset: SequenceDataset,
    config: SASRecConfig,
    train_config: TrainConfig,
    out_dir: str | Path,
    exclude_history: bool = False,
    with_baselines: bool = True,
    overwrite: bool = False,
) -> dict:
    """Trains, selects on validation, evaluates on test, writes the teacher folder; returns metrics.json.

    The run owns `out_dir` (`distill.run_folder`): it resumes a checkpoint there only when the folder's record
    names the same configs and data; `overwrite` deletes the folder's contents first. Under
    `train_config.strategy` the model and optimizer are built inside the strategy's scope; on a multi-worker
    cluster only the chief writes `out_dir` (the others write a scratch folder, removed at the end).

    Raises:
        RunFolderError: another run holds `out_dir`, or it holds a run of other settings or data.
    """
    out_dir = Path(out_dir)
    strategy = make_strategy(train_config.strategy)
    record = {"role": "teacher", "model": config.to_dict(), "train": train_config.to_dict()}
    write_dir = worker_write_dir(out_dir, strategy)
    with owned_run_folder(out_dir, record, dataset, overwrite, write_dir):
        return _train_teacher(
            dataset, config, train_config, out_dir, write_dir, strategy, exclude_history, with_baselines
        )


def _train_teacher(
    dataset: SequenceDataset,
    config: SASRecConfig,
    train_config: TrainConfig,
    out_dir: Path,
    write_dir: Path,
    strategy: tf.distribute.Strategy,
    exclude_history: bool,
    with_baselines: bool,
) -> dict:
    keras.utils.set_random_seed(train_config.seed)
    with strategy.scope():
        model = SASRec(config)
        model.build_for_inference()
        model.set_item_counts(item_counts(dataset.train_sequences, dataset.n_items))
        model.compile(optimizer=make_optimizer(train_config, model.trainable_variables))
    write_dir.mkdir(parents=True, exist_ok=True)
    write_vocab(write_dir / "vocab.tsv", dataset.vocab)
    start = time.time()
    best, reports = train_and_evaluate(
        model,
        dataset,
        training_sequences(dataset, config),
        train_config,
        write_dir,
        exclude_history,
        restore_dir=out_dir,
    )
    state = reports["state"]
    epochs = state["history"]
    teacher_entry = {
        "name": "teacher",
        "role": "teacher",
        "params": parameter_report(best)["total"],
        **split_metrics(reports["test"]),
        "valid_metrics": reports["valid"]["metrics"],
        "best_epoch": state["best_epoch"],
        "epochs": len(epochs),
        **learning_curve(state),
    }
    head_mask = head_item_mask(dataset.train_sequences, dataset.n_items)
    baselines = (
        evaluate_baselines(dataset, head_mask, exclude_history, config.max_len) if with_baselines else []
    )
    metrics = {
        "dataset": dataset.name,
        "split": dataset.split,
        "data_summary": dataset.summary(),
        "config": config.to_dict(),
        "train_config": train_config.to_dict(),
        "exclude_history": exclude_history,
        "parameters": parameter_report(best),
        "seconds": time.time() - start,
        "models": baselines + [teacher_entry],
    }
    atomic_write_text(write_dir / "metrics.json", json.dumps(metrics, indent=2))
    remove_worker_dir(out_dir, write_dir)
    print_comparison(metrics["models"])
    return metrics


def print_comparison(entries: Sequence[dict]) -> None:
    """A table of the entries' test metrics on stdout, one row each: what a person reads after training."""
    keys = ("HR@10", "NDCG@10", "MRR@10", "HR@20", "NDCG@20", "MRR@20")
    print(f"{'model':<28}" + "".join(f"{key:>10}" for key in keys))
    for entry in entries:
        print(f"{entry['name']:<28}" + "".join(f"{entry['metrics'][key]:>10.4f}" for key in keys))
