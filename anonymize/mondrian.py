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

This is multidimensional *local* recoding (LeFevre et al., Mondrian, ICDE 2006,
with categorical hierarchies as in Xu et al., KDD 2006): the same value may be
published at different levels in different classes.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from anonymize.hierarchy import QiHierarchy

__all__ = ["METRICS", "MondrianResult", "level_losses", "mondrian"]

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
) -> MondrianResult:
    """Levels per row and QI that make the table k-anonymous (l-diverse on ``sensitive``,
    coded per row) with little weighted loss; rows suppressed within ``suppression_budget``.

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
    floors = np.zeros(q_count, dtype=np.int64)
    queue: deque[tuple[np.ndarray, np.ndarray, np.ndarray]] = deque(
        [(all_rows, tops.copy(), floors)]
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
        cur_loss = 0.0
        for q, h in enumerate(hierarchies):
            cur_loss += w[q] * loss[q][lv[q]][h.maps[lv[q]][h.codes[rows[0]]]]
        best = None
        for q, h in enumerate(hierarchies):
            here = loss[q][lv[q]][h.maps[lv[q]][h.codes[rows[0]]]]
            # every level below the current one down to the floor: a step that gains nothing
            # by itself (a branch's college) is not in the way of the one below it
            for target in range(int(lv[q]) - 1, int(floor[q]) - 1, -1):
                if (loss[q][target] >= here).all():
                    continue  # nothing to gain at this level (e.g. a branch's college)
                option = _split(
                    rows,
                    h,
                    target,
                    here,
                    w[q] * 1.0,
                    loss[q][target],
                    k,
                    l,
                    sens,
                    budget,
                    float(w.sum() - cur_loss),
                )
                if option is not None and (best is None or option[0] > best[0]):
                    best = (*option, q, target)
        if best is None:
            levels[rows] = lv
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
    return MondrianResult(levels=levels, suppressed=suppressed, partitions=finished)
