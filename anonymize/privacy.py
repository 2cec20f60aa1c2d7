"""The privacy gate: k-anonymity and l-diversity on a table published at person level.

When a table does not meet k (every combination of quasi-identifier values shared
by at least k rows) or l (at least l distinct values of each sensitive attribute
in every such class), the gate climbs the configured generalisation ladders
(Datafly-style: the quasi-identifier with the most distinct values goes up one
step at a time) until the rows still violating fit the suppression budget; those
rows are then suppressed, counted and listed in the report. If the ladders run out
with more violating rows than the budget, the gate refuses:
:class:`PrivacyThresholdError`, and nothing may be published.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np
import pandas as pd

from anonymize.errors import PolicyError, PrivacyThresholdError
from anonymize.hierarchy import ladder_operator
from anonymize.operators import Operator, OperatorContext
from domain import FieldKind

__all__ = ["LadderStep", "PrivacyReport", "enforce_k_anonymity", "equivalence_class_sizes"]

log = logging.getLogger(__name__)

#: A ladder step: an operator, an ``OperatorSpec``, ``{"operator": ..., "params": ...}`` or a name.
LadderStep = Any


@dataclass(slots=True)
class PrivacyReport:
    """What the gate did and the re-identification risk of what it lets through."""

    rows_in: int
    rows_out: int
    k_required: int
    l_required: int
    quasi_identifiers: list[str]
    sensitive: list[str]
    met: bool
    k_achieved: int | None = None
    l_achieved: int | None = None
    suppressed_rows: int = 0
    #: index labels (of the input table) of the suppressed rows
    suppressed_index: list[Any] = field(default_factory=list)
    #: generalisation steps applied, in order ("birth_date: generalise(to=year)")
    steps: list[str] = field(default_factory=list)
    #: equivalence-class size → number of classes of that size (published rows)
    class_sizes: dict[int, int] = field(default_factory=dict)
    classes: int = 0
    prosecutor_risk_max: float = 0.0
    prosecutor_risk_avg: float = 0.0
    journalist_risk_max: float = 0.0
    journalist_risk_avg: float = 0.0
    #: "population" when a population table was given, else "sample" (an upper bound)
    journalist_basis: str = "sample"

    def as_dict(self) -> dict[str, Any]:
        data = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "suppressed_index"}
        data["class_sizes"] = {str(s): n for s, n in sorted(self.class_sizes.items())}
        return data


def _class_ids(table: pd.DataFrame, qis: Sequence[str]) -> np.ndarray:
    if not qis:
        return np.zeros(len(table), dtype=np.int64)
    return table.groupby(list(qis), dropna=False, sort=False, observed=True).ngroup().to_numpy()


def equivalence_class_sizes(table: pd.DataFrame, quasi_identifiers: Sequence[str]) -> pd.Series:
    """Per row, the size of its equivalence class on the quasi-identifiers."""
    ids = _class_ids(table, quasi_identifiers)
    counts = np.bincount(ids) if len(ids) else np.zeros(0, dtype=np.int64)
    return pd.Series(counts[ids] if len(ids) else [], index=table.index, dtype="int64")


def _diversity(table: pd.DataFrame, ids: np.ndarray, sensitive: Sequence[str]) -> pd.Series:
    """Per row, the fewest distinct non-null sensitive values in its class (over attributes)."""
    if not sensitive or table.empty:
        return pd.Series(np.iinfo(np.int64).max, index=table.index, dtype="int64")
    per_attr = []
    for s in sensitive:
        frame = pd.DataFrame({"g": ids, "v": table[s].to_numpy()})
        distinct = frame.groupby("g")["v"].nunique(dropna=True)
        per_attr.append(distinct.reindex(ids).to_numpy())
    return pd.Series(np.min(np.vstack(per_attr), axis=0), index=table.index, dtype="int64")


def _violations(
    table: pd.DataFrame,
    qis: Sequence[str],
    sensitive: Sequence[str],
    k: int,
    l: int,  # noqa: E741
) -> pd.Series:
    ids = _class_ids(table, qis)
    sizes = np.bincount(ids)[ids] if len(ids) else np.zeros(0, dtype=np.int64)
    bad = sizes < k
    if sensitive:
        bad |= _diversity(table, ids, sensitive).to_numpy() < l
    return pd.Series(bad, index=table.index)


def _distinct(series: pd.Series) -> int:
    return int(series.nunique(dropna=False))


def _risk(
    report: PrivacyReport,
    published: pd.DataFrame,
    qis: Sequence[str],
    population: pd.DataFrame | None,
) -> None:
    if published.empty:
        report.met = True
        return
    ids = _class_ids(published, qis)
    counts = np.bincount(ids)
    sizes = counts[ids]
    report.classes = len(counts)
    report.k_achieved = int(counts.min())
    values, freq = np.unique(counts, return_counts=True)
    report.class_sizes = {int(v): int(f) for v, f in zip(values, freq, strict=True)}
    report.prosecutor_risk_max = 1.0 / float(counts.min())
    report.prosecutor_risk_avg = float(len(counts)) / float(len(published))
    if report.sensitive:
        report.l_achieved = int(_diversity(published, ids, report.sensitive).min())
    if population is None:
        report.journalist_basis = "sample"
        report.journalist_risk_max = report.prosecutor_risk_max
        report.journalist_risk_avg = float(np.mean(1.0 / sizes))
        return
    report.journalist_basis = "population"
    pop_sizes = population.groupby(list(qis), dropna=False, observed=True).size().rename("F")
    joined = (
        published[list(qis)]
        .merge(pop_sizes.reset_index(), how="left", on=list(qis))["F"]
        .fillna(1)
        .to_numpy(dtype=float)
    )  # not in the population: unique
    joined = np.maximum(joined, 1.0)
    report.journalist_risk_max = float(1.0 / joined.min())
    report.journalist_risk_avg = float(np.mean(1.0 / joined))


def enforce_k_anonymity(
    table: pd.DataFrame,
    quasi_identifiers: Sequence[str],
    k: int = 5,
    ladders: Mapping[str, Sequence[LadderStep]] | None = None,
    sensitive: Sequence[str] = (),
    l: int = 2,  # noqa: E741 - the literature's name
    *,
    max_suppression_rate: float = 0.05,
    population: pd.DataFrame | None = None,
) -> tuple[pd.DataFrame, PrivacyReport]:
    """Make ``table`` k-anonymous (and l-diverse on ``sensitive``) or refuse.

    Returns the publishable table (generalised, residue suppressed) and its
    :class:`PrivacyReport`. Raises :class:`PrivacyThresholdError` (carrying the report)
    when, with every ladder climbed, more than ``max_suppression_rate`` of the rows
    would still have to be suppressed. ``population`` (optional, same columns) gives
    the journalist risk against a known population; it is generalised the same way.
    """
    qis = list(quasi_identifiers)
    sens = list(sensitive)
    missing = [c for c in (*qis, *sens) if c not in table.columns]
    if missing:
        raise PolicyError(f"privacy gate: the table has no column(s) {', '.join(missing)}")
    if k < 1 or l < 1:
        raise PolicyError("privacy gate: k and l must be at least 1")
    steps_left: dict[str, list[Operator]] = {
        q: [ladder_operator(s) for s in (ladders or {}).get(q, [])] for q in qis
    }
    unknown = sorted(set(ladders or {}) - set(qis))
    if unknown:
        raise PolicyError(f"privacy gate: ladders for non-quasi-identifiers: {unknown}")
    work = table.copy()
    pop = population.copy() if population is not None else None
    n = len(work)
    budget = math.floor(max_suppression_rate * n)
    report = PrivacyReport(
        rows_in=n,
        rows_out=n,
        k_required=k,
        l_required=l,
        quasi_identifiers=qis,
        sensitive=sens,
        met=False,
    )
    bad = _violations(work, qis, sens, k, l)
    while int(bad.sum()) > budget:
        climbable = [q for q in qis if steps_left[q]]
        if not climbable:
            break
        q = max(climbable, key=lambda c: (_distinct(work[c]), -qis.index(c)))
        op = steps_left[q].pop(0)
        ctx = OperatorContext(field=q, kind=FieldKind.QUASI_IDENTIFIER, frame=work)
        work[q] = _climb(op, work[q], ctx)
        if pop is not None:
            pop[q] = _climb(op, pop[q], OperatorContext(q, FieldKind.QUASI_IDENTIFIER, frame=pop))
        report.steps.append(f"{q}: {op.name}({_params_text(op)})")
        bad = _violations(work, qis, sens, k, l)
    residue = int(bad.sum())
    report.suppressed_rows = residue
    report.suppressed_index = list(work.index[bad.to_numpy()])
    published = work.loc[~bad.to_numpy()]
    report.rows_out = len(published)
    _risk(report, published, qis, pop)
    log.info(
        "privacy gate: k=%d l=%d on %s: %d rows in, %d out, %d suppressed; steps: %s",
        k,
        l,
        ",".join(qis),
        n,
        report.rows_out,
        residue,
        "; ".join(report.steps) or "none",
    )
    if residue > budget:
        report.met = False
        raise PrivacyThresholdError(
            f"privacy gate refuses to publish: {residue} of {n} rows still violate k={k}"
            f"{f' / l={l}' if sens else ''} after every generalisation step; the suppression "
            f"budget is {budget} ({max_suppression_rate:.1%})",
            report,
        )
    report.met = True
    return published, report


def _climb(op: Operator, values: pd.Series, ctx: OperatorContext) -> pd.Series:
    """One ladder step. At the top of a ladder every value, a missing one too, becomes ``*``:
    "unknown" is information as well, and a class of the missing must be able to merge."""
    result = op.apply(values, ctx)
    if result is None or _is_top(op):  # "suppress" or "generalise to top": says nothing
        return pd.Series("*", index=values.index, dtype="string")
    return result


def _is_top(op: Operator) -> bool:
    return getattr(op.params, "to", None) == "top"


def _params_text(op: Operator) -> str:
    return ", ".join(
        f"{k}={v}"
        for k, v in op.params.model_dump(exclude_defaults=True).items()
        if k != "hierarchy"
    )
