"""Hostile inputs to the runtime outside the history parser: a model file replaced under a live Recommender,
thread counts, the Python API's types, where --json may write, and test files that are not text."""

import gzip
import os

import numpy as np
import pytest

from runtime.atomic import OutputPathError, atomic_write_text, check_output_file
from runtime.evaluate import EvaluationFileError, read_test_file
from runtime.history import InvalidItemIdError, encode_history, map_original_history
from runtime.litert import Recommender, max_threads
from runtime.recommend import recommend_original_ids
from runtime.vocab import Vocab
from tests.runtime.conftest import MODEL_FILE, original_id
from tests.runtime.test_cli import run_module


def test_replacing_the_model_file_under_a_live_recommender_changes_nothing(export_dir):
    path = export_dir / MODEL_FILE
    recommender = Recommender(path)
    history = encode_history([1, 2, 3], recommender.max_len)
    scores, top = recommender.score(history), recommender.recommend(history)
    size = path.stat().st_size
    with open(path, "r+b") as stream:  # in place, as a copy over the file would: same inode, new bytes
        stream.write(b"\0" * size)
    path.write_bytes(b"")  # then truncated
    np.testing.assert_array_equal(recommender.score(history), scores)
    np.testing.assert_array_equal(recommender.recommend(history)[0], top[0])


@pytest.mark.parametrize("num_threads", [0, -1, max_threads() + 1, 2**31, True, 1.5])
def test_thread_counts_outside_the_machine_are_refused(model_path, num_threads):
    with pytest.raises(ValueError, match=f"num_threads must be an integer in 1..{max_threads()}"):
        Recommender(model_path, num_threads=num_threads)


def test_cli_thread_count_beyond_the_machine_is_one_line(model_path):
    result = run_module(
        "runtime.recommend", f"--model={model_path}", "--history=1", f"--num_threads={max_threads() + 1}"
    )
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "num_threads" in result.stderr


def test_a_plain_string_history_is_refused_not_split_into_characters(model_path):
    recommender = Recommender(model_path)
    history = f"{original_id(1)} {original_id(2)}"
    with pytest.raises(InvalidItemIdError, match=r"single string.*history\.split\(\)"):
        recommend_original_ids(recommender, history)
    with pytest.raises(InvalidItemIdError, match="single string"):
        recommend_original_ids(recommender, history.encode())


@pytest.mark.parametrize(
    "history",
    [[1.0], [True], [None], [[original_id(1)]], np.array([[1, 2]]), np.array([1.5]), {original_id(1)}, 7],
    ids=["float", "bool", "none", "nested", "2-d", "float-array", "set", "int"],
)
def test_mistyped_histories_are_refused(model_path, history):
    with pytest.raises(InvalidItemIdError):
        recommend_original_ids(Recommender(model_path), history)


def test_integer_ids_and_numpy_arrays_are_the_ids_they_spell(model_path):
    vocab = Vocab(("7", "8", "9"), ("", "", ""))
    assert map_original_history([7, np.int64(9), "8"], vocab) == ([1, 3, 2], [])
    assert map_original_history(np.array([9, 7], dtype=np.uint16), vocab) == ([3, 1], [])
    recommender = Recommender(model_path)
    as_list = recommend_original_ids(recommender, [original_id(3), original_id(5)])
    as_array = recommend_original_ids(recommender, np.array([original_id(3), original_id(5)]))
    assert as_array.recommendations == as_list.recommendations


def test_outputs_must_be_regular_files(tmp_path):
    with pytest.raises(OutputPathError, match="not a regular file"):
        check_output_file(os.devnull)
    with pytest.raises(OutputPathError, match="not a regular file"):
        atomic_write_text(tmp_path, "{}")
    assert check_output_file(tmp_path / "new.json") == tmp_path / "new.json"


@pytest.mark.parametrize("target", ["folder", os.devnull])
def test_cli_json_refuses_a_folder_or_a_device_before_the_work(model_path, tmp_path, target):
    destination = tmp_path if target == "folder" else target
    result = run_module(
        "runtime.bench", f"--model={model_path}", "--runs=2", "--warmup=0", f"--json={destination}"
    )
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert (
        result.stderr.strip().splitlines()[-1].startswith("error: ") and "not a regular file" in result.stderr
    )
    assert os.path.exists(os.devnull) and not os.path.isfile(os.devnull)


def test_test_files_that_are_not_text_are_refused(model_path, tmp_path):
    vocab = Recommender(model_path).vocab
    compressed = tmp_path / "test.tsv.gz"
    compressed.write_bytes(gzip.compress(f"{original_id(1)}\t{original_id(2)}\n".encode()))
    with pytest.raises(EvaluationFileError, match="not UTF-8 text"):
        read_test_file(compressed, vocab)
    with pytest.raises(EvaluationFileError, match=f"test file {tmp_path} is a folder"):
        read_test_file(tmp_path, vocab)
    odd_digits = tmp_path / "digits.tsv"
    odd_digits.write_text("1 \u00b2\t3\n", encoding="utf-8")
    with pytest.raises(EvaluationFileError, match="digits.tsv:1: item '\u00b2'"):
        read_test_file(odd_digits, vocab, ids="internal")
