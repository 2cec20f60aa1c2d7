"""Party dues amounts within the rule for the payer's person type."""

from __future__ import annotations

from typing import ClassVar, Literal

from great_expectations.execution_engine import PandasExecutionEngine
from great_expectations.expectations.expectation import MulticolumnMapExpectation
from great_expectations.expectations.metrics.map_metric_provider import (
    MulticolumnMapMetricProvider,
    multicolumn_condition_partial,
)

from quality.expectations._conditions import dues_amount_ok

__all__ = ["ExpectDuesAmountWithinRule", "MulticolumnDuesAmountWithinRule"]


class MulticolumnDuesAmountWithinRule(MulticolumnMapMetricProvider):
    condition_metric_name = "multicolumn_values.islandbridge_dues_amount_within_rule"
    condition_domain_keys = (
        "batch_id",
        "table",
        "column_list",
        "row_condition",
        "condition_parser",
        "ignore_row_if",
    )
    condition_value_keys = ("ranges",)

    @multicolumn_condition_partial(engine=PandasExecutionEngine)
    def _pandas(cls, column_list, ranges, **kwargs):
        columns = list(column_list.columns)
        person_types = column_list[columns[1]] if len(columns) > 1 else None
        bounds = {kind: (int(lo), int(hi)) for kind, (lo, hi) in ranges.items()}
        return dues_amount_ok(column_list[columns[0]], person_types, bounds)


class ExpectDuesAmountWithinRule(MulticolumnMapExpectation):
    """Expect the amount (fen, first column of ``column_list``) within ``ranges[person_type]``.

    ``column_list`` is ``[amount]`` or ``[amount, person_type]``; without a person type (or
    with one not in ``ranges``) the widest configured range applies.
    """

    ranges: dict[str, list[int]]
    ignore_row_if: Literal["all_values_are_missing", "any_value_is_missing", "never"] = (
        "all_values_are_missing"
    )
    map_metric = "multicolumn_values.islandbridge_dues_amount_within_rule"
    success_keys = ("mostly", "ranges")
    library_metadata: ClassVar[dict] = {"tags": ["islandbridge", "dues"], "contributors": []}
