"""Volunteer hours: a record cannot claim more hours than a day has."""

from __future__ import annotations

from typing import ClassVar

from great_expectations.execution_engine import PandasExecutionEngine
from great_expectations.expectations.expectation import ColumnMapExpectation
from great_expectations.expectations.metrics import (
    ColumnMapMetricProvider,
    column_condition_partial,
)

from quality.expectations._conditions import hours_within_day

__all__ = ["ColumnValuesHoursWithinDay", "ExpectColumnValuesToBeHoursWithinADay"]


class ColumnValuesHoursWithinDay(ColumnMapMetricProvider):
    condition_metric_name = "column_values.islandbridge_hours_within_day"
    condition_value_keys = ("max_hours",)

    @column_condition_partial(engine=PandasExecutionEngine)
    def _pandas(cls, column, max_hours=24.0, **kwargs):
        return hours_within_day(column, float(max_hours))


class ExpectColumnValuesToBeHoursWithinADay(ColumnMapExpectation):
    """Expect hours served on one day to be more than 0 and at most ``max_hours`` (24)."""

    max_hours: float = 24.0
    map_metric = "column_values.islandbridge_hours_within_day"
    success_keys = ("mostly", "max_hours")
    library_metadata: ClassVar[dict] = {"tags": ["islandbridge"], "contributors": []}
