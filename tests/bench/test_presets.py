"""Tests of bench/presets.py: each real dataset's student tables, at the catalogue size its data has (the
registry's facts), hold every item and meet the compression points the student ladder reports."""

import pytest

from bench import run
from bench.presets import EXCLUDE_HISTORY, TABLES, TEACHERS
from model.sasrec import SASRecConfig, build_item_table
from tests.distill.test_registry import REAL_FACTS

CATALOGUES = {name: facts.n_items for name, facts in REAL_FACTS.items() if name in TABLES}


def table_compression(name: str, variant: str) -> float:
    """Teacher item-table parameters over those of `variant`'s table, built as the student stage builds it."""
    backbone, _ = TEACHERS[name]
    teacher = SASRecConfig(n_items=CATALOGUES[name], **backbone)
    student = run.student_config_for(name, teacher, variant)
    return build_item_table(teacher).parameter_count() / build_item_table(student).parameter_count()


def test_every_real_dataset_with_tables_is_checked():
    assert set(CATALOGUES) == {"ml-1m", "amazon-video", "tmall", "retailrocket"}


@pytest.mark.parametrize("name", sorted(CATALOGUES))
def test_tables_hold_the_catalogue_at_the_targets_compression(name: str):
    """main >= 30x and high >= 60x (the ladder's targets), low below main; building a table also checks
    that its item factors hold every row and its dim factors make the width."""
    main, high, low = (
        table_compression(name, variant)
        for variant in ("student-full", "student-full-high", "student-full-low")
    )
    assert main >= 30.0 and high >= 60.0 and low < main


def test_history_excluded_datasets_have_presets():
    assert EXCLUDE_HISTORY <= set(TEACHERS)
    assert {"ml-1m", "amazon-video"} <= EXCLUDE_HISTORY and "tmall" not in EXCLUDE_HISTORY


def test_the_narrow_ml_1m_student_keeps_the_main_tables_compression():
    """The narrow backbone is a budget experiment, not a weaker table: its table stays >= 30x."""
    assert table_compression("ml-1m", "student-narrow-fast-order-teacher") >= 30.0
