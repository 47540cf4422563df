"""Accuracy of an exported model through its `score` signature, on the device runtime itself.

    python -m runtime.evaluate --model artifacts/student_fp32.tflite --test test.tsv --ids original

Test file: one example per line, `prefix items<TAB>target`, items space-separated, oldest first.
"""

import json
import os
import sys
from collections.abc import Sequence
from typing import Literal

import numpy as np
from absl import app, flags

from runtime.atomic import OutputPathError, atomic_write_text, check_output_file
from runtime.history import HistoryError, encode_history
from runtime.input_files import read_input_file
from runtime.litert import Recommender, max_threads
from runtime.metrics import (
    RankingPass,
    coverage_at_k,
    evaluation_report,
    sampled_target_ranks,
    top_k_items,
)
from runtime.sidecar import ArtifactError
from runtime.vocab import Vocab

PROTOCOLS = ("full", "sampled")
ID_KINDS = ("original", "internal")
COVERAGE_K = 10
# Scores are gathered in chunks so memory stays at chunk * (n_items + 1) floats for any test-set size.
CHUNK_SIZE = 256


class EvaluationFileError(ValueError):
    """A malformed test file; the message names the file and line."""


def read_test_file(
    path: str | os.PathLike[str], vocab: Vocab, ids: Literal["original", "internal"] = "original"
) -> tuple[list[list[int]], np.ndarray]:
    """Reads `prefix items<TAB>target` lines into internal ids.

    Returns:
        (prefixes: internal ids oldest first, targets: int64 `[n_examples]`).

    Raises:
        EvaluationFileError: a malformed line, an empty prefix or an id the vocab does not know.
    """
    if ids not in ID_KINDS:
        raise ValueError(f"ids must be one of {ID_KINDS}, got {ids!r}")

    def to_internal(token: str, line_number: int) -> int:
        if ids == "original":
            internal = vocab.to_internal(token)
        else:
            # isascii: '²' and other Unicode digits pass isdigit() but int() refuses them.
            digits = token.isascii() and token.isdigit()
            internal = int(token) if digits and 1 <= int(token) <= vocab.n_items else None
        if internal is None:
            known = "in the vocab" if ids == "original" else f"in 1..{vocab.n_items}"
            raise EvaluationFileError(
                f"{path}:{line_number}: item {token!r} is not a known {ids} id ({known}); check --ids"
            )
        return internal

    prefixes: list[list[int]] = []
    targets: list[int] = []
    content = read_input_file(path, "test file", EvaluationFileError, "give a text file")
    try:
        lines = content.decode("utf-8").split("\n")
    except UnicodeDecodeError as error:
        raise EvaluationFileError(
            f"{path}: not UTF-8 text at byte {error.start} (compressed or binary?); give an uncompressed "
            "text file"
        ) from None
    for line_number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        fields = line.rstrip("\r\n").split("\t")
        if len(fields) != 2 or not fields[0].split() or len(fields[1].split()) != 1:
            raise EvaluationFileError(
                f"{path}:{line_number}: expected 'prefix items<TAB>target' with a non-empty prefix "
                "and one target"
            )
        prefixes.append([to_internal(token, line_number) for token in fields[0].split()])
        targets.append(to_internal(fields[1].strip(), line_number))
    if not targets:
        raise EvaluationFileError(f"{path}: no examples")
    return prefixes, np.asarray(targets, dtype=np.int64)


def evaluate_model(
    recommender: Recommender,
    prefixes: Sequence[Sequence[int]],
    targets: np.ndarray,
    head_mask: np.ndarray | None = None,
    *,
    exclude_history: bool = False,
    protocol: Literal["full", "sampled"] = "full",
    n_negatives: int = 100,
    seed: int = 0,
) -> dict:
    """Ranks every target with the model's full-catalogue `score` signature.

    Args:
        recommender: the model under test.
        prefixes: internal ids per example, oldest first (truncated to max_len for the model).
        targets: `[n_examples]` internal ids.
        head_mask: bool `[n_items + 1]` (`runtime.metrics.head_item_mask`) for the head/tail split, or None.
        exclude_history: rank with the history excluded, as `recommend` does: every item of the history the
            model is given (the last max_len items of the prefix) leaves the ranking, the target included.
        protocol: "full" ranking (default) or the paper's "sampled" protocol with `n_negatives` negatives.
        n_negatives, seed: for the sampled protocol only.

    Returns:
        `runtime.metrics.RankingPass.report` (overall/head/tail under "metrics_protocol", the target-kind
        split against the model's input history, "exclude_history") plus "coverage@10" (of the top-10 with the
        model's input history excluded, as `recommend` shows it) and "protocol".
    """
    targets = np.asarray(targets, dtype=np.int64)
    if len(prefixes) != len(targets):
        raise ValueError(f"got {len(prefixes)} prefixes but {len(targets)} targets; give one target each")
    if protocol not in PROTOCOLS:
        raise ValueError(f"protocol must be one of {PROTOCOLS}, got {protocol!r}")
    coverage_k = min(COVERAGE_K, recommender.n_items)
    ranking = RankingPass()
    sampled_ranks = np.empty(len(targets), dtype=np.int64)
    top_items = np.empty((len(targets), coverage_k), dtype=np.int64)
    for start in range(0, len(targets), CHUNK_SIZE):
        chunk = slice(start, start + CHUNK_SIZE)
        chunk_prefixes = [np.asarray(prefix, dtype=np.int64) for prefix in prefixes[chunk]]
        histories = [
            encode_history(prefix, recommender.max_len, recommender.n_items) for prefix in chunk_prefixes
        ]
        scores = np.stack([recommender.score(history) for history in histories])
        ranking.add(scores, targets[chunk], histories)
        if protocol == "sampled":
            sampled_ranks[chunk] = sampled_target_ranks(
                scores, targets[chunk], chunk_prefixes, n_negatives, seed=seed + start
            )
        top_items[chunk] = top_k_items(scores, coverage_k, histories)
    if protocol == "full":
        report = ranking.report(targets, head_mask, exclude_history)
    else:
        report = evaluation_report(sampled_ranks, targets, head_mask) | ranking.target_kinds()
        report["metrics_protocol"] = f"sampled_{n_negatives}"
        report["exclude_history"] = True
    report["coverage@10"] = coverage_at_k(top_items, recommender.n_items)
    report["protocol"] = "full" if protocol == "full" else f"sampled_{n_negatives}"
    return report


def format_report(model_name: str, report: dict) -> str:
    """One column per split that has examples: all, head, tail, repeat and new targets (full ranking), new
    targets with the history excluded (what `recommend` shows)."""
    headers = {
        "metrics": "all",
        "metrics_head": "head",
        "metrics_tail": "tail",
        "metrics_repeat": "repeat",
        "metrics_new": "new",
        "metrics_new_excluded": "new-excl",
    }
    columns = [column for column in headers if report.get(column)]
    lines = [
        f"{report['protocol']} evaluation of {model_name} on {report['n_examples']} examples "
        f"(exclude_history={report['exclude_history']}; {report['n_repeat']} repeat and "
        f"{report['n_new']} new targets; repeat/new rank the whole catalogue)",
        f"{'metric':<12}" + "".join(f"{headers[column]:>10}" for column in columns),
    ]
    for name in report["metrics"]:
        lines.append(f"{name:<12}" + "".join(f"{report[column][name]:>10.4f}" for column in columns))
    lines.append(f"{'coverage@10':<12}{report['coverage@10']:>10.4f}")
    return "\n".join(lines)


def define_flags() -> None:
    """Flags live only here, defined when run as a script, so importing the module has no side effect."""
    flags.DEFINE_string("model", None, "Exported .tflite; its sidecar <model>.json and vocab sit beside it.")
    flags.DEFINE_string("test", None, "Test file: 'prefix items<TAB>target' per line.")
    flags.DEFINE_enum("ids", "original", list(ID_KINDS), "Id space of the test file.")
    flags.DEFINE_enum("protocol", "full", list(PROTOCOLS), "Full ranking, or the SASRec sampled protocol.")
    flags.DEFINE_integer("n_negatives", 100, "Negatives per example for --protocol sampled.", lower_bound=1)
    flags.DEFINE_bool(
        "exclude_history",
        False,
        "Rank without the model's input history, as recommend does (a target in the history is a miss).",
    )
    flags.DEFINE_integer("seed", 0, "Seed of the sampled negatives.")
    flags.DEFINE_integer(
        "num_threads", 1, "CPU threads for the LiteRT interpreter.", lower_bound=1, upper_bound=max_threads()
    )
    flags.DEFINE_string("json", None, "Also write the report to this JSON file.")
    flags.mark_flags_as_required(["model", "test"])


def main(argv: Sequence[str]) -> None:
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {argv[1:]}")
    options = flags.FLAGS
    try:
        if options.json:
            check_output_file(options.json)
        recommender = Recommender(options.model, num_threads=options.num_threads)
        prefixes, targets = read_test_file(options.test, recommender.vocab, options.ids)
        report = evaluate_model(
            recommender,
            prefixes,
            targets,
            exclude_history=options.exclude_history,
            protocol=options.protocol,
            n_negatives=options.n_negatives,
            seed=options.seed,
        )
    except (ArtifactError, HistoryError, EvaluationFileError, OutputPathError, ImportError) as error:
        sys.exit(f"error: {error}")
    print(format_report(os.path.basename(options.model), report))
    if options.json:
        atomic_write_text(options.json, json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    define_flags()
    app.run(main)
