"""The checks the golden tests share: a golden.json, and a golden_on_device.json, reproduced by fresh LiteRT
runs."""

import json
from pathlib import Path

import numpy as np

from runtime.history import encode_history
from runtime.litert import Recommender
from runtime.personalise import Personaliser


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


def assert_golden_training_replays(folder: Path, state_file: Path, rtol: float) -> None:
    """golden_on_device.json of `folder`: its `train` calls give its losses, its state_after loads as a saved
    state equal to the replayed one, and the replayed model ranks its `after` top 10 (not its `before`)."""
    golden = json.loads((folder / "golden_on_device.json").read_text())
    personaliser = Personaliser(folder / golden["model_file"])
    losses = [personaliser.train_step(np.array(step["history"]), step["target"]) for step in golden["steps"]]
    np.testing.assert_allclose(losses, [step["loss"] for step in golden["steps"]], rtol=rtol)
    state_file.write_text(json.dumps(golden["state_after"]))
    saved = Personaliser(folder / golden["model_file"])
    saved.load_state(state_file)
    for name, values in saved.get_state().items():
        np.testing.assert_allclose(personaliser.get_state()[name], values, rtol=rtol, atol=1e-7)
    history = [personaliser.vocab.to_internal(item) for item in golden["history_original_ids"]]
    item_ids, _, _ = saved.recommend_unseen(history)
    assert item_ids[: golden["top_n"]].tolist() == golden["after"]["item_ids"]
