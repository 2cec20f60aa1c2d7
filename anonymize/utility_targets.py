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
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from anonymize.hierarchy import QiHierarchy
from anonymize.information_loss import published_nodes
from anonymize.mondrian import MondrianResult, _group_valid, mondrian

__all__ = ["SPARE_WEIGHT", "regroup_for_targets"]

#: in the regrouping pool, the weight factor of a QI whose target is met with room
SPARE_WEIGHT = 0.1


def _class_keys(
    hierarchies: Sequence[QiHierarchy], levels: np.ndarray, bounds: Mapping[int, Any]
) -> np.ndarray:
    nodes = published_nodes(hierarchies, levels, bounds)
    parts = np.concatenate([levels.astype(np.int64), nodes], axis=1)
    _, keys = np.unique(parts, axis=0, return_inverse=True)
    return keys.ravel()


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
    rounds: int = 3,
    **search: Any,
) -> MondrianResult:
    """``result`` with rows that miss a target (QI index → (level, share)) regrouped
    where that helps; ``search``: the Mondrian settings (weights, metric, level_loss)."""
    if not targets:
        return result
    levels = result.levels.copy()
    suppressed = result.suppressed.copy()
    bounds = {q: (lo.copy(), hi.copy()) for q, (lo, hi) in result.bounds.items()}
    sens = [np.asarray(s) for s in sensitive]
    known = np.stack([hierarchies[q].known() for q in targets], axis=1)
    base = known.sum(axis=0)
    shares = np.array([share for _, share in targets.values()])
    for _ in range(rounds):
        met = _met(levels, suppressed, targets) & known
        deficient = (known & ~met).any(axis=1)
        origin = _class_keys(hierarchies, levels, bounds)
        origin[suppressed] = -1
        pool = _movable(origin, suppressed, deficient, k, l, sens)
        if len(pool) < k:
            break
        sub = [dataclasses.replace(h, codes=h.codes[pool]) for h in hierarchies]
        # in the pool, a QI whose target is met with room to spare weighs little: its
        # room is what the others may spend
        weights = np.asarray(search.get("weights") or [1.0] * len(hierarchies), dtype=float)
        weights = weights.copy()
        for t, q in enumerate(targets):
            if met[:, t].sum() > np.ceil(shares[t] * base[t]):
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
        new_met = _met(res.levels, res.suppressed, targets) & known[pool]
        gain = new_met.astype(np.int64) - met[pool]
        keys = _class_keys(sub, res.levels, res.bounds)
        keys[res.suppressed] = -1
        covered = met.sum(axis=0).astype(np.int64)
        classes = int(keys.max()) + 1
        delta = np.zeros((classes, len(targets)), dtype=np.int64)
        kept = keys >= 0
        np.add.at(delta, keys[kept], gain[kept])
        size = np.bincount(keys[kept], minlength=classes)
        order = np.argsort(-delta.sum(axis=1) / np.maximum(size, 1), kind="stable")
        ok = np.zeros(classes, dtype=bool)
        floor = np.minimum(np.ceil(shares * base), covered)
        for c in order:
            if delta[c].sum() <= 0:
                break
            after = covered + delta[c]
            if (after < floor).any():
                continue
            covered = after
            ok[c] = True
        accepted = kept & ok[np.maximum(keys, 0)]
        accepted = _keep_origins_valid(origin, pool, keys, accepted, k, l, sens)
        if not accepted.any():
            break
        take = pool[accepted]
        levels[take] = res.levels[accepted]
        suppressed[take] = False
        for q, (lo, hi) in bounds.items():
            lo[take], hi[take] = res.bounds[q][0][accepted], res.bounds[q][1][accepted]
    return dataclasses.replace(result, levels=levels, suppressed=suppressed, bounds=bounds)


def _keep_origins_valid(
    origin: np.ndarray,
    pool: np.ndarray,
    keys: np.ndarray,
    accepted: np.ndarray,
    k: int,
    l: int,  # noqa: E741
    sens: list[np.ndarray],
) -> np.ndarray:
    """Undo accepted pool classes until every class the pool rows came from is left
    either empty or valid (rows not accepted go back to it)."""
    accepted = accepted.copy()
    while True:
        leaving = np.zeros(len(origin), dtype=bool)
        leaving[pool[accepted]] = True
        touched = np.unique(origin[pool[accepted]])
        bad = []
        for c in touched[touched >= 0]:
            stay = np.flatnonzero((origin == c) & ~leaving)
            if len(stay) and not _group_valid(stay, k, l, sens):
                bad.append(c)
        if not bad:
            return accepted
        undo = np.unique(keys[accepted & np.isin(origin[pool], bad)])
        accepted &= ~np.isin(keys, undo)


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
