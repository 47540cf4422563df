"""The `<model>.json` sidecar: what a device checks before it trusts a flatbuffer (docs/artifacts.md)."""

import hashlib
import json
import os
from pathlib import Path

from runtime.atomic import atomic_write_text
from runtime.input_files import read_input_file
from runtime.vocab import Vocab, VocabError, parse_vocab

REQUIRED_FIELDS = ("model_file", "sha256", "n_items", "max_len", "top_k", "vocab_file", "vocab_sha256")
_POSITIVE_INTEGER_FIELDS = ("n_items", "max_len", "top_k")
_STRING_FIELDS = ("model_file", "sha256", "vocab_file", "vocab_sha256")
VOCAB_FILE = "vocab.tsv"
REEXPORT_HINT = "re-export with `python convert/to_tflite.py --out DIR` or copy the whole export folder again"


class ArtifactError(ValueError):
    """A model, sidecar or vocab that breaks the export contract; the message says what and what to do."""


def contract_fields(
    role: str,
    variant: str,
    dataset: str,
    n_items: int,
    max_len: int,
    top_k: int,
    vocab_file: str = VOCAB_FILE,
) -> dict:
    """The contract fields of docs/artifacts.md for one flatbuffer, the one place they are written out:
    signatures and shapes, padding, history exclusion, vocab file; `metrics` empty until evaluated. Hashes are
    added by `write_sidecar`; an exporter adds its own notes (ops, quantization) beside them.
    """
    history = {"history": [1, max_len]}
    return {
        "role": role,
        "variant": variant,
        "dataset": dataset,
        "n_items": n_items,
        "max_len": max_len,
        "top_k": top_k,
        "padding_side": "left",
        "padding_id": 0,
        "excludes_history": True,
        "signatures": {
            "recommend": {"inputs": history, "outputs": {"item_ids": [1, top_k], "scores": [1, top_k]}},
            "score": {"inputs": history, "outputs": {"scores": [1, n_items + 1]}},
        },
        "vocab_file": vocab_file,
        "metrics": {},
    }


def sidecar_path(model_path: str | os.PathLike[str]) -> Path:
    """`models/student_fp32.tflite` -> `models/student_fp32.json`."""
    return Path(model_path).with_suffix(".json")


def file_sha256(path: str | os.PathLike[str]) -> str:
    """Hex sha256 of a file's bytes, read in chunks so large flatbuffers do not sit in memory twice."""
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        for chunk in iter(lambda: stream.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def vocab_path(model_path: str | os.PathLike[str], sidecar: dict) -> Path:
    """The vocab a sidecar names, resolved beside the model (exports are self-contained folders)."""
    return Path(model_path).parent / sidecar["vocab_file"]


def write_sidecar(model_path: str | os.PathLike[str], fields: dict) -> Path:
    """Writes `<model>.json` atomically with the model's and the vocab's sha256 filled in.

    Args:
        model_path: the `.tflite` file, already written.
        fields: the contract fields (role, variant, n_items, max_len, top_k, signatures, vocab_file, ...);
            `model_file`, `sha256` and `vocab_sha256` are computed here and override any given value.

    Returns:
        the sidecar path.

    Raises:
        ArtifactError: `vocab_file` missing from fields or not beside the model.
    """
    model_path = Path(model_path)
    if "vocab_file" not in fields:
        raise ArtifactError("fields must name 'vocab_file' (the vocab.tsv beside the model)")
    sidecar = dict(fields)
    sidecar["model_file"] = model_path.name
    sidecar["sha256"] = file_sha256(model_path)
    vocab_file = vocab_path(model_path, sidecar)
    if not vocab_file.is_file():
        raise ArtifactError(f"vocab file {vocab_file} does not exist; write the vocab before the sidecar")
    sidecar["vocab_sha256"] = file_sha256(vocab_file)
    target = sidecar_path(model_path)
    atomic_write_text(target, json.dumps(sidecar, indent=2) + "\n")
    return target


def load_sidecar(model_path: str | os.PathLike[str]) -> dict:
    """Reads a model's sidecar and verifies the model bytes, the vocab bytes and the vocab length.

    Returns:
        the sidecar fields.

    Raises:
        ArtifactError: see `load_artifact`.
    """
    sidecar, _ = load_artifact(model_path)
    return sidecar


def _check_field_types(sidecar: dict, path: Path) -> None:
    """Refuses fields of the wrong JSON type before they are used as sizes or paths."""
    for field in _POSITIVE_INTEGER_FIELDS:
        value = sidecar[field]
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ArtifactError(
                f"sidecar {path}: {field} must be a positive integer, got {value!r}; {REEXPORT_HINT}"
            )
    for field in _STRING_FIELDS:
        if not isinstance(sidecar[field], str):
            raise ArtifactError(
                f"sidecar {path}: {field} must be a string, got {sidecar[field]!r}; {REEXPORT_HINT}"
            )
    vocab_file = sidecar["vocab_file"]
    # The vocab sits beside the model: a sidecar cannot make a device read a file elsewhere.
    if not vocab_file or Path(vocab_file).name != vocab_file or vocab_file in (".", ".."):
        raise ArtifactError(
            f"sidecar {path}: vocab_file {vocab_file!r} must be a file name in the model's folder; "
            f"{REEXPORT_HINT}"
        )


def _check_expectations(sidecar: dict, path: Path, expected: dict) -> None:
    """Refuses a model built for another dataset or catalogue than the caller's."""
    for field, wanted in expected.items():
        if wanted is not None and sidecar.get(field) != wanted:
            raise ArtifactError(
                f"{path} describes a model with {field}={sidecar.get(field)!r} but the caller expects "
                f"{field}={wanted!r}: this export belongs to another dataset; use the export of {wanted!r}"
            )


def spare_items(sidecar: dict, path: str | os.PathLike[str] = "sidecar") -> int:
    """Item slots an on-device export reserves for items added later (0 for a plain export): `score` has
    `n_items + 1 + spare_items` columns and ids up to `n_items + spare_items` may be recommended.

    Raises:
        ArtifactError: an `on_device` block without a positive integer `spare_items`.
    """
    block = sidecar.get("on_device")
    if block is None:
        return 0
    count = block.get("spare_items") if isinstance(block, dict) else None
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        raise ArtifactError(
            f"{path}: on_device.spare_items must be a positive integer, got {count!r}; {REEXPORT_HINT}"
        )
    return count


def load_artifact(
    model_path: str | os.PathLike[str],
    expected_dataset: str | None = None,
    expected_n_items: int | None = None,
    model_content: bytes | None = None,
) -> tuple[dict, Vocab]:
    """`load_sidecar` that also returns the verified vocab, so consumers read it once.

    Args:
        model_path: the `.tflite` file.
        model_content: the model's bytes as the caller read them; the hash is checked on these bytes rather
            than on the file, so that what was verified is what the interpreter runs.
        expected_dataset / expected_n_items: when given, the sidecar's `dataset` / `n_items` must equal them.

    Returns:
        (the sidecar fields, the vocab it names).

    Raises:
        ArtifactError: missing or unreadable sidecar, missing or mistyped field, sha256 mismatch (truncated,
            corrupted or swapped file), a vocab whose length is not `n_items`, or a model of another dataset
            than expected; the message names both values.
    """
    model_path = Path(model_path)
    path = sidecar_path(model_path)
    if model_content is None:
        model_content = read_input_file(model_path, "model file", ArtifactError, REEXPORT_HINT)
    if not path.exists() and not path.is_symlink():
        raise ArtifactError(f"{model_path} has no sidecar {path}; {REEXPORT_HINT}")
    try:
        sidecar = json.loads(read_input_file(path, "sidecar", ArtifactError, REEXPORT_HINT).decode("utf-8"))
    except (ValueError, RecursionError) as error:
        # ValueError: not JSON, not UTF-8, or an integer past Python's digit limit; RecursionError: nesting.
        reason = " ".join(str(error).split())[:200] or type(error).__name__
        raise ArtifactError(f"sidecar {path} is not valid JSON ({reason}); {REEXPORT_HINT}") from None
    if not isinstance(sidecar, dict):
        raise ArtifactError(f"sidecar {path} must hold a JSON object; {REEXPORT_HINT}")
    missing = [field for field in REQUIRED_FIELDS if field not in sidecar]
    if missing:
        raise ArtifactError(f"sidecar {path} lacks the fields {missing}; {REEXPORT_HINT}")
    _check_field_types(sidecar, path)
    spare_items(sidecar, path)
    _check_expectations(sidecar, path, {"dataset": expected_dataset, "n_items": expected_n_items})

    model_sha256 = hashlib.sha256(model_content).hexdigest()
    if model_sha256 != sidecar["sha256"]:
        raise ArtifactError(
            f"model {model_path} does not match its sidecar: its sha256 is {model_sha256}, the sidecar "
            f"expects {sidecar['sha256']} (truncated, corrupted or from another export); {REEXPORT_HINT}"
        )
    vocab_file = vocab_path(model_path, sidecar)
    vocab_hint = f"{path} names it; {REEXPORT_HINT}"
    vocab_content = read_input_file(vocab_file, "vocab", ArtifactError, vocab_hint)
    vocab_sha256 = hashlib.sha256(vocab_content).hexdigest()
    if vocab_sha256 != sidecar["vocab_sha256"]:
        raise ArtifactError(
            f"vocab {vocab_file} does not belong to {model_path.name}: its sha256 is {vocab_sha256}, "
            f"the sidecar expects {sidecar['vocab_sha256']}; {REEXPORT_HINT}"
        )
    try:
        vocab = parse_vocab(vocab_content, vocab_file)
    except VocabError as error:
        raise ArtifactError(f"vocab {vocab_file} is malformed: {error}; {REEXPORT_HINT}") from error
    if vocab.n_items != sidecar["n_items"]:
        raise ArtifactError(
            f"vocab {vocab_file} has {vocab.n_items} items but {path} says n_items={sidecar['n_items']}; "
            f"{REEXPORT_HINT}"
        )
    return sidecar, vocab
