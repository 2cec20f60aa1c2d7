"""Row accounting counted from what was written, and the shrink guard: both can fail."""

from __future__ import annotations

import pandas as pd
import pyarrow as pa
import pytest

from integrate.accounting import (
    Lineage,
    SourceFileCounts,
    published_rows,
    row_accounting,
    row_accounting_problems,
)
from integrate.shrink_guard import shrinkage

TABLES = {
    "dim_person": pa.table({"person_key": ["P1", "P2"]}),
    "fact_study": pa.table({"person_key": ["P1", "P1", "P2"], "source": ["lp", "lp", "other"]}),
}


def test_published_rows_are_counted_in_the_written_tables():
    lineage = {
        "roster": Lineage.of_persons(pd.Series(["P1", "P2", "P2", "P3"])),
        "lp": Lineage.of_rows("fact_study", "lp"),
        "gone": Lineage.of_rows("fact_volunteer", "gone"),
    }
    assert published_rows(TABLES, lineage) == {"roster": 3, "lp": 2, "gone": 0}


def _files(**overrides) -> SourceFileCounts:
    base = {
        "landed": 10,
        "refused_input_rows": 4,
        "refused_quarantined": 4,
        "quality_quarantined": 2,
        "link_quarantined": 1,
        "linked": 7,
    }
    return SourceFileCounts(**(base | overrides))


def test_accounting_that_adds_up_has_no_problems():
    accounting = row_accounting({"s": _files()}, {"s": 1}, {"s": 6})
    assert accounting["s"] == {
        "in": 14, "accepted": 7, "quarantined": 7, "suppressed": 1, "published": 6
    }  # fmt: skip
    assert row_accounting_problems(accounting) == []


def test_a_row_lost_between_link_and_publish_is_found():
    accounting = row_accounting({"s": _files()}, {"s": 1}, {"s": 5})
    assert row_accounting_problems(accounting) == [
        "row_accounting[s]: accepted 7 != suppressed 1 + published 5"
    ]


def test_a_refused_file_counted_otherwise_than_it_was_quarantined_is_found():
    accounting = row_accounting({"s": _files(refused_input_rows=5)}, {"s": 1}, {"s": 6})
    assert row_accounting_problems(accounting) == [
        "row_accounting[s]: in 15 != accepted 7 + quarantined 7"
    ]


def test_shrink_guard_names_tables_that_shrink_or_vanish():
    current = {"fact_study": 100, "fact_volunteer": 50, "dim_person": 10, "inactive_members": 9}
    new = {"fact_study": 79, "dim_person": 10, "inactive_members": 1}
    found = shrinkage(current, new, max_loss=0.2)
    assert [(f.table, f.before, f.after) for f in found] == [
        ("fact_study", 100, 79),
        ("fact_volunteer", 50, None),
    ]  # a derived table may shrink with its inputs
    assert str(found[0]) == "table fact_study would shrink from 100 to 79 rows (-21%)"
    assert "would no longer be published" in str(found[1])
    assert shrinkage(current, {**new, "fact_study": 80, "fact_volunteer": 50}, max_loss=0.2) == []


def test_shrink_guard_refuses_a_share_outside_zero_to_one():
    with pytest.raises(ValueError, match="share"):
        shrinkage({}, {}, max_loss=1.5)
