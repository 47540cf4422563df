"""golden_on_device.json on a tiny on-device export: its `train` sequence, state and top 10 replay."""

import json

import numpy as np
import pytest

from convert.golden_on_device import golden_training, golden_training_history, write_golden_on_device
from runtime.personalise import Personaliser, training_pairs
from tests.tiny_on_device import write_tiny_on_device_model

N_ITEMS, MAX_LEN, TOP_K, SPARE = 30, 6, 12, 2
HISTORY = [3, 17, 9, 25, 4, 9, 25, 11]


@pytest.fixture(scope="module")
def golden(tmp_path_factory):
    folder = tmp_path_factory.mktemp("golden_on_device")
    path, _ = write_tiny_on_device_model(folder, N_ITEMS, MAX_LEN, TOP_K, SPARE)
    return path, write_golden_on_device(path, HISTORY, folder / "golden_on_device.json")


def test_the_file_holds_every_training_pair_of_the_history(golden):
    path, written = golden
    assert json.loads((path.parent / "golden_on_device.json").read_text()) == written
    pairs = training_pairs(HISTORY, MAX_LEN)
    assert [step["target"] for step in written["steps"]] == [target for _, target in pairs]
    assert [step["history"] for step in written["steps"]] == [history.tolist() for history, _ in pairs]
    assert written["top_n"] == 10 and len(written["after"]["item_ids"]) == 10


def test_a_fresh_interpreter_replays_losses_state_and_top_10(golden, tmp_path):
    path, written = golden
    replay = Personaliser(path)
    losses = [replay.train_step(np.array(step["history"]), step["target"]) for step in written["steps"]]
    np.testing.assert_allclose(losses, [step["loss"] for step in written["steps"]], rtol=1e-6)
    assert losses[-1] != losses[0]
    (tmp_path / "state.json").write_text(json.dumps(written["state_after"]))
    loaded = Personaliser(path)
    loaded.load_state(tmp_path / "state.json")  # a valid saved-state document for this model
    for name, value in loaded.get_state().items():
        np.testing.assert_allclose(replay.get_state()[name], value, rtol=1e-6, atol=1e-7)
    item_ids, scores, signature = replay.recommend_unseen(HISTORY)
    assert item_ids[:10].tolist() == written["after"]["item_ids"]
    assert signature == written["after"]["signature"]
    np.testing.assert_allclose(scores[:10], written["after"]["scores"], rtol=1e-6)
    assert written["before"]["item_ids"] != written["after"]["item_ids"], "training changed nothing visible"
    first = replay.recommend_unseen(HISTORY[:1])[0][:10].tolist()
    assert first == written["first_item_after"]["item_ids"] != written["first_item_before"]["item_ids"]


def test_top_n_is_at_most_the_model_top_k(golden):
    path, _ = golden
    small = golden_training(path, HISTORY[:3], top_n=None)
    assert small["top_n"] == 10 and len(small["after"]["item_ids"]) == 10
    with pytest.raises(ValueError, match=f"top_n=13 must be in 1..top_k={TOP_K}"):
        golden_training(path, HISTORY, top_n=TOP_K + 1)


def test_golden_training_history_picks_a_short_prefix_with_a_few_steps():
    prefixes = [[1], [1, 2], [1, 2, 3, 4], [5, 6, 7, 8, 9, 10], list(range(1, 20))]
    assert golden_training_history(prefixes, max_len=12) == [1, 2, 3, 4]
    assert golden_training_history(prefixes, max_len=100) == list(range(1, 20))
    with pytest.raises(ValueError, match="2 items or more"):
        golden_training_history([[1]], max_len=8)
