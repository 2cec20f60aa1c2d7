"""Statistics protected as statistics: small-cell suppression with complementary suppression.

A table of counts is given as cells and the linear relations the publication shows
(each margin cell is the sum of its parts, all published in the same table).
Cells with 0 < count < threshold are suppressed (primary); then, until no
suppressed cell can be worked out from what is published, more cells are
suppressed (complementary): first so that no relation has exactly one unknown,
then — checked on the whole linear system, not line by line — any cell that the
published relations still determine (its unit vector lies in the row space of the
relations restricted to the suppressed cells) gets a partner suppressed in one of
its relations. Complementary cells are the smallest non-zero published cells.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

__all__ = ["SuppressionResult", "determined_cells", "suppress_small_cells"]


@dataclass(frozen=True)
class SuppressionResult:
    suppressed: np.ndarray  # bool per cell
    primary: np.ndarray  # bool per cell: below the threshold
    rounds: int


def determined_cells(
    counts: np.ndarray, relations: Sequence[tuple[int, Sequence[int]]], suppressed: np.ndarray
) -> np.ndarray:
    """Suppressed cells whose value the published relations determine exactly.

    ``relations``: (total cell, part cells) pairs meaning total = Σ parts. Unknowns are
    the suppressed cells; a cell is determined when the unit vector on it lies in the
    row space of the system (nonnegativity is not used: see the tests' LP audit)."""
    unknown = np.flatnonzero(suppressed)
    if not len(unknown):
        return np.zeros(0, dtype=np.int64)
    col = {c: i for i, c in enumerate(unknown)}
    rows = []
    for total, parts in relations:
        row = np.zeros(len(unknown))
        for c in (total,):
            if c in col:
                row[col[c]] -= 1
        for c in parts:
            if c in col:
                row[col[c]] += 1
        if row.any():
            rows.append(row)
    if not rows:
        return np.zeros(0, dtype=np.int64)
    a = np.vstack(rows)
    # null space of a: cells with zero in every null vector are determined
    _, s, vt = np.linalg.svd(a)
    rank = int((s > 1e-9 * max(a.shape)).sum())
    null = vt[rank:]
    if null.shape[0] == 0:
        return unknown
    free = np.abs(null).max(axis=0) > 1e-9
    return unknown[~free]


def suppress_small_cells(
    counts: np.ndarray,
    relations: Sequence[tuple[int, Sequence[int]]],
    threshold: int,
    fixed: np.ndarray | None = None,
) -> SuppressionResult:
    """Primary and complementary suppression of ``counts`` under ``relations``; ``fixed``
    cells are published elsewhere and are never suppressed. Zero cells are never chosen
    as complements (a zero beside a hidden cell would pin it through x >= 0)."""
    counts = np.asarray(counts, dtype=np.int64)
    fixed = np.zeros(len(counts), dtype=bool) if fixed is None else np.asarray(fixed, bool)
    primary = (counts > 0) & (counts < threshold) & ~fixed
    suppressed = primary.copy()
    lines = [[total, *parts] for total, parts in relations]
    by_cell: dict[int, list[int]] = {}
    for i, line in enumerate(lines):
        for c in line:
            by_cell.setdefault(c, []).append(i)

    def partner(line: list[int]) -> int | None:
        pool = [c for c in line if not suppressed[c] and not fixed[c] and counts[c] > 0]
        return min(pool, key=lambda c: (counts[c], c)) if pool else None

    rounds = 0
    while True:
        rounds += 1
        changed = False
        for line in lines:
            if sum(bool(suppressed[c]) for c in line) == 1:
                c = partner(line)
                if c is not None:
                    suppressed[c] = True
                    changed = True
        if changed:
            continue
        exact = determined_cells(counts, relations, suppressed)
        if not len(exact):
            break
        for cell in exact:
            options = [partner(lines[i]) for i in by_cell.get(int(cell), [])]
            options = [c for c in options if c is not None]
            if options:
                suppressed[min(options, key=lambda c: (counts[c], c))] = True
                changed = True
                break
        if not changed:  # no partner in its own lines hides it: break the chain elsewhere
            open_cells = sorted(
                (c for c in range(len(counts)) if not suppressed[c] and not fixed[c] and counts[c]),
                key=lambda c: (counts[c], c),
            )
            for c in open_cells:
                suppressed[c] = True
                if len(determined_cells(counts, relations, suppressed)) < len(exact):
                    changed = True
                    break
                suppressed[c] = False
        if not changed:  # nothing helps: hide every cell that may be hidden
            suppressed |= ~fixed & (counts > 0)
            break
    return SuppressionResult(suppressed=suppressed, primary=primary, rounds=rounds)
