"""Local recoding by top-down Mondrian partitioning over generalisation hierarchies.

Every row starts at the top of every ladder (one partition). A partition is split
by taking one quasi-identifier one level down its ladder: the children that are
k-anonymous (and l-diverse) keep the finer value; the rows of the children that
are too small stay together at the coarser value (a "rest" partition, which must
itself be valid: the smallest valid children are added back to it, or — when it is
cheaper and the suppression budget allows — its few rows are suppressed). Of the
possible splits the one that removes the most weighted information loss (NCP,
weighted per quasi-identifier) is taken; partitions are split until none can be.
Every final partition is an equivalence class of at least k rows.

A numeric QI with an interval step (:mod:`anonymize.hierarchy`) is split at points the
data choose: its known values are cut into intervals of at most ``max_width`` holding
at least k rows each, covering as many rows as possible (:func:`interval_groups`, an
exact 1-D dynamic programme); each final class publishes the interval its rows span.

This is multidimensional *local* recoding (LeFevre et al., Mondrian, ICDE 2006,
with categorical hierarchies as in Xu et al., KDD 2006): the same value may be
published at different levels in different classes.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from anonymize.hierarchy import INTERVAL_LEVEL, QiHierarchy

__all__ = ["METRICS", "MondrianResult", "interval_groups", "level_losses", "mondrian"]

#: search metrics: "ncp" (normalised certainty penalty of the published node) or
#: "intensity" (level / ladder height: each step up the ladder costs the same)
METRICS = ("ncp", "intensity")


def level_losses(
    h: QiHierarchy, metric: str, override: Sequence[float] | None = None
) -> list[np.ndarray]:
    """Per level, the loss of each code at that level (0 at the value, 1 at ``*``);
    ``override`` gives one loss per level instead (the analyst's value of each level)."""
    if override is not None:
        if len(override) != h.top + 1:
            raise ValueError(
                f"{h.name}: {len(override)} level losses for a ladder of {h.top + 1} levels"
            )
        return [np.full(len(h.leaves[j]), float(override[j])) for j in range(h.top + 1)]
    if metric == "ncp":
        return [h.ncp(j, np.arange(len(h.leaves[j]))) for j in range(h.top + 1)]
    if metric == "intensity":
        return [np.full(len(h.leaves[j]), j / h.top if h.top else 0.0) for j in range(h.top + 1)]
    raise ValueError(f"unknown search metric {metric!r}; known: {', '.join(METRICS)}")


@dataclass(frozen=True)
class MondrianResult:
    #: (rows, quasi-identifiers) level of each published value
    levels: np.ndarray
    suppressed: np.ndarray  # bool per row
    partitions: int
    #: per interval quasi-identifier (its index): the (lo, hi) each row's class publishes
    #: at the interval level (NaN where the row is published at another level)
    bounds: dict[int, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)


def _valid(
    rows: np.ndarray,
    inv: np.ndarray,
    counts: np.ndarray,
    k: int,
    l: int,  # noqa: E741
    sens: list[np.ndarray],
) -> np.ndarray:
    ok = counts >= k
    for s in sens:
        pairs = np.unique(np.stack([inv, s[rows]]), axis=1)
        distinct = np.bincount(pairs[0], minlength=len(counts))
        ok &= distinct >= l
    return ok


def _group_valid(rows: np.ndarray, k: int, l: int, sens: list[np.ndarray]) -> bool:  # noqa: E741
    if len(rows) < k:
        return False
    return all(len(np.unique(s[rows])) >= l for s in sens)


def _settle(
    rows: np.ndarray,
    inv: np.ndarray,
    ok: np.ndarray,
    counts: np.ndarray,
    gain_per: np.ndarray,
    k: int,
    l: int,  # noqa: E741
    sens: list[np.ndarray],
    budget: int,
    suppress_cost_per_row: float,
) -> tuple[float, np.ndarray, np.ndarray, bool] | None:
    """Given children (``inv``) of which ``ok`` are valid, settle the rest: keep it (valid),
    add the valid children of least gain back to it, or suppress it within the budget."""
    rest_mask = ~ok
    rest_rows = rows[rest_mask[inv]]
    drop = False
    if len(rest_rows) and not _group_valid(rest_rows, k, l, sens):
        # add the valid children of least gain back to the rest until it is valid
        order = np.argsort(np.where(ok, gain_per * counts, np.inf), kind="stable")
        merged = rest_mask.copy()
        merge_cost, found = 0.0, False
        for c in order:
            if not ok[c]:
                break
            merged[c] = True
            merge_cost += gain_per[c] * counts[c]
            if _group_valid(rows[merged[inv]], k, l, sens):
                found = True
                break
        if not found:
            merge_cost = np.inf
        merged_ok = found and bool((~merged).any())
        suppress_cost = len(rest_rows) * suppress_cost_per_row
        if len(rest_rows) <= budget and suppress_cost < merge_cost:
            drop = True
        elif merged_ok:
            ok = ~merged
        else:
            return None
    gain = float((gain_per * counts)[ok].sum())
    if drop:
        gain -= len(rest_rows) * suppress_cost_per_row
    if gain <= 0:
        return None
    return gain, inv, ok, drop


def _split(
    rows: np.ndarray,
    h: QiHierarchy,
    target: int,
    here: float,
    weight: float,
    target_loss: np.ndarray,
    k: int,
    l: int,  # noqa: E741
    sens: list[np.ndarray],
    budget: int,
    suppress_cost_per_row: float,
) -> tuple[float, np.ndarray, np.ndarray, bool] | None:
    """The gain of taking ``h`` down to ``target`` in this partition, the children (inverse
    index and which are kept) and whether the rest is suppressed; None if it cannot."""
    child = h.maps[target][h.codes[rows]]
    uniq, inv, counts = np.unique(child, return_inverse=True, return_counts=True)
    ok = _valid(rows, inv, counts, k, l, sens)
    if not ok.any():
        return None
    gain_per = weight * (here - target_loss[uniq])  # per row of each child
    return _settle(rows, inv, ok, counts, gain_per, k, l, sens, budget, suppress_cost_per_row)


def interval_groups(values: np.ndarray, counts: np.ndarray, k: int, max_width: int) -> np.ndarray:
    """Optimal 1-D grouping: sorted distinct whole ``values`` (with ``counts``) cut into
    runs of at least ``k`` rows spanning at most ``max_width`` (hi - lo + 1), covering as
    many rows as possible (ties: narrower); the rows of one value stay in one run.
    Returns each value's group (-1: in none)."""
    m = len(values)
    best_cov = np.zeros(m + 1, dtype=np.int64)
    best_width = np.zeros(m + 1, dtype=np.int64)
    start = np.full(m + 1, -1, dtype=np.int64)  # start of the group ending here, -1: skip
    cum = np.concatenate([[0], np.cumsum(counts)])
    for i in range(1, m + 1):
        best_cov[i], best_width[i], start[i] = best_cov[i - 1], best_width[i - 1], -1
        s = i - 1
        while s >= 0 and values[i - 1] - values[s] + 1 <= max_width:
            size = int(cum[i] - cum[s])
            if size >= k:
                cov = best_cov[s] + size
                width = best_width[s] + int(values[i - 1] - values[s]) * size
                if cov > best_cov[i] or (cov == best_cov[i] and width < best_width[i]):
                    best_cov[i], best_width[i], start[i] = cov, width, s
            s -= 1
    group = np.full(m, -1, dtype=np.int64)
    i, g = m, 0
    while i > 0:
        if start[i] < 0:
            i -= 1
            continue
        group[start[i] : i] = g
        g += 1
        i = int(start[i])
    return group


def _interval_loss(h: QiHierarchy, metric: str, override, lo, hi) -> np.ndarray:
    """Loss of publishing intervals [lo, hi] at the interval level."""
    if override is not None:
        return np.full(np.shape(lo), float(override[INTERVAL_LEVEL]))
    if metric == "intensity":
        return np.full(np.shape(lo), INTERVAL_LEVEL / h.top)
    return h.interval_ncp(lo, hi)


def _split_interval(
    rows: np.ndarray,
    h: QiHierarchy,
    here: float,
    weight: float,
    loss_of,
    k: int,
    l: int,  # noqa: E741
    sens: list[np.ndarray],
    budget: int,
    suppress_cost_per_row: float,
) -> tuple[float, np.ndarray, np.ndarray, bool] | None:
    """Taking ``h`` down to its data-driven interval level: the known values are cut into
    intervals of at most ``max_width`` holding at least k rows each (missing values form
    one child of their own); rows in no interval form the rest."""
    assert h.numeric is not None and h.max_width is not None
    vals = h.numeric[h.codes[rows]]
    known = ~np.isnan(vals)
    child = np.full(len(rows), -1, dtype=np.int64)
    uv, vinv, vcounts = np.unique(vals[known], return_inverse=True, return_counts=True)
    groups = interval_groups(uv, vcounts, k, h.max_width) if len(uv) else uv.astype(np.int64)
    n_groups = int(groups.max()) + 1 if len(groups) and groups.max() >= 0 else 0
    if len(uv):
        child[known] = groups[vinv]
    child[~known] = n_groups  # missing values: one child
    child[child < 0] = n_groups + 1  # in no interval: a child that is never kept
    uniq, inv, counts = np.unique(child, return_inverse=True, return_counts=True)
    ok = _valid(rows, inv, counts, k, l, sens) & (uniq <= n_groups)
    if not ok.any():
        return None
    lo = np.full(len(uniq), np.nan)
    hi = np.full(len(uniq), np.nan)
    for j, c in enumerate(uniq):
        if c < n_groups:
            v = uv[groups == c]
            lo[j], hi[j] = v.min(), v.max()
    gain_per = weight * (here - loss_of(lo, hi))
    return _settle(rows, inv, ok, counts, gain_per, k, l, sens, budget, suppress_cost_per_row)


def _starts(
    start: Sequence[tuple[np.ndarray, np.ndarray]],
    n: int,
    tops: np.ndarray,
    k: int,
    l: int,  # noqa: E741
    sens: list[np.ndarray],
) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """The start partitions and the rest at the top, or none when one of them is not
    valid or they overlap."""
    if not start:
        return []
    seen = np.zeros(n, dtype=np.int64)
    out = []
    for rows, lv in start:
        rows = np.asarray(rows, dtype=np.int64)
        if not _group_valid(rows, k, l, sens) or (np.asarray(lv) > tops).any():
            return []
        seen[rows] += 1
        out.append((rows, np.asarray(lv, dtype=np.int64).copy(), np.zeros(len(tops), np.int64)))
    if (seen > 1).any():
        return []
    rest = np.flatnonzero(seen == 0)
    if len(rest):
        if not _group_valid(rest, k, l, sens):
            return []
        out.append((rest, tops.copy(), np.zeros(len(tops), np.int64)))
    return out


def mondrian(
    hierarchies: Sequence[QiHierarchy],
    *,
    k: int,
    l: int = 1,  # noqa: E741 - the literature's name
    sensitive: Sequence[np.ndarray] = (),
    weights: Sequence[float] | None = None,
    suppression_budget: int = 0,
    metric: str = "ncp",
    level_loss: Sequence[Sequence[float] | None] | None = None,
    start: Sequence[tuple[np.ndarray, np.ndarray]] = (),
) -> MondrianResult:
    """Levels per row and QI that make the table k-anonymous (l-diverse on ``sensitive``,
    coded per row) with little weighted loss; rows suppressed within ``suppression_budget``.

    ``start``: partitions to begin with instead of the whole table — row positions and
    their levels (e.g. :func:`anonymize.cover.cover_classes`); the rows in none form one
    more, at the top. They are only split further. Used when each of them, and the rest,
    is valid; else the search starts from the whole table.
    If the whole table is not valid, every row is suppressed (the caller refuses).
    """
    q_count = len(hierarchies)
    n = len(hierarchies[0].codes) if hierarchies else 0
    w = np.asarray(weights if weights is not None else [1.0] * q_count, dtype=float)
    sens = [np.asarray(s) for s in sensitive]
    tops = np.array([h.top for h in hierarchies], dtype=np.int64)
    levels = np.tile(tops, (n, 1)).astype(np.int8) if n else np.zeros((0, q_count), np.int8)
    suppressed = np.zeros(n, dtype=bool)
    all_rows = np.arange(n, dtype=np.int64)
    if n == 0:
        return MondrianResult(levels, suppressed, 0)
    overrides = level_loss or [None] * q_count
    loss = [level_losses(h, metric, o) for h, o in zip(hierarchies, overrides, strict=True)]
    if not _group_valid(all_rows, k, l, sens):
        suppressed[:] = True
        return MondrianResult(levels, suppressed, 0)
    budget = int(suppression_budget)
    bounds = {
        q: (np.full(n, np.nan), np.full(n, np.nan))
        for q, h in enumerate(hierarchies)
        if h.max_width is not None
    }
    interval_loss = [
        (lambda lo, hi, h=h, o=o: _interval_loss(h, metric, o, lo, hi))
        for h, o in zip(hierarchies, overrides, strict=True)
    ]

    def _here(q: int, rows: np.ndarray, lv: np.ndarray) -> float:
        """The loss of QI ``q`` as this partition publishes it now."""
        h = hierarchies[q]
        if h.is_interval(int(lv[q])):
            vals = h.numeric[h.codes[rows]]  # type: ignore[index]
            if np.isnan(vals).all():
                return float(interval_loss[q](np.nan, np.nan))
            return float(interval_loss[q](np.nanmin(vals), np.nanmax(vals)))
        return float(loss[q][lv[q]][h.maps[lv[q]][h.codes[rows[0]]]])

    floors = np.zeros(q_count, dtype=np.int64)
    queue: deque[tuple[np.ndarray, np.ndarray, np.ndarray]] = deque(
        _starts(start, n, tops, k, l, sens) or [(all_rows, tops.copy(), floors)]
    )
    finished = 0
    while queue:
        rows, lv, floor = queue.popleft()
        # free moves: a QI whose next level down has one value here costs nothing to specialise
        moved = True
        while moved:
            moved = False
            for q, h in enumerate(hierarchies):
                if lv[q] > floor[q]:
                    child = h.maps[lv[q] - 1][h.codes[rows]]
                    if (child == child[0]).all():
                        lv[q] -= 1
                        moved = True
        here_q = [_here(q, rows, lv) for q in range(q_count)]
        cur_loss = float(sum(w[q] * here_q[q] for q in range(q_count)))
        best = None
        for q, h in enumerate(hierarchies):
            here = here_q[q]
            # every level below the current one down to the floor: a step that gains nothing
            # by itself (a branch's college) is not in the way of the one below it
            for target in range(int(lv[q]) - 1, int(floor[q]) - 1, -1):
                common = (k, l, sens, budget, float(w.sum() - cur_loss))
                if h.is_interval(target):
                    option = _split_interval(rows, h, here, w[q] * 1.0, interval_loss[q], *common)
                elif (loss[q][target] >= here).all():
                    continue  # nothing to gain at this level (e.g. a branch's college)
                else:
                    option = _split(rows, h, target, here, w[q] * 1.0, loss[q][target], *common)
                if option is not None and (best is None or option[0] > best[0]):
                    best = (*option, q, target)
        if best is None:
            levels[rows] = lv
            for q, (lo, hi) in bounds.items():
                if lv[q] == INTERVAL_LEVEL:
                    vals = hierarchies[q].numeric[hierarchies[q].codes[rows]]  # type: ignore[index]
                    if not np.isnan(vals).all():
                        lo[rows], hi[rows] = np.nanmin(vals), np.nanmax(vals)
            finished += 1
            continue
        _, inv, ok, drop, q, target = best
        child_ok = ok[inv]
        for c in np.flatnonzero(ok):
            sub_lv = lv.copy()
            sub_lv[q] = target
            queue.append((rows[inv == c], sub_lv, floor))
        rest = rows[~child_ok]
        if len(rest):
            if drop:
                suppressed[rest] = True
                budget -= len(rest)
            else:
                rest_floor = floor.copy()
                rest_floor[q] = target + 1
                queue.append((rest, lv.copy(), rest_floor))
    return MondrianResult(levels=levels, suppressed=suppressed, partitions=finished, bounds=bounds)
