"""The check both golden tests share: a golden.json reproduced by a fresh LiteRT run."""

import numpy as np

from runtime.history import encode_history
from runtime.litert import Recommender


def assert_golden_cases_reproduce(recommender: Recommender, golden: dict, rtol: float) -> None:
    """Each case's original ids encode to its stored history, and `recommend` returns its ids, scores and
    original ids again."""
    for case in golden["cases"]:
        prefix = [recommender.vocab.to_internal(item) for item in case["history_original_ids"]]
        history = encode_history(prefix, recommender.max_len)
        assert history.tolist() == case["history"]
        item_ids, scores = recommender.recommend(history)
        assert item_ids.tolist() == case["item_ids"]
        np.testing.assert_allclose(scores, case["scores"], rtol=rtol)
        assert case["original_ids"] == [recommender.vocab.original_id(int(item)) for item in item_ids]
