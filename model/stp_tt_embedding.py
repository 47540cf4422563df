"""Item table as a semi-tensor-product tensor train (STP-TT): the compressed embedding of the OD-Rec student.

Layout (the same in training, export and every runtime): with item factors I1..IK and dimension factors
J1..JK, item = ((i1 * I2) + i2) * I3 + i3 and dim = ((j1 * J2) + j2) * J3 + j3 (row-major). Cores, with rank R
and STP factor t (t = 1 is a plain tensor train):

    G1 [I1 * J1, R],  G_middle [R / t, I_k * J_k * R / t],  G_last [R / t, I_K * J_K / t]

and the table is G1 |x G2 |x ... with A |x B = A (B kron I_t). Writing the rank index r = a * t + s, the STP
ties the fast part s of every rank index to the last dimension's fast part j_K = m * t + s, which lets all
three access paths (lookup, materialize, factored score) be plain contractions with s carried through.

Storage: the first and last cores are kept as permutations of those STP shapes, in exactly the layout the
factored `score` multiplies by (first [I1 * R/t, J1 * t] with rows (i1, a) and columns (j1, s); last
[I_K, J_K/t * R/t] with columns (m, a)), and `lookup` gathers rows of those same tensors. An exported graph
then holds every core once: a core the two paths read in different layouts gets a second, transposed copy
folded in by the converter. `stp_cores` gives the cores in the STP shapes above.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from model.keras_setup import keras, tf


def balanced_factors(value: int, num_factors: int) -> tuple[int, ...]:
    """Factors of an integer >= `value` whose product covers it, as equal as possible (largest first).

    Used for the item count, which is padded up to the product.
    """
    if value < 1 or num_factors < 1:
        raise ValueError(
            f"balanced_factors needs value >= 1 and num_factors >= 1, got {value}, {num_factors}"
        )
    factors = []
    remaining = value
    for left in range(num_factors, 0, -1):
        factor = math.ceil(remaining ** (1.0 / left) - 1e-9)
        factors.append(factor)
        remaining = math.ceil(remaining / factor)
    return tuple(sorted(factors, reverse=True))


def exact_factors(value: int, num_factors: int) -> tuple[int, ...]:
    """Factors whose product is exactly `value` (for the embedding dimension), near-balanced, largest first.
    """
    factors = []
    remaining = value
    for left in range(num_factors, 1, -1):
        target = remaining ** (1.0 / left)
        divisors = [f for f in range(1, remaining + 1) if remaining % f == 0]
        factor = min(divisors, key=lambda f: (abs(math.log(f) - math.log(target)), -f))
        factors.append(factor)
        remaining //= factor
    factors.append(remaining)
    return tuple(sorted(factors, reverse=True))


def stp_tt_parameter_count(
    item_factors: Sequence[int], dim_factors: Sequence[int], tt_rank: int, stp_factor: int
) -> int:
    """Closed-form parameter count: I1*J1*R + sum_middle I_k*J_k*R^2/t^2 + I_K*J_K*R/t^2."""
    count = item_factors[0] * dim_factors[0] * tt_rank
    reduced_rank = tt_rank // stp_factor
    for item_factor, dim_factor in zip(item_factors[1:-1], dim_factors[1:-1], strict=True):
        count += reduced_rank * item_factor * dim_factor * tt_rank // stp_factor
    count += reduced_rank * item_factors[-1] * dim_factors[-1] // stp_factor
    return count


@keras.utils.register_keras_serializable(package="odrec")
class STPTTEmbedding(keras.layers.Layer):
    """An item-embedding table stored as 2 or 3 STP tensor-train cores.

    Args:
        num_rows: rows the table must hold (items + padding row 0); padded up to prod(item_factors).
        embedding_dim: d, the row width; must equal prod(dim_factors).
        tt_rank: R, the rank between cores.
        stp_factor: t; must divide R and the last dimension factor.
        num_cores: 2 or 3 (ignored when item_factors is given).
        item_factors / dim_factors: explicit shapes; automatic near-balanced factorisation when None.
        init_stddev: standard deviation of the reconstructed rows (cores are scaled to give it, as in TT-Rec).
    """

    def __init__(
        self,
        num_rows: int,
        embedding_dim: int,
        tt_rank: int = 16,
        stp_factor: int = 1,
        num_cores: int = 2,
        item_factors: Sequence[int] | None = None,
        dim_factors: Sequence[int] | None = None,
        init_stddev: float | None = None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        sizes = {"num_rows": num_rows, "embedding_dim": embedding_dim, "tt_rank": tt_rank}
        for name, value in {**sizes, "stp_factor": stp_factor}.items():
            if value < 1:
                raise ValueError(f"STPTTEmbedding needs {name} >= 1, got {name}={value}")
        if not item_factors and num_cores not in (2, 3):
            raise ValueError(f"STPTTEmbedding supports num_cores=2 or 3, got num_cores={num_cores}")
        item_factors = tuple(item_factors) if item_factors else balanced_factors(num_rows, num_cores)
        dim_factors = tuple(dim_factors) if dim_factors else exact_factors(embedding_dim, len(item_factors))
        if len(item_factors) not in (2, 3) or len(dim_factors) != len(item_factors):
            raise ValueError(
                f"STPTTEmbedding needs 2 or 3 cores with one item and one dim factor each; got item_factors="
                f"{item_factors}, dim_factors={dim_factors}"
            )
        if math.prod(item_factors) < num_rows:
            raise ValueError(
                f"item_factors {item_factors} hold {math.prod(item_factors)} rows < num_rows {num_rows}"
            )
        if math.prod(dim_factors) != embedding_dim:
            raise ValueError(
                f"dim_factors {dim_factors} multiply to {math.prod(dim_factors)}, not {embedding_dim}"
            )
        if tt_rank % stp_factor or dim_factors[-1] % stp_factor:
            raise ValueError(
                f"stp_factor t={stp_factor} must divide tt_rank={tt_rank} "
                f"and the last dim factor {dim_factors[-1]}"
            )
        self.num_rows = num_rows
        self.embedding_dim = embedding_dim
        self.tt_rank = tt_rank
        self.stp_factor = stp_factor
        self.item_factors = item_factors
        self.dim_factors = dim_factors
        self.num_cores = len(item_factors)
        self.init_stddev = init_stddev if init_stddev is not None else embedding_dim**-0.5

    @property
    def padded_rows(self) -> int:
        return math.prod(self.item_factors)

    def core_shapes(self) -> list[tuple[int, int]]:
        """Shapes of the core variables (the storage layout of the module docstring)."""
        rank, t = self.tt_rank, self.stp_factor
        shapes = [(self.item_factors[0] * rank // t, self.dim_factors[0] * t)]
        for item_factor, dim_factor in zip(self.item_factors[1:-1], self.dim_factors[1:-1], strict=True):
            shapes.append((rank // t, item_factor * dim_factor * rank // t))
        shapes.append((self.item_factors[-1], self.dim_factors[-1] // t * rank // t))
        return shapes

    def build(self, input_shape=None):
        # Each reconstructed entry sums (R/t)^(K-1) products of K core entries: pick the core std that gives
        # rows the intended std (TT-Rec's sampled-Gaussian initialisation), instead of unit-variance cores.
        bonds = (self.tt_rank // self.stp_factor) ** (self.num_cores - 1)
        core_stddev = (self.init_stddev**2 / bonds) ** (1.0 / (2 * self.num_cores))
        self.cores = [
            self.add_weight(
                name=f"core_{index}",
                shape=shape,
                initializer=keras.initializers.RandomNormal(stddev=core_stddev),
                trainable=True,
            )
            for index, shape in enumerate(self.core_shapes())
        ]
        super().build(input_shape)

    # Views in index order: first core [I1, J1, R/t, t]; middle [R/t, I_k, J_k, R/t]; last [R/t, I_K, J_K/t].
    def _first_core(self) -> tf.Tensor:
        t = self.stp_factor
        stored = tf.reshape(self.cores[0], [self.item_factors[0], self.tt_rank // t, self.dim_factors[0], t])
        return tf.transpose(stored, [0, 2, 1, 3])

    def _middle_core(self, index: int) -> tf.Tensor:
        t = self.stp_factor
        shape = [self.tt_rank // t, self.item_factors[index], self.dim_factors[index], self.tt_rank // t]
        return tf.reshape(self.cores[index], shape)

    def _last_core(self) -> tf.Tensor:
        t = self.stp_factor
        stored = tf.reshape(
            self.cores[-1], [self.item_factors[-1], self.dim_factors[-1] // t, self.tt_rank // t]
        )
        return tf.transpose(stored, [2, 0, 1])

    def stp_cores(self) -> list[tf.Tensor]:
        """The cores in the STP shapes of the module docstring: G1 [I1*J1, R], ..., G_K [R/t, I_K*J_K/t]."""
        first = tf.reshape(self._first_core(), [self.item_factors[0] * self.dim_factors[0], self.tt_rank])
        last = tf.reshape(self._last_core(), [self.tt_rank // self.stp_factor, -1])
        return [first, *self.cores[1:-1], last]

    def assign_stp_cores(self, cores: Sequence[np.ndarray]) -> None:
        """Set the cores from values in the STP shapes (the inverse of `stp_cores`)."""
        expected = [tuple(core.shape) for core in self.stp_cores()]
        if [tuple(np.shape(core)) for core in cores] != expected:
            shapes = [tuple(np.shape(core)) for core in cores]
            raise ValueError(f"assign_stp_cores needs cores of shapes {expected}, got {shapes}")
        t, reduced_rank = self.stp_factor, self.tt_rank // self.stp_factor
        first = np.reshape(cores[0], [self.item_factors[0], self.dim_factors[0], reduced_rank, t])
        self.cores[0].assign(np.transpose(first, [0, 2, 1, 3]).reshape(self.core_shapes()[0]))
        for variable, core in zip(self.cores[1:-1], cores[1:-1], strict=True):
            variable.assign(core)
        last = np.reshape(cores[-1], [reduced_rank, self.item_factors[-1], self.dim_factors[-1] // t])
        self.cores[-1].assign(np.transpose(last, [1, 2, 0]).reshape(self.core_shapes()[-1]))

    def item_factor_indices(self, ids: tf.Tensor) -> list[tf.Tensor]:
        """Per-core item indices (i1, i2[, i3]) of flat ids, row-major."""
        indices = []
        remaining = tf.cast(ids, tf.int32)
        for factor in reversed(self.item_factors[1:]):
            indices.append(tf.math.floormod(remaining, factor))
            remaining = tf.math.floordiv(remaining, factor)
        indices.append(remaining)
        return indices[::-1]

    def lookup(self, ids: tf.Tensor) -> tf.Tensor:
        """Rows of the requested items, gathering only their core slices. ids [...] -> [..., d]."""
        t, reduced_rank = self.stp_factor, self.tt_rank // self.stp_factor
        ids = tf.convert_to_tensor(ids)
        flat_ids = tf.reshape(ids, [-1])
        factor_indices = self.item_factor_indices(flat_ids)
        # acc[b, j_acc, a, s]: the partial row over the dims seen so far, with the open rank index (a, s).
        first_rows = factor_indices[0][:, None] * reduced_rank + tf.range(reduced_rank)[None, :]
        acc = tf.reshape(tf.gather(self.cores[0], first_rows), [-1, reduced_rank, self.dim_factors[0], t])
        acc = tf.transpose(acc, [0, 2, 1, 3])
        for index in range(1, self.num_cores - 1):
            core = tf.gather(self._middle_core(index), factor_indices[index], axis=1)  # [a, b, j, h]
            acc = tf.einsum("bxas,bajh->bxjhs", acc, tf.transpose(core, [1, 0, 2, 3]))
            acc = tf.reshape(acc, [tf.shape(acc)[0], -1, reduced_rank, t])
        last = tf.gather(self.cores[-1], factor_indices[-1])
        last = tf.reshape(last, [-1, self.dim_factors[-1] // t, reduced_rank])  # [b, m, a]
        rows = tf.reshape(tf.einsum("bxas,bma->bxms", acc, last), [-1, self.embedding_dim])
        return tf.reshape(rows, tf.concat([tf.shape(ids), [self.embedding_dim]], axis=0))

    def materialize(self) -> tf.Tensor:
        """The full table [num_rows, d] (padding rows beyond num_rows dropped)."""
        acc = self._first_core()  # [i, x, a, s]
        for index in range(1, self.num_cores - 1):
            acc = tf.einsum("ixas,akjh->ikxjhs", acc, self._middle_core(index))
            shape = [-1, self.dim_factors[0] * math.prod(self.dim_factors[1 : index + 1])]
            acc = tf.reshape(acc, shape + [self.tt_rank // self.stp_factor, self.stp_factor])
        table = tf.einsum("ixas,akm->ikxms", acc, self._last_core())
        return tf.reshape(table, [self.padded_rows, self.embedding_dim])[: self.num_rows]

    def score(self, query: tf.Tensor) -> tf.Tensor:
        """query . E^T for every row, contracting the query with the cores (no N x d table).

        query [batch, d] -> [batch, num_rows]. Only the first core sees the carried index s, so it is summed
        there. The first and last contractions are matmuls by the stored cores as they are (no transposed
        copy). Multiply-adds per query (see score_flops): I1*d*R/t for the first core,
        I_acc*I_k*(d/J_acc)*R^2/t^3 per middle core, N*J_K*R/t^2 for the last, against N*d for the dense
        product.
        """
        t = self.stp_factor
        reduced_rank = self.tt_rank // t
        batch = tf.shape(query)[0]
        first_dim, last_dim = self.dim_factors[0], self.dim_factors[-1]
        rest = self.embedding_dim // (first_dim * last_dim)
        # Q[b, j1, rest, m, s] with j_K = m * t + s (the STP's carried index s), regrouped to rows
        # (b, rest, m) and columns (j1, s): the columns of the stored first core.
        query = tf.reshape(query, [batch, first_dim, rest, last_dim // t, t])
        query = tf.reshape(tf.transpose(query, [0, 2, 3, 1, 4]), [-1, first_dim * t])
        state = tf.matmul(query, self.cores[0], transpose_b=True)  # rows (b, rest, m), columns (i1, a)
        state = tf.reshape(state, [batch, rest, last_dim // t, self.item_factors[0], reduced_rank])
        state = tf.transpose(state, [0, 3, 1, 2, 4])  # [b, i, rest, m, a]
        for index in range(1, self.num_cores - 1):
            dim_factor = self.dim_factors[index]
            state = tf.reshape(
                state, [batch, -1, dim_factor, rest // dim_factor, last_dim // t, reduced_rank]
            )
            state = tf.einsum("bijxma,akjh->bikxmh", state, self._middle_core(index))
            rest //= dim_factor
        state = tf.reshape(state, [-1, last_dim // t * reduced_rank])  # rows (b, i_acc), columns (m, a)
        scores = tf.matmul(state, self.cores[-1], transpose_b=True)
        return tf.reshape(scores, [batch, self.padded_rows])[:, : self.num_rows]

    def score_flops(self, batch: int) -> dict[str, int]:
        """Multiply-adds of `score` (factored) and of materialize + dense product, for choosing the cheaper
        path."""
        t, rank = self.stp_factor, self.tt_rank
        last_dim = self.dim_factors[-1]
        factored = self.item_factors[0] * self.embedding_dim * rank // t
        items_so_far = self.item_factors[0]
        rest = self.embedding_dim // self.dim_factors[0]
        for index in range(1, self.num_cores - 1):
            items_so_far *= self.item_factors[index]
            factored += items_so_far * rest * rank * rank // t**3
            rest //= self.dim_factors[index]
        factored += self.padded_rows * last_dim * rank // t**2
        materialize = self.padded_rows * self.embedding_dim * rank // t
        dense = self.padded_rows * self.embedding_dim
        return {
            "factored": batch * factored,
            "materialized": materialize + batch * dense,
            "dense_product": batch * dense,
        }

    def score_auto(self, query: tf.Tensor, batch_hint: int) -> tf.Tensor:
        """Score through whichever of the factored path or materialize + matmul costs fewer FLOPs."""
        flops = self.score_flops(batch_hint)
        if flops["factored"] <= flops["materialized"]:
            return self.score(query)
        return tf.matmul(query, self.materialize(), transpose_b=True)

    def call(self, ids: tf.Tensor) -> tf.Tensor:
        return self.lookup(ids)

    def parameter_count(self) -> int:
        return stp_tt_parameter_count(self.item_factors, self.dim_factors, self.tt_rank, self.stp_factor)

    def get_config(self) -> dict:
        config = super().get_config()
        config.update(
            num_rows=self.num_rows,
            embedding_dim=self.embedding_dim,
            tt_rank=self.tt_rank,
            stp_factor=self.stp_factor,
            num_cores=self.num_cores,
            item_factors=list(self.item_factors),
            dim_factors=list(self.dim_factors),
            init_stddev=self.init_stddev,
        )
        return config


def reference_table(cores: Sequence[np.ndarray], stp_factor: int, item_factors, dim_factors) -> np.ndarray:
    """Independent numpy reconstruction from the STP definition A |x B = A (B kron I_t), for tests and checks.

    Builds M = G1 |x G2 |x ... literally with np.kron, then reads rows in the TT layout.
    """
    t = stp_factor
    matrix = cores[0]  # rows (i1, j1), columns the open rank
    rows_items, rows_dims = [item_factors[0]], [dim_factors[0]]
    for index, core in enumerate(cores[1:], start=1):
        product = matrix @ np.kron(core, np.eye(t))
        # Columns of the product are (i_k, j_k, r_k) row-major; fold (i_k, j_k) into the rows.
        next_rank = product.shape[1] // (item_factors[index] * dim_factors[index])
        product = product.reshape(
            math.prod(rows_items), math.prod(rows_dims), item_factors[index], dim_factors[index], next_rank
        )
        product = product.transpose(0, 2, 1, 3, 4)
        rows_items.append(item_factors[index])
        rows_dims.append(dim_factors[index])
        matrix = product.reshape(math.prod(rows_items) * math.prod(rows_dims), next_rank)
    return matrix.reshape(math.prod(rows_items), math.prod(rows_dims))


def stp_tt_svd(
    table: np.ndarray, item_factors: Sequence[int], dim_factors: Sequence[int], tt_rank: int, stp_factor: int
) -> list[np.ndarray]:
    """STP-TT cores (the shapes of `STPTTEmbedding.stp_cores`) approximating `table` [rows, d] by TT-SVD.

    Warm-starts a student table from its teacher's. The STP ties the first core's fast rank part s to the last
    dimension's fast part (j_K = m * t + s) while the later cores ignore s, so the first split factorises
    the t slices of the table stacked by s, [(s, i1, j1), (i2, j2, ..., m)], with one shared right factor;
    the later splits are plain TT-SVD. Each split keeps the leading R/t singular values (Eckart-Young per
    split) and gives both sides sqrt(S), so cores have comparable scales for the optimizer. Rows beyond
    `table` (the padding up to prod(item_factors)) are fitted as zeros.
    """
    t, reduced_rank, num_cores = stp_factor, tt_rank // stp_factor, len(item_factors)
    padded = np.zeros((math.prod(item_factors), math.prod(dim_factors)), dtype=np.float64)
    padded[: table.shape[0]] = table
    # Axes (i1..iK, j1..j_{K-1}, m, s) -> (s, i1, j1, i2, j2, ..., iK, m).
    tensor = padded.reshape(*item_factors, *dim_factors[:-1], dim_factors[-1] // t, t)
    order = [2 * num_cores]
    for index in range(num_cores - 1):
        order += [index, num_cores + index]
    order += [num_cores - 1, 2 * num_cores - 1]
    remainder = tensor.transpose(order).reshape(t * item_factors[0] * dim_factors[0], -1)
    cores = []
    for index in range(num_cores - 1):
        left, remainder = _split(remainder, reduced_rank)
        cores.append(left)
        if index + 1 < num_cores - 1:
            width = item_factors[index + 1] * dim_factors[index + 1]
            remainder = remainder.reshape(reduced_rank * width, -1)
    first = cores[0].reshape(t, item_factors[0] * dim_factors[0], reduced_rank).transpose(1, 2, 0)
    middle = [core.reshape(reduced_rank, -1) for core in cores[1:]]
    return [first.reshape(-1, tt_rank), *middle, remainder]


def _split(matrix: np.ndarray, rank: int) -> tuple[np.ndarray, np.ndarray]:
    """Best rank-`rank` factors (left [rows, rank], right [rank, cols]) of a matrix, zero-padded when the
    matrix has lower rank, sqrt of the singular values on each side."""
    left, singular, right = np.linalg.svd(matrix, full_matrices=False)
    kept = min(rank, singular.size)
    root = np.sqrt(singular[:kept])
    left_factor = np.zeros((matrix.shape[0], rank))
    right_factor = np.zeros((rank, matrix.shape[1]))
    left_factor[:, :kept] = left[:, :kept] * root
    right_factor[:kept] = root[:, None] * right[:kept]
    return left_factor, right_factor
