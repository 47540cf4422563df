"""Parameter accounting per component against closed forms, and compression ratios from real counts."""

from __future__ import annotations

import numpy as np
import pytest

from model.keras_setup import keras, tf
from model.parameters import COMPONENTS, compression_ratios, parameter_report
from model.sasrec import SASRec
from tests.conftest import tiny_sasrec_config

N_ITEMS, DIM, MAX_LEN = 40, 8, 8


def expected_report(item_table: int, blocks: int, ffn: int, readout: str) -> dict[str, int]:
    """Closed forms with d = 8: attention = 4 d^2 + 4 d (q, k, v, output kernels and biases),
    FFN = d*f + f + f*d + d, norms = 2 d per LayerNorm (2 per block + final), attention readout = 2 d^2 + 2 d.
    """
    d = DIM
    report = {
        "item_table": item_table,
        "positions": MAX_LEN * d,
        "attention": blocks * (4 * d * d + 4 * d),
        "ffn": blocks * (d * ffn + ffn + ffn * d + d),
        "norms": (2 * blocks + 1) * 2 * d,
        "readout": 2 * d * d + 2 * d if readout == "attention" else 0,
        "repeat": 0,  # repeat_scores off; tests/model/test_repeat.py counts it when on
    }
    report["total"] = sum(report.values())
    return report


@pytest.mark.parametrize("readout", ["last", "attention"])
@pytest.mark.parametrize(
    "table_kwargs,table_params",
    [
        ({"item_table": "dense"}, (N_ITEMS + 1) * DIM),
        # 41 rows -> item factors (7, 6); d = 8 -> (4, 2); R = 4, t = 2: 7*4*4 + 6*2*4/4 = 112 + 12.
        ({"item_table": "stp_tt", "tt_rank": 4, "stp_factor": 2}, 124),
        # Explicit 3 cores (2, 3, 7), (2, 2, 2), R = 4, t = 2: 2*2*4 + 3*2*16/4 + 7*2*4/4 = 16 + 24 + 14.
        (
            {
                "item_table": "stp_tt",
                "tt_rank": 4,
                "stp_factor": 2,
                "tt_item_factors": (2, 3, 7),
                "tt_dim_factors": (2, 2, 2),
            },
            54,
        ),
    ],
)
@pytest.mark.parametrize("blocks,ffn", [(1, None), (2, 16)])
def test_parameter_report_matches_closed_forms(readout, table_kwargs, table_params, blocks, ffn):
    config = tiny_sasrec_config(readout=readout, num_blocks=blocks, ffn_dim=ffn, **table_kwargs)
    model = SASRec(config).build_for_inference()
    report = parameter_report(model)
    assert set(report) == {*COMPONENTS, "total"}
    assert report == expected_report(table_params, blocks, ffn or DIM, readout)


def test_training_state_is_not_counted():
    """Loss trackers and the sampler's log q hold weights but are not part of the deployed model."""
    model = SASRec(tiny_sasrec_config()).build_for_inference()
    before = parameter_report(model)
    model.compile(optimizer=keras.optimizers.Adam(1e-3))
    history = tf.constant([[0, 0, 0, 0, 1, 2, 3, 4]])
    model.train_step((history, tf.constant([[0, 0, 0, 0, 2, 3, 4, 5]])))
    deployed = sum(int(np.prod(weight.shape)) for weight in model.weights)
    assert deployed > before["total"]
    assert parameter_report(model) == before


def test_compression_ratios_from_counts():
    teacher = {"item_table": 5_213_312, "total": 5_380_000}
    student = {"item_table": 191_160, "total": 358_000}
    ratios = compression_ratios(teacher, student)
    assert ratios["compression_table"] == pytest.approx(27.2720, abs=1e-4)
    assert ratios["compression_model"] == pytest.approx(15.0279, abs=1e-4)
