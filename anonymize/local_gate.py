"""The privacy gate by local recoding: k / l with little information loss, measured.

:func:`recode_locally` builds each quasi-identifier's hierarchy from its ladder
(:mod:`anonymize.hierarchy`), recodes the table by Mondrian partitioning
(:mod:`anonymize.mondrian`), and — in the same call, on the same hierarchies and
budget — the global full-domain recoding that a whole-column gate would publish
(:mod:`anonymize.lattice`), so the report states the information loss of both
(:mod:`anonymize.information_loss`) and the utility kept per quasi-identifier.
Rows that must be suppressed beyond the budget make the gate refuse
(:class:`PrivacyThresholdError`).
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from anonymize.cover import cover_classes, cover_pair
from anonymize.errors import PolicyError, PrivacyThresholdError
from anonymize.hierarchy import TOP, QiHierarchy, build_hierarchies, interval_label
from anonymize.information_loss import combined_key, coverage, information_loss
from anonymize.lattice import global_recoding
from anonymize.mondrian import METRICS, mondrian
from anonymize.utility_targets import absorb_suppressed, place_suppressed, regroup_for_targets

__all__ = ["LocalRecodingReport", "published_labels", "recode_locally"]

log = logging.getLogger(__name__)


@dataclass(slots=True)
class LocalRecodingReport:
    """What the local gate did, its loss beside the global baseline, and what it kept."""

    rows_in: int
    rows_out: int
    k_required: int
    l_required: int
    quasi_identifiers: list[str]
    sensitive: list[str]
    met: bool
    method: str = "local recoding (Mondrian over the configured ladders)"
    metric: str = "ncp"
    weights: dict[str, float] = field(default_factory=dict)
    nested: dict[str, str] = field(default_factory=dict)
    level_loss: dict[str, list[float]] = field(default_factory=dict)
    k_achieved: int | None = None
    classes: int = 0
    suppressed_rows: int = 0
    suppressed_index: list[Any] = field(default_factory=list)
    information_loss: dict[str, Any] = field(default_factory=dict)
    coverage: dict[str, Any] = field(default_factory=dict)
    baseline: dict[str, Any] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    prosecutor_risk_max: float = 0.0
    prosecutor_risk_avg: float = 0.0
    #: the configured utility targets: level, share wanted, share achieved, met
    targets: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """The report for the manifest: without the suppressed rows' index and without the
        seconds (a publication's content, and so its version, must not depend on timing)."""
        return {
            k: getattr(self, k) for k in self.__slots__ if k not in ("suppressed_index", "seconds")
        }


def published_labels(
    table: pd.DataFrame,
    hierarchies: Sequence[QiHierarchy],
    levels: np.ndarray,
    bounds: Mapping[int, tuple[np.ndarray, np.ndarray]] | None = None,
) -> pd.DataFrame:
    """``table`` with each quasi-identifier (and a nested one's parent) replaced by its
    published label at the row's level (``*`` where generalised to the top; at an
    interval level the class's interval, ``"2003-2007"``, from ``bounds``)."""
    out = table.copy()
    for q, h in enumerate(hierarchies):
        lv = levels[:, q].astype(np.int64)
        text = np.empty(len(lv), dtype=object)
        for j in np.unique(lv):
            at = lv == j
            if h.is_interval(int(j)):
                lo, hi = (bounds or {})[q]
                pairs = pd.Series(list(zip(lo[at], hi[at], strict=True)), dtype=object)
                text[at] = [
                    None if np.isnan(a) else interval_label(a, b) for a, b in pairs.to_numpy()
                ]
                continue
            labels = np.array(h.labels[j], dtype=object)
            text[at] = labels[h.maps[j][h.codes[at]]]
        if h.parent is None:
            out[h.name] = pd.array(text, dtype="string")
            continue
        # nested: the child is published at level 0 only; the parent from level 0 up
        parent = np.array(h.parent_values or [], dtype=object)[h.codes]
        child = np.where(lv == 0, text, TOP)
        out[h.name] = pd.array(child, dtype="string")
        out[h.parent] = pd.array(np.where(lv == 0, parent, text), dtype="string")
    return out


def recode_locally(
    table: pd.DataFrame,
    quasi_identifiers: Sequence[str],
    k: int = 5,
    ladders: Mapping[str, Sequence[Any]] | None = None,
    sensitive: Sequence[str] = (),
    l: int = 2,  # noqa: E741 - the literature's name
    *,
    max_suppression_rate: float = 0.05,
    nested: Mapping[str, str] | None = None,
    weights: Mapping[str, float] | None = None,
    metric: str = "ncp",
    level_loss: Mapping[str, Sequence[float]] | None = None,
    baseline: bool = True,
    targets: Mapping[str, Mapping[str, Any]] | None = None,
) -> tuple[pd.DataFrame, LocalRecodingReport]:
    """Make ``table`` k-anonymous (l-diverse on ``sensitive``) by local recoding, or refuse.

    Returns the publishable rows (QIs replaced by their published labels, suppressed
    rows left out) and the report; with ``baseline`` the global recoding of the same
    ladders and budget is computed too and its loss reported beside. ``targets``: QI →
    ``{"level": <level name>, "share": <0..1>}``, the utility to reach where the search
    can (rows missing one are regrouped, :mod:`anonymize.utility_targets`); reported
    as met or not, never a reason to publish less safely. A target with ``"within":
    <nested QI>`` has its classes chosen exactly first (:mod:`anonymize.cover`).
    """
    qis = list(quasi_identifiers)
    sens = list(sensitive)
    if k < 1 or l < 1:
        raise PolicyError("privacy gate: k and l must be at least 1")
    if metric not in METRICS:
        raise PolicyError(f"privacy gate: unknown metric {metric!r}; known: {', '.join(METRICS)}")
    missing = [c for c in (*qis, *sens) if c not in table.columns]
    if missing:
        raise PolicyError(f"privacy gate: the table has no column(s) {', '.join(missing)}")
    unknown = sorted(set(weights or {}) - set(qis))
    if unknown:
        raise PolicyError(f"privacy gate: weights for non-quasi-identifiers: {unknown}")
    w = [float((weights or {}).get(q, 1.0)) for q in qis]
    unknown = sorted(set(level_loss or {}) - set(qis))
    if unknown:
        raise PolicyError(f"privacy gate: level losses for non-quasi-identifiers: {unknown}")
    overrides = [(level_loss or {}).get(q) for q in qis]
    started = time.perf_counter()
    hierarchies = build_hierarchies(table, qis, ladders, nested)
    for h, o in zip(hierarchies, overrides, strict=True):
        if o is not None and len(o) != h.top + 1:
            raise PolicyError(
                f"privacy gate: level_loss.{h.name} has {len(o)} values; its ladder has "
                f"{h.top + 1} levels ({', '.join(h.level_names)})"
            )
    sens_codes = [pd.factorize(table[s].astype("string"), use_na_sentinel=False)[0] for s in sens]
    n = len(table)
    budget = math.floor(max_suppression_rate * n)
    built = time.perf_counter()
    # the local search and its global baseline answer the same question
    search = {
        "k": k,
        "l": l if sens else 1,
        "sensitive": sens_codes,
        "weights": w,
        "suppression_budget": budget,
        "metric": metric,
        "level_loss": overrides,
    }
    wanted = _targets(hierarchies, targets)
    cover = None
    for name, spec in (targets or {}).items():
        if spec.get("within"):
            pair = cover_pair(hierarchies, wanted, name, str(spec["within"]))
            # the other interval target (the birth decade) is kept in the classes where it can
            also = [q for q in wanted if q not in pair and hierarchies[q].max_width is not None]
            cover = cover_classes(hierarchies, wanted, pair, k=k, also=also[0] if also else None)
    if cover is None:
        result = mondrian(hierarchies, **search)
    else:  # the chosen classes are refined, not broken up by suppressing their rows
        result = mondrian(hierarchies, **{**search, "suppression_budget": 0}, start=cover.groups)
    if wanted:
        result = regroup_for_targets(
            hierarchies,
            result,
            wanted,
            k=k,
            l=search["l"],
            sensitive=sens_codes,
            suppression_budget=budget,
            weights=w,
            metric=metric,
            level_loss=overrides,
        )
        result = absorb_suppressed(hierarchies, result, wanted)
        result = place_suppressed(
            hierarchies,
            result,
            k=k,
            l=search["l"],
            sensitive=sens_codes,
            weights=w,
            metric=metric,
            level_loss=overrides,
        )
    local_s = time.perf_counter() - built
    report = LocalRecodingReport(
        rows_in=n,
        rows_out=n - int(result.suppressed.sum()),
        k_required=k,
        l_required=l,
        quasi_identifiers=qis,
        sensitive=sens,
        met=False,
        metric=metric,
        weights=dict(zip(qis, w, strict=True)),
        level_loss={q: list(o) for q, o in zip(qis, overrides, strict=True) if o is not None},
        nested=dict(nested or {}),
    )
    loss = information_loss(hierarchies, result.levels, result.suppressed, w, result.bounds)
    report.information_loss = loss
    report.coverage = coverage(hierarchies, result.levels, result.suppressed)
    report.targets = {
        hierarchies[q].name: {
            "level": hierarchies[q].level_names[level],
            "share": share,
            "achieved": report.coverage[hierarchies[q].name]["at_or_finer"][level],
            "met": (report.coverage[hierarchies[q].name]["at_or_finer"][level] or 0) >= share,
        }
        for q, (level, share) in wanted.items()
    }
    report.k_achieved = loss.get("k_achieved")
    report.classes = int(loss.get("classes", 0))
    report.suppressed_rows = int(result.suppressed.sum())
    report.suppressed_index = list(table.index[result.suppressed])
    if report.rows_out:
        report.prosecutor_risk_max = 1.0 / float(report.k_achieved or 1)
        report.prosecutor_risk_avg = report.classes / report.rows_out
    report.seconds = {
        "hierarchies": round(built - started, 3),
        "local": round(local_s, 3),
    }
    if baseline:
        t0 = time.perf_counter()
        glob = global_recoding(hierarchies, **search)
        report.seconds["global"] = round(time.perf_counter() - t0, 3)
        report.baseline = {
            "method": "global full-domain recoding (optimal lattice search, same ladders "
            "and suppression budget)",
            "feasible": glob.feasible,
            "levels": {h.name: int(j) for h, j in zip(hierarchies, glob.node, strict=True)},
            "nodes_checked": glob.nodes_checked,
            "information_loss": information_loss(hierarchies, glob.levels, glob.suppressed, w),
            "coverage": coverage(hierarchies, glob.levels, glob.suppressed),
        }
    residue = report.suppressed_rows
    log.info(
        "local gate: k=%d on %s: %d rows in, %d out, %d suppressed; NCP %.4f",
        k,
        ",".join(qis),
        n,
        report.rows_out,
        residue,
        loss.get("ncp", 0.0),
    )
    if residue > budget or (n and report.rows_out == 0):
        raise PrivacyThresholdError(
            f"privacy gate refuses to publish: {residue} of {n} rows would have to be "
            f"suppressed to reach k={k}{f' / l={l}' if sens else ''}; the suppression "
            f"budget is {budget} ({max_suppression_rate:.1%})",
            report,
        )
    published = published_labels(table, hierarchies, result.levels, result.bounds)
    published = published.loc[~result.suppressed]
    _verify(published, hierarchies, k, report)
    report.met = True
    return published, report


def _targets(
    hierarchies: Sequence[QiHierarchy], targets: Mapping[str, Mapping[str, Any]] | None
) -> dict[int, tuple[int, float]]:
    """Targets by QI index and level index; unknown QIs or level names are refused."""
    out: dict[int, tuple[int, float]] = {}
    index = {h.name: q for q, h in enumerate(hierarchies)}
    for name, spec in (targets or {}).items():
        if name not in index:
            raise PolicyError(f"privacy gate: a utility target for non-quasi-identifier {name!r}")
        h = hierarchies[index[name]]
        level = spec.get("level")
        if level not in h.level_names:
            raise PolicyError(
                f"privacy gate: utility target of {name}: level {level!r} is not one of its "
                f"ladder's ({', '.join(h.level_names)})"
            )
        share = float(spec.get("share", 0.0))
        if not 0.0 <= share <= 1.0:
            raise PolicyError(f"privacy gate: utility target of {name}: share must be in 0..1")
        out[index[name]] = (h.level_names.index(level), share)
    return out


def _verify(
    published: pd.DataFrame,
    hierarchies: Sequence[QiHierarchy],
    k: int,
    report: LocalRecodingReport,
) -> None:
    """Check the published labels themselves, independently of the search: every class
    of equal published quasi-identifiers has at least k rows and no interval is wider
    than its step allows; else refuse."""
    columns = [h.name for h in hierarchies] + [h.parent for h in hierarchies if h.parent]
    if len(published):
        codes = [pd.factorize(published[c], use_na_sentinel=False)[0] for c in columns]
        sizes = np.bincount(combined_key(codes))
        if int(sizes.min()) < k:
            raise PrivacyThresholdError(
                f"privacy gate refuses to publish: a class of {int(sizes.min())} rows is "
                f"below k={k} in the published labels",
                report,
            )
    for h in hierarchies:
        if h.max_width is None:
            continue
        span = published[h.name].astype("string").str.extract(r"^(-?\d+)(?:-(-?\d+))?$")
        lo = pd.to_numeric(span[0], errors="coerce")
        hi = pd.to_numeric(span[1], errors="coerce").fillna(lo)
        # a wider label must be a fixed band of a later step, never an interval
        fixed = {x for j in range(2, h.top + 1) for x in h.labels[j] if x is not None}
        too_wide = ((hi - lo + 1) > h.max_width) & ~published[h.name].isin(list(fixed))
        if bool(too_wide.any()):
            raise PrivacyThresholdError(
                f"privacy gate refuses to publish: {h.name} has intervals wider than {h.max_width}",
                report,
            )
