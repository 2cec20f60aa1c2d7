"""Expectation suites generated from the quality configuration, one per canonical entity.

Each configured rule becomes one or more GX expectations whose ``meta`` carries the
rule's reason code and severity, and whose GX ``severity`` is ``critical`` (error)
or ``warning``. A rule whose columns are absent from the frame is left out.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import great_expectations as gx
from great_expectations.expectations.expectation import Expectation
from great_expectations.expectations.metadata_types import FailureSeverity

from domain.canonical import precision_column
from quality.config import (
    BetweenRule,
    DateOrderRule,
    DuesAmountRule,
    HoursWithinDayRule,
    IdBirthDateRule,
    IdGenderRule,
    InSetRule,
    LadderOrderRule,
    MinAgeRule,
    MobileRule,
    NotFutureRule,
    QualityConfig,
    RegexRule,
    RequiredRule,
    ResidentIdRule,
    SpanDaysRule,
)
from quality.expectations import (
    ExpectApplicantToBeOfMinimumAge,
    ExpectApplicantToBeOfMinimumAgeAtPrecision,
    ExpectApplicantToBeOfMinimumAgeOnId,
    ExpectColumnValuesToBeCnMobile,
    ExpectColumnValuesToBeHoursWithinADay,
    ExpectColumnValuesToBeValidResidentId,
    ExpectColumnValuesToNotBeAfterDate,
    ExpectDuesAmountWithinRule,
    ExpectProbationToLastAboutOneYear,
    ExpectProbationToLastAboutOneYearAtPrecision,
    ExpectResidentIdToMatchBirthDate,
    ExpectResidentIdToMatchBirthDateAtPrecision,
    ExpectResidentIdToMatchGender,
    ExpectStatusDatesInLadderOrder,
)
from quality.gx_context import gx_context

__all__ = ["SuiteRule", "build_suite", "suite_rules"]

logger = logging.getLogger(__name__)

_SEVERITY = {"error": FailureSeverity.CRITICAL, "warning": FailureSeverity.WARNING}


@dataclass(frozen=True, slots=True)
class SuiteRule:
    """One expectation of a generated suite and the verdict its failures carry."""

    expectation: Expectation
    code: str
    severity: str  # "error" | "warning"


def _precisions(cols: set[str], *dates: str) -> list[str]:
    """The precision companions (``<date>_precision``) of ``dates`` present in the frame."""
    return [precision_column(d) for d in dates if precision_column(d) in cols]


def _required(rule: RequiredRule, cols: set[str], as_of: date) -> list[Expectation]:
    return [gx.expectations.ExpectColumnValuesToNotBeNull(column=rule.column)]


def _in_set(rule: InSetRule, cols: set[str], as_of: date) -> list[Expectation]:
    return [gx.expectations.ExpectColumnValuesToBeInSet(column=rule.column, value_set=rule.values)]


def _regex(rule: RegexRule, cols: set[str], as_of: date) -> list[Expectation]:
    return [gx.expectations.ExpectColumnValuesToMatchRegex(column=rule.column, regex=rule.pattern)]


def _between(rule: BetweenRule, cols: set[str], as_of: date) -> list[Expectation]:
    return [
        gx.expectations.ExpectColumnValuesToBeBetween(
            column=rule.column, min_value=rule.min, max_value=rule.max
        )
    ]


def _resident_id(rule: ResidentIdRule, cols: set[str], as_of: date) -> list[Expectation]:
    return [
        ExpectColumnValuesToBeValidResidentId(
            column=rule.column, checks=[rule.check], as_of=as_of.isoformat()
        )
    ]


def _mobile(rule: MobileRule, cols: set[str], as_of: date) -> list[Expectation]:
    return [ExpectColumnValuesToBeCnMobile(column=rule.column, check=rule.check)]


def _hours(rule: HoursWithinDayRule, cols: set[str], as_of: date) -> list[Expectation]:
    return [ExpectColumnValuesToBeHoursWithinADay(column=rule.column, max_hours=rule.max_hours)]


def _not_future(rule: NotFutureRule, cols: set[str], as_of: date) -> list[Expectation]:
    return [ExpectColumnValuesToNotBeAfterDate(column=rule.column, as_of=as_of.isoformat())]


def _id_birth(rule: IdBirthDateRule, cols: set[str], as_of: date) -> list[Expectation]:
    companions = _precisions(cols, rule.birth_date_column)
    if companions:
        return [
            ExpectResidentIdToMatchBirthDateAtPrecision(
                column_list=[rule.id_column, rule.birth_date_column, *companions]
            )
        ]
    return [
        ExpectResidentIdToMatchBirthDate(column_A=rule.id_column, column_B=rule.birth_date_column)
    ]


def _id_gender(rule: IdGenderRule, cols: set[str], as_of: date) -> list[Expectation]:
    return [ExpectResidentIdToMatchGender(column_A=rule.id_column, column_B=rule.gender_column)]


def _ladder(rule: LadderOrderRule, cols: set[str], as_of: date) -> list[Expectation]:
    steps = [c for c in rule.step_columns if c in cols]
    return [ExpectStatusDatesInLadderOrder(column_list=[*steps, *_precisions(cols, *steps)])]


def _date_order(rule: DateOrderRule, cols: set[str], as_of: date) -> list[Expectation]:
    dates = [c for c in rule.columns_in_order if c in cols]
    return [ExpectStatusDatesInLadderOrder(column_list=[*dates, *_precisions(cols, *dates)])]


def _min_age(rule: MinAgeRule, cols: set[str], as_of: date) -> list[Expectation]:
    dates = [rule.birth_date_column, rule.event_column]
    companions = _precisions(cols, *dates)
    if rule.id_column and rule.id_column in cols:
        return [
            ExpectApplicantToBeOfMinimumAgeOnId(
                column_list=[rule.id_column, *dates, *companions], min_age=rule.years
            )
        ]
    if companions:
        return [
            ExpectApplicantToBeOfMinimumAgeAtPrecision(
                column_list=[*dates, *companions], min_age=rule.years
            )
        ]
    return [
        ExpectApplicantToBeOfMinimumAge(
            column_A=rule.birth_date_column, column_B=rule.event_column, min_age=rule.years
        )
    ]


def _span(rule: SpanDaysRule, cols: set[str], as_of: date) -> list[Expectation]:
    companions = _precisions(cols, rule.start_column, rule.end_column)
    if companions:
        return [
            ExpectProbationToLastAboutOneYearAtPrecision(
                column_list=[rule.start_column, rule.end_column, *companions],
                min_days=rule.min_days,
                max_days=rule.max_days,
            )
        ]
    return [
        ExpectProbationToLastAboutOneYear(
            column_A=rule.start_column,
            column_B=rule.end_column,
            min_days=rule.min_days,
            max_days=rule.max_days,
        )
    ]


def _dues(rule: DuesAmountRule, cols: set[str], as_of: date) -> list[Expectation]:
    if rule.person_type_column not in cols:  # no person type: the widest configured range
        return [
            gx.expectations.ExpectColumnValuesToBeBetween(
                column=rule.amount_column,
                min_value=min(lo for lo, _ in rule.ranges.values()),
                max_value=max(hi for _, hi in rule.ranges.values()),
            )
        ]
    ranges = {str(kind): [lo, hi] for kind, (lo, hi) in rule.ranges.items()}
    return [
        ExpectDuesAmountWithinRule(
            column_list=[rule.amount_column, rule.person_type_column], ranges=ranges
        )
    ]


#: Rule kind → builder of its expectations. One entry per kind in quality.config.
BUILDERS: dict[type, Callable[[Any, set[str], date], list[Expectation]]] = {
    RequiredRule: _required,
    InSetRule: _in_set,
    RegexRule: _regex,
    BetweenRule: _between,
    ResidentIdRule: _resident_id,
    MobileRule: _mobile,
    HoursWithinDayRule: _hours,
    NotFutureRule: _not_future,
    IdBirthDateRule: _id_birth,
    IdGenderRule: _id_gender,
    LadderOrderRule: _ladder,
    DateOrderRule: _date_order,
    MinAgeRule: _min_age,
    SpanDaysRule: _span,
    DuesAmountRule: _dues,
}


def suite_rules(
    entity: str, config: QualityConfig, as_of: date, columns: Sequence[str]
) -> list[SuiteRule]:
    """The expectations for ``entity`` that can run on a frame with ``columns``."""
    present = set(columns)
    out: list[SuiteRule] = []
    for number, rule in enumerate(config.entity(entity).rules):
        if not rule.runnable(present):
            logger.debug(
                "%s rule %d (%s) skipped: its columns are absent", entity, number, rule.code
            )
            continue
        for expectation in BUILDERS[type(rule)](rule, present, as_of):
            expectation.severity = _SEVERITY[rule.severity]
            expectation.meta = {
                "reason_code": rule.code,
                "severity": rule.severity,
                "rule": number,
                "index": len(out),
            }
            out.append(SuiteRule(expectation, rule.code, rule.severity))
    return out


def build_suite(entity: str, rules: Sequence[SuiteRule]) -> gx.ExpectationSuite:
    """A GX suite named ``islandbridge.<entity>`` holding ``rules``' expectations."""
    gx_context()  # suites need an active context
    suite = gx.ExpectationSuite(name=f"islandbridge.{entity}")
    for rule in rules:
        suite.add_expectation(rule.expectation)
    return suite
