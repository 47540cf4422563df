"""Named benchmark datasets and where their files live; a name (or a path and format) -> a split dataset."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from distill import loaders
from distill.dataset import SequenceDataset, from_sessions, leave_one_out
from distill.synthetic import SIZES as SYNTHETIC_SIZES
from distill.synthetic import generate_synthetic

DATA_DIR_ENV = "ODREC_DATA_DIR"
REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA_DIR = REPO_ROOT.parent / "shared" / "data"
DATASETS = ("ml-1m", "ml-100k", "amazon-video", "tmall", "retailrocket", *SYNTHETIC_SIZES)
FORMATS = ("user-item", "movielens", "csv", "sessions")

_HOW_TO_POINT_ELSEWHERE = (
    f"pass --data_dir DIR or set {DATA_DIR_ENV}=DIR (the folder holding ml-1m/, tmall/, ...), "
    "or load your own file with --data PATH --format {" + ",".join(FORMATS) + "}"
)


class DatasetNotFoundError(FileNotFoundError):
    """A dataset whose files are not where we looked."""


def resolve_data_dir(data_dir: str | None) -> Path:
    """The benchmark data folder: `data_dir`, else $ODREC_DATA_DIR, else `../shared/data` beside the repo.

    The default is returned even when it does not exist, so that a later error can name it.
    """
    if data_dir:
        return Path(data_dir)
    if os.environ.get(DATA_DIR_ENV):
        return Path(os.environ[DATA_DIR_ENV])
    return DEFAULT_DATA_DIR


def _require(path: Path, dataset: str) -> Path:
    if not path.is_file():
        raise DatasetNotFoundError(f"dataset {dataset!r}: no file at {path}; {_HOW_TO_POINT_ELSEWHERE}")
    return path


def _ml_1m(data_dir: Path) -> SequenceDataset:
    folder = data_dir / "ml-1m"
    sequences = loaders.load_user_item(_require(folder / "ml-1m_sasrec_style.txt.gz", "ml-1m"))
    # The SASRec-style file renumbers items; report MovieIDs so titles and vocab.tsv match the user's data.
    movie_ids = loaders.load_item_map(_require(folder / "ml-1m_sasrec_style_item_map.tsv", "ml-1m"))
    unmapped = {item for items in sequences.values() for item in items} - movie_ids.keys()
    if unmapped:
        raise loaders.DataFormatError(
            f"{folder / 'ml-1m_sasrec_style_item_map.tsv'}: no MovieID for items {sorted(unmapped)[:5]}...; "
            "the map and the sequence file must come from the same preprocessing"
        )
    movie_sequences = {user: [movie_ids[item] for item in items] for user, items in sequences.items()}
    titles = loaders.load_ml1m_titles(_require(folder / "movies.dat", "ml-1m"))
    return leave_one_out("ml-1m", movie_sequences, titles)


def _ml_100k(data_dir: Path) -> SequenceDataset:
    folder = data_dir / "ml-100k"
    sequences = loaders.load_movielens_ratings(_require(folder / "u.data", "ml-100k"))
    titles = loaders.load_ml100k_titles(_require(folder / "u.item", "ml-100k"))
    return leave_one_out("ml-100k", sequences, titles)


def _amazon_video(data_dir: Path) -> SequenceDataset:
    path = _require(data_dir / "amazon-video-sasrec" / "Video.txt.gz", "amazon-video")
    return leave_one_out("amazon-video", loaders.load_user_item(path))


def _session_dataset(name: str) -> Callable[[Path], SequenceDataset]:
    def load(data_dir: Path) -> SequenceDataset:
        train = loaders.load_sessions(_require(data_dir / name / "train_sessions.txt.gz", name))
        test = loaders.load_session_test(_require(data_dir / name / "test_prefix_target.tsv.gz", name))
        return from_sessions(name, train, test)

    return load


_BUILDERS: dict[str, Callable[[Path], SequenceDataset]] = {
    "ml-1m": _ml_1m,
    "ml-100k": _ml_100k,
    "amazon-video": _amazon_video,
    "tmall": _session_dataset("tmall"),
    "retailrocket": _session_dataset("retailrocket"),
}


def _load_path(name: str, path: str, fmt: str | None) -> SequenceDataset:
    if fmt not in FORMATS:
        raise ValueError(
            f"format={fmt!r} is not one of {FORMATS}; say which format {path!r} is in with --format"
        )
    if fmt == "sessions":
        train_path, separator, test_path = path.partition(",")
        if not separator or not test_path:
            raise ValueError(f"--format sessions needs two files as --data TRAIN,TEST; got {path!r}")
        for file in (train_path, test_path):
            _require(Path(file), name)
        return from_sessions(name, loaders.load_sessions(train_path), loaders.load_session_test(test_path))
    parse = {
        "user-item": loaders.load_user_item,
        "movielens": loaders.load_movielens_ratings,
        "csv": loaders.load_csv,
    }[fmt]
    return leave_one_out(name, parse(_require(Path(path), name)))


def load_dataset(
    name: str | None = None,
    data_dir: str | None = None,
    path: str | None = None,
    fmt: str | None = None,
    seed: int = 0,
) -> SequenceDataset:
    """Loads and splits a dataset by name, or any file given as `path` in format `fmt`.

    Args:
        name: one of `DATASETS`; with `path`, only a label (default: the file name).
        data_dir: benchmark folder (see `resolve_data_dir`).
        path: a file of your own (for `fmt="sessions"`: "TRAIN,TEST").
        fmt: one of `FORMATS`, required with `path`.
        seed: seed of the synthetic generator (datasets of `distill.synthetic.SIZES`).

    Raises:
        DatasetNotFoundError: a file is missing; the message names where we looked and how to point elsewhere.
        loaders.DataFormatError: a file is malformed.
        ValueError: unknown name or format.
    """
    if path is not None:
        return _load_path(name or Path(path.split(",")[0]).name, path, fmt)
    if name is None:
        raise ValueError(f"give a dataset name (one of {DATASETS}) or a path with its format")
    if name in SYNTHETIC_SIZES:
        n_users, n_items = SYNTHETIC_SIZES[name]
        generated = generate_synthetic(n_users=n_users, n_items=n_items, seed=seed)
        return leave_one_out(name, generated.sequences, generated.titles)
    if name not in _BUILDERS:
        raise ValueError(
            f"unknown dataset {name!r}; choose one of {DATASETS} or pass --data PATH --format FMT"
        )
    return _BUILDERS[name](resolve_data_dir(data_dir))
