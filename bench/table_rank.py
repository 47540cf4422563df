"""How compressible a teacher's item table is, at the parameter budget of each student table.

    python -m bench.table_rank --dataset ml-1m --runs_dir artifacts/bench

For each STP-TT table of the dataset's presets: the relative Frobenius error of its TT-SVD fit of the
teacher's table (what `--warm_start` starts from) in the natural item order and in each learnt order of
`distill.item_order` (the student's ids renumbered so that items sharing a core slice are alike), and, with
the same number of parameters, of the best plain low-rank factorisation (truncated SVD, order-free). When
even the latter misses the teacher's table by far, a student of that size cannot copy the teacher's item
representation and has to learn a different one.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
from absl import app, flags

from bench.presets import TABLES
from distill.dataset import SequenceDataset
from distill.item_order import ITEM_ORDERS, choose_item_order
from distill.model_io import load_model
from distill.registry import load_dataset
from model.sasrec import SASRec, SASRecConfig
from model.stp_tt_embedding import reference_table, stp_tt_parameter_count, stp_tt_svd
from runtime.atomic import atomic_write_text
from runtime.provenance import command_line, git_commit, machine_info

RESULTS_DIR = Path(__file__).resolve().parent / "results"
SPECTRUM_RANKS = (1, 2, 4, 8, 16, 32)


def low_rank_errors(table: np.ndarray) -> np.ndarray:
    """errors[r]: relative Frobenius error of the best rank-r approximation of `table` (Eckart-Young)."""
    singular = np.linalg.svd(table, compute_uv=False)
    tail_energy = np.concatenate([np.cumsum((singular**2)[::-1])[::-1], [0.0]])
    return np.sqrt(tail_energy / tail_energy[0])


def tt_svd_error(table: np.ndarray, shape: Mapping) -> float:
    """Relative error of the TT-SVD fit of `table` [rows, d] by an STP-TT table of `shape` (TABLES entry)."""
    item_factors, dim_factors = shape["tt_item_factors"], shape["tt_dim_factors"]
    cores = stp_tt_svd(table, item_factors, dim_factors, shape["tt_rank"], shape["stp_factor"])
    fitted = reference_table(cores, shape["stp_factor"], item_factors, dim_factors)[: len(table)]
    return float(np.linalg.norm(fitted - table) / np.linalg.norm(table))


def table_rank_report(
    table: np.ndarray,
    tables: Mapping[str, dict],
    orders: Mapping[str, Mapping[str, np.ndarray]] | None = None,
) -> dict:
    """Errors of each STP-TT table's TT-SVD fit and of a plain low-rank table with as many parameters.

    `table` [rows, d] is the teacher's (padding row included, as the student's table holds it too).
    `orders`: per table name, order name -> new_to_old ([rows - 1], `distill.item_order`); each entry then
    also holds `tt_svd_error_by_order`, the fit of the table with its item rows in that order.
    """
    rows, dim = table.shape
    errors = low_rank_errors(table)
    entries = []
    for name, shape in tables.items():
        item_factors, dim_factors = shape["tt_item_factors"], shape["tt_dim_factors"]
        rank, stp_factor = shape["tt_rank"], shape["stp_factor"]
        params = stp_tt_parameter_count(item_factors, dim_factors, rank, stp_factor)
        same_budget_rank = min(params // (rows + dim), len(errors) - 1)
        by_order = {
            order: tt_svd_error(table[np.concatenate([[0], new_to_old])], shape)
            for order, new_to_old in (orders or {}).get(name, {}).items()
        }
        entries.append(
            {
                "name": name,
                "table": dict(shape),
                "params": params,
                "compression_table": rows * dim / params,
                "tt_svd_error": tt_svd_error(table, shape),
                "low_rank_rank": int(same_budget_rank),
                "low_rank_error": float(errors[same_budget_rank]),
                **({"tt_svd_error_by_order": by_order} if by_order else {}),
            }
        )
    spectrum = {str(r): float(errors[r]) for r in SPECTRUM_RANKS if r < len(errors)}
    return {"rows": rows, "dim": dim, "tables": entries, "low_rank_error_by_rank": spectrum}


def learnt_orders(dataset: SequenceDataset, teacher: SASRec, tables: Mapping[str, dict]) -> dict:
    """Per table, the student orders `distill.item_order` learns for a student of that table's shape."""
    orders = {}
    for name, shape in tables.items():
        student = SASRecConfig.from_dict({**teacher.config.to_dict(), "item_table": "stp_tt", **shape})
        orders[name] = {
            order: choose_item_order(order, dataset, teacher, student)
            for order in ITEM_ORDERS
            if order != "natural"
        }
    return orders


def run(dataset: str, teacher_dir: Path, data_dir: str | None = None) -> dict:
    teacher = load_model(teacher_dir)
    table = teacher.item_table.materialize().numpy().astype(np.float64)
    orders = learnt_orders(load_dataset(dataset, data_dir=data_dir), teacher, TABLES[dataset])
    return {
        "commit": git_commit(),
        "machine": machine_info(),
        "command": command_line(),
        "dataset": dataset,
        "teacher_dir": str(teacher_dir),
        **table_rank_report(table, TABLES[dataset], orders),
    }


FLAGS = flags.FLAGS


def main(argv: Sequence[str]) -> None:
    del argv
    result = run(FLAGS.dataset, Path(FLAGS.runs_dir) / FLAGS.dataset / "teacher", FLAGS.data_dir)
    path = RESULTS_DIR / f"{FLAGS.dataset}-table-rank.json"
    atomic_write_text(path, json.dumps(result, indent=2) + "\n")
    print(f"wrote {path}")


if __name__ == "__main__":
    flags.DEFINE_enum("dataset", "ml-1m", sorted(TABLES), "Dataset whose teacher and tables to analyse.")
    flags.DEFINE_string("runs_dir", "artifacts/bench", "Where bench.run keeps model folders.")
    flags.DEFINE_string(
        "data_dir", None, "Benchmark data folder (default: $ODREC_DATA_DIR, then ../shared/data)."
    )
    app.run(main)
