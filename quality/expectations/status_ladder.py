"""Party-constitution rules on the membership ladder: order, minimum age, probation length."""

from __future__ import annotations

from typing import ClassVar, Literal

from great_expectations.execution_engine import PandasExecutionEngine
from great_expectations.expectations.expectation import (
    ColumnPairMapExpectation,
    MulticolumnMapExpectation,
)
from great_expectations.expectations.metrics.map_metric_provider import (
    ColumnPairMapMetricProvider,
    MulticolumnMapMetricProvider,
    column_pair_condition_partial,
    multicolumn_condition_partial,
)

from quality.expectations._conditions import (
    ladder_in_order,
    min_age_at,
    min_age_on_id,
    span_days_between,
    split_precision,
)
from quality.expectations._pair_domain import (
    PAIR_DOMAIN_KEYS,
    PAIR_EXPECTATION_DOMAIN_KEYS,
    IgnoreRowIf,
)

__all__ = [
    "ColumnPairMinAgeAt",
    "ColumnPairSpanDays",
    "ExpectApplicantToBeOfMinimumAge",
    "ExpectApplicantToBeOfMinimumAgeAtPrecision",
    "ExpectApplicantToBeOfMinimumAgeOnId",
    "ExpectProbationToLastAboutOneYear",
    "ExpectProbationToLastAboutOneYearAtPrecision",
    "ExpectStatusDatesInLadderOrder",
    "MulticolumnLadderInOrder",
    "MulticolumnMinAgeAtPrecision",
    "MulticolumnMinAgeOnId",
    "MulticolumnSpanDaysAtPrecision",
]

_MULTI_DOMAIN_KEYS = (
    "batch_id",
    "table",
    "column_list",
    "row_condition",
    "condition_parser",
    "ignore_row_if",
)
IgnoreRowIfMulti = Literal["all_values_are_missing", "any_value_is_missing", "never"]


def _pair_with_precision(frame) -> tuple:
    """(first date, second date, first precision, second precision) of a column_list frame."""
    names, precisions = split_precision(frame)
    first, second = names[:2]
    return frame[first], frame[second], precisions.get(first), precisions.get(second)


class MulticolumnLadderInOrder(MulticolumnMapMetricProvider):
    condition_metric_name = "multicolumn_values.islandbridge_ladder_in_order"
    condition_domain_keys = (
        "batch_id",
        "table",
        "column_list",
        "row_condition",
        "condition_parser",
        "ignore_row_if",
    )

    @multicolumn_condition_partial(engine=PandasExecutionEngine)
    def _pandas(cls, column_list, **kwargs):
        return ladder_in_order(column_list)


class ColumnPairMinAgeAt(ColumnPairMapMetricProvider):
    condition_metric_name = "column_pair_values.islandbridge_min_age_at"
    condition_domain_keys = PAIR_DOMAIN_KEYS
    condition_value_keys = ("min_age",)

    @column_pair_condition_partial(engine=PandasExecutionEngine)
    def _pandas(cls, column_A, column_B, min_age=18, **kwargs):
        return min_age_at(column_A, column_B, int(min_age))


class MulticolumnMinAgeOnId(MulticolumnMapMetricProvider):
    condition_metric_name = "multicolumn_values.islandbridge_min_age_on_id"
    condition_domain_keys = (
        "batch_id",
        "table",
        "column_list",
        "row_condition",
        "condition_parser",
        "ignore_row_if",
    )
    condition_value_keys = ("min_age",)

    @multicolumn_condition_partial(engine=PandasExecutionEngine)
    def _pandas(cls, column_list, min_age=18, **kwargs):
        return min_age_on_id(column_list, int(min_age))


class ColumnPairSpanDays(ColumnPairMapMetricProvider):
    condition_metric_name = "column_pair_values.islandbridge_span_days"
    condition_domain_keys = PAIR_DOMAIN_KEYS
    condition_value_keys = ("min_days", "max_days")

    @column_pair_condition_partial(engine=PandasExecutionEngine)
    def _pandas(cls, column_A, column_B, min_days, max_days, **kwargs):
        return span_days_between(column_A, column_B, int(min_days), int(max_days))


class MulticolumnMinAgeAtPrecision(MulticolumnMapMetricProvider):
    condition_metric_name = "multicolumn_values.islandbridge_min_age_at_precision"
    condition_domain_keys = _MULTI_DOMAIN_KEYS
    condition_value_keys = ("min_age",)

    @multicolumn_condition_partial(engine=PandasExecutionEngine)
    def _pandas(cls, column_list, min_age=18, **kwargs):
        born, event, born_p, event_p = _pair_with_precision(column_list)
        return min_age_at(born, event, int(min_age), born_p, event_p)


class MulticolumnSpanDaysAtPrecision(MulticolumnMapMetricProvider):
    condition_metric_name = "multicolumn_values.islandbridge_span_days_at_precision"
    condition_domain_keys = _MULTI_DOMAIN_KEYS
    condition_value_keys = ("min_days", "max_days")

    @multicolumn_condition_partial(engine=PandasExecutionEngine)
    def _pandas(cls, column_list, min_days, max_days, **kwargs):
        start, end, start_p, end_p = _pair_with_precision(column_list)
        return span_days_between(start, end, int(min_days), int(max_days), start_p, end_p)


class ExpectStatusDatesInLadderOrder(MulticolumnMapExpectation):
    """Expect the step dates in ``column_list`` (given in ladder order) never to go backwards.

    Missing steps are skipped: applicant 2020, candidate 2021 with no activist date is in order.
    ``column_list`` may also hold ``<step>_precision`` companions; a step then goes
    backwards only when its whole period ends before an earlier step's period begins.
    """

    ignore_row_if: Literal["all_values_are_missing", "any_value_is_missing", "never"] = (
        "all_values_are_missing"
    )
    map_metric = "multicolumn_values.islandbridge_ladder_in_order"
    success_keys = ("mostly",)
    library_metadata: ClassVar[dict] = {"tags": ["islandbridge", "status"], "contributors": []}


class ExpectApplicantToBeOfMinimumAge(ColumnPairMapExpectation):
    """Expect the age on the date in ``column_B`` (application) from the birth date in
    ``column_A`` to be at least ``min_age`` (Party constitution: 18)."""

    min_age: int = 18
    ignore_row_if: IgnoreRowIf = "either_value_is_missing"
    domain_keys = PAIR_EXPECTATION_DOMAIN_KEYS
    map_metric = "column_pair_values.islandbridge_min_age_at"
    success_keys = ("mostly", "min_age")
    library_metadata: ClassVar[dict] = {"tags": ["islandbridge", "status"], "contributors": []}


class ExpectApplicantToBeOfMinimumAgeOnId(MulticolumnMapExpectation):
    """Expect the age on the application date to be at least ``min_age``, the birth date
    taken from the ID number where it is well-formed, else from the birth-date column.

    ``column_list``: ``[id number, birth date, application date]``, optionally followed by
    the dates' precision companions (``<date>_precision``).
    """

    min_age: int = 18
    ignore_row_if: Literal["all_values_are_missing", "any_value_is_missing", "never"] = (
        "all_values_are_missing"
    )
    map_metric = "multicolumn_values.islandbridge_min_age_on_id"
    success_keys = ("mostly", "min_age")
    library_metadata: ClassVar[dict] = {"tags": ["islandbridge", "status"], "contributors": []}


class ExpectApplicantToBeOfMinimumAgeAtPrecision(MulticolumnMapExpectation):
    """:class:`ExpectApplicantToBeOfMinimumAge` for dates with a precision.

    ``column_list``: ``[birth date, application date]`` followed by the precision
    companions present (``<date>_precision``). A row fails only when the applicant is
    under ``min_age`` on every day the periods allow.
    """

    min_age: int = 18
    ignore_row_if: IgnoreRowIfMulti = "all_values_are_missing"
    map_metric = "multicolumn_values.islandbridge_min_age_at_precision"
    success_keys = ("mostly", "min_age")
    library_metadata: ClassVar[dict] = {"tags": ["islandbridge", "status"], "contributors": []}


class ExpectProbationToLastAboutOneYearAtPrecision(MulticolumnMapExpectation):
    """:class:`ExpectProbationToLastAboutOneYear` for dates with a precision.

    ``column_list``: ``[start, end]`` followed by the precision companions present. A row
    fails only when no days within the two periods give a span in ``min_days..max_days``.
    """

    min_days: int = 358
    max_days: int = 730
    ignore_row_if: IgnoreRowIfMulti = "all_values_are_missing"
    map_metric = "multicolumn_values.islandbridge_span_days_at_precision"
    success_keys = ("mostly", "min_days", "max_days")
    library_metadata: ClassVar[dict] = {"tags": ["islandbridge", "status"], "contributors": []}


class ExpectProbationToLastAboutOneYear(ColumnPairMapExpectation):
    """Expect full membership (``column_B``) ``min_days``..``max_days`` after probation
    began (``column_A``): one year, with the configured tolerance."""

    min_days: int = 358
    max_days: int = 730
    ignore_row_if: IgnoreRowIf = "either_value_is_missing"
    domain_keys = PAIR_EXPECTATION_DOMAIN_KEYS
    map_metric = "column_pair_values.islandbridge_span_days"
    success_keys = ("mostly", "min_days", "max_days")
    library_metadata: ClassVar[dict] = {"tags": ["islandbridge", "status"], "contributors": []}
