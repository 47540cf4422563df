"""Saving and loading SASRec teachers and students: config.json + weights, both written atomically."""

from __future__ import annotations

import json
from pathlib import Path

from distill.dataset import SequenceDataset
from model.keras_setup import keras
from model.sasrec import SASRec, SASRecConfig
from runtime.atomic import atomic_write_bytes, atomic_write_text
from runtime.vocab import VocabError, read_vocab

CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.weights.h5"


class _InMemoryArchive:
    """The one method Keras' HDF5 weight store calls on an archive: it receives the finished file's bytes."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}

    def writestr(self, name: str, data: bytes) -> None:
        self.files[name] = data


def weights_bytes(model: keras.Model) -> bytes:
    """The bytes of `model.save_weights("x.weights.h5")`, built in memory (`load_weights` reads them back).

    HDF5 writing straight into a file that hits a full disk segfaulted while closing it (h5py), killing a
    training run with no message (issue 20). Built in memory, the only disk write is `atomic_write_bytes`,
    whose failure is an ordinary `OSError`. This is the path Keras itself takes for the weights inside a
    `.keras` archive (`H5IOStore` over an archive); tf-keras is pinned in requirements.txt.
    """
    from tf_keras.src.saving import saving_lib  # after model.keras_setup has selected tf-keras

    archive = _InMemoryArchive()
    store = saving_lib.H5IOStore(WEIGHTS_FILE, archive=archive, mode="w")
    saving_lib._save_state(
        model, weights_store=store, assets_store=None, inner_path="", visited_trackables=set()
    )
    store.close()
    return archive.files[WEIGHTS_FILE]


def save_model(model: SASRec, directory: str | Path) -> None:
    """Writes `config.json` and the weights into `directory`, each atomically.

    Raises:
        runtime.atomic.OutputWriteError: a file could not be written (e.g. the disk is full); the files of
            the previous save are unchanged.
    """
    directory = Path(directory)
    atomic_write_bytes(directory / WEIGHTS_FILE, weights_bytes(model))
    atomic_write_text(directory / CONFIG_FILE, json.dumps(model.config.to_dict(), indent=2))


class ModelFolderError(ValueError):
    """A model folder that is not one written by `save_model` (missing, incomplete or malformed)."""


def read_model_config(directory: str | Path) -> SASRecConfig:
    """The config of a saved model, checked without building it (callers verify folders before training).

    Raises:
        ModelFolderError: the folder, its config.json or its weights are missing, or the config is malformed.
    """
    directory = Path(directory)
    hint = "pass a model folder written by distill.train_teacher or distill.train_student"
    if not directory.is_dir():
        raise ModelFolderError(f"model folder {directory} does not exist or is not a folder; {hint}")
    for name in (CONFIG_FILE, WEIGHTS_FILE):
        if not (directory / name).is_file():
            raise ModelFolderError(f"{directory / name} not found; {hint}")
    try:
        return SASRecConfig.from_dict(json.loads((directory / CONFIG_FILE).read_text(encoding="utf-8")))
    except (ValueError, TypeError, AttributeError) as error:
        raise ModelFolderError(
            f"{directory / CONFIG_FILE} is not a valid model config ({error}); {hint}"
        ) from None


def check_model_folder(
    directory: str | Path,
    dataset: SequenceDataset,
    role: str,
    any_order: bool = False,
    flag: str | None = None,
) -> SASRecConfig:
    """The config of a saved `role` model, once the folder is known to hold a model of `dataset`.

    Called before any training or export: a model of another dataset with the same item count would give
    silently wrong scores, so its vocab.tsv, when present, must equal the dataset's; with `any_order`, hold
    the same items in any order (for callers that renumber the model, `distill.item_order`). `flag`: the
    command-line flag that names the folder, in messages (default: `--<role>`).

    Raises:
        ModelFolderError: missing or malformed folder, another catalogue size, or another vocabulary.
    """
    config = read_model_config(directory)
    fix = f"pass the {role} of this dataset with --{flag or role}"
    if config.n_items != dataset.n_items:
        raise ModelFolderError(
            f"{role} {directory} was trained on {config.n_items} items but dataset {dataset.name} has "
            f"{dataset.n_items}: {fix}"
        )
    vocab_file = Path(directory) / "vocab.tsv"
    if vocab_file.is_file():
        try:
            own = read_vocab(vocab_file).original_ids
            wanted = dataset.vocab.original_ids
            same = sorted(own) == sorted(wanted) if any_order else own == wanted
        except VocabError as error:
            raise ModelFolderError(f"{role} vocab {vocab_file} is malformed ({error}); {fix}") from None
        if not same:
            raise ModelFolderError(
                f"{role} {directory} was trained on other items than dataset {dataset.name} (its "
                f"{vocab_file.name} differs): {fix}"
            )
    return config


def load_model(directory: str | Path) -> SASRec:
    """Rebuilds a model from config.json and loads its weights.

    Raises:
        ModelFolderError: see `read_model_config`.
    """
    directory = Path(directory)
    model = SASRec(read_model_config(directory))
    model.build_for_inference()
    model.load_weights(str(directory / WEIGHTS_FILE))
    return model
