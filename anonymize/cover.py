"""Classes that keep an interval target inside a nested one, chosen exactly (a small MILP).

Two utility targets compete for the same rows: a nested quasi-identifier kept at its
value (``branch_id``, nested under ``college``) and an interval one kept at a narrow
interval (``joined_year`` within 5 years). A row keeps both only in a class of at
least k rows of its own branch whose years span at most ``max_width``; it keeps the
interval alone in such a class of its college — and then loses the branch, of which
only the branch target's room may be lost. Mondrian's greedy splits (and the
regrouping after them) find such classes one partition at a time, and on a table with
few peers per branch miss some that exist.

:func:`cover_classes` chooses them all at once — by default with the DP of
:mod:`anonymize.cover_dp` (per branch, per college, knapsack over the room; the birth year
second), or with ``solver="milp"`` by the joint programme described here (exact, but
minutes at 10k persons): for every branch and every college, the
candidate classes are the windows ``[y, y + max_width - 1]`` of the years present; an
integer programme (scipy's HiGHS) assigns the rows of each (branch, year) cell to at
most one candidate so that every candidate used has at least k rows, the rows at
college level plus the rows of branches left with fewer than k other rows stay within
the branch target's room, and as many rows as possible keep the interval (then: as few
as possible lose the branch). Only the two targeted quasi-identifiers are decided here;
the other rows of each branch (when at least k) start as one partition at the branch;
the classes are then refined on the others by Mondrian (:func:`anonymize.mondrian.mondrian`'s
``start``), so k holds as everywhere else.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, milp
from scipy.sparse import coo_matrix

from anonymize.cover_dp import cover_groups, joiner_arrays, split_rest
from anonymize.errors import PolicyError
from anonymize.hierarchy import INTERVAL_LEVEL, QiHierarchy

__all__ = ["COHERENT_WORTH", "Cover", "cover_classes", "cover_pair"]

#: what a row in a class whose ``also`` values fall in one window is worth, beside 1 for
#: a row keeping the interval (a tenth: one row's interval is worth ten rows' birth decade)
COHERENT_WORTH = 0.1


@dataclass(frozen=True)
class Cover:
    """Start partitions for Mondrian: row positions and their levels per QI (the two
    decided QIs at their class's level, the others at the top of their ladders)."""

    groups: list[tuple[np.ndarray, np.ndarray]]
    #: rows keeping the interval (all groups' rows), of them at the parent level
    rows_kept: int
    rows_at_parent: int
    optimal: bool


def cover_pair(
    hierarchies: Sequence[QiHierarchy],
    targets: Mapping[int, tuple[int, float]],
    interval: str,
    within: str,
) -> tuple[int, int]:
    """The indices of the nested QI ``within`` and the interval QI ``interval``, checked: the
    nested one nests under a parent and is targeted at its value, the interval one has an
    interval step and a target at that step or coarser; else :class:`PolicyError`."""
    index = {h.name: q for q, h in enumerate(hierarchies)}
    where = f"privacy gate: utility target of {interval}: within {within!r}"
    qn, qi = index.get(within), index[interval]
    if qn is None or qn not in targets or hierarchies[qn].parent is None:
        raise PolicyError(f"{where} must name a nested quasi-identifier with a utility target")
    if targets[qn][0] != 0:
        raise PolicyError(f"{where} must be targeted at its value")
    if hierarchies[qi].max_width is None or targets[qi][0] < INTERVAL_LEVEL:
        raise PolicyError(f"{where} needs an interval step and a target at it or coarser")
    return qn, qi


def cover_classes(
    hierarchies: Sequence[QiHierarchy],
    targets: Mapping[int, tuple[int, float]],
    pair: tuple[int, int],
    *,
    k: int,
    also: int | None = None,
    solver: str = "dp",
) -> Cover | None:
    """The classes of the nested × interval targets (``pair``, from :func:`cover_pair`)
    that keep the most rows' interval within the nested target's room (module docstring);
    None when no class is possible. ``solver``: ``"dp"`` (:mod:`anonymize.cover_dp`, fast,
    exact per step) or ``"milp"`` (the joint programme, slow)."""
    hn = hierarchies[pair[0]]
    if solver == "dp":
        found = _cover_dp(hierarchies, targets, pair, k=k, also=also)
        return None if found is None else _assemble(hierarchies, pair, found, k, False, also)
    if solver != "milp":
        raise PolicyError(f"privacy gate: unknown cover solver {solver!r}")
    qn = pair[0]
    has_branch = hn.known()
    parent = hn.maps[1][hn.codes].astype(np.int64)
    room = int(has_branch.sum()) - int(np.ceil(targets[qn][1] * has_branch.sum() - 1e-9))
    # one programme over the whole table for the interval alone (the room is shared by
    # all colleges); then, with ``also``, one per college within the room it used there
    # (small programmes: the whole table's with ``also`` is too slow to solve exactly)
    first = _solve(hierarchies, pair, k=k, room=room, also=None, only=None)
    if first is None:
        return None
    groups, used, optimal = first
    if also is not None:
        again: list[tuple[np.ndarray, bool]] = []
        for p in np.unique(parent[has_branch]):
            part = _solve(
                hierarchies, pair, k=k, room=int(used.get(int(p), 0)), also=also, only=int(p)
            )
            if part is None:
                again += [g for g in groups if parent[g[0][0]] == p]
                continue
            again += part[0]
            optimal = optimal and part[2]
        groups = again
    return _assemble(hierarchies, pair, groups, k, optimal)


#: the worth of a joiner kept against a birth kept, tried from the least
DP_WEIGHTS = (1, 2, 3, 4, 6, 8, 12, 16, 24, 32)
#: the weight when none keeps the join target's share (the target is out of reach): the
#: joiners kept still count most, but not at any cost in births (chosen on two generated
#: universities whose join bound is below 80 %: birth stays above its target there)
DP_FALLBACK_WEIGHT = 4


def _cover_dp(
    hierarchies: Sequence[QiHierarchy],
    targets: Mapping[int, tuple[int, float]],
    pair: tuple[int, int],
    *,
    k: int,
    also: int | None,
) -> list[tuple[np.ndarray, bool]] | None:
    """The DP's classes (:mod:`anonymize.cover_dp`): with ``also``, at the least weight of a
    joiner against a birth that still keeps the interval target's share of joiners; if
    none does, at :data:`DP_FALLBACK_WEIGHT`."""
    qn, qi = pair
    if also is None:
        return cover_groups(hierarchies, targets, pair, k=k)
    hy = hierarchies[qi]
    joiners = int((hierarchies[qn].known() & ~np.isnan(hy.numeric[hy.codes])).sum())  # type: ignore[index]
    need = int(np.ceil(targets[qi][1] * joiners - 1e-9))
    for w in DP_WEIGHTS:
        found = cover_groups(hierarchies, targets, pair, k=k, also=also, weight=w)
        if found is not None and sum(len(g) for g, _ in found) >= need:
            return found
    return cover_groups(hierarchies, targets, pair, k=k, also=also, weight=DP_FALLBACK_WEIGHT)


def _assemble(
    hierarchies: Sequence[QiHierarchy],
    pair: tuple[int, int],
    groups: list[tuple[np.ndarray, bool]],
    k: int,
    optimal: bool,
    also: int | None = None,
) -> Cover | None:
    """Mondrian's start partitions from the chosen classes, plus each branch's other rows
    (when at least k) at the branch: one partition, or with ``also`` (the birth year) cut
    by :func:`anonymize.cover_dp.split_rest`."""
    qn, qi = pair
    hn = hierarchies[qn]
    branch = hn.codes.astype(np.int64)
    has_branch = hn.known()
    tops = np.array([h.top for h in hierarchies], dtype=np.int64)
    out = []
    kept = parent_kept = 0
    for grp_rows, at_parent in groups:
        lv = tops.copy()
        lv[qn] = 1 if at_parent else 0
        lv[qi] = INTERVAL_LEVEL
        out.append((grp_rows, lv))
        kept += len(grp_rows)
        parent_kept += len(grp_rows) if at_parent else 0
    if not out:
        return None
    # the other rows of each branch stay together at the branch (at most the tight
    # branches' stranded rows, counted in the room, cannot)
    grouped = np.zeros(len(branch), dtype=bool)
    for grp_rows, _ in out:
        grouped[grp_rows] = True
    rest = np.flatnonzero(has_branch & ~grouped)
    rest_b = branch[rest]
    order = np.argsort(rest_b, kind="stable")
    cuts = np.flatnonzero(np.diff(rest_b[order])) + 1
    births = None if also is None else hierarchies[also]
    for part in np.split(rest[order], cuts):
        if len(part) >= k:
            lv = tops.copy()
            lv[qn] = 0
            if births is None or births.numeric is None:
                out.append((np.sort(part), lv))
                continue
            # cut by birth where it keeps parts of k whose births fit one window
            b = births.numeric[births.codes[part]]
            for piece in split_rest(part, b, k, int(births.max_width or 10)):
                out.append((np.sort(piece), lv.copy()))
    return Cover(out, kept, parent_kept, optimal)


def _solve(
    hierarchies: Sequence[QiHierarchy],
    pair: tuple[int, int],
    *,
    k: int,
    room: int,
    also: int | None,
    only: int | None,
) -> tuple[list[tuple[np.ndarray, bool]], dict[int, int], bool] | None:
    """The programme over the joiners (of the college ``only``, or all): the classes (rows,
    at the parent level?), the room used per college, and whether it was solved to
    optimality."""
    hn = hierarchies[pair[0]]
    width, branch, has_branch, parent, year = joiner_arrays(hierarchies, pair)
    if only is not None:
        has_branch = has_branch & (parent == only)
    joiner = has_branch & ~np.isnan(year)
    members = np.bincount(branch[has_branch], minlength=len(hn.labels[0]))
    rows = np.flatnonzero(joiner)
    if len(rows) < k:
        return None
    yr = year[rows].astype(np.int64)
    # ``also``: a second interval QI (the birth year) kept where a class's rows fall in one
    # window of its width (windows start every half width): such classes are preferred
    half = -np.ones(len(rows), dtype=np.int64)
    if also is not None and hierarchies[also].max_width:
        step = max(int(hierarchies[also].max_width) // 2, 1)
        other = hierarchies[also].numeric[hierarchies[also].codes[rows]]  # type: ignore[index]
        half = np.where(np.isnan(other), -1, np.floor(np.nan_to_num(other) / step)).astype(np.int64)
    # cells: (branch, year, half window of the other QI) with their count
    cell_key = np.stack([branch[rows], yr, half], axis=1)
    cells, cell_of, cell_n = np.unique(cell_key, axis=0, return_inverse=True, return_counts=True)
    cell_of = cell_of.ravel()
    cell_b, cell_y, cell_h = cells[:, 0], cells[:, 1], cells[:, 2]
    cell_p = parent[rows][np.unique(cell_of, return_index=True)[1]]
    # candidates: per branch and per college, a window starting at each year present
    var_cell: list[np.ndarray] = []
    var_group: list[np.ndarray] = []
    scope_parent: list[bool] = []
    coherent: list[bool] = []
    g = 0
    for at_parent, scope in ((False, cell_b), (True, cell_p)):
        for s in np.unique(scope):
            mine = np.flatnonzero(scope == s)
            for y0 in np.unique(cell_y[mine]):
                inside = mine[(cell_y[mine] >= y0) & (cell_y[mine] <= y0 + width - 1)]
                if cell_n[inside].sum() < k:
                    continue  # never k rows
                options = [inside]
                for h0 in np.unique(cell_h[inside]) if also is not None else ():
                    both = inside[(cell_h[inside] == h0) | (cell_h[inside] == h0 + 1)]
                    if h0 >= 0 and cell_n[both].sum() >= k:
                        options.append(both)
                for o, chosen in enumerate(options):
                    var_cell.append(chosen)
                    var_group.append(np.full(len(chosen), g))
                    scope_parent.append(at_parent)
                    coherent.append(o > 0)
                    g += 1
    if not g:
        return None
    vc, vg = np.concatenate(var_cell), np.concatenate(var_group)
    parent_group = np.array(scope_parent)
    coherent_group = np.array(coherent)
    a_n, g_n = len(vc), g
    # branches whose rows outside any class may fall below k: those with < k non-joiners
    nonjoin = members - np.bincount(branch[rows], minlength=len(members))
    tight = np.flatnonzero((nonjoin < k) & (np.bincount(cell_b, minlength=len(members)) > 0))
    t_n = len(tight)
    n_vars = a_n + g_n + 2 * t_n  # assignments, group used, branch keeps k, branch lost
    r_i: list[np.ndarray] = []
    c_i: list[np.ndarray] = []
    v_i: list[np.ndarray] = []
    lo: list[np.ndarray] = []
    hi: list[np.ndarray] = []
    n_rows = 0

    def add(rr: np.ndarray, cc: np.ndarray, vv: np.ndarray, low, high, count: int) -> None:
        nonlocal n_rows
        r_i.append(rr + n_rows)
        c_i.append(cc)
        v_i.append(np.asarray(vv, dtype=float))
        lo.append(np.broadcast_to(np.asarray(low, dtype=float), count))
        hi.append(np.broadcast_to(np.asarray(high, dtype=float), count))
        n_rows += count

    idx = np.arange(a_n)
    # each cell's rows go to at most one class
    add(vc, idx, np.ones(a_n), 0, cell_n, len(cells))
    # a class used has k rows or more; one not used has none
    cap = np.bincount(vg, weights=cell_n[vc], minlength=g_n)
    gi = np.arange(g_n)
    add(np.r_[vg, gi], np.r_[idx, a_n + gi], np.r_[np.ones(a_n), -k * np.ones(g_n)], 0, np.inf, g_n)
    add(np.r_[vg, gi], np.r_[idx, a_n + gi], np.r_[np.ones(a_n), -cap], -np.inf, 0, g_n)
    # a tight branch keeps >= k rows outside the classes, or its rest loses the branch
    var_b = cell_b[vc]
    for t, b in enumerate(tight):
        mine = np.flatnonzero(var_b == b)
        mb = float(members[b])
        u, lost = a_n + g_n + t, a_n + g_n + t_n + t
        # mb - sum a >= k u
        add(
            np.zeros(len(mine) + 1, np.int64),
            np.r_[mine, u],
            np.r_[-np.ones(len(mine)), -k],
            -mb,
            np.inf,
            1,
        )
        # lost >= mb - sum a - mb u
        add(
            np.zeros(len(mine) + 2, np.int64),
            np.r_[lost, mine, u],
            np.r_[1.0, np.ones(len(mine)), mb],
            mb,
            np.inf,
            1,
        )
    # the nested target's room: rows at the parent level plus branches' stranded rows
    at_parent = np.flatnonzero(parent_group[vg])
    lost_vars = a_n + g_n + t_n + np.arange(t_n)
    add(
        np.zeros(len(at_parent) + t_n, np.int64),
        np.r_[at_parent, lost_vars],
        np.ones(len(at_parent) + t_n),
        0,
        max(room, 0),
        1,
    )
    matrix = coo_matrix(
        (np.concatenate(v_i), (np.concatenate(r_i), np.concatenate(c_i))), shape=(n_rows, n_vars)
    ).tocsr()
    constraints = LinearConstraint(matrix, np.concatenate(lo), np.concatenate(hi))
    # most rows kept; then fewest branches lost (worth less than one row in all)
    eps = 1.0 / (max(room, 0) + 2)
    c = np.zeros(n_vars)
    c[:a_n] = -1.0
    c[at_parent] += eps
    c[lost_vars] = eps
    c[np.flatnonzero(coherent_group[vg])] -= COHERENT_WORTH
    upper = np.r_[cell_n[vc], np.ones(g_n + t_n), members[tight]].astype(float)
    res = milp(
        c,
        constraints=constraints,
        integrality=np.ones(n_vars),
        bounds=Bounds(np.zeros(n_vars), upper),
        options={"presolve": True},
    )
    if res.x is None:
        return None
    x = np.round(res.x).astype(np.int64)
    # rows of each cell, in table order, handed out to the classes in candidate order
    order = np.argsort(cell_of, kind="stable")
    starts = np.r_[0, np.cumsum(cell_n)]
    taken = np.zeros(len(cells), dtype=np.int64)
    members_of: dict[int, list[np.ndarray]] = {}
    for v in np.flatnonzero(x[:a_n] > 0):
        cell = vc[v]
        a, b = starts[cell] + taken[cell], starts[cell] + taken[cell] + x[v]
        members_of.setdefault(int(vg[v]), []).append(rows[order[a:b]])
        taken[cell] += x[v]
    groups = []
    used: dict[int, int] = {}
    for grp in sorted(members_of):
        grp_rows = np.sort(np.concatenate(members_of[grp]))
        if len(grp_rows) < k:  # never, by the constraints; a solver's rounding must not pass
            continue
        groups.append((grp_rows, bool(parent_group[grp])))
        if parent_group[grp]:
            p = int(parent[grp_rows[0]])
            used[p] = used.get(p, 0) + len(grp_rows)
    for t, b in enumerate(tight):
        if x[a_n + g_n + t_n + t] > 0:
            p = int(parent[np.flatnonzero(branch == b)[0]])
            used[p] = used.get(p, 0) + int(x[a_n + g_n + t_n + t])
    if not groups:
        return None
    return groups, used, bool(res.status == 0)
