"""How compressible a teacher's item table is, at the parameter budget of each student table.

    python -m bench.table_rank --dataset ml-1m --runs_dir artifacts/bench

For each STP-TT table of the dataset's presets: the relative Frobenius error of its TT-SVD fit of the
teacher's table (what `--warm_start` starts from) and, with the same number of parameters, of the best plain
low-rank factorisation (truncated SVD). When even the latter misses the teacher's table by far, a student of
that size cannot copy the teacher's item representation and has to learn a different one.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
from absl import app, flags

from bench.presets import TABLES
from distill.model_io import load_model
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


def table_rank_report(table: np.ndarray, tables: Mapping[str, dict]) -> dict:
    """Errors of each STP-TT table's TT-SVD fit and of a plain low-rank table with as many parameters.

    `table` [rows, d] is the teacher's (padding row included, as the student's table holds it too).
    """
    rows, dim = table.shape
    errors = low_rank_errors(table)
    entries = []
    for name, shape in tables.items():
        item_factors, dim_factors = shape["tt_item_factors"], shape["tt_dim_factors"]
        rank, stp_factor = shape["tt_rank"], shape["stp_factor"]
        params = stp_tt_parameter_count(item_factors, dim_factors, rank, stp_factor)
        cores = stp_tt_svd(table, item_factors, dim_factors, rank, stp_factor)
        fitted = reference_table(cores, stp_factor, item_factors, dim_factors)[:rows]
        same_budget_rank = min(params // (rows + dim), len(errors) - 1)
        entries.append(
            {
                "name": name,
                "table": dict(shape),
                "params": params,
                "compression_table": rows * dim / params,
                "tt_svd_error": float(np.linalg.norm(fitted - table) / np.linalg.norm(table)),
                "low_rank_rank": int(same_budget_rank),
                "low_rank_error": float(errors[same_budget_rank]),
            }
        )
    spectrum = {str(r): float(errors[r]) for r in SPECTRUM_RANKS if r < len(errors)}
    return {"rows": rows, "dim": dim, "tables": entries, "low_rank_error_by_rank": spectrum}


def run(dataset: str, teacher_dir: Path) -> dict:
    table = load_model(teacher_dir).item_table.materialize().numpy().astype(np.float64)
    return {
        "commit": git_commit(),
        "machine": machine_info(),
        "command": command_line(),
        "dataset": dataset,
        "teacher_dir": str(teacher_dir),
        **table_rank_report(table, TABLES[dataset]),
    }


FLAGS = flags.FLAGS


def main(argv: Sequence[str]) -> None:
    del argv
    result = run(FLAGS.dataset, Path(FLAGS.runs_dir) / FLAGS.dataset / "teacher")
    path = RESULTS_DIR / f"{FLAGS.dataset}-table-rank.json"
    atomic_write_text(path, json.dumps(result, indent=2) + "\n")
    print(f"wrote {path}")


if __name__ == "__main__":
    flags.DEFINE_enum("dataset", "ml-1m", sorted(TABLES), "Dataset whose teacher and tables to analyse.")
    flags.DEFINE_string("runs_dir", "artifacts/bench", "Where bench.run keeps model folders.")
    app.run(main)
