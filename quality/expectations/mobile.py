"""Mainland Chinese mobile numbers."""

from __future__ import annotations

from typing import ClassVar

from great_expectations.execution_engine import PandasExecutionEngine
from great_expectations.expectations.expectation import ColumnMapExpectation
from great_expectations.expectations.metrics import (
    ColumnMapMetricProvider,
    column_condition_partial,
)

from quality.expectations._conditions import mobile_ok

__all__ = ["ColumnValuesCnMobile", "ExpectColumnValuesToBeCnMobile"]


class ColumnValuesCnMobile(ColumnMapMetricProvider):
    condition_metric_name = "column_values.islandbridge_cn_mobile"

    @column_condition_partial(engine=PandasExecutionEngine)
    def _pandas(cls, column, **kwargs):
        return mobile_ok(column)


class ExpectColumnValuesToBeCnMobile(ColumnMapExpectation):
    """Expect 11-digit mainland mobile numbers with a ``1[3-9]`` prefix."""

    map_metric = "column_values.islandbridge_cn_mobile"
    success_keys = ("mostly",)
    library_metadata: ClassVar[dict] = {"tags": ["islandbridge"], "contributors": []}
