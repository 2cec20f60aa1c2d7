"""Every custom rule of a suite in one GX metric pass.

GX spends ~13 ms of its own per expectation (metric graph, configuration copies, one
filtered copy of the domain per map metric) before a row is judged: with 17 custom
rules that alone was more than the built-in expectations' whole validation. Here the
custom expectations of a suite are handed to GX as one expectation,
:class:`ExpectRowsToMeetRules`, whose single table metric evaluates each rule's own
condition (the ``_pandas`` function of the rule's metric provider, unwrapped) over the
batch at once and returns, per rule, how many rows it judged and which it found
unexpected. :mod:`quality.rule_results` turns that back into one result per declared
expectation, as GX reports a map expectation (counts, percentages, row positions).

A rule's rows are GX's domain for its kind: non-null values for a column rule, the rows
its ``ignore_row_if`` keeps for a pair or multicolumn rule. Conditions are row-wise, so
each is computed on the whole batch and read on its domain.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from great_expectations.core.metric_domain_types import MetricDomainTypes
from great_expectations.execution_engine import PandasExecutionEngine
from great_expectations.expectations.expectation import (
    BatchExpectation,
    ColumnMapExpectation,
    ColumnPairMapExpectation,
    Expectation,
    MulticolumnMapExpectation,
)
from great_expectations.expectations.metrics.metric_provider import metric_value
from great_expectations.expectations.metrics.table_metric_provider import TableMetricProvider

__all__ = [
    "GROUP_TYPE",
    "ExpectRowsToMeetRules",
    "is_custom",
    "rule_spec",
    "rule_verdicts",
]

#: the GX type name of the grouped expectation (never shown: its result is expanded)
GROUP_TYPE = "expect_rows_to_meet_rules"
_METRIC = "table.islandbridge_rule_verdicts"

_conditions: dict[str, tuple[type, Callable[..., Any]]] = {}


def _condition(metric: str) -> tuple[type, Callable[..., Any]]:
    """The metric provider of ``metric`` (one of ours) and its undecorated condition."""
    if not _conditions:
        from quality.expectations import (
            dates,
            dues,
            id_consistency,
            mobile,
            resident_id,
            status_ladder,
            volunteer,
        )

        for module in (dates, dues, id_consistency, mobile, resident_id, status_ladder, volunteer):
            for obj in vars(module).values():
                name = getattr(obj, "condition_metric_name", None)
                if isinstance(obj, type) and name and obj.__module__ == module.__name__:
                    _conditions[name] = (obj, inspect.unwrap(obj.__dict__["_pandas"]))
    if metric not in _conditions:
        raise KeyError(f"no islandbridge condition for metric {metric!r}")
    return _conditions[metric]


def is_custom(expectation: Expectation) -> bool:
    """An expectation of ours (evaluated in the one pass), not one of GX's own."""
    return type(expectation).__module__.startswith("quality.expectations")


def rule_spec(expectation: Expectation) -> dict[str, Any]:
    """What the one pass needs of a custom map expectation, as plain JSON-able values."""
    metric = expectation.map_metric  # type: ignore[attr-defined]
    provider, _ = _condition(metric)
    if isinstance(expectation, ColumnMapExpectation):
        shape, columns, ignore = "column", [expectation.column], None
    elif isinstance(expectation, ColumnPairMapExpectation):
        shape = "pair"
        columns = [expectation.column_A, expectation.column_B]
        ignore = expectation.ignore_row_if
    elif isinstance(expectation, MulticolumnMapExpectation):
        shape, columns, ignore = "multicolumn", list(expectation.column_list), None
        ignore = expectation.ignore_row_if
    else:
        raise TypeError(f"{type(expectation).__name__} is not a map expectation")
    keys = getattr(provider, "condition_value_keys", ())
    return {
        "metric": metric,
        "shape": shape,
        "columns": [str(c) for c in columns],
        "ignore_row_if": ignore,
        "kwargs": {k: getattr(expectation, k) for k in keys},
    }


def _domain(frame: pd.DataFrame, spec: dict[str, Any]) -> np.ndarray:
    """GX's rows for the rule (``dropna`` of the batch as its execution engine does it)."""
    present = frame[spec["columns"]].notna().to_numpy()
    ignore = spec["ignore_row_if"]
    if spec["shape"] == "column" or ignore in ("either_value_is_missing", "any_value_is_missing"):
        return present.all(axis=1)
    if ignore in ("both_values_are_missing", "all_values_are_missing"):
        return present.any(axis=1)
    if ignore in ("neither", "never"):
        return np.ones(len(frame), dtype=bool)
    raise ValueError(f"{spec['metric']}: unknown ignore_row_if {ignore!r}")


def _meets(frame: pd.DataFrame, spec: dict[str, Any]) -> pd.Series:
    provider, condition = _condition(spec["metric"])
    columns = spec["columns"]
    if spec["shape"] == "column":
        return condition(provider, frame[columns[0]], **spec["kwargs"])
    if spec["shape"] == "pair":
        return condition(provider, frame[columns[0]], frame[columns[1]], **spec["kwargs"])
    return condition(provider, frame[columns], **spec["kwargs"])


def rule_verdicts(frame: pd.DataFrame, specs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per rule: ``judged`` (rows in its domain) and ``unexpected`` (their index labels),
    or ``error`` (the exception's type name) where its condition could not run."""
    out: list[dict[str, Any]] = []
    for spec in specs:
        try:
            domain = _domain(frame, spec)
            meets = _meets(frame, spec)
            fails = domain & ~np.asarray(meets.to_numpy(), dtype=bool)
        except Exception as error:  # reported per rule, by its type only
            out.append({"error": type(error).__name__})
            continue
        out.append({"judged": int(domain.sum()), "unexpected": frame.index[fails].tolist()})
    return out


class TableRuleVerdicts(TableMetricProvider):
    """Every listed rule's verdicts over the batch, in one metric."""

    metric_name = _METRIC
    value_keys = ("rules",)

    @metric_value(engine=PandasExecutionEngine)
    def _pandas(
        cls,
        execution_engine: PandasExecutionEngine,
        metric_domain_kwargs: dict,
        metric_value_kwargs: dict,
        metrics: dict[str, Any],
        runtime_configuration: dict,
    ) -> list[dict[str, Any]]:
        frame, _, _ = execution_engine.get_compute_domain(
            domain_kwargs=metric_domain_kwargs, domain_type=MetricDomainTypes.TABLE
        )
        return rule_verdicts(frame, metric_value_kwargs["rules"])


class ExpectRowsToMeetRules(BatchExpectation):
    """Expect every row to meet each of ``rules`` (:func:`rule_spec` of custom map
    expectations), judged in one pass; the result lists each rule's verdicts."""

    rules: list[dict[str, Any]]

    metric_dependencies = (_METRIC,)
    success_keys = ("rules",)
    domain_keys = ("batch_id", "row_condition", "condition_parser")
    library_metadata: ClassVar[dict] = {"tags": ["islandbridge"], "contributors": []}

    def _validate(
        self,
        metrics: dict,
        runtime_configuration: dict | None = None,
        execution_engine: Any = None,
    ) -> dict[str, Any]:
        verdicts = metrics[_METRIC]
        failed = sum(len(v.get("unexpected", ())) for v in verdicts)
        errors = sum("error" in v for v in verdicts)
        return {
            "success": not failed and not errors,
            "result": {"observed_value": failed, "details": {"rules": verdicts}},
        }
