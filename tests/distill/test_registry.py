"""Tests of distill.registry: data folder resolution, named datasets, paths with formats, real-data stats."""

import math
import shutil
from pathlib import Path

import pytest

from distill import loaders, registry, synthetic
from distill.registry import DatasetNotFoundError, load_dataset, resolve_data_dir
from tests.distill.standin_data import REAL_DATA, Facts, needs_real_data, write_standin

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "data"


def test_data_dir_precedence(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("ODREC_DATA_DIR", str(tmp_path / "from_env"))
    assert resolve_data_dir(str(tmp_path / "from_flag")) == tmp_path / "from_flag"
    assert resolve_data_dir(None) == tmp_path / "from_env"
    monkeypatch.delenv("ODREC_DATA_DIR")
    assert resolve_data_dir(None) == registry.REPO_ROOT.parent / "shared" / "data"


def test_missing_dataset_names_the_path_and_the_ways_out(tmp_path: Path) -> None:
    with pytest.raises(DatasetNotFoundError) as raised:
        load_dataset("ml-100k", data_dir=str(tmp_path))
    message = str(raised.value)
    assert str(tmp_path / "ml-100k" / "u.data") in message
    assert "--data_dir" in message and "ODREC_DATA_DIR" in message and "--format" in message


def test_unknown_name_and_format_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown dataset 'netflix'"):
        load_dataset("netflix")
    with pytest.raises(ValueError, match="format='parquet'"):
        load_dataset(path=str(FIXTURES / "user_item.txt"), fmt="parquet")
    with pytest.raises(ValueError, match="TRAIN,TEST"):
        load_dataset(path=str(FIXTURES / "sessions_train.txt"), fmt="sessions")


def test_named_datasets_read_their_folder_layout(tmp_path: Path) -> None:
    (tmp_path / "ml-100k").mkdir()
    shutil.copy(FIXTURES / "u.data", tmp_path / "ml-100k" / "u.data")
    shutil.copy(FIXTURES / "u.item", tmp_path / "ml-100k" / "u.item")
    dataset = load_dataset("ml-100k", data_dir=str(tmp_path))
    assert dataset.vocab.original_ids == ("10", "15", "20", "30")
    assert dataset.vocab.titles == ("Café Society (1995)", "", "Heat (1995)", "")
    (tmp_path / "tmall").mkdir()
    shutil.copy(FIXTURES / "sessions_train.txt", tmp_path / "tmall" / "train_sessions.txt.gz")
    shutil.copy(FIXTURES / "sessions_test.tsv", tmp_path / "tmall" / "test_prefix_target.tsv.gz")
    sessions = load_dataset("tmall", data_dir=str(tmp_path))
    assert (sessions.split, len(sessions.train_sequences), len(sessions.test_targets)) == ("session", 2, 2)


@pytest.mark.parametrize(
    ("fmt", "files", "n_items"),
    [
        ("user-item", "user_item.txt", 4),
        ("movielens", "ratings.dat", 4),
        ("csv", "interactions.csv", 3),
        ("sessions", "sessions_train.txt,sessions_test.tsv", 6),
    ],
)
def test_any_file_with_a_format(fmt: str, files: str, n_items: int) -> None:
    path = ",".join(str(FIXTURES / name) for name in files.split(","))
    dataset = load_dataset(path=path, fmt=fmt)
    assert dataset.n_items == n_items
    assert dataset.name == files.split(",")[0]


def test_synthetic_is_the_default_generator_split_leave_one_out() -> None:
    dataset = load_dataset("synthetic", seed=3)
    assert dataset.split == "leave-one-out"
    assert dataset.summary()["n_train_sequences"] == synthetic.DEFAULT_USERS
    assert 900 < dataset.n_items <= synthetic.DEFAULT_ITEMS


def test_the_larger_synthetic_catalogue_is_the_generator_at_its_named_size() -> None:
    n_users, n_items = synthetic.SIZES["synthetic-5k"]
    dataset = load_dataset("synthetic-5k")
    assert dataset.name == "synthetic-5k"
    assert dataset.summary()["n_train_sequences"] == n_users
    # Rarely clicked items may never be drawn; most of the catalogue is.
    assert 0.9 * n_items < dataset.n_items <= n_items
    assert "synthetic-5k" in registry.DATASETS


# Real data: the numbers come from the READMEs of /work/shared/data (computed there independently of this
# code). Stand-in: the same files, generated and counted by tests/distill/standin_data.py, so CI runs
# every path.
def _sessions(n_train_sessions: int, n_test: int, n_items: int) -> Facts:
    return Facts(n_items, n_train_sessions - math.ceil(n_train_sessions / 10), n_test)


REAL_FACTS = {
    "ml-100k": Facts(1682, 943, 943, 100_000, "Toy Story (1995)"),
    "ml-1m": Facts(3416, 6040, 6040, 999_611, "Toy Story (1995)"),
    "amazon-video": Facts(23_715, 31_013, 31_013 - 112, 287_107),  # 112 users have fewer than 3 interactions
    "tmall": _sessions(65_286, 25_898, 40_727),
    "retailrocket": _sessions(126_168, 15_132, 36_968),
}


@pytest.fixture(scope="module")
def standin(tmp_path_factory) -> tuple[Path, dict[str, Facts]]:
    root = tmp_path_factory.mktemp("standin_data")
    return root, write_standin(root)


@pytest.fixture(params=["standin", pytest.param("real", marks=needs_real_data)])
def data_source(request, standin) -> tuple[Path, dict[str, Facts]]:
    """(data folder, name -> expected Facts), for the generated stand-in and, where present, the real data."""
    return standin if request.param == "standin" else (REAL_DATA, REAL_FACTS)


def _assert_user_item_facts(dataset, facts: Facts) -> None:
    summary = dataset.summary()
    assert (summary["n_items"], summary["n_train_sequences"], summary["n_test"]) == (
        facts.n_items,
        facts.n_train_sequences,
        facts.n_test,
    )
    # Leave-one-out moves exactly one validation and one test item out of every evaluated user.
    assert summary["n_train_interactions"] + 2 * summary["n_test"] == facts.n_interactions


def test_ml_100k_matches_its_facts(data_source) -> None:
    data_dir, facts = data_source
    dataset = load_dataset("ml-100k", data_dir=str(data_dir))
    _assert_user_item_facts(dataset, facts["ml-100k"])
    assert dataset.vocab.title(1) == facts["ml-100k"].first_title
    # Ties broken by item id reproduce the derived SASRec-style file exactly.
    derived = loaders.load_user_item(data_dir / "ml-100k" / "ml-100k_sasrec_style.txt.gz")
    assert derived == loaders.load_movielens_ratings(data_dir / "ml-100k" / "u.data")


def test_amazon_video_matches_its_facts(data_source) -> None:
    data_dir, facts = data_source
    _assert_user_item_facts(load_dataset("amazon-video", data_dir=str(data_dir)), facts["amazon-video"])


def test_ml_1m_matches_its_facts(data_source) -> None:
    data_dir, facts = data_source
    dataset = load_dataset("ml-1m", data_dir=str(data_dir))
    _assert_user_item_facts(dataset, facts["ml-1m"])
    # The SASRec-style file renumbers items; the vocab reports MovieIDs, so MovieID 1 has its title.
    assert dataset.vocab.title(dataset.vocab.to_internal("1")) == facts["ml-1m"].first_title


@pytest.mark.parametrize("name", ["tmall", "retailrocket"])
def test_sessions_match_their_facts(data_source, name: str) -> None:
    data_dir, facts = data_source
    summary = load_dataset(name, data_dir=str(data_dir)).summary()
    expected = facts[name]
    assert (summary["n_items"], summary["n_test"], summary["n_test_dropped"]) == (
        expected.n_items,
        expected.n_test,
        0,
    )
    # Validation is the last 10% of the training sessions (rounded up).
    assert summary["n_train_sequences"] == expected.n_train_sequences
