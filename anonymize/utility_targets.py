"""Utility targets for the local gate: regroup the rows that miss one, within the others.

A target says what share of the persons who have a quasi-identifier's value must see
it published at a level or finer (``branch_id`` at its value for 95 %, ``joined_year``
at a 5-year band or finer for 80 %). Mondrian (:mod:`anonymize.mondrian`) splits
greedily, and a class formed early (e.g. a branch's members) may leave a few rows that
miss a target with no peers inside it. :func:`regroup_for_targets` takes such rows out
of their classes — only as many as leave each class valid — together with the
suppressed rows, partitions that pool again by Mondrian (where rows of different
branches may meet at their college), and keeps a new class only where it raises the
rows' targets met and pushes no quasi-identifier below its own target (or further
below it); the other rows go back to the classes they came from, unchanged.
Suppressed rows are then published where they can be without changing any class:
in an existing class whose labels already hold their values
(:func:`absorb_suppressed`), or in classes of their own (:func:`place_suppressed`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from anonymize.hierarchy import QiHierarchy
from anonymize.information_loss import combined_key, published_nodes
from anonymize.mondrian import MondrianResult, _group_valid, mondrian

__all__ = ["SPARE_WEIGHT", "absorb_suppressed", "place_suppressed", "regroup_for_targets"]

#: in the regrouping pool, the weight factor of a QI whose target is met with room to
#: spare (its room is what the others may spend)
SPARE_WEIGHT = 0.1


def _class_keys(
    hierarchies: Sequence[QiHierarchy], levels: np.ndarray, bounds: Mapping[int, Any]
) -> np.ndarray:
    nodes = published_nodes(hierarchies, levels, bounds)
    return combined_key([*levels.astype(np.int64).T, *nodes.T])


def _met(
    levels: np.ndarray, suppressed: np.ndarray, targets: Mapping[int, tuple[int, float]]
) -> np.ndarray:
    """Per row and target (in ``targets`` order): published at the target level or finer."""
    out = np.zeros((len(levels), len(targets)), dtype=bool)
    for t, (q, (level, _)) in enumerate(targets.items()):
        out[:, t] = (levels[:, q] <= level) & ~suppressed
    return out


def regroup_for_targets(
    hierarchies: Sequence[QiHierarchy],
    result: MondrianResult,
    targets: Mapping[int, tuple[int, float]],
    *,
    k: int,
    l: int = 1,  # noqa: E741
    sensitive: Sequence[np.ndarray] = (),
    suppression_budget: int = 0,
    rounds: int = 3,
    **search: Any,
) -> MondrianResult:
    """``result`` with rows that miss a target (QI index → (level, share)) regrouped
    where that helps; ``search``: the Mondrian settings (weights, metric, level_loss).
    Rows left behind in a class that the regrouping made too small are suppressed
    (and offered to the next round), within ``suppression_budget``. (On the demo
    university a fourth round changes nothing.)"""
    if not targets:
        return result
    levels = result.levels.copy()
    suppressed = result.suppressed.copy()
    bounds = {q: (lo.copy(), hi.copy()) for q, (lo, hi) in result.bounds.items()}
    sens = [np.asarray(s) for s in sensitive]
    known = np.stack([hierarchies[q].known() for q in targets], axis=1)
    base = known.sum(axis=0)
    goal = np.ceil(np.array([share for _, share in targets.values()]) * base)
    for _ in range(rounds):
        met = _met(levels, suppressed, targets) & known
        deficient = (known & ~met).any(axis=1)
        origin = _class_keys(hierarchies, levels, bounds)
        origin[suppressed] = -1
        pool = _movable(origin, suppressed, deficient, k, l, sens)
        if len(pool) < k:
            break
        sub = [dataclasses.replace(h, codes=h.codes[pool]) for h in hierarchies]
        # in the pool, a QI whose target is met with room to spare weighs little
        weights = np.asarray(search.get("weights") or [1.0] * len(hierarchies), dtype=float)
        weights = weights.copy()
        for t, q in enumerate(targets):
            if met[:, t].sum() > goal[t]:
                weights[q] *= SPARE_WEIGHT
        res = mondrian(
            sub,
            k=k,
            l=l,
            sensitive=[s[pool] for s in sens],
            **{**search, "weights": list(weights)},
        )
        if res.suppressed.all():
            break
        keys = _class_keys(sub, res.levels, res.bounds)
        keys[res.suppressed] = -1
        chosen = _choose(
            origin,
            met,
            pool,
            keys,
            _met(res.levels, res.suppressed, targets) & known[pool],
            goal,
            base,
            k,
            int(suppression_budget) - int(suppressed.sum()),
        )
        if chosen is None:
            break
        accepted, stranded = chosen
        new_levels, new_suppressed = levels.copy(), suppressed.copy()
        take = pool[accepted]
        new_levels[take] = res.levels[accepted]
        new_suppressed[take] = False
        new_suppressed[stranded] = True
        # l-diversity (or anything else) of the classes left behind: else undo the round
        left = np.unique(origin[pool[accepted]])
        valid = (
            all(
                _group_valid(rows, k, l, sens)
                for c in left[left >= 0]
                if len(
                    rows := np.flatnonzero((origin == c) & ~new_suppressed & ~_mask(take, origin))
                )
            )
            if sens
            else True
        )
        if not valid or int(new_suppressed.sum()) > suppression_budget:
            break
        levels, suppressed = new_levels, new_suppressed
        for q, (lo, hi) in bounds.items():
            lo[take], hi[take] = res.bounds[q][0][accepted], res.bounds[q][1][accepted]
    return dataclasses.replace(result, levels=levels, suppressed=suppressed, bounds=bounds)


def _mask(rows: np.ndarray, like: np.ndarray) -> np.ndarray:
    out = np.zeros(len(like), dtype=bool)
    out[rows] = True
    return out


def _choose(
    origin: np.ndarray,
    met: np.ndarray,
    pool: np.ndarray,
    keys: np.ndarray,
    new_met: np.ndarray,
    goal: np.ndarray,
    base: np.ndarray,
    k: int,
    room: int,
) -> tuple[np.ndarray, np.ndarray] | None:
    """Pool classes to keep, greedily by gain per row: a class is kept when it brings the
    targets closer (:func:`_capped`), counting the rows it strands — rows left in a class
    of their origin that falls below k, which are then suppressed (at most ``room``).
    Returns the accepted pool rows and the stranded rows (table positions)."""
    kept = keys >= 0
    classes = int(keys.max()) + 1
    members = [[] for _ in range(classes)]
    for i in np.flatnonzero(kept):
        members[keys[i]].append(i)
    old_met = met[pool].astype(np.int64)
    gain = new_met.astype(np.int64) - old_met
    delta = np.zeros((classes, met.shape[1]), dtype=np.int64)
    np.add.at(delta, keys[kept], gain[kept])
    size = np.bincount(keys[kept], minlength=classes)
    order = np.argsort(-delta.sum(axis=1) / np.maximum(size, 1), kind="stable")
    has = origin >= 0
    rem = np.bincount(origin[has], minlength=1)
    rem_met = np.zeros((len(rem), met.shape[1]), dtype=np.int64)
    np.add.at(rem_met, origin[has], met[has].astype(np.int64))
    covered = met.sum(axis=0).astype(np.int64)
    stranded_o = np.zeros(len(rem), dtype=bool)
    ok = np.zeros(classes, dtype=bool)
    for c in order:
        rows = np.asarray(members[c], dtype=np.int64)
        d = new_met[rows].sum(axis=0).astype(np.int64)
        o = origin[pool[rows]]
        from_o = o >= 0
        d -= old_met[rows[from_o]][~stranded_o[o[from_o]]].sum(axis=0)
        touched, cnt = np.unique(o[from_o], return_counts=True)
        o_met = np.zeros((len(touched), met.shape[1]), dtype=np.int64)
        np.add.at(o_met, np.searchsorted(touched, o[from_o]), old_met[rows[from_o]])
        after = rem[touched] - cnt
        newly = (after > 0) & (after < k) & ~stranded_o[touched]
        d -= (rem_met[touched][newly] - o_met[newly]).sum(axis=0)
        extra = int(after[newly].sum()) - int(np.sum(np.where(stranded_o[touched], cnt, 0)))
        if extra > room:
            continue
        if _capped(covered + d, goal, base) <= _capped(covered, goal, base):
            continue
        if ((covered >= goal) & (covered + d < goal)).any():
            continue  # a target met stays met
        covered += d
        room -= extra
        rem[touched] = after
        rem_met[touched] -= o_met
        stranded_o[touched[newly]] = True
        stranded_o[touched[after == 0]] = False
        ok[c] = True
    if not ok.any():
        return None
    accepted = kept & ok[np.maximum(keys, 0)]
    leaving = _mask(pool[accepted], origin)
    stranded = np.flatnonzero(has & stranded_o[np.maximum(origin, 0)] & ~leaving)
    return accepted, stranded


def _capped(covered: np.ndarray, goal: np.ndarray, base: np.ndarray) -> tuple[int, float]:
    """Progress towards the targets: how many are met, then each QI's covered rows up to
    its goal, as a share (so one target is not bought by giving up another)."""
    met = int((covered >= goal).sum())
    return met, float((np.minimum(covered, goal) / np.maximum(base, 1)).sum())


def _movable(
    origin: np.ndarray,
    suppressed: np.ndarray,
    deficient: np.ndarray,
    k: int,
    l: int,  # noqa: E741
    sens: list[np.ndarray],
) -> np.ndarray:
    """Suppressed rows, and deficient rows that can leave their class (``origin``) without
    making it invalid, or all of them when the whole class is deficient."""
    keys = origin
    out = [np.flatnonzero(suppressed)]
    order = np.argsort(keys, kind="stable")
    starts = np.flatnonzero(np.r_[True, keys[order][1:] != keys[order][:-1]])
    for a, b in zip(starts, np.r_[starts[1:], len(order)], strict=True):
        rows = order[a:b]
        if keys[rows[0]] < 0:
            continue
        cand = rows[deficient[rows]]
        if not len(cand):
            continue
        if len(cand) == len(rows):
            out.append(cand)
            continue
        spare = len(rows) - k
        if spare <= 0:
            continue
        cand = cand[:spare]
        rest = np.setdiff1d(rows, cand)
        if _group_valid(rest, k, l, sens):
            out.append(cand)
    return np.sort(np.concatenate(out))


def absorb_suppressed(
    hierarchies: Sequence[QiHierarchy],
    result: MondrianResult,
    targets: Mapping[int, tuple[int, float]] | None = None,
) -> MondrianResult:
    """Publish suppressed rows in existing classes whose labels already hold their values
    (the class's labels do not change, it only grows, so k and l still hold): each row
    goes to the fitting class that meets the most of its targets, then the finest one.
    Rows that fit no class stay suppressed."""
    if not result.suppressed.any() or result.suppressed.all():
        return result
    levels = result.levels.copy()
    suppressed = result.suppressed.copy()
    bounds = {q: (lo.copy(), hi.copy()) for q, (lo, hi) in result.bounds.items()}
    kept = np.flatnonzero(~suppressed)
    sub = [dataclasses.replace(h, codes=h.codes[kept]) for h in hierarchies]
    sub_bounds = {q: (lo[kept], hi[kept]) for q, (lo, hi) in bounds.items()}
    keys = _class_keys(sub, levels[kept], sub_bounds)
    _, first = np.unique(keys, return_index=True)
    reps = kept[first]  # one row of each class
    rows = np.flatnonzero(suppressed)
    best_score = np.full(len(rows), -np.inf)
    best_rep = np.full(len(rows), -1, dtype=np.int64)
    target_items = list((targets or {}).items())
    patterns, which = np.unique(levels[reps], axis=0, return_inverse=True)
    for p, pattern in enumerate(patterns):
        cls = reps[which.ravel() == p]
        plain = [q for q, h in enumerate(hierarchies) if not h.is_interval(int(pattern[q]))]
        cols = []
        for q in plain:
            h, j = hierarchies[q], int(pattern[q])
            cols.append(np.concatenate([h.maps[j][h.codes[cls]], h.maps[j][h.codes[rows]]]))
        joint = combined_key(cols) if cols else np.zeros(len(cls) + len(rows), dtype=np.int64)
        ckey, rkey = joint[: len(cls)], joint[len(cls) :]
        order = np.argsort(ckey, kind="stable")
        lo_i = np.searchsorted(ckey[order], rkey, side="left")
        hi_i = np.searchsorted(ckey[order], rkey, side="right")
        score = sum(1.0 for q, (level, _) in target_items if pattern[q] <= level) * 1000.0
        score -= float(pattern.sum())
        for r in np.flatnonzero(hi_i > lo_i):
            if score <= best_score[r]:
                continue
            for c in cls[order[lo_i[r] : hi_i[r]]]:
                if all(
                    _inside(hierarchies[q], bounds[q], int(c), int(rows[r]))
                    for q in bounds
                    if hierarchies[q].is_interval(int(pattern[q]))
                ):
                    best_score[r], best_rep[r] = score, c
                    break
    fit = best_rep >= 0
    take, rep = rows[fit], best_rep[fit]
    levels[take] = levels[rep]
    suppressed[take] = False
    for lo, hi in bounds.values():
        lo[take], hi[take] = lo[rep], hi[rep]
    return dataclasses.replace(result, levels=levels, suppressed=suppressed, bounds=bounds)


def _inside(h: QiHierarchy, bounds: tuple[np.ndarray, np.ndarray], rep: int, row: int) -> bool:
    """Whether ``row``'s value lies in the interval class ``rep`` publishes."""
    value = h.numeric[h.codes[row]]  # type: ignore[index]
    lo, hi = bounds[0][rep], bounds[1][rep]
    if np.isnan(lo):
        return bool(np.isnan(value))
    return bool(lo <= value <= hi)


def place_suppressed(
    hierarchies: Sequence[QiHierarchy],
    result: MondrianResult,
    *,
    k: int,
    l: int = 1,  # noqa: E741
    sensitive: Sequence[np.ndarray] = (),
    **search: Any,
) -> MondrianResult:
    """Partition the suppressed rows among themselves (Mondrian, no further suppression):
    the valid classes they form are published — nothing else changes, so this only adds
    what the suppressed rows can keep together (e.g. joiners of five years, at no branch)."""
    rows = np.flatnonzero(result.suppressed)
    sens = [np.asarray(s) for s in sensitive]
    if len(rows) < k:
        return result
    sub = [dataclasses.replace(h, codes=h.codes[rows]) for h in hierarchies]
    res = mondrian(
        sub, k=k, l=l, sensitive=[s[rows] for s in sens], **{**search, "suppression_budget": 0}
    )
    placed = ~res.suppressed
    if not placed.any():
        return result
    levels, suppressed = result.levels.copy(), result.suppressed.copy()
    bounds = {q: (lo.copy(), hi.copy()) for q, (lo, hi) in result.bounds.items()}
    levels[rows[placed]] = res.levels[placed]
    suppressed[rows[placed]] = False
    for q, (lo, hi) in bounds.items():
        lo[rows[placed]], hi[rows[placed]] = res.bounds[q][0][placed], res.bounds[q][1][placed]
    return dataclasses.replace(result, levels=levels, suppressed=suppressed, bounds=bounds)
