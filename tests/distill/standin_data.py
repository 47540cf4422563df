"""A small generated stand-in for the licensed benchmark folder (`../shared/data`), file for file.

The real-data tests check the loaders against the datasets' READMEs on machines that hold the data; each also
runs on this stand-in, with its expected numbers counted here from what was written, so every code path they
cover runs in CI too. The layouts (names, compression, separators, encodings, the SR-GNN pickle) are the real
ones.
"""

from __future__ import annotations

import gzip
import math
import pickle
from dataclasses import dataclass
from pathlib import Path

import pytest

from distill.registry import resolve_data_dir
from distill.synthetic import generate_synthetic

REAL_DATA = resolve_data_dir(None)  # $ODREC_DATA_DIR, else ../shared/data
needs_real_data = pytest.mark.skipif(
    not REAL_DATA.is_dir(), reason=f"benchmark data not found at {REAL_DATA}"
)

# ISO-8859-1 titles, as in the GroupLens files: a byte the loaders must not read as UTF-8.
TITLE_OF_FIRST_MOVIE = "Café Society (1995)"


@dataclass(frozen=True)
class Facts:
    """What a dataset folder must load as; the real ones come from /work/shared/data's READMEs."""

    n_items: int
    n_train_sequences: int
    n_test: int
    n_interactions: int = 0  # user-item data: every interaction (train + valid + test)
    first_title: str = ""  # title of MovieID / item id "1"


def _gzip_text(path: Path, lines: list[str], encoding: str = "utf-8") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(path, "wb") as stream:
        stream.write(("\n".join(lines) + "\n").encode(encoding))


def _user_sequences(seed: int) -> dict[str, list[str]]:
    generated = generate_synthetic(
        n_users=30, n_items=40, seed=seed, n_clusters=4, min_length=3, max_length=9
    ).sequences
    # The benchmark files hold numeric ids: "1".."n" in the order of the generator's sku ids.
    numbers = {
        item: str(number)
        for number, item in enumerate(sorted({item for items in generated.values() for item in items}), 1)
    }
    sequences = {user: [numbers[item] for item in items] for user, items in generated.items()}
    sequences["31"] = ["1", "2"]  # fewer than 3 interactions: kept in training, never evaluated
    return sequences


def _distinct(sequences) -> int:
    return len({item for items in sequences for item in items})


def write_movielens(root: Path) -> dict[str, Facts]:
    """ml-1m (renumbered SASRec file + item map + movies.dat) and ml-100k (u.data, u.item, derived file)."""
    facts = {}
    sequences = _user_sequences(seed=1)
    movie_ids = sorted({item for items in sequences.values() for item in items}, key=int)
    renumbered = {movie: str(index) for index, movie in enumerate(movie_ids, start=1)}
    _gzip_text(
        root / "ml-1m" / "ml-1m_sasrec_style.txt.gz",
        [f"{user} {renumbered[item]}" for user, items in sequences.items() for item in items],
    )
    (root / "ml-1m" / "ml-1m_sasrec_style_item_map.tsv").write_text(
        "item_id\tMovieID\n" + "".join(f"{new}\t{movie}\n" for movie, new in renumbered.items())
    )
    titles = [
        f"{movie}::{TITLE_OF_FIRST_MOVIE if movie == '1' else f'Movie {movie} (1999)'}::Drama"
        for movie in movie_ids
    ]
    (root / "ml-1m" / "movies.dat").write_bytes(("\n".join(titles) + "\n").encode("latin-1"))
    evaluated = sum(len(items) >= 3 for items in sequences.values())
    facts["ml-1m"] = Facts(
        n_items=len(movie_ids),
        n_train_sequences=len(sequences),
        n_test=evaluated,
        n_interactions=sum(map(len, sequences.values())),
        first_title=TITLE_OF_FIRST_MOVIE,
    )

    sequences = _user_sequences(seed=2)
    folder = root / "ml-100k"
    folder.mkdir(parents=True, exist_ok=True)
    ratings = [
        f"{user}\t{item}\t4\t{1000 + step}"
        for user, items in sequences.items()
        for step, item in enumerate(items)
    ]
    (folder / "u.data").write_text("\n".join(ratings) + "\n")
    items = sorted({item for items in sequences.values() for item in items}, key=int)
    item_lines = [
        f"{item}|{TITLE_OF_FIRST_MOVIE if item == items[0] else 'Film'}|01-Jan-1995||url|0" for item in items
    ]
    (folder / "u.item").write_bytes(("\n".join(item_lines) + "\n").encode("latin-1"))
    _gzip_text(
        folder / "ml-100k_sasrec_style.txt.gz",
        [f"{user} {item}" for user, items in sequences.items() for item in items],
    )
    facts["ml-100k"] = Facts(
        n_items=len(items),
        n_train_sequences=len(sequences),
        n_test=sum(len(items) >= 3 for items in sequences.values()),
        n_interactions=len(ratings),
        first_title=TITLE_OF_FIRST_MOVIE,
    )
    return facts


def write_amazon_video(root: Path) -> Facts:
    sequences = _user_sequences(seed=3)
    _gzip_text(
        root / "amazon-video-sasrec" / "Video.txt.gz",
        [f"{user} {item}" for user, items in sequences.items() for item in items],
    )
    return Facts(
        n_items=_distinct(sequences.values()),
        n_train_sequences=len(sequences),
        n_test=sum(len(items) >= 3 for items in sequences.values()),
        n_interactions=sum(map(len, sequences.values())),
    )


def write_sessions(root: Path, name: str, seed: int) -> Facts:
    """SR-GNN text sessions, text test examples and the same test examples as the SR-GNN pickle."""
    sessions = list(_user_sequences(seed).values())
    train, test_sessions = sessions[:24], sessions[24:]
    _gzip_text(root / name / "train_sessions.txt.gz", [" ".join(session) for session in train])
    known = {item for session in train for item in session}
    examples = [
        (session[:end], session[end])
        for session in test_sessions
        for end in range(1, len(session))
        if session[end] in known and all(item in known for item in session[:end])
    ]
    _gzip_text(
        root / name / "test_prefix_target.tsv.gz",
        [" ".join(prefix) + "\t" + target for prefix, target in examples],
    )
    prefixes = [[int(item) for item in prefix] for prefix, _ in examples]
    targets = [int(target) for _, target in examples]
    with gzip.open(root / name / "test.txt.gz", "wb") as stream:
        pickle.dump((prefixes, targets), stream)
    n_valid = math.ceil(len(train) * 0.1)
    return Facts(n_items=_distinct(train), n_train_sequences=len(train) - n_valid, n_test=len(examples))


def write_standin(root: Path) -> dict[str, Facts]:
    """Every named dataset's files under `root`, as `--data_dir root` expects them; name -> Facts."""
    facts = write_movielens(root)
    facts["amazon-video"] = write_amazon_video(root)
    facts["tmall"] = write_sessions(root, "tmall", seed=4)
    facts["retailrocket"] = write_sessions(root, "retailrocket", seed=5)
    return facts
