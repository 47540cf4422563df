"""STP-TT item table against the Kronecker definition, the worked example, closed forms, Keras contract."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from model.keras_setup import keras, tf
from model.stp_tt_embedding import (
    STPTTEmbedding,
    reference_table,
    stp_tt_parameter_count,
    stp_tt_svd,
)

# The worked example of docs odrec-method.md: N = 6 = 2 * 3, d = 4 = 2 * 2, R = 2, t = 2.
EXAMPLE_G1 = np.array([[1, 2], [3, 4], [5, 6], [7, 8]], dtype=np.float32)
EXAMPLE_G2 = np.array([[1, 2, 3]], dtype=np.float32)
EXAMPLE_M = np.array(
    [[1, 2, 2, 4, 3, 6], [3, 4, 6, 8, 9, 12], [5, 6, 10, 12, 15, 18], [7, 8, 14, 16, 21, 24]],
    dtype=np.float32,
)
EXAMPLE_ROWS = np.array(
    [
        [1, 2, 3, 4],
        [2, 4, 6, 8],
        [3, 6, 9, 12],
        [5, 6, 7, 8],
        [10, 12, 14, 16],
        [15, 18, 21, 24],
    ],
    dtype=np.float32,
)

# (item_factors, dim_factors, tt_rank, stp_factor): 2 and 3 cores, t in {1, 2, 4}, d <= 8, rows <= 48.
GRID = [
    ((2, 3), (2, 2), 2, 1),
    ((3, 4), (2, 4), 4, 2),
    ((5, 7), (2, 4), 8, 4),
    ((4, 3), (1, 8), 6, 2),
    ((2, 3, 2), (2, 2, 2), 2, 1),
    ((2, 2, 3), (2, 1, 4), 4, 2),
    ((3, 2, 2), (1, 2, 4), 8, 4),
]


def kronecker_oracle(cores, stp_factor, item_factors, dim_factors) -> np.ndarray:
    """The table from the definition, element by element.

    M = G1 |x G2 |x ... with A |x B = A (B kron I_t); after each product the columns are (i_k, j_k, r)
    row-major, so folding them into the rows keeps the row multi-index (i1, j1, i2, j2, ...). E[item, dim]
    is then read with item = i1 * I2 + i2 (* I3 + i3) and dim = j1 * J2 + j2 (* J3 + j3), one entry at a time.
    """
    rank = cores[0].shape[1]
    matrix = np.asarray(cores[0], dtype=np.float64)
    for index, core in enumerate(cores[1:], start=1):
        matrix = matrix @ np.kron(np.asarray(core, dtype=np.float64), np.eye(stp_factor))
        last = index == len(cores) - 1
        matrix = matrix.reshape(-1, 1 if last else rank)
    interleaved_shape = [size for pair in zip(item_factors, dim_factors, strict=True) for size in pair]
    flat = matrix.reshape(-1)
    table = np.zeros((math.prod(item_factors), math.prod(dim_factors)))
    for item_index in np.ndindex(*item_factors):
        for dim_index in np.ndindex(*dim_factors):
            interleaved = [value for pair in zip(item_index, dim_index, strict=True) for value in pair]
            item = np.ravel_multi_index(item_index, item_factors)
            dim = np.ravel_multi_index(dim_index, dim_factors)
            table[item, dim] = flat[np.ravel_multi_index(interleaved, interleaved_shape)]
    return table


def make_table(item_factors, dim_factors, tt_rank, stp_factor, num_rows=None, seed=0) -> STPTTEmbedding:
    """A built layer with seeded random cores."""
    num_rows = num_rows if num_rows is not None else math.prod(item_factors)
    layer = STPTTEmbedding(
        num_rows,
        math.prod(dim_factors),
        tt_rank=tt_rank,
        stp_factor=stp_factor,
        item_factors=item_factors,
        dim_factors=dim_factors,
    )
    layer.build(None)
    rng = np.random.default_rng(seed)
    for core in layer.cores:
        core.assign(rng.normal(size=core.shape).astype(np.float32))
    return layer


def core_values(layer: STPTTEmbedding) -> list[np.ndarray]:
    """The cores in the STP shapes the oracles are written for."""
    return [core.numpy() for core in layer.stp_cores()]


def example_layer() -> STPTTEmbedding:
    layer = STPTTEmbedding(6, 4, tt_rank=2, stp_factor=2, item_factors=(2, 3), dim_factors=(2, 2))
    layer.build(None)
    layer.assign_stp_cores([EXAMPLE_G1, EXAMPLE_G2])
    return layer


def test_worked_example_kronecker_product():
    np.testing.assert_array_equal(EXAMPLE_G1 @ np.kron(EXAMPLE_G2, np.eye(2)), EXAMPLE_M)


def test_worked_example_oracles():
    cores = [EXAMPLE_G1, EXAMPLE_G2]
    np.testing.assert_array_equal(kronecker_oracle(cores, 2, (2, 3), (2, 2)), EXAMPLE_ROWS)
    np.testing.assert_array_equal(reference_table(cores, 2, (2, 3), (2, 2)), EXAMPLE_ROWS)


def test_worked_example_layer_paths():
    layer = example_layer()
    np.testing.assert_array_equal(layer.materialize().numpy(), EXAMPLE_ROWS)
    np.testing.assert_array_equal(layer.lookup(tf.range(6)).numpy(), EXAMPLE_ROWS)
    np.testing.assert_array_equal(layer.lookup(tf.constant([5, 0, 3])).numpy(), EXAMPLE_ROWS[[5, 0, 3]])
    query = np.array([[1.0, 0.0, 0.0, 0.0], [1.0, -1.0, 2.0, 0.5]], dtype=np.float32)
    # Row 0 of the query picks dim 0: 1, 2, 3, 5, 10, 15. Row 1: 1-2+6+2=7, 14, 21, 5-6+14+4=17, 34, 51.
    expected_scores = np.array([[1, 2, 3, 5, 10, 15], [7, 14, 21, 17, 34, 51]], dtype=np.float32)
    np.testing.assert_allclose(layer.score(query).numpy(), expected_scores, rtol=1e-6)


@pytest.mark.parametrize("item_factors,dim_factors,tt_rank,stp_factor", GRID)
def test_materialize_matches_kronecker_oracle(item_factors, dim_factors, tt_rank, stp_factor):
    layer = make_table(item_factors, dim_factors, tt_rank, stp_factor, seed=1)
    expected = kronecker_oracle(core_values(layer), stp_factor, item_factors, dim_factors)
    np.testing.assert_allclose(layer.materialize().numpy(), expected, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(
        reference_table(core_values(layer), stp_factor, item_factors, dim_factors), expected, atol=1e-5
    )


@st.composite
def stp_tt_shapes(draw):
    num_cores = draw(st.sampled_from([2, 3]))
    stp_factor = draw(st.sampled_from([1, 2, 4]))
    tt_rank = stp_factor * draw(st.integers(1, 3))
    item_factors = tuple(draw(st.integers(1, 4)) for _ in range(num_cores))
    last_dim = stp_factor * draw(st.integers(1, 8 // (stp_factor * 2 ** (num_cores - 1)) or 1))
    dim_factors = tuple(draw(st.integers(1, 2)) for _ in range(num_cores - 1)) + (last_dim,)
    return item_factors, dim_factors, tt_rank, stp_factor


@settings(max_examples=30, deadline=None)
@given(shapes=stp_tt_shapes(), seed=st.integers(0, 2**31 - 1))
def test_random_cores_match_kronecker_oracle(shapes, seed):
    item_factors, dim_factors, tt_rank, stp_factor = shapes
    layer = make_table(item_factors, dim_factors, tt_rank, stp_factor, seed=seed)
    cores = core_values(layer)
    expected = kronecker_oracle(cores, stp_factor, item_factors, dim_factors)
    np.testing.assert_allclose(layer.materialize().numpy(), expected, rtol=1e-4, atol=1e-4)
    reference = reference_table(cores, stp_factor, item_factors, dim_factors)
    np.testing.assert_allclose(reference, expected, atol=1e-4)
    all_ids = tf.range(math.prod(item_factors))
    np.testing.assert_allclose(layer.lookup(all_ids).numpy(), expected, rtol=1e-4, atol=1e-4)


@settings(max_examples=20, deadline=None)
@given(shapes=stp_tt_shapes(), seed=st.integers(0, 2**31 - 1))
def test_tt_svd_recovers_a_table_of_that_rank_exactly(shapes, seed):
    item_factors, dim_factors, tt_rank, stp_factor = shapes
    cores = core_values(make_table(item_factors, dim_factors, tt_rank, stp_factor, seed=seed))
    table = reference_table(cores, stp_factor, item_factors, dim_factors)
    fitted = stp_tt_svd(table, item_factors, dim_factors, tt_rank, stp_factor)
    assert [core.shape for core in fitted] == [core.shape for core in cores]
    reconstructed = reference_table(fitted, stp_factor, item_factors, dim_factors)
    np.testing.assert_allclose(reconstructed, table, atol=1e-6 * np.abs(table).max())


@pytest.mark.parametrize("stp_factor", [1, 2])
def test_tt_svd_error_falls_with_rank_and_matches_eckart_young_for_two_cores(stp_factor):
    # A table with no TT structure: the 2-core fit is the best rank-R/t approximation of the stacked slices.
    item_factors, dim_factors = (6, 5), (4, 4)
    table = np.random.default_rng(3).normal(size=(29, 16))  # 29 rows: the 30th (padding) is fitted as zero
    padded = np.vstack([table, np.zeros((1, 16))])
    stacked = padded.reshape(6, 5, 4, 4 // stp_factor, stp_factor).transpose(4, 0, 2, 1, 3)
    singular = np.linalg.svd(stacked.reshape(stp_factor * 24, -1), compute_uv=False)
    errors = []
    for tt_rank in (2, 4, 8):
        fitted = stp_tt_svd(table, item_factors, dim_factors, tt_rank, stp_factor)
        errors.append(np.linalg.norm(reference_table(fitted, stp_factor, item_factors, dim_factors) - padded))
        np.testing.assert_allclose(errors[-1], np.sqrt(np.sum(singular[tt_rank // stp_factor :] ** 2)))
    assert errors[0] > errors[1] > errors[2]


@pytest.mark.parametrize("item_factors,dim_factors,tt_rank,stp_factor", GRID)
def test_lookup_materialize_and_factored_score_agree(item_factors, dim_factors, tt_rank, stp_factor):
    # One row fewer than the factors hold: the padding rows beyond num_rows must be dropped everywhere.
    num_rows = math.prod(item_factors) - 1
    layer = make_table(item_factors, dim_factors, tt_rank, stp_factor, num_rows=num_rows, seed=2)
    expected = kronecker_oracle(core_values(layer), stp_factor, item_factors, dim_factors)[:num_rows]
    table = layer.materialize().numpy()
    assert table.shape == (num_rows, math.prod(dim_factors))
    ids = np.array([[num_rows - 1, 0, 1], [2 % num_rows, num_rows - 1, 0]])
    rows = layer.lookup(tf.constant(ids)).numpy()
    assert rows.shape == (2, 3, math.prod(dim_factors))
    np.testing.assert_allclose(rows, expected[ids], rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(layer(tf.constant(ids)).numpy(), rows, rtol=1e-6, atol=1e-6)
    query = np.random.default_rng(3).normal(size=(3, math.prod(dim_factors))).astype(np.float32)
    scores = layer.score(tf.constant(query)).numpy()
    assert scores.shape == (3, num_rows)
    np.testing.assert_allclose(scores, query @ expected.T, rtol=1e-4, atol=1e-4)
    for batch_hint in (1, 1000):
        np.testing.assert_allclose(
            layer.score_auto(tf.constant(query), batch_hint).numpy(), query @ expected.T, rtol=1e-4, atol=1e-4
        )


def closed_form_parameters(item_factors, dim_factors, rank, t) -> int:
    """Written from the method notes: I1*J1*R + I_k*J_k*R^2/t^2 (middle) + I_K*J_K*R/t^2."""
    count = item_factors[0] * dim_factors[0] * rank + item_factors[-1] * dim_factors[-1] * rank // t**2
    if len(item_factors) == 3:
        count += item_factors[1] * dim_factors[1] * rank * rank // t**2
    return count


@pytest.mark.parametrize("item_factors,dim_factors,tt_rank,stp_factor", GRID)
def test_parameter_count_closed_form_and_core_entries(item_factors, dim_factors, tt_rank, stp_factor):
    layer = make_table(item_factors, dim_factors, tt_rank, stp_factor)
    core_entries = sum(int(np.prod(core.shape)) for core in layer.cores)
    closed_form = closed_form_parameters(item_factors, dim_factors, tt_rank, stp_factor)
    assert layer.parameter_count() == closed_form == core_entries
    assert stp_tt_parameter_count(item_factors, dim_factors, tt_rank, stp_factor) == closed_form
    assert sum(int(np.prod(weight.shape)) for weight in layer.weights) == closed_form


def test_parameter_count_tmall_example():
    # Method notes: 169 * 241 items, 16 * 8 dims, R = 60, t = 2 -> 162,240 + 28,920 = 191,160.
    assert stp_tt_parameter_count((169, 241), (16, 8), 60, 2) == 191_160
    assert 40729 * 128 / 191_160 == pytest.approx(27.27, abs=0.01)


@pytest.mark.parametrize(
    "num_cores,tt_rank,stp_factor", [(2, 4, 1), (2, 8, 2), (3, 4, 2), (3, 2, 1)]
)
def test_init_rows_have_intended_stddev(num_cores, tt_rank, stp_factor):
    # The std of products of Gaussians is noisy on 50 x 8 tables: pool the variance over seeds.
    variances = []
    for seed in range(8):
        keras.utils.set_random_seed(seed)
        layer = STPTTEmbedding(
            50, 8, tt_rank=tt_rank, stp_factor=stp_factor, num_cores=num_cores, init_stddev=0.1
        )
        layer.build(None)
        variances.append(np.mean(layer.materialize().numpy() ** 2))
    assert 0.06 < math.sqrt(np.mean(variances)) < 0.14


def test_default_init_stddev_is_inverse_sqrt_dim():
    assert STPTTEmbedding(50, 8, tt_rank=4, stp_factor=2).init_stddev == pytest.approx(8**-0.5)


@pytest.mark.parametrize("item_factors,dim_factors,tt_rank,stp_factor", [GRID[1], GRID[5]])
def test_config_round_trip_gives_same_layer_and_outputs(item_factors, dim_factors, tt_rank, stp_factor):
    layer = make_table(item_factors, dim_factors, tt_rank, stp_factor, num_rows=math.prod(item_factors) - 2)
    config = layer.get_config()
    clone = STPTTEmbedding.from_config(config)
    clone.build(None)
    assert clone.get_config() == config
    clone.set_weights(layer.get_weights())
    np.testing.assert_array_equal(clone.materialize().numpy(), layer.materialize().numpy())
    restored = keras.layers.deserialize(keras.layers.serialize(layer))
    assert isinstance(restored, STPTTEmbedding)
    assert restored.get_config() == config


def test_automatic_factors_cover_the_rows():
    layer = STPTTEmbedding(41, 8, tt_rank=4, stp_factor=2, num_cores=3)
    assert len(layer.item_factors) == 3 and math.prod(layer.item_factors) >= 41
    assert math.prod(layer.dim_factors) == 8
    layer.build(None)
    assert layer.materialize().shape == (41, 8)


@pytest.mark.parametrize(
    "kwargs,argument",
    [
        ({"stp_factor": 3}, "stp_factor"),
        ({"tt_rank": 6, "stp_factor": 4}, "stp_factor"),
        ({"stp_factor": 0}, "stp_factor"),
        ({"tt_rank": 0}, "tt_rank"),
        ({"item_factors": (2, 3)}, "item_factors"),
        ({"item_factors": (2, 2, 2, 2), "dim_factors": (1, 1, 2, 4)}, "item_factors"),
        ({"dim_factors": (2, 2)}, "dim_factors"),
        ({"num_cores": 4}, "num_cores"),
    ],
)
def test_invalid_arguments_raise_value_error_naming_them(kwargs, argument):
    values = {"tt_rank": 4, "stp_factor": 2, **kwargs}
    with pytest.raises(ValueError, match=argument):
        STPTTEmbedding(20, 8, **values)
