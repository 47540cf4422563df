"""The student's item order: which internal id each item takes, chosen so that a tensor-train table fits.

The order is a re-indexing of the data, done once, at the data level: the dataset's vocabulary and every
sequence are renumbered (`reorder_dataset`) and the frozen teacher's table rows are permuted to match
(`reorder_item_table`: for a dense table this is exact, the teacher computes the same function of the same
items). Everything downstream (training rows, hot items, KD logits, the teacher cache, the warm start's
TT-SVD, metrics, `vocab.tsv`, the export) then sees one numbering, consistent by construction, and the
runtime and demos need nothing new: `vocab.tsv` maps original ids to the student's internal ids.
The teacher's own folder keeps its own ids; a model is read in another numbering by `load_model_in_vocab`.

Orders (`--item_order`):
- natural: the dataset's numbering (sorted original ids), as before.
- teacher: `model.tt_item_order` on the teacher's table rows.
- cooccurrence: the same on a spectral embedding of item co-occurrence in the training sequences, for when
  the teacher's table is not to be trusted or another source of similarity is wanted.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
from scipy import sparse
from scipy.sparse.linalg import eigsh

from distill.dataset import SequenceDataset
from distill.model_io import ModelFolderError, load_model
from model.sasrec import SASRec, SASRecConfig, build_item_table
from model.stp_tt_embedding import STPTTEmbedding, exact_factors
from model.tt_item_order import tt_item_order
from runtime.vocab import Vocab, VocabError, read_vocab

ITEM_ORDERS = ("natural", "teacher", "cooccurrence")
COOCCURRENCE_WINDOW = 3  # items up to this many steps apart in a sequence co-occur
# Below this many items the co-occurrence embedding uses a dense eigensolver (ARPACK needs k < n).
DENSE_EIGEN_LIMIT = 2000


def cooccurrence_vectors(sequences, n_items: int, dim: int, window: int = COOCCURRENCE_WINDOW) -> np.ndarray:
    """A spectral embedding of item co-occurrence: items that appear near the same items get near vectors.

    C[a, b] counts pairs of items at most `window` steps apart in a training sequence (both directions);
    the rows are the leading `dim` eigenvectors of D^-1/2 C D^-1/2 scaled by their eigenvalues, then by
    D^-1/2 (the random-walk normalisation). Items that never co-occur get the zero vector.

    Args:
        sequences: training sequences of internal ids 1..n_items.
        n_items: catalogue size.
        dim: width of the embedding (at most n_items).

    Returns:
        [n_items, dim] float64, row k for item k + 1.
    """
    rows, columns = [], []
    for sequence in sequences:
        items = np.asarray(sequence, dtype=np.int64) - 1
        for offset in range(1, window + 1):
            rows.append(items[:-offset])
            columns.append(items[offset:])
    first, second = np.concatenate(rows or [[]]), np.concatenate(columns or [[]])
    counts = sparse.coo_matrix(
        (np.ones(2 * len(first)), (np.concatenate([first, second]), np.concatenate([second, first]))),
        shape=(n_items, n_items),
    ).tocsr()
    degree = np.asarray(counts.sum(axis=1)).ravel()
    scale = np.where(degree > 0, 1.0 / np.sqrt(np.maximum(degree, 1e-12)), 0.0)
    normalised = sparse.diags(scale) @ counts @ sparse.diags(scale)
    dim = min(dim, n_items)
    if n_items <= DENSE_EIGEN_LIMIT or dim >= n_items - 1:
        values, vectors = np.linalg.eigh(normalised.toarray())
        values, vectors = values[-dim:], vectors[:, -dim:]
    else:
        values, vectors = eigsh(normalised, k=dim, which="LA", v0=np.ones(n_items))
    return scale[:, None] * vectors * values[None, :]


def table_shape(config: SASRecConfig) -> STPTTEmbedding:
    """The student's STP-TT table layer (unbuilt: only its factors are read).

    Raises:
        ValueError: the config's table is not STP-TT (a dense table has no core slices to share).
    """
    table = build_item_table(config)
    if not isinstance(table, STPTTEmbedding):
        raise ValueError(
            f"an item order is for an STP-TT student table; this student's table is {config.item_table!r} "
            "(use --item_order natural)"
        )
    return table


def choose_item_order(
    name: str, dataset: SequenceDataset, teacher: SASRec, student_config: SASRecConfig
) -> np.ndarray | None:
    """The student's order of `dataset`'s items, or None for the natural one.

    The TT fit that refines the clustering has the student's shape (item and dimension factors, rank, STP
    factor) when the vectors have the student's width; a teacher of another width is fitted with its own
    width's factors at the student's rank (plain TT unless the STP factor divides it).

    Returns:
        new_to_old: int64 [n_items], entry k the dataset id that becomes id k + 1; None for "natural".

    Raises:
        ValueError: an unknown name, or a non-natural order for a student without an STP-TT table.
    """
    if name not in ITEM_ORDERS:
        raise ValueError(f"item order {name!r} is not one of {ITEM_ORDERS}")
    if name == "natural":
        return None
    table = table_shape(student_config)
    if name == "teacher":
        vectors = teacher.item_table.materialize().numpy()[1 : dataset.n_items + 1]
    else:
        vectors = cooccurrence_vectors(dataset.train_sequences, dataset.n_items, student_config.hidden_dim)
    dim = vectors.shape[1]
    dim_factors, stp_factor = table.dim_factors, table.stp_factor
    if dim != table.embedding_dim:
        dim_factors = exact_factors(dim, table.num_cores)
        stp_factor = stp_factor if dim_factors[-1] % stp_factor == 0 else 1
    return tt_item_order(vectors, table.item_factors, dim_factors, table.tt_rank, stp_factor)


def student_item_order(
    name: str,
    dataset: SequenceDataset,
    teacher: SASRec,
    student_config: SASRecConfig,
    student_dir: str | Path,
) -> np.ndarray | None:
    """`choose_item_order`, except that a resumed run keeps the order its folder's vocab.tsv holds (the
    checkpoint was trained in it; recomputing could differ in the last bit of an SVD on another machine)."""
    previous = folder_vocab(student_dir)
    if previous is not None:
        return permutation_to(dataset.vocab, previous)
    return choose_item_order(name, dataset, teacher, student_config)


def old_to_new_ids(new_to_old: np.ndarray) -> np.ndarray:
    """The inverse map [n_items + 1] (padding 0 stays 0)."""
    old_to_new = np.zeros(len(new_to_old) + 1, dtype=np.int64)
    old_to_new[np.asarray(new_to_old)] = np.arange(1, len(new_to_old) + 1)
    return old_to_new


def reorder_dataset(dataset: SequenceDataset, new_to_old: np.ndarray | None) -> SequenceDataset:
    """`dataset` renumbered: id k + 1 is the item that was `new_to_old[k]`; the vocabulary follows.

    Raises:
        ValueError: `new_to_old` is not a permutation of 1..n_items.
    """
    if new_to_old is None:
        return dataset
    new_to_old = np.asarray(new_to_old, dtype=np.int64)
    if sorted(new_to_old.tolist()) != list(range(1, dataset.n_items + 1)):
        raise ValueError(f"an item order must be a permutation of 1..{dataset.n_items}")
    old_to_new = old_to_new_ids(new_to_old).astype(np.int32)

    def renumber(sequences):
        return tuple(old_to_new[np.asarray(sequence, dtype=np.int64)] for sequence in sequences)

    vocab = Vocab(
        tuple(dataset.vocab.original_id(int(old)) for old in new_to_old),
        tuple(dataset.vocab.title(int(old)) for old in new_to_old),
    )
    return dataclasses.replace(
        dataset,
        vocab=vocab,
        train_sequences=renumber(dataset.train_sequences),
        valid_prefixes=renumber(dataset.valid_prefixes),
        valid_targets=old_to_new[dataset.valid_targets],
        test_prefixes=renumber(dataset.test_prefixes),
        test_targets=old_to_new[dataset.test_targets],
    )


def reorder_item_table(model: SASRec, new_to_old: np.ndarray | None) -> SASRec:
    """Renumbers a built model's items in place, as `reorder_dataset` renumbers the data: its table rows
    and its negative sampler's log q. Exact for a dense table (the model scores the same items the same).

    Raises:
        ValueError: a non-identity order for an STP-TT table, whose rows cannot be permuted exactly.
    """
    if new_to_old is None:
        return model
    index = np.concatenate([[0], np.asarray(new_to_old, dtype=np.int64)])
    if isinstance(model.item_table, STPTTEmbedding):
        if np.array_equal(index, np.arange(len(index))):
            return model
        raise ValueError(
            "an STP-TT model keeps the item order it was trained in; renumber the data to its vocab.tsv "
            "instead (distill.item_order.in_vocab_order)"
        )
    for variable in (model.item_table.table, model.log_sampling_prob):
        variable.assign(variable.numpy()[index])
    return model


def permutation_to(source: Vocab, target: Vocab) -> np.ndarray | None:
    """new_to_old taking ids of `source` to ids of `target` (same items, any order); None when equal.

    Raises:
        VocabError: the vocabularies hold different items.
    """
    if source.original_ids == target.original_ids:
        return None
    if sorted(source.original_ids) != sorted(target.original_ids):
        raise VocabError(
            f"the vocabularies hold different items ({source.n_items} and {target.n_items} items, not a "
            "reordering of each other)"
        )
    return np.asarray([source.to_internal(original) for original in target.original_ids], dtype=np.int64)


def in_vocab_order(dataset: SequenceDataset, vocab: Vocab) -> SequenceDataset:
    """`dataset` renumbered to `vocab`'s order (a model folder's vocab.tsv).

    Raises:
        VocabError: `vocab` holds other items than the dataset.
    """
    return reorder_dataset(dataset, permutation_to(dataset.vocab, vocab))


def folder_vocab(directory: str | Path) -> Vocab | None:
    """The vocab.tsv of a model folder, or None when it has none (a folder written before vocab files)."""
    path = Path(directory) / "vocab.tsv"
    return read_vocab(path) if path.is_file() else None


def load_model_in_vocab(directory: str | Path, vocab: Vocab) -> SASRec:
    """A saved model with its items renumbered to `vocab` (exact for a dense table; see
    `reorder_item_table`). A folder without vocab.tsv is taken to be in `vocab`'s order already.

    Raises:
        ModelFolderError: the folder's vocab holds other items, or an STP-TT model is in another order.
    """
    model = load_model(directory)
    own = folder_vocab(directory)
    try:
        return reorder_item_table(model, None if own is None else permutation_to(own, vocab))
    except ValueError as error:
        raise ModelFolderError(f"{directory}: cannot read it in the export's item order: {error}") from None
