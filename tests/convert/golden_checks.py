"""The check both golden tests share: a golden.json reproduced by a fresh LiteRT run."""

import numpy as np

from runtime.history import encode_history
from runtime.litert import Recommender


def assert_golden_cases_reproduce(recommender: Recommender, golden: dict, rtol: float) -> None:
    """Each case's original ids encode to its stored history, `recommend` returns its ids, scores and original
    ids again, and so does the exclusion of the whole history (`history_excluded`)."""
    for case in golden["cases"]:
        prefix = [recommender.vocab.to_internal(item) for item in case["history_original_ids"]]
        history = encode_history(prefix, recommender.max_len)
        assert history.tolist() == case["history"]
        item_ids, scores = recommender.recommend(history)
        assert item_ids.tolist() == case["item_ids"]
        np.testing.assert_allclose(scores, case["scores"], rtol=rtol)
        assert case["original_ids"] == [recommender.vocab.original_id(int(item)) for item in item_ids]
        excluded = case["history_excluded"]
        item_ids, scores, signature = recommender.recommend_unseen(prefix)
        assert (item_ids.tolist(), signature) == (excluded["item_ids"], excluded["signature"])
        np.testing.assert_allclose(scores, excluded["scores"], rtol=rtol)
        assert not set(excluded["original_ids"]) & set(case["history_original_ids"])
        if len(prefix) > recommender.max_len:
            # The case is built so that excluding only the model's window would show older history items.
            assert set(case["original_ids"][:3]) <= set(case["history_original_ids"])
            np.testing.assert_allclose(recommender.score(history), case["scores_all_items"], rtol=rtol)
