"""runtime.personalise on a real on-device export: training on a user's own pairs, catalogue updates, the
state file round trip and its refusals, and the CLI."""

import dataclasses
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from runtime.item_update import ItemUpdateError, encode_item_update
from runtime.personalise import Personaliser, StateError, _state_digest, training_pairs
from runtime.sidecar import VOCAB_FILE, ArtifactError
from tests.conftest import REPO
from tests.runtime.cli_files import (
    CliResult,
    Damage,
    assert_one_line_outcome,
    damaged_copy,
    damages,
    mask_timings,
    run_cli,
)
from tests.runtime.conftest import tiny_vocab
from tests.tiny_on_device import write_tiny_on_device_model

N_ITEMS, MAX_LEN, DIM, TOP_K, SPARE = 30, 6, 8, 4, 3
HISTORY = [3, 17, 9, 25, 4, 9, 25]


@pytest.fixture(scope="module")
def on_device_model(tmp_path_factory):
    """A tiny untrained student exported with --on_device_training's writer, beside its vocab."""
    path, keras_model = write_tiny_on_device_model(
        tmp_path_factory.mktemp("on_device"), N_ITEMS, MAX_LEN, TOP_K, SPARE
    )
    row = keras_model.item_table.lookup(np.array([11])).numpy()[0]
    return path, row


def test_training_pairs_are_every_consecutive_next_item_pair():
    pairs = training_pairs([5, 6, 7], max_len=3)
    assert [target for _, target in pairs] == [6, 7]
    np.testing.assert_array_equal(pairs[0][0], [0, 0, 5])
    np.testing.assert_array_equal(pairs[1][0], [0, 5, 6])


def test_personalising_on_own_history_lowers_its_loss(on_device_model):
    path, _ = on_device_model
    personaliser = Personaliser(path)
    losses = personaliser.personalise(HISTORY, epochs=4)
    pairs = len(HISTORY) - 1
    assert len(losses) == 4 * pairs
    assert np.mean(losses[-pairs:]) < np.mean(losses[:pairs])


def test_state_saved_and_loaded_gives_identical_scores(on_device_model, tmp_path):
    path, row = on_device_model
    personaliser = Personaliser(path)
    personaliser.add_items(_update(personaliser, ["new-1"], row[None]), "update")
    personaliser.personalise([*HISTORY, N_ITEMS + 1], epochs=2)
    saved = personaliser.save_state(tmp_path / "state.json")
    history = personaliser.encode(HISTORY)
    restored = Personaliser(path)
    restored.load_state(saved)
    assert restored.added_items == {"new-1": N_ITEMS + 1}
    np.testing.assert_array_equal(restored.score(history), personaliser.score(history))
    restored.reset()
    assert np.all(restored.score(history)[N_ITEMS + 1 :] == -1e9)


def _update(
    personaliser: Personaliser, ids: list[str], vectors: np.ndarray, sha: str | None = None
) -> object:
    from runtime.item_update import decode_item_update

    return decode_item_update(encode_item_update(ids, vectors, sha or personaliser.sidecar["sha256"]))


def test_an_added_item_ranks_like_the_item_whose_vector_it_has(on_device_model):
    path, row = on_device_model
    personaliser = Personaliser(path)
    assert personaliser.add_items(_update(personaliser, ["new-1"], row[None])) == [N_ITEMS + 1]
    scores = personaliser.score(personaliser.encode(HISTORY))
    # int8 transport: within the quantization step of the row times the query's size.
    tolerance = 0.02 * max(1.0, abs(float(scores[11])))
    assert float(scores[N_ITEMS + 1]) == pytest.approx(float(scores[11]), abs=tolerance)
    assert personaliser.internal_ids(["new-1"]) == [N_ITEMS + 1]
    assert personaliser.original_id(N_ITEMS + 1) == "new-1"


def test_updates_for_another_model_or_beyond_the_spare_slots_are_refused(on_device_model):
    path, row = on_device_model
    personaliser = Personaliser(path)
    with pytest.raises(ItemUpdateError, match="fetch the update of the installed model"):
        personaliser.add_items(_update(personaliser, ["x"], row[None], sha="00" * 32))
    too_many = [f"n{i}" for i in range(SPARE + 1)]
    with pytest.raises(ItemUpdateError, match="install the next full model export"):
        personaliser.add_items(_update(personaliser, too_many, np.ones((SPARE + 1, DIM))))
    with pytest.raises(ItemUpdateError, match="trained catalogue"):
        personaliser.add_items(_update(personaliser, [tiny_vocab(N_ITEMS).original_ids[0]], row[None]))


@pytest.mark.parametrize("damage", ["byte", "model", "shape", "not_json"])
def test_a_corrupted_or_mismatched_state_file_is_refused(on_device_model, tmp_path, damage):
    path, _ = on_device_model
    personaliser = Personaliser(path)
    personaliser.personalise(HISTORY)
    state = personaliser.save_state(tmp_path / "state.json")
    document = json.loads(state.read_text())
    if damage == "byte":
        data = document["tensors"]["item_bias"]["data"]
        document["tensors"]["item_bias"]["data"] = ("B" if data[0] == "A" else "A") + data[1:]
        expected = "corrupted"
    else:
        if damage == "model":
            document["model_sha256"] = "0" * 64
            expected = "only fits the model it was trained on"
        else:
            document["tensors"]["adapter_shift"]["shape"] = [DIM + 1]
            expected = "not of shape"
        body = {key: value for key, value in document.items() if key != "sha256"}
        document["sha256"] = _state_digest(body)
    text = "{not json" if damage == "not_json" else json.dumps(document)
    if damage == "not_json":
        expected = "cannot be read"
    state.write_text(text)
    with pytest.raises(StateError, match=expected) as error:
        Personaliser(path).load_state(state)
    assert str(state) in str(error.value)


def test_a_plain_export_is_refused_with_the_flag_to_use(model_path):
    with pytest.raises(ArtifactError, match="--on_device_training"):
        Personaliser(model_path)


def test_recommendations_leave_out_the_whole_history(on_device_model):
    """HISTORY is longer than max_len: its first item lies outside the model's window and is excluded too."""
    path, _ = on_device_model
    personaliser = Personaliser(path)
    personaliser.personalise(HISTORY, epochs=2)
    item_ids, scores, signature = personaliser.recommend_unseen(HISTORY)
    expected = personaliser.score(personaliser.encode(HISTORY))[: N_ITEMS + 1].astype(np.float64)
    expected[[0, *HISTORY]] = -np.inf
    np.testing.assert_array_equal(item_ids, np.argsort(-expected, kind="stable")[:TOP_K])
    np.testing.assert_allclose(scores, expected[item_ids], rtol=1e-6)
    assert signature == "score" and HISTORY[0] not in HISTORY[-MAX_LEN:]
    short = HISTORY[-MAX_LEN:]
    np.testing.assert_array_equal(
        personaliser.recommend_unseen(short)[0], personaliser.recommend(personaliser.encode(short))[0]
    )


def test_cli_trains_saves_and_loads_the_state(on_device_model, tmp_path):
    path, _ = on_device_model
    vocab = tiny_vocab(N_ITEMS)
    history = ",".join(vocab.original_id(item) for item in HISTORY)
    state = tmp_path / "state.json"
    command = [sys.executable, "-m", "runtime.personalise", f"--model={path}", f"--history={history}"]
    first = subprocess.run(
        [*command, f"--state={state}", "--epochs=3"], cwd=REPO, capture_output=True, text=True
    )
    assert first.returncode == 0, first.stderr
    assert "trained 18 steps" in first.stdout and state.is_file()
    personaliser = Personaliser(path)
    personaliser.load_state(state)
    top = personaliser.original_id(int(personaliser.recommend_unseen(HISTORY)[0][0]))
    second = subprocess.run(
        [*command, f"--state={state}", "--epochs=0"], cwd=REPO, capture_output=True, text=True
    )
    assert second.returncode == 0 and second.stdout.splitlines()[-TOP_K].startswith(top)
    state.write_text("garbage")
    refused = subprocess.run([*command, f"--state={state}"], cwd=REPO, capture_output=True, text=True)
    assert refused.returncode == 1 and "cannot be read" in refused.stderr


STATE_FILE, UPDATE_FILE = "state.json", "items.odri"


@pytest.fixture(scope="module")
def personal_inputs(
    on_device_model, tmp_path_factory
) -> tuple[Path, list[str], CliResult, CliResult]:
    """An on-device export beside a saved state and a catalogue update; the CLI's arguments; its result, and
    its result without the state file (a first run: documented to start from the shipped model)."""
    path, row = on_device_model
    folder = tmp_path_factory.mktemp("personal") / "export"
    shutil.copytree(path.parent, folder)
    personaliser = Personaliser(folder / path.name)
    (folder / UPDATE_FILE).write_bytes(
        encode_item_update(["new-1"], row[None], personaliser.sidecar["sha256"])
    )
    vocab = tiny_vocab(N_ITEMS)
    history = ",".join([*(vocab.original_id(item) for item in HISTORY), "new-1"])
    arguments = [f"--model={folder / path.name}", f"--history={history}", f"--state={folder / STATE_FILE}"]
    arguments.append(f"--items_update={folder / UPDATE_FILE}")
    first = run_cli("runtime.personalise", *arguments)
    assert first.returncode == 0 and (folder / STATE_FILE).is_file(), first.stderr
    fresh = _run_on_a_copy(folder, arguments, {STATE_FILE: Damage("missing")})
    return folder, arguments, _run_on_a_copy(folder, arguments, {}), fresh


def _run_on_a_copy(intact: Path, arguments: list[str], damaged: dict) -> CliResult:
    """runtime.personalise on a copy of `intact` with `damaged` files (it writes the state: the intact folder
    stays as it is), paths in its output masked."""
    with tempfile.TemporaryDirectory(prefix="odrec_fuzz_") as scratch:
        folder = damaged_copy(intact, Path(scratch), damaged)
        result = run_cli(
            "runtime.personalise", *(argument.replace(str(intact), str(folder)) for argument in arguments)
        )
    return dataclasses.replace(result, stdout=mask_timings(result.stdout.replace(str(folder), "<export>")))


PERSONAL_FILES = ("model", "sidecar", "vocab", "state", "update")


@settings(max_examples=40, deadline=None)
@given(damaged=st.dictionaries(st.sampled_from(PERSONAL_FILES), damages(), min_size=1, max_size=2))
@example(damaged={"state": Damage("missing")})  # a first run: drawn once when it was not yet expected
def test_fuzz_damaged_files_of_personalise_end_in_the_intact_answer_or_one_error_line(
    on_device_model, personal_inputs, damaged
) -> None:
    """As tests/runtime/test_cli_file_fuzz.py for the other CLIs: the model, sidecar, vocab, state file or
    catalogue update damaged; exit 0 with the intact answer, or one `error:` line naming the damaged file."""
    intact, arguments, intact_result, fresh_result = personal_inputs
    assert intact_result.returncode == 0 and fresh_result.returncode == 0, intact_result.stderr
    # A missing state file is a first run, not damage: the answer is then the fresh one.
    state_missing = "state" in damaged and damaged["state"].kind == "missing"
    expected = fresh_result.stdout if state_missing else intact_result.stdout
    model_file = on_device_model[0].name
    names = dict(
        zip(
            PERSONAL_FILES,
            (model_file, model_file.replace(".tflite", ".json"), VOCAB_FILE, STATE_FILE, UPDATE_FILE),
            strict=True,
        )
    )
    damaged = {names[role]: damage for role, damage in damaged.items()}
    result = _run_on_a_copy(intact, arguments, damaged)
    culprit = next(iter(damaged)) if len(damaged) == 1 else None
    assert_one_line_outcome(result, expected, culprit)
