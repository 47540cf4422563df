"""The sidecar contract: written atomically, and every mismatch refused with a message naming both values."""

import json

import pytest

from runtime.litert import Recommender
from runtime.sidecar import ArtifactError, file_sha256, load_sidecar, sidecar_path, write_sidecar
from runtime.vocab import write_vocab
from tests.runtime.conftest import MODEL_FILE, N_ITEMS, VOCAB_FILE, sidecar_fields, tiny_vocab


def _edit_sidecar(model, **changes) -> None:
    path = sidecar_path(model)
    fields = json.loads(path.read_text())
    fields.update(changes)
    path.write_text(json.dumps(fields))


def test_sidecar_path():
    assert str(sidecar_path("out/student_fp32.tflite")) == "out/student_fp32.json"


def test_round_trip_fills_hashes_and_leaves_no_temporary_file(export_dir):
    model = export_dir / MODEL_FILE
    path = write_sidecar(model, {**sidecar_fields(), "sha256": "stale"})
    loaded = load_sidecar(model)
    assert path == sidecar_path(model)
    assert loaded["sha256"] == file_sha256(model) and loaded["model_file"] == MODEL_FILE
    assert loaded["vocab_sha256"] == file_sha256(export_dir / VOCAB_FILE)
    assert {key: loaded[key] for key in sidecar_fields()} == sidecar_fields()
    assert sorted(entry.name for entry in export_dir.iterdir()) == sorted(
        [MODEL_FILE, VOCAB_FILE, path.name]
    )


def test_write_needs_the_vocab(export_dir):
    (export_dir / VOCAB_FILE).unlink()
    with pytest.raises(ArtifactError, match="write the vocab before the sidecar"):
        write_sidecar(export_dir / MODEL_FILE, sidecar_fields())


def test_wrong_model_sha_is_refused(export_dir):
    model = export_dir / MODEL_FILE
    _edit_sidecar(model, sha256="0" * 64)
    expected = f"sha256 is {file_sha256(model)}, the sidecar expects {'0' * 64}"
    with pytest.raises(ArtifactError, match=expected):
        load_sidecar(model)


@pytest.mark.parametrize("load", [load_sidecar, Recommender])
def test_truncated_model_is_refused(export_dir, load):
    model = export_dir / MODEL_FILE
    model.write_bytes(model.read_bytes()[:100])
    with pytest.raises(ArtifactError, match="truncated, corrupted or from another export"):
        load(model)


def test_vocab_from_another_model_is_refused(export_dir):
    vocab = export_dir / VOCAB_FILE
    original_sha256 = file_sha256(vocab)
    write_vocab(vocab, tiny_vocab(prefix="other-"))
    expected = f"sha256 is {file_sha256(vocab)}, the sidecar expects {original_sha256}"
    with pytest.raises(ArtifactError, match=expected):
        load_sidecar(export_dir / MODEL_FILE)


def test_vocab_length_must_equal_n_items(export_dir):
    model = export_dir / MODEL_FILE
    write_vocab(export_dir / VOCAB_FILE, tiny_vocab(n_items=N_ITEMS - 2))
    write_sidecar(model, sidecar_fields())
    with pytest.raises(ArtifactError, match=f"has {N_ITEMS - 2} items but .* says n_items={N_ITEMS}"):
        load_sidecar(model)


@pytest.mark.parametrize(
    ("sidecar_text", "message"),
    [
        (None, "has no sidecar"),
        ("{not json", "not valid JSON"),
        ("[]", "JSON object"),
        ("{}", "lacks the fields"),
    ],
)
def test_missing_or_malformed_sidecar(export_dir, sidecar_text, message):
    model = export_dir / MODEL_FILE
    if sidecar_text is None:
        sidecar_path(model).unlink()
    else:
        sidecar_path(model).write_text(sidecar_text)
    with pytest.raises(ArtifactError, match=message):
        load_sidecar(model)


def test_missing_model_and_vocab(export_dir):
    (export_dir / VOCAB_FILE).unlink()
    with pytest.raises(ArtifactError, match="vocab .* does not exist"):
        load_sidecar(export_dir / MODEL_FILE)
    with pytest.raises(ArtifactError, match="model file .* does not exist"):
        load_sidecar(export_dir / "absent.tflite")


def test_signature_shapes_must_match_the_sidecar(export_dir):
    model = export_dir / MODEL_FILE
    _edit_sidecar(model, max_len=7)
    with pytest.raises(ArtifactError, match=r"'history' should be int32 \[1, 7\] .* has int32 \[1, 4\]"):
        Recommender(model)
