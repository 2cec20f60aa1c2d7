"""No dates after the run's reference date."""

from __future__ import annotations

from datetime import date
from typing import ClassVar

from great_expectations.execution_engine import PandasExecutionEngine
from great_expectations.expectations.expectation import ColumnMapExpectation
from great_expectations.expectations.metrics import (
    ColumnMapMetricProvider,
    column_condition_partial,
)

from quality.expectations._conditions import dates_not_after

__all__ = ["ColumnValuesNotAfterDate", "ExpectColumnValuesToNotBeAfterDate"]


class ColumnValuesNotAfterDate(ColumnMapMetricProvider):
    condition_metric_name = "column_values.islandbridge_not_after_date"
    condition_value_keys = ("as_of",)

    @column_condition_partial(engine=PandasExecutionEngine)
    def _pandas(cls, column, as_of, **kwargs):
        return dates_not_after(column, date.fromisoformat(as_of))


class ExpectColumnValuesToNotBeAfterDate(ColumnMapExpectation):
    """Expect no date after ``as_of`` (ISO date): a record cannot describe the future."""

    as_of: str
    map_metric = "column_values.islandbridge_not_after_date"
    success_keys = ("mostly", "as_of")
    library_metadata: ClassVar[dict] = {"tags": ["islandbridge"], "contributors": []}
