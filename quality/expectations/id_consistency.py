"""Agreement between a resident ID number and the birth date / gender stated beside it."""

from __future__ import annotations

from typing import ClassVar

from great_expectations.execution_engine import PandasExecutionEngine
from great_expectations.expectations.expectation import ColumnPairMapExpectation
from great_expectations.expectations.metrics.map_metric_provider import (
    ColumnPairMapMetricProvider,
    column_pair_condition_partial,
)

from quality.expectations._conditions import id_birth_date_matches, id_gender_matches
from quality.expectations._pair_domain import (
    PAIR_DOMAIN_KEYS,
    PAIR_EXPECTATION_DOMAIN_KEYS,
    IgnoreRowIf,
)

__all__ = [
    "ColumnPairIdMatchesBirthDate",
    "ColumnPairIdMatchesGender",
    "ExpectResidentIdToMatchBirthDate",
    "ExpectResidentIdToMatchGender",
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


class ExpectResidentIdToMatchGender(ColumnPairMapExpectation):
    """Expect the gender (``column_B``, M/F) to agree with the ID's 17th digit (odd = M)."""

    ignore_row_if: IgnoreRowIf = "either_value_is_missing"
    domain_keys = PAIR_EXPECTATION_DOMAIN_KEYS
    map_metric = "column_pair_values.islandbridge_id_matches_gender"
    success_keys = ("mostly",)
    library_metadata: ClassVar[dict] = {"tags": ["islandbridge", "gb11643"], "contributors": []}
