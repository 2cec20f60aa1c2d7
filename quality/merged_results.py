"""One GX validation result for a whole source validated batch by batch.

Every expectation of our suites is a map expectation (a verdict per row), so its
result over the source is the sum of its results over the batches: element, unexpected
and missing counts add up, percentages are computed again from the sums with GX's own
formulas (``_format_map_output``), an expectation succeeds when it succeeded on every
batch (no suite sets ``mostly``), and the suite's statistics are recomputed as GX
computes them. Data Docs rendered from the merged result describe every row.
Row positions are dropped as batches are added (the verdicts were taken from them).
"""

from __future__ import annotations

from typing import Any

__all__ = ["MergedValidation", "ResultMergeError"]

#: the keys of a map expectation's result (COMPLETE, values excluded, positions dropped)
_COUNTS = ("element_count", "unexpected_count", "missing_count")
_PERCENTS = (
    "unexpected_percent",
    "missing_percent",
    "unexpected_percent_total",
    "unexpected_percent_nonmissing",
)
_POSITIONS = ("unexpected_index_list", "partial_unexpected_index_list")
_KNOWN = {*_COUNTS, *_PERCENTS, *_POSITIONS}


class ResultMergeError(RuntimeError):
    """Two batches' results cannot be summed (not the same suite, or not map results)."""


def _percents(result: dict[str, Any]) -> None:
    """GX's percentages of a map result, from its counts (``_format_map_output``)."""
    elements, unexpected = result["element_count"], result["unexpected_count"]
    missing = result.get("missing_count")
    total = missing_pct = nonmissing = None
    if unexpected is not None and elements > 0:
        total = unexpected / elements * 100
        if missing is not None:
            missing_pct = missing / elements * 100
            nonnull = elements - missing
            nonmissing = unexpected / nonnull * 100 if nonnull > 0 else None
        else:
            nonmissing = total
    result["unexpected_percent"] = nonmissing
    if "missing_count" in result:
        result["missing_percent"] = missing_pct
        result["unexpected_percent_total"] = total
        result["unexpected_percent_nonmissing"] = nonmissing


def _drop_positions(result: Any) -> None:
    for item in result.results:
        for key in _POSITIONS:
            item.result.pop(key, None)


def _check_shape(item: Any) -> None:
    unknown = set(item.result) - _KNOWN
    if unknown or "element_count" not in item.result:
        raise ResultMergeError(
            f"{item.expectation_config.type}: not a map expectation's result "
            f"(keys {sorted(item.result)}); it cannot be summed over batches"
        )
    if (item.expectation_config.kwargs.get("mostly") or 1) != 1:
        raise ResultMergeError(f"{item.expectation_config.type}: 'mostly' is not summable")


class MergedValidation:
    """Add each batch's ``ExpectationSuiteValidationResult``; :attr:`result` is the whole
    source's (``None`` until a batch with rules was added). Batches must be validated
    against the same suite, in the same order of expectations."""

    def __init__(self) -> None:
        self.result: Any = None
        self.batches = 0

    def add(self, result: Any) -> None:
        if result is None:
            return
        _drop_positions(result)
        for item in result.results:
            _check_shape(item)
        self.batches += 1
        if self.result is None:
            self.result = result
            return
        if len(result.results) != len(self.result.results):
            raise ResultMergeError("batches were validated against different suites")
        for mine, theirs in zip(self.result.results, result.results, strict=True):
            if mine.expectation_config.meta != theirs.expectation_config.meta:
                raise ResultMergeError("batches were validated against different suites")
            mine.success = bool(mine.success and theirs.success)
            for key in _COUNTS:
                if key in mine.result:
                    mine.result[key] = mine.result[key] + theirs.result[key]
            _percents(mine.result)
        self._statistics()

    def _statistics(self) -> None:
        from great_expectations.validator.validation_statistics import (
            calc_validation_statistics,
        )

        stats = calc_validation_statistics(self.result.results)
        self.result.success = stats.success
        self.result.statistics = {
            "evaluated_expectations": stats.evaluated_expectations,
            "successful_expectations": stats.successful_expectations,
            "unsuccessful_expectations": stats.unsuccessful_expectations,
            "success_percent": stats.success_percent,
        }
