"""The branch × join-interval classes of :mod:`anonymize.cover` by dynamic programming.

The integer programme of :mod:`anonymize.cover` couples every branch and college through
the one room of the branch target; it is exact but too slow for a gate (minutes at 10k
persons). Here the same classes are chosen in three exact steps, each over its own model:

1. **per branch** — the most joiners in classes of at least k joiners of the branch whose
   years span at most ``max_width`` (a 1-D DP over the branch's years in sorted order:
   classes can always be taken as runs of the sorted rows);
2. **per college** — of the joiners left over in step 1 ("orphans"), the most covered by
   college classes for every room spent: a profile ``kept[c]`` (a DP over the orphans in
   (year, cost) order, runs of ≥ k within the width; an orphan costs 1 room, or 0 where its
   branch keeps fewer than k other rows and so loses its branch anyway);
3. **across colleges** — a knapsack over the room left after the unavoidable branch
   losses of step 1: the profiles are combined to keep the most joiners, then spend
   the least room.

No solver, no time limit: deterministic; runs of k to 2k − 1 rows suffice (a longer run
is worth no more than its halves; touching runs are joined back afterwards), so O(rows ×
k) per branch and O(orphans × k × room) per college. The model is exact per step, not
jointly: a branch keeps its own best cover even where releasing a row to a college class
would keep more in all, and the college runs are exact only where every orphan costs
room (free ones are taken in (year, cost) order); each step is tested against brute
force, and on the demo run the whole reaches the programme's bound.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from anonymize.hierarchy import QiHierarchy

__all__ = [
    "best_runs",
    "college_profile",
    "cover_groups",
    "joiner_arrays",
    "knapsack",
    "merge_runs",
    "split_rest",
]

_NONE = -(2**62)


def _coherent(births: np.ndarray | None, bwidth: int) -> tuple[np.ndarray, np.ndarray] | None:
    """Lower and upper bounds per row of the second interval QI (unknown: unbounded)."""
    if births is None:
        return None
    return np.where(np.isnan(births), np.inf, births), np.where(np.isnan(births), -np.inf, births)


def _run_values(
    s_min: int, e: int, k: int, weight: int, bounds: tuple[np.ndarray, np.ndarray] | None, bw: int
) -> list[tuple[int, int]]:
    """(start, value) of every run ending at ``e``: its rows × ``weight``, plus its rows
    where their second QI (the birth year) fits one window of ``bw``, less them where not
    (without ``bounds``: rows × ``weight``)."""
    out = []
    lo = np.inf
    hi = -np.inf
    # a run of 2k rows or more is worth no more than its halves (same rows and cost, a
    # span no wider): runs of k to 2k - 1 rows suffice
    for s in range(e - 1, max(s_min, e - 2 * k + 1) - 1, -1):
        if bounds is not None:
            lo, hi = min(lo, bounds[0][s]), max(hi, bounds[1][s])
        if e - s >= k:
            coherent = bounds is not None and hi - lo + 1 <= bw
            bonus = 0 if bounds is None else (e - s) if coherent else -(e - s)
            out.append((s, (e - s) * weight + bonus))
    return out


def merge_runs(
    runs: list[tuple[int, int]],
    years: np.ndarray,
    width: int,
    births: np.ndarray | None = None,
    bwidth: int = 10,
) -> list[tuple[int, int]]:
    """``runs`` with each pair of touching runs joined where the joined one still spans at
    most ``width`` years and its births fit ``bwidth`` years unless neither's did (the DP
    works on runs of k to 2k - 1 rows; larger classes leave Mondrian more to refine)."""

    def fits(s: int, e: int) -> bool:
        if births is None:
            return True
        b = births[s:e]
        return not np.isnan(b).any() and b.max() - b.min() + 1 <= bwidth

    out: list[tuple[int, int]] = []
    for s, e in runs:
        if out and out[-1][1] == s and years[e - 1] - years[out[-1][0]] + 1 <= width:
            ps = out[-1][0]
            if fits(ps, e) or not (fits(ps, s) or fits(s, e)):
                out[-1] = (ps, e)
                continue
        out.append((s, e))
    return out


def best_runs(
    years: np.ndarray,
    k: int,
    width: int,
    births: np.ndarray | None = None,
    bwidth: int = 10,
    weight: int | None = None,
) -> list[tuple[int, int]]:
    """Runs ``[s, e)`` of the sorted ``years`` covering the most rows, each run of at least
    ``k`` rows spanning at most ``width`` years; with ``births``, among those the most rows
    in runs whose births fit ``bwidth`` years (ties: runs end earliest). A ``weight``
    (>= 1) below the rows' count trades rows kept for births kept (:func:`_run_values`)."""
    n = len(years)
    weight = (n + 1 if weight is None else weight) if births is not None else 1
    bounds = _coherent(births, bwidth)
    best = np.zeros(n + 1, dtype=np.int64)
    start = -np.ones(n + 1, dtype=np.int64)
    s_min = 0
    for e in range(1, n + 1):
        best[e], start[e] = best[e - 1], -1
        while years[e - 1] - years[s_min] + 1 > width:
            s_min += 1
        for s, val in reversed(_run_values(s_min, e, k, weight, bounds, bwidth)):
            v = best[s] + val
            if v > best[e]:
                best[e], start[e] = v, s
    runs = []
    e = n
    while e > 0:
        if start[e] < 0:
            e -= 1
            continue
        runs.append((int(start[e]), e))
        e = int(start[e])
    return merge_runs(runs[::-1], years, width, births, bwidth)


def college_profile(
    years: np.ndarray,
    cost: np.ndarray,
    k: int,
    width: int,
    births: np.ndarray | None = None,
    bwidth: int = 10,
    weight: int = 1,
) -> tuple[np.ndarray, list[np.ndarray]]:
    """For rows sorted by (year, cost) with cost 0 or 1: ``kept[c]`` the most rows in runs
    of at least ``k`` rows spanning at most ``width`` years at a cost of exactly ``c``
    (negative where none), and the choice table to rebuild them (:func:`profile_runs`).
    With ``births``: each run's rows count ``weight`` each, plus one each where their
    births fit ``bwidth`` years (``weight`` above the rows of all profiles combined
    makes the rows first, the births second)."""
    n = len(years)
    bounds = _coherent(births, bwidth)
    cap = int(cost.sum())
    pre = np.r_[0, np.cumsum(cost)].astype(np.int64)
    dp = np.full((n + 1, cap + 1), _NONE, dtype=np.int64)
    dp[0, 0] = 0
    choice = [np.full(cap + 1, -1, dtype=np.int64) for _ in range(n + 1)]
    s_min = 0
    for e in range(1, n + 1):
        row = dp[e - 1].copy()
        pick = np.full(cap + 1, -1, dtype=np.int64)
        while years[e - 1] - years[s_min] + 1 > width:
            s_min += 1
        for s, val in reversed(_run_values(s_min, e, k, weight, bounds, bwidth)):
            c = int(pre[e] - pre[s])
            cand = np.full(cap + 1, _NONE, dtype=np.int64)
            cand[c:] = dp[s, : cap + 1 - c] + val
            cand[cand < 0] = _NONE
            better = cand > row
            row[better] = cand[better]
            pick[better] = s
        dp[e] = row
        choice[e] = pick
    return dp[n], choice


def profile_runs(choice: list[np.ndarray], cost: np.ndarray, c: int) -> list[tuple[int, int]]:
    """The runs behind ``kept[c]`` of :func:`college_profile` (of k to 2k - 1 rows)."""
    pre = np.r_[0, np.cumsum(cost)].astype(np.int64)
    runs = []
    e = len(choice) - 1
    while e > 0:
        s = int(choice[e][c])
        if s < 0:
            e -= 1
            continue
        runs.append((s, e))
        c -= int(pre[e] - pre[s])
        e = s
    return runs[::-1]


def knapsack(profiles: Sequence[np.ndarray], budget: int) -> list[int]:
    """The cost to spend in each profile (``kept[c]`` at cost exactly ``c``) for the most
    kept in all within ``budget``; among those, the least cost spent."""
    total = np.full(budget + 1, _NONE, dtype=np.int64)
    total[0] = 0
    takes = []
    for prof in profiles:
        nxt = np.full(budget + 1, _NONE, dtype=np.int64)
        take = np.zeros(budget + 1, dtype=np.int64)
        for c in range(min(len(prof) - 1, budget) + 1):
            if prof[c] < 0:
                continue
            cand = np.full(budget + 1, _NONE, dtype=np.int64)
            cand[c:] = total[: budget + 1 - c] + prof[c]
            cand[cand < 0] = _NONE
            better = cand > nxt
            nxt[better] = cand[better]
            take[better] = c
        total = nxt
        takes.append(take)
    b = int(np.argmax(total))  # first maximum: the least cost
    out = []
    for take in reversed(takes):
        c = int(take[b])
        out.append(c)
        b -= c
    return out[::-1]


def joiner_arrays(
    hierarchies: Mapping[str, QiHierarchy], pair: tuple[str, str]
) -> tuple[int, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """For ``pair`` = (branch QI, join-year QI): the join interval's widest width, each
    row's branch code, whether its branch is known, its college code, and its join year
    (NaN where unknown)."""
    qn, qi = pair
    hn, hy = hierarchies[qn], hierarchies[qi]
    assert hy.numeric is not None and hy.max_width is not None
    branch = hn.codes.astype(np.int64)
    parent = hn.maps[1][hn.codes].astype(np.int64)
    return int(hy.max_width), branch, hn.known(), parent, hy.numeric[hy.codes]


def cover_groups(
    hierarchies: Sequence[QiHierarchy],
    targets: Mapping[int, tuple[int, float]],
    pair: tuple[int, int],
    *,
    k: int,
    also: int | None = None,
    weight: int | None = None,
) -> list[tuple[np.ndarray, bool]] | None:
    """The classes (row positions, at the college level?) of the three steps (module
    docstring); None when none is possible or the unavoidable losses exceed the room.
    With ``also`` (the birth year), a row kept is worth ``weight`` (default: more than all
    births), a row in a class whose births fit one window 1 more, in one whose do not 1
    less."""
    qn = pair[0]
    hn = hierarchies[qn]
    width, branch, has_branch, parent, year = joiner_arrays(hierarchies, pair)
    room = int(has_branch.sum()) - int(np.ceil(targets[qn][1] * has_branch.sum() - 1e-9))
    joiner = has_branch & ~np.isnan(year)
    members = np.bincount(branch[has_branch], minlength=len(hn.labels[0]))
    rows = np.flatnonzero(joiner)
    # ``also`` (the birth year, an interval QI): kept where a class's births fit its width
    births = None
    bwidth = 10
    if also is not None and hierarchies[also].numeric is not None:
        births = hierarchies[also].numeric[hierarchies[also].codes]  # type: ignore[index]
        bwidth = int(hierarchies[also].max_width or 10)
    birth_key = births if births is not None else np.zeros(len(year))
    if births is None or weight is None:
        weight = len(rows) + 1 if births is not None else 1
    # joiners by branch, then year, then birth, then table order
    rows = rows[np.lexsort((rows, birth_key[rows], year[rows], branch[rows]))]
    groups: list[tuple[np.ndarray, bool]] = []
    orphan_rows: list[np.ndarray] = []
    orphan_cost: list[np.ndarray] = []
    sunk = 0
    cuts = np.flatnonzero(np.diff(branch[rows])) + 1
    for part in np.split(rows, cuts) if len(rows) else []:
        ys = year[part].astype(np.int64)
        kept = np.zeros(len(part), dtype=bool)
        bs = None if births is None else births[part]
        for s, e in best_runs(ys, k, width, bs, bwidth, weight):
            groups.append((np.sort(part[s:e]), False))
            kept[s:e] = True
        left = int(members[branch[part[0]]]) - int(kept.sum())
        orphans = part[~kept]
        if 0 < left < k:  # the branch's rest loses its branch anyway: its orphans are free
            sunk += left
            cost = np.zeros(len(orphans), dtype=np.int64)
        else:  # each orphan costs its room, and the rest must keep k rows at the branch
            cost = np.ones(len(orphans), dtype=np.int64)
            cost[max(left - k, 0) :] = -1  # not to be released
        orphan_rows.append(orphans[cost >= 0])
        orphan_cost.append(cost[cost >= 0])
    if sunk > room:
        return None
    if orphan_rows:
        o_rows = np.concatenate(orphan_rows)
        o_cost = np.concatenate(orphan_cost)
        colleges = parent[o_rows]
        order = np.lexsort((o_rows, birth_key[o_rows], o_cost, year[o_rows], colleges))
        o_rows, o_cost = o_rows[order], o_cost[order]
        ccuts = np.flatnonzero(np.diff(parent[o_rows])) + 1
        parts = list(zip(np.split(o_rows, ccuts), np.split(o_cost, ccuts), strict=True))
        profiles = [
            college_profile(
                year[r].astype(np.int64),
                c,
                k,
                width,
                None if births is None else births[r],
                bwidth,
                weight,
            )
            for r, c in parts
        ]
        spend = knapsack([p[0] for p in profiles], room - sunk)
        for (r, c), (_, choice), cc in zip(parts, profiles, spend, strict=True):
            ys = year[r].astype(np.int64)
            bs = None if births is None else births[r]
            for s, e in merge_runs(profile_runs(choice, c, cc), ys, width, bs, bwidth):
                groups.append((np.sort(r[s:e]), True))
    return groups or None


def split_rest(part: np.ndarray, births: np.ndarray, k: int, bwidth: int) -> list[np.ndarray]:
    """``part`` (a branch's rows outside the interval classes, ``births`` theirs) cut into
    parts of at least ``k`` rows: the most rows in parts whose births fit ``bwidth`` years
    (:func:`best_runs` over the sorted known births); the other rows (unknown births, and
    births no such part takes) a part of their own when k or more, else added to the
    largest part. A joiner kept at no interval then finds peers of its age at its branch
    (Mondrian refines each part further)."""
    if len(part) < 2 * k:
        return [part]
    known = ~np.isnan(births)
    rows, b = part[known], births[known]
    order = np.argsort(b, kind="stable")
    rows, b = rows[order], b[order]
    runs = best_runs(b, k, bwidth)
    if not runs:
        return [part]
    pieces = [rows[s:e] for s, e in runs]
    used = np.zeros(len(rows), dtype=bool)
    for s, e in runs:
        used[s:e] = True
    left = np.r_[part[~known], rows[~used]]
    if len(left) >= k:
        return [*pieces, left]
    if len(left):
        big = max(range(len(pieces)), key=lambda i: len(pieces[i]))
        pieces[big] = np.r_[pieces[big], left]
    return pieces
