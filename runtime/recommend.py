"""Recommend next items for a history of ORIGINAL item ids from an exported LiteRT model.

python -m runtime.recommend --model artifacts/student_fp32.tflite --history "1193 661 914"
"""

import os
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from absl import app, flags

from runtime.history import (
    EmptyHistoryError,
    HistoryError,
    check_original_ids,
    map_original_history,
)
from runtime.litert import Recommender, max_threads
from runtime.sidecar import ArtifactError


@dataclass(frozen=True)
class Recommendation:
    """One recommended item, in the user's id space."""

    internal_id: int
    original_id: str
    title: str
    score: float


@dataclass(frozen=True)
class RecommendationResult:
    """Recommendations plus what a caller needs to trust them: skipped ids, the signature that ran and the
    inference latency."""

    recommendations: tuple[Recommendation, ...]
    skipped_ids: tuple[str, ...]
    latency_ms: float
    signature: str = "recommend"


def recommend_original_ids(
    recommender: Recommender,
    original_ids: Sequence[str | int] | np.ndarray,
    unknown: Literal["skip", "error"] = "skip",
) -> RecommendationResult:
    """Maps original ids through the export's vocab, recommends items the history does not hold (all of it,
    however long: `Recommender.recommend_unseen`) and maps the result back.

    Raises:
        InvalidItemIdError: `original_ids` is not a sequence of strings or integers (e.g. one plain string).
        UnknownItemError: unknown == "error" and some ids are not in the vocab.
        EmptyHistoryError: no id of the history is known to the model.
    """
    original_ids = check_original_ids(original_ids)
    if not original_ids:
        raise EmptyHistoryError("the history is empty; give at least one item id the user interacted with")
    internal_ids, skipped = map_original_history(original_ids, recommender.vocab, unknown)
    if not internal_ids:
        raise EmptyHistoryError(
            f"none of the {len(original_ids)} history ids is in the model's vocab (skipped: {skipped[:10]}); "
            "give at least one known item id"
        )
    started = time.perf_counter()
    item_ids, scores, signature = recommender.recommend_unseen(internal_ids)
    latency_ms = (time.perf_counter() - started) * 1e3
    vocab = recommender.vocab
    recommendations = tuple(
        Recommendation(int(item), vocab.original_id(int(item)), vocab.title(int(item)), float(score))
        for item, score in zip(item_ids, scores, strict=True)
    )
    return RecommendationResult(recommendations, tuple(skipped), latency_ms, signature)


def format_result(result: RecommendationResult, model_name: str) -> str:
    """A human-readable table: rank, original id, score, title."""
    lines = []
    if result.skipped_ids:
        skipped = " ".join(result.skipped_ids)
        lines.append(f"skipped {len(result.skipped_ids)} unknown history id(s): {skipped}")
    lines.append(
        f"top-{len(result.recommendations)} from {model_name} "
        f"(inference {result.latency_ms:.3f} ms, one {result.signature!r} call; see runtime.bench for "
        "percentiles), every history item excluded"
    )
    lines.append(f"{'rank':>4}  {'item_id':<16} {'score':>10}  title")
    for rank, item in enumerate(result.recommendations, start=1):
        lines.append(f"{rank:>4}  {item.original_id:<16} {item.score:>10.4f}  {item.title}")
    return "\n".join(lines)


def define_flags() -> None:
    """Flags live only here, defined when run as a script, so importing the module has no side effect."""
    flags.DEFINE_string("model", None, "Exported .tflite; its sidecar <model>.json and vocab sit beside it.")
    flags.DEFINE_string("history", None, "Space-separated ORIGINAL item ids, oldest first.")
    flags.DEFINE_enum("unknown", "skip", ["skip", "error"], "What to do with ids the vocab does not know.")
    flags.DEFINE_integer(
        "num_threads", 1, "CPU threads for the LiteRT interpreter.", lower_bound=1, upper_bound=max_threads()
    )
    flags.mark_flags_as_required(["model", "history"])


def main(argv: Sequence[str]) -> None:
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {argv[1:]}")
    options = flags.FLAGS
    try:
        recommender = Recommender(options.model, num_threads=options.num_threads)
        result = recommend_original_ids(recommender, options.history.split(), options.unknown)
    except (ArtifactError, HistoryError, ImportError) as error:
        sys.exit(f"error: {error}")
    print(format_result(result, os.path.basename(options.model)))


if __name__ == "__main__":
    define_flags()
    app.run(main)
