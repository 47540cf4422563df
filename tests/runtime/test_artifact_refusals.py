"""Damaged or mismatched exports are refused before any inference, with a message saying what does not match.

Complements test_sidecar.py (sha mismatch, truncation, foreign vocab, vocab length, malformed sidecar)."""

import json

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from runtime.history import encode_history
from runtime.litert import Recommender
from runtime.sidecar import ArtifactError, file_sha256, load_artifact, sidecar_path, write_sidecar
from tests.runtime.conftest import MAX_LEN, MODEL_FILE, N_ITEMS, sidecar_fields


def _zero_middle(data: bytes) -> bytes:
    """Zeroes 64 bytes of weights: LiteRT still loads it and silently answers differently."""
    start = len(data) // 3
    return data[:start] + bytes(64) + data[start + 64 :]


def _flip(seed: int):
    def corrupt(data: bytes) -> bytes:
        flipped = bytearray(data)
        for index in np.random.default_rng(seed).integers(0, len(data), size=20):
            flipped[index] ^= 0xFF
        return bytes(flipped)

    return corrupt


CORRUPTIONS = {
    "truncated-half": lambda data: data[: len(data) // 2],
    "truncated-last-byte": lambda data: data[:-1],
    "zeroed-weights": _zero_middle,
    "flipped-bytes-1": _flip(1),
    "flipped-bytes-2": _flip(2),
    "appended-garbage": lambda data: data + b"\x00garbage",
}


@pytest.mark.parametrize("corrupt", list(CORRUPTIONS.values()), ids=list(CORRUPTIONS))
def test_corrupted_model_is_refused_by_its_sha256(export_dir, corrupt) -> None:
    model = export_dir / MODEL_FILE
    expected_sha256 = file_sha256(model)
    model.write_bytes(corrupt(model.read_bytes()))
    with pytest.raises(ArtifactError, match=f"the sidecar expects {expected_sha256}"):
        Recommender(model)


@pytest.mark.parametrize(
    "name", ["truncated-half", "truncated-last-byte", "flipped-bytes-1", "flipped-bytes-2"]
)
def test_corrupted_model_with_a_matching_sidecar_is_a_load_error_not_a_crash(export_dir, name) -> None:
    """Someone re-wrote the sidecar after the damage: LiteRT's verifier refuses the flatbuffer."""
    model = export_dir / MODEL_FILE
    model.write_bytes(CORRUPTIONS[name](model.read_bytes()))
    write_sidecar(model, sidecar_fields())
    with pytest.raises(ArtifactError, match="LiteRT cannot load .*truncated, corrupted or not a flatbuffer"):
        Recommender(model)


def _edit_sidecar(model, **changes) -> None:
    path = sidecar_path(model)
    path.write_text(json.dumps({**json.loads(path.read_text()), **changes}))


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("n_items", "12", "n_items must be a positive integer, got '12'"),
        ("n_items", True, "n_items must be a positive integer, got True"),
        ("max_len", 0, "max_len must be a positive integer, got 0"),
        ("top_k", -3, "top_k must be a positive integer, got -3"),
        ("top_k", 2.5, "top_k must be a positive integer, got 2.5"),
        ("max_len", None, "max_len must be a positive integer, got None"),
        ("sha256", 5, "sha256 must be a string, got 5"),
        ("vocab_file", ["vocab.tsv"], r"vocab_file must be a string"),
        (
            "vocab_file",
            "../vocab.tsv",
            r"vocab_file '../vocab.tsv' must be a file name in the model's folder",
        ),
        ("vocab_file", "/etc/passwd", r"vocab_file '/etc/passwd' must be a file name"),
        ("vocab_file", "", r"vocab_file '' must be a file name"),
    ],
)
def test_mistyped_sidecar_fields_are_refused(export_dir, field, value, message) -> None:
    model = export_dir / MODEL_FILE
    _edit_sidecar(model, **{field: value})
    with pytest.raises(ArtifactError, match=message):
        load_artifact(model)


def test_model_of_another_dataset_is_refused_when_the_caller_says_which(export_dir) -> None:
    model = export_dir / MODEL_FILE
    with pytest.raises(ArtifactError, match=r"dataset='tiny' but the caller expects dataset='ml-1m'"):
        Recommender(model, expected_dataset="ml-1m")
    with pytest.raises(ArtifactError, match=rf"n_items={N_ITEMS} but the caller expects n_items=3416"):
        load_artifact(model, expected_n_items=3416)
    recommender = Recommender(model, expected_dataset="tiny", expected_n_items=N_ITEMS)
    assert recommender.recommend(encode_history([1, 2], MAX_LEN))[0].shape == (recommender.top_k,)


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats() | st.text(max_size=12),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3)
    ),
    max_leaves=6,
)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(changes=st.dictionaries(st.sampled_from(sorted(sidecar_fields()) + ["sha256", "vocab_sha256"]), _JSON))
def test_fuzz_sidecar_values_raise_only_artifact_error(export_dir, changes) -> None:
    model = export_dir / MODEL_FILE
    original = sidecar_path(model).read_text()
    try:
        _edit_sidecar(model, **changes)
        Recommender(model)
    except ArtifactError:
        pass
    finally:
        sidecar_path(model).write_text(original)
