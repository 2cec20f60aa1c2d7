"""The suite GX runs, and one result per declared rule from what it ran.

The declared suite (:func:`quality.suites.suite_rules`) holds one expectation per rule.
GX runs its built-in expectations as they are and all the custom ones together as one
:class:`~quality.expectations.one_pass.ExpectRowsToMeetRules` (one metric pass over the
batch). :func:`expand_result` then replaces that grouped result by one result per custom
expectation, built as GX builds a map expectation's (``_format_map_output``: element,
unexpected and missing counts, percentages, row positions) with the expectation's own
configuration, in the declared order; the suite's statistics are computed again. Data
Docs, the row verdicts and :mod:`quality.merged_results` read each rule as before.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from quality.expectations.one_pass import (
    GROUP_TYPE,
    ExpectRowsToMeetRules,
    is_custom,
    rule_spec,
)

if TYPE_CHECKING:
    import great_expectations as gx

    from quality.suites import SuiteRule

__all__ = ["executed_suite", "expand_result"]


def executed_suite(entity: str, rules: Sequence[SuiteRule]) -> gx.ExpectationSuite:
    """The suite GX runs for ``rules``: the built-in expectations, then (if any) one
    grouped expectation for every custom one."""
    import great_expectations as gx

    from quality.gx_context import gx_context

    gx_context()  # suites need an active context
    suite = gx.ExpectationSuite(name=f"islandbridge.{entity}")
    custom: list[dict[str, Any]] = []
    for rule in rules:
        if is_custom(rule.expectation):
            custom.append(rule_spec(rule.expectation))
        else:
            suite.add_expectation(rule.expectation)
    if custom:
        suite.add_expectation(ExpectRowsToMeetRules(rules=custom, meta={"grouped": True}))
    return suite


def _rule_result(rule: SuiteRule, batch_id: Any, verdict: dict[str, Any], rows: int) -> Any:
    from great_expectations.core.expectation_validation_result import (
        ExpectationValidationResult,
    )
    from great_expectations.expectations.expectation import (
        _format_map_output,
        parse_result_format,
    )

    from quality.verdict import RESULT_FORMAT

    config = rule.expectation.configuration
    config.kwargs = {"batch_id": batch_id, **config.kwargs}  # as GX's validator sets it
    if "error" in verdict:
        return ExpectationValidationResult(
            success=False,
            expectation_config=config,
            result={},
            exception_info={
                "raised_exception": True,
                "exception_traceback": None,
                "exception_message": f"the rule's condition raised {verdict['error']}",
            },
        )
    unexpected = list(verdict["unexpected"])
    judged = int(verdict["judged"])
    formatted = _format_map_output(
        result_format=parse_result_format(RESULT_FORMAT),
        success=not unexpected,  # no suite sets 'mostly'; no row judged is vacuously true
        element_count=rows,
        nonnull_count=judged,
        unexpected_count=len(unexpected),
        unexpected_list=None,
        unexpected_index_list=unexpected,
    )
    return ExpectationValidationResult(
        success=formatted["success"],
        expectation_config=config,
        result=formatted["result"],
        exception_info={
            "raised_exception": False,
            "exception_traceback": None,
            "exception_message": None,
        },
    )


def _failed_group(item: Any) -> bool:
    info = item.exception_info or {}
    if info.get("raised_exception"):
        return True
    return any(isinstance(v, dict) and v.get("raised_exception") for v in info.values())


def _in_gx_order(results: list[Any]) -> list[Any]:
    """GX's order of results: grouped by ``column`` (first appearance; the expectations
    without one together), the declared order within a group."""
    groups: dict[str, list[Any]] = {}
    for item in results:
        column = item.expectation_config.kwargs.get("column")
        groups.setdefault(column if isinstance(column, str) else "", []).append(item)
    return [item for group in groups.values() for item in group]


def expand_result(result: Any, rules: Sequence[SuiteRule], rows: int) -> Any:
    """``result`` (of :func:`executed_suite`) with the grouped expectation's result
    replaced by one result per custom rule, in the order GX gives a suite's results."""
    from great_expectations.validator.validation_statistics import calc_validation_statistics

    grouped = [item for item in result.results if item.expectation_config.type == GROUP_TYPE]
    if not grouped:
        return result
    (item,) = grouped
    custom = [rule for rule in rules if is_custom(rule.expectation)]
    if _failed_group(item):  # the metric itself did not run: every custom rule failed
        verdicts = [{"error": "metric"} for _ in custom]
    else:
        verdicts = item.result["details"]["rules"]
    batch_id = item.expectation_config.kwargs.get("batch_id")
    by_rule = {
        id(rule): _rule_result(rule, batch_id, verdict, rows)
        for rule, verdict in zip(custom, verdicts, strict=True)
    }
    ran = {
        r.expectation_config.meta["index"]: r
        for r in result.results
        if r.expectation_config.type != GROUP_TYPE
    }
    declared = [
        by_rule[id(rule)] if id(rule) in by_rule else ran[rule.expectation.meta["index"]]
        for rule in rules
    ]
    result.results = _in_gx_order(declared)
    stats = calc_validation_statistics(result.results)
    result.success = stats.success
    result.statistics = {
        "evaluated_expectations": stats.evaluated_expectations,
        "successful_expectations": stats.successful_expectations,
        "unsuccessful_expectations": stats.unsuccessful_expectations,
        "success_percent": stats.success_percent,
    }
    return result
