"""GB 11643 resident ID number: shape, GB/T 2260 region, embedded date, MOD 11-2 check digit."""

from __future__ import annotations

from datetime import date
from typing import ClassVar

from great_expectations.execution_engine import PandasExecutionEngine
from great_expectations.expectations.expectation import ColumnMapExpectation
from great_expectations.expectations.metrics import (
    ColumnMapMetricProvider,
    column_condition_partial,
)

from quality.expectations._conditions import RESIDENT_ID_CHECKS, resident_id_ok

__all__ = ["ColumnValuesValidResidentId", "ExpectColumnValuesToBeValidResidentId"]


class ColumnValuesValidResidentId(ColumnMapMetricProvider):
    condition_metric_name = "column_values.islandbridge_valid_resident_id"
    condition_value_keys = ("checks", "as_of")

    @column_condition_partial(engine=PandasExecutionEngine)
    def _pandas(cls, column, checks=RESIDENT_ID_CHECKS, as_of=None, **kwargs):
        return resident_id_ok(column, list(checks), date.fromisoformat(as_of) if as_of else None)


class ExpectColumnValuesToBeValidResidentId(ColumnMapExpectation):
    """Expect resident ID numbers to pass the GB 11643 ``checks`` (default: all four).

    ``format``: 18 characters, 17 digits then a digit or X; ``region``: the first two
    digits are a GB/T 2260 province code; ``birth_date``: the embedded date exists and
    lies between 1900 and ``as_of`` (ISO date, default today); ``check_digit``: the ISO
    7064 MOD 11-2 check character is right. Only well-formed numbers are judged by the
    last three, so a malformed number fails ``format`` alone.
    """

    checks: list[str] = list(RESIDENT_ID_CHECKS)  # noqa: RUF012 - a pydantic field, copied per instance
    as_of: str | None = None

    map_metric = "column_values.islandbridge_valid_resident_id"
    success_keys = ("mostly", "checks", "as_of")
    library_metadata: ClassVar[dict] = {"tags": ["islandbridge", "gb11643"], "contributors": []}
