"""Agreement between a resident ID number and the birth date / gender stated beside it."""

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
    id_birth_date_matches,
    id_gender_matches,
    split_precision,
)
from quality.expectations._pair_domain import (
    PAIR_DOMAIN_KEYS,
    PAIR_EXPECTATION_DOMAIN_KEYS,
    IgnoreRowIf,
)

__all__ = [
    "ColumnPairIdMatchesBirthDate",
    "ColumnPairIdMatchesGender",
    "ExpectResidentIdToMatchBirthDate",
    "ExpectResidentIdToMatchBirthDateAtPrecision",
    "ExpectResidentIdToMatchGender",
    "MulticolumnIdMatchesBirthDateAtPrecision",
]


class ColumnPairIdMatchesBirthDate(ColumnPairMapMetricProvider):
    condition_metric_name = "column_pair_values.islandbridge_id_matches_birth_date"
    condition_domain_keys = PAIR_DOMAIN_KEYS

    @column_pair_condition_partial(engine=PandasExecutionEngine)
    def _pandas(cls, column_A, column_B, **kwargs):
        return id_birth_date_matches(column_A, column_B)


class ColumnPairIdMatchesGender(ColumnPairMapMetricProvider):
    condition_metric_name = "column_pair_values.islandbridge_id_matches_gender"
    condition_domain_keys = PAIR_DOMAIN_KEYS

    @column_pair_condition_partial(engine=PandasExecutionEngine)
    def _pandas(cls, column_A, column_B, **kwargs):
        return id_gender_matches(column_A, column_B)


class ExpectResidentIdToMatchBirthDate(ColumnPairMapExpectation):
    """Expect the birth date (``column_B``) to equal the date embedded in the ID (``column_A``).

    Rows where either is missing, or the ID is malformed, are not judged here.
    """

    ignore_row_if: IgnoreRowIf = "either_value_is_missing"
    domain_keys = PAIR_EXPECTATION_DOMAIN_KEYS
    map_metric = "column_pair_values.islandbridge_id_matches_birth_date"
    success_keys = ("mostly",)
    library_metadata: ClassVar[dict] = {"tags": ["islandbridge", "gb11643"], "contributors": []}


class MulticolumnIdMatchesBirthDateAtPrecision(MulticolumnMapMetricProvider):
    condition_metric_name = "multicolumn_values.islandbridge_id_matches_birth_date_at_precision"
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
        names, precisions = split_precision(column_list)
        ids, born = names[:2]
        return id_birth_date_matches(column_list[ids], column_list[born], precisions.get(born))


class ExpectResidentIdToMatchBirthDateAtPrecision(MulticolumnMapExpectation):
    """:class:`ExpectResidentIdToMatchBirthDate` for a birth date with a precision.

    ``column_list``: ``[id number, birth date, birth date precision]``; the ID's date must
    lie in the stated period (``1990-05`` agrees with an ID born 1990-05-15).
    """

    ignore_row_if: Literal["all_values_are_missing", "any_value_is_missing", "never"] = (
        "any_value_is_missing"
    )
    map_metric = "multicolumn_values.islandbridge_id_matches_birth_date_at_precision"
    success_keys = ("mostly",)
    library_metadata: ClassVar[dict] = {"tags": ["islandbridge", "gb11643"], "contributors": []}


class ExpectResidentIdToMatchGender(ColumnPairMapExpectation):
    """Expect the gender (``column_B``, M/F) to agree with the ID's 17th digit (odd = M)."""

    ignore_row_if: IgnoreRowIf = "either_value_is_missing"
    domain_keys = PAIR_EXPECTATION_DOMAIN_KEYS
    map_metric = "column_pair_values.islandbridge_id_matches_gender"
    success_keys = ("mostly",)
    library_metadata: ClassVar[dict] = {"tags": ["islandbridge", "gb11643"], "contributors": []}
