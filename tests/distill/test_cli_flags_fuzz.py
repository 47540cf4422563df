"""Every CLI flag value either parses into configs or is refused as a documented one-line error: absl's flag
error (usage message, exit 1) or a ValueError that the CLIs' edge (`errors_as_one_line`) prints as
`error: ...` with exit 1. Flags are parsed into a fresh FlagValues and turned into configs, not trained."""

from __future__ import annotations

import math

import pytest
from absl import flags
from hypothesis import given, settings
from hypothesis import strategies as st

from convert import export_flags
from convert.export import check_top_k
from distill import cli_flags
from model.sasrec import SASRecConfig

N_ITEMS = 200
CLIS = {
    "train_teacher": cli_flags.define_teacher_cli_flags,
    "train_student": cli_flags.define_student_cli_flags,
    "to_tflite": export_flags.define_flags,
}
NUMERIC_FLAGS = [
    "epochs", "batch_size", "max_len", "hidden_dim", "num_blocks", "num_heads", "dropout", "learning_rate",
    "patience", "seed", "lr_decay_factor", "lr_decay_patience", "num_negatives", "tt_rank", "stp_factor",
    "tt_num_cores", "temperature", "cl_temperature", "ce_weight", "kd_weight", "kd_top_k", "top_k",
    "student_epochs", "golden_cases", "bench_runs", "tt_item_factors", "tt_dim_factors", "weight_decay",
]  # fmt: skip


def parse(cli: str, argv: list[str]) -> flags.FlagValues:
    values = flags.FlagValues()
    CLIS[cli](values)
    required = ["--teacher=teacher_folder"] if cli == "train_student" else []
    values(["prog", *required, *argv])
    return values


def build_configs(cli: str, values: flags.FlagValues) -> None:
    """What each CLI's main builds from its flags before loading data or training."""
    if cli == "to_tflite":
        check_top_k(values.top_k, N_ITEMS, values.max_len)
        return
    train_config = cli_flags.train_config_from_flags(values)
    assert train_config.epochs >= 1 and train_config.batch_size >= 1
    if cli == "train_teacher":
        SASRecConfig(n_items=N_ITEMS, **cli_flags.backbone_from_flags(values))
    else:
        teacher = SASRecConfig(n_items=N_ITEMS, max_len=8, hidden_dim=16)
        cli_flags.student_config_from_flags(values, teacher)


def outcome(cli: str, argv: list[str]) -> str:
    """ "ok", "flag error" (absl, exit 1) or "error" (ValueError: `error: ...`, exit 1); else it raises."""
    try:
        values = parse(cli, argv)
    except flags.Error:
        return "flag error"
    try:
        build_configs(cli, values)
    except ValueError:
        return "error"
    return "ok"


@pytest.mark.parametrize(
    "cli, flag",
    [
        ("train_teacher", "--epochs=0"),
        ("train_teacher", "--batch_size=0"),
        ("train_teacher", "--max_len=0"),
        ("train_teacher", "--dropout=1.5"),
        ("train_teacher", "--dropout=nan"),
        ("train_teacher", "--learning_rate=0"),
        ("train_teacher", "--seed=-1"),
        ("train_student", "--tt_item_factors=169,x"),
        ("train_student", "--tt_dim_factors=0,8"),
        ("train_student", "--temperature=inf"),
        ("train_student", "--kd_weight=-1"),
        ("to_tflite", "--learning_rate=nan"),
        ("to_tflite", "--tt_num_cores=4"),
    ],
)
def test_unusable_flag_values_are_flag_errors(cli, flag):
    assert outcome(cli, [flag]) == "flag error"


def test_defaults_parse_into_configs():
    for cli in CLIS:
        assert outcome(cli, ["--top_k=20"] if cli == "to_tflite" else []) == "ok", cli


VALUES = st.one_of(
    st.integers(min_value=-(2**40), max_value=2**40).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.sampled_from(["", "0", "1", "-0", "1e400", "nan", "2,2", "1,,2", " 3", "x", "\u00b2", "0x10", "1_0"]),
)


@settings(max_examples=300, deadline=None)
@given(
    cli=st.sampled_from(sorted(CLIS)),
    assignments=st.lists(st.tuples(st.sampled_from(NUMERIC_FLAGS), VALUES), max_size=4),
)
def test_fuzz_flag_values_end_in_a_documented_outcome(cli, assignments):
    argv = [f"--{name}={value}" for name, value in assignments]
    result = outcome(cli, argv)
    assert result in ("ok", "flag error", "error")
    if result == "ok" and cli != "to_tflite":
        values = parse(cli, argv)
        assert values.epochs >= 1 and values.batch_size >= 1
        assert math.isfinite(values.learning_rate) and values.learning_rate > 0


@pytest.mark.parametrize(
    "error",
    [
        OSError(28, "cannot write model.weights.h5 (file write failed: time = Thu\n, errno = 28)"),
        ValueError("line one\nline two\r\n\tline three"),
    ],
)
def test_errors_as_one_line_prints_one_line(error) -> None:
    """A message quoted from HDF5 or TensorFlow may hold line breaks; the CLI still ends in one line."""
    with pytest.raises(SystemExit) as stop:
        with cli_flags.errors_as_one_line():
            raise error
    assert (
        stop.value.code.startswith("error: ") and "\n" not in stop.value.code and "\r" not in stop.value.code
    )
    assert " ".join(str(error).split()) in stop.value.code
