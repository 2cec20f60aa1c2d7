"""Row verdicts from GX validation results: every row accepted (with flags) or quarantined.

The verdict of a row is read from GX's ``unexpected_index_list`` (result format
COMPLETE, unexpected values excluded so no personal data enters the results), not
from a second implementation of the rules.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from quality.config import QualityConfig

if TYPE_CHECKING:
    from quality.suites import SuiteRule

__all__ = [
    "PARSE_ERRORS_COLUMN",
    "QualityRuleError",
    "Verdict",
    "validate_batch",
    "validate_frame",
    "verdict_from_masks",
]

logger = logging.getLogger(__name__)

PARSE_ERRORS_COLUMN = "parse_errors"
#: codes of their own that say a field's value was there but could not be read
_REFUSED_CODES = {"id_number": "id_precision_lost", "mobile": "mobile_precision_lost"}
RESULT_FORMAT: dict[str, Any] = {
    "result_format": "COMPLETE",
    "exclude_unexpected_values": True,
    "return_unexpected_index_query": False,
    "partial_unexpected_count": 0,
}


class QualityRuleError(RuntimeError):
    """A rule could not be evaluated (never a row verdict; the message holds no row values)."""


@dataclass(frozen=True)
class Verdict:
    """Where each input row went: ``accepted`` (+ ``flags``) or ``quarantined`` (+ ``reasons``)."""

    accepted: pd.DataFrame
    quarantined: pd.DataFrame
    counts: dict[str, int]
    entity: str = ""
    data_docs_index: Path | None = None
    #: GX result statistics per expectation (type, code, severity, unexpected_count); no values.
    expectations: list[dict[str, Any]] = field(default_factory=list)

    def __iter__(self) -> Iterator[pd.DataFrame]:
        """``accepted, quarantined = verdict`` unpacks the two frames."""
        return iter((self.accepted, self.quarantined))


def _as_position_array(indices: Sequence[Any], n: int) -> np.ndarray:
    mask = np.zeros(n, dtype=bool)
    if len(indices):
        mask[np.asarray(indices, dtype=np.int64)] = True
    return mask


def _joined_one(codes: list[str], hits: np.ndarray | None, extra: str | None) -> str:
    parts = list(extra.split(";")) if extra else []
    if hits is not None:
        parts.extend(c for c, hit in zip(codes, hits, strict=True) if hit and c not in parts)
    return ";".join(parts)


def _joined(
    masks: Mapping[str, np.ndarray], rows: np.ndarray, extra: list[str] | None
) -> list[str]:
    """The ``;``-joined codes of each of ``rows``: ``extra``'s first, then each mask's.

    Rows share a handful of code combinations: each distinct (mask pattern, extra) is
    joined once and taken back to its rows.
    """
    codes = list(masks)
    if not codes and extra is None:
        return [""] * len(rows)
    if not len(rows):
        return []
    matrix = np.column_stack([masks[c][rows] for c in codes]) if codes else None
    keys: list[np.ndarray] = []
    if matrix is not None:
        packed = np.ascontiguousarray(np.packbits(matrix, axis=1))
        keys.append(np.unique(packed.view(f"V{packed.shape[1]}").ravel(), return_inverse=True)[1])
    if extra is not None:
        keys.append(pd.factorize(np.asarray(extra, dtype=object))[0])
    combined = keys[0].astype(np.int64)
    if len(keys) == 2:
        combined = combined * (int(keys[1].max()) + 1) + keys[1]
    _, first, inverse = np.unique(combined, return_index=True, return_inverse=True)
    distinct = np.array(
        [
            _joined_one(
                codes,
                matrix[i] if matrix is not None else None,
                extra[i] if extra is not None else None,
            )
            for i in first
        ],
        dtype=object,
    )
    return distinct[inverse.ravel()].tolist()


def verdict_from_masks(
    frame: pd.DataFrame,
    errors: Mapping[str, np.ndarray],
    warnings: Mapping[str, np.ndarray],
    *,
    entity: str = "",
    parse_errors: pd.Series | None = None,
) -> Verdict:
    """Split ``frame`` by per-code boolean masks (positional, ``len(frame)`` long).

    A row with any error code, or a non-empty ``parse_errors`` value, is quarantined with
    its codes; every other row is accepted with its warning codes as flags.
    """
    n = len(frame)
    parse = None
    if parse_errors is not None:
        parse = parse_errors.astype("string").fillna("").str.strip(";").to_numpy(dtype=object)
    bad = np.zeros(n, dtype=bool)
    for mask in errors.values():
        bad |= mask
    if parse is not None:
        bad |= parse != ""
    bad_rows = np.flatnonzero(bad)
    good_rows = np.flatnonzero(~bad)
    quarantined = frame.iloc[bad_rows].copy()
    reasons = _joined(errors, bad_rows, list(parse[bad_rows]) if parse is not None else None)
    quarantined["reasons"] = pd.array(reasons, dtype="string")
    accepted = frame.iloc[good_rows].copy()
    flagged = np.zeros(n, dtype=bool)
    for mask in warnings.values():
        flagged |= mask
    flags = np.full(len(good_rows), "", dtype=object)
    flag_rows = np.flatnonzero(flagged[good_rows])
    if len(flag_rows):
        flags[flag_rows] = _joined(warnings, good_rows[flag_rows], None)
    counts: dict[str, int] = {}
    for joined, times in Counter([*reasons, *flags[flag_rows]]).items():
        for code in joined.split(";"):
            counts[code] = counts.get(code, 0) + times
    merged = pd.array(flags, dtype="string")
    if "flags" in frame.columns:  # a frame that already went through a verdict keeps its flags
        before = frame["flags"].astype("string").fillna("").array[good_rows]
        both = (before != "") & (merged != "")
        merged = pd.Series(before + ";" + merged).where(both, before + merged).array
    accepted["flags"] = merged
    return Verdict(accepted=accepted, quarantined=quarantined, counts=counts, entity=entity)


def validate_frame(
    frame: pd.DataFrame,
    entity: str,
    config: QualityConfig,
    as_of: date,
    data_docs_dir: Path | None = None,
) -> Verdict:
    """Validate ``frame`` (canonical columns of ``entity`` + provenance) with the entity's suite.

    Returns the exact split of the input rows: ``len(accepted) + len(quarantined) ==
    len(frame)``. Rules whose columns are absent are skipped. With ``data_docs_dir``,
    GX Data Docs of this validation are built there and linked from ``data_docs_index``.
    """
    started = time.perf_counter()
    verdict, result = validate_batch(frame, entity, config, as_of)
    docs_index = None
    if data_docs_dir is not None and result is not None:
        from quality.data_docs import build_data_docs

        docs_index = build_data_docs(result, Path(data_docs_dir))
    logger.info(
        "%s: %d rows validated by %d expectations in %.1fs: %d accepted, %d quarantined",
        entity,
        len(frame),
        len(verdict.expectations),
        time.perf_counter() - started,
        len(verdict.accepted),
        len(verdict.quarantined),
    )
    return Verdict(
        accepted=verdict.accepted,
        quarantined=verdict.quarantined,
        counts=verdict.counts,
        entity=entity,
        data_docs_index=docs_index,
        expectations=verdict.expectations,
    )


def validate_batch(
    frame: pd.DataFrame, entity: str, config: QualityConfig, as_of: date
) -> tuple[Verdict, Any]:
    """:func:`validate_frame` without Data Docs: the verdict and GX's validation result
    (``None`` when no rule ran), for a caller that validates a source batch by batch
    and merges the results (:mod:`quality.merged_results`)."""
    from quality.expectations._conditions import clear_id_memo
    from quality.gx_context import dataframe_batch
    from quality.rule_results import executed_suite, expand_result
    from quality.suites import suite_rules

    rules = suite_rules(entity, config, as_of, list(frame.columns))
    needed = list(dict.fromkeys(c for r in rules for c in _expectation_columns(r)))
    work = frame[needed].reset_index(drop=True)
    n = len(frame)
    errors: dict[str, np.ndarray] = {}
    warnings: dict[str, np.ndarray] = {}
    stats: list[dict[str, Any]] = []
    result = None
    if rules and n:
        suite = executed_suite(entity, rules)
        try:
            result = dataframe_batch(work).validate(suite, result_format=RESULT_FORMAT)
        finally:
            clear_id_memo()
        result = expand_result(result, rules, n)
        by_index = {i: r for i, r in enumerate(rules)}
        for item in result.results:
            meta = item.expectation_config.meta or {}
            rule: SuiteRule = by_index[int(meta["index"])]
            if _raised(item.exception_info):
                raise QualityRuleError(
                    f"{entity}: rule {rule.code} ({item.expectation_config.type}) could not run"
                )
            indices = item.result.get("unexpected_index_list") or []
            mask = _as_position_array(indices, n)
            if item.expectation_config.type == "expect_column_values_to_not_be_null":
                mask &= ~_refused(frame, item.expectation_config.kwargs["column"])
            target = errors if rule.severity == "error" else warnings
            target[rule.code] = target[rule.code] | mask if rule.code in target else mask
            stats.append(
                {
                    "expectation": item.expectation_config.type,
                    "code": rule.code,
                    "severity": rule.severity,
                    "unexpected_count": int(mask.sum()),
                }
            )
    parse = frame[PARSE_ERRORS_COLUMN] if PARSE_ERRORS_COLUMN in frame.columns else None
    verdict = verdict_from_masks(frame, errors, warnings, entity=entity, parse_errors=parse)
    verdict = Verdict(
        accepted=verdict.accepted,
        quarantined=verdict.quarantined,
        counts=verdict.counts,
        entity=entity,
        expectations=stats,
    )
    return verdict, result


def _refused(frame: pd.DataFrame, column: str) -> np.ndarray:
    """Rows whose ``column`` held a value the standardiser refused (``<column>:<problem>``,
    ``id_precision_lost``): it is not missing, and saying so would tell the department
    the wrong story; the refusal is its reason."""
    if PARSE_ERRORS_COLUMN not in frame.columns:
        return np.zeros(len(frame), dtype=bool)
    codes = ";" + frame[PARSE_ERRORS_COLUMN].astype("string").fillna("") + ";"
    refused = codes.str.contains(f";{column}:", regex=False)
    if column in _REFUSED_CODES:
        refused |= codes.str.contains(f";{_REFUSED_CODES[column]};", regex=False)
    return refused.fillna(False).to_numpy(dtype=bool)


def _expectation_columns(rule: SuiteRule) -> list[str]:
    exp = rule.expectation
    cols: list[str] = []
    for attr in ("column", "column_A", "column_B"):
        value = getattr(exp, attr, None)
        if value:
            cols.append(value)
    cols.extend(getattr(exp, "column_list", None) or [])
    return cols


def _raised(info: Any) -> bool:
    """GX reports a failed metric either flat or keyed by metric id."""
    if not isinstance(info, dict):
        return False
    if info.get("raised_exception"):
        return True
    return any(isinstance(v, dict) and v.get("raised_exception") for v in info.values())
