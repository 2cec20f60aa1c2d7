"""Mainland Chinese mobile numbers."""

from __future__ import annotations

from typing import ClassVar, Literal

from great_expectations.execution_engine import PandasExecutionEngine
from great_expectations.expectations.expectation import ColumnMapExpectation
from great_expectations.expectations.metrics import (
    ColumnMapMetricProvider,
    column_condition_partial,
)

from quality.expectations._conditions import mobile_allocated, mobile_ok

__all__ = ["ColumnValuesCnMobile", "ExpectColumnValuesToBeCnMobile"]


class ColumnValuesCnMobile(ColumnMapMetricProvider):
    condition_metric_name = "column_values.islandbridge_cn_mobile"
    condition_value_keys = ("check",)

    @column_condition_partial(engine=PandasExecutionEngine)
    def _pandas(cls, column, check="format", **kwargs):
        return mobile_allocated(column) if check == "allocated" else mobile_ok(column)


class ExpectColumnValuesToBeCnMobile(ColumnMapExpectation):
    """Expect mainland mobile numbers.

    ``check="format"``: 11 digits with a ``1[3-9]`` prefix. ``check="allocated"``: a
    well-formed number lies in a range that libphonenumber's metadata lists as a Chinese
    mobile range (malformed numbers are left to ``format``, so a defect is reported once).
    """

    check: Literal["format", "allocated"] = "format"
    map_metric = "column_values.islandbridge_cn_mobile"
    success_keys = ("mostly", "check")
    library_metadata: ClassVar[dict] = {"tags": ["islandbridge"], "contributors": []}
