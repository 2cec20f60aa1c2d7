"""Global (full-domain) recoding by optimal lattice search, the baseline of the local gate.

Every combination of one ladder level per quasi-identifier is a node of the
generalisation lattice; a node is feasible when the rows still violating k (and
l) fit the suppression budget (those rows are suppressed). Of the feasible nodes
the one of least weighted loss is taken (as ARX's optimal search does). A node
whose every generalisation is infeasible cannot be feasible itself, so nodes are
visited from the most general down and the specialisations of an infeasible node
are skipped.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from anonymize.hierarchy import QiHierarchy
from anonymize.mondrian import level_losses

__all__ = ["GlobalRecoding", "global_recoding"]


@dataclass(frozen=True)
class GlobalRecoding:
    node: tuple[int, ...]
    levels: np.ndarray
    suppressed: np.ndarray
    nodes_checked: int
    feasible: bool


def _violating(
    hierarchies: Sequence[QiHierarchy],
    node: Sequence[int],
    k: int,
    l: int,  # noqa: E741
    sens: list,
) -> np.ndarray:
    key = np.zeros(len(hierarchies[0].codes), dtype=np.int64)
    for h, j in zip(hierarchies, node, strict=True):
        codes = h.maps[j][h.codes]
        key = key * (int(codes.max()) + 1) + codes
    _, inv, counts = np.unique(key, return_inverse=True, return_counts=True)
    bad = counts[inv] < k
    for s in sens:
        pairs = np.unique(np.stack([inv, s]), axis=1)
        distinct = np.bincount(pairs[0], minlength=len(counts))
        bad |= distinct[inv] < l
    return bad


def global_recoding(
    hierarchies: Sequence[QiHierarchy],
    *,
    k: int,
    l: int = 1,  # noqa: E741
    sensitive: Sequence[np.ndarray] = (),
    weights: Sequence[float] | None = None,
    suppression_budget: int = 0,
    metric: str = "ncp",
    level_loss: Sequence[Sequence[float] | None] | None = None,
) -> GlobalRecoding:
    """The feasible full-domain node of least weighted loss (suppressed rows lose all)."""
    q_count = len(hierarchies)
    n = len(hierarchies[0].codes)
    w = np.asarray(weights if weights is not None else [1.0] * q_count, dtype=float)
    sens = [np.asarray(s) for s in sensitive]
    overrides = level_loss or [None] * q_count
    losses = [level_losses(h, metric, o) for h, o in zip(hierarchies, overrides, strict=True)]
    # mean weighted loss of each QI at each level, over all rows
    mean_loss = [
        [float(losses[q][j][h.maps[j][h.codes]].mean()) for j in range(h.top + 1)]
        for q, h in enumerate(hierarchies)
    ]
    # a data-driven interval level is local by nature: the global recoding skips it
    options = [[j for j in range(h.top + 1) if not h.is_interval(j)] for h in hierarchies]
    nodes = sorted(itertools.product(*options), key=lambda v: -sum(v))
    infeasible: list[tuple[int, ...]] = []
    best: tuple[float, tuple[int, ...], np.ndarray] | None = None
    checked = 0
    for node in nodes:
        if any(all(a <= b for a, b in zip(node, bad, strict=True)) for bad in infeasible):
            continue
        checked += 1
        violating = _violating(hierarchies, node, k, l, sens)
        dropped = int(violating.sum())
        if dropped > suppression_budget:
            infeasible.append(node)
            continue
        kept_loss = sum(w[q] * mean_loss[q][j] for q, j in enumerate(node))
        if dropped:  # suppressed rows count as fully lost; approximate with node means
            kept_loss = (kept_loss * (n - dropped) + w.sum() * dropped) / n
        score = kept_loss / w.sum()
        if best is None or score < best[0]:
            best = (score, node, violating)
    if best is None:
        top = tuple(h.top for h in hierarchies)
        levels = np.tile(np.array(top, dtype=np.int8), (n, 1))
        return GlobalRecoding(top, levels, np.ones(n, dtype=bool), checked, False)
    _, node, violating = best
    levels = np.tile(np.array(node, dtype=np.int8), (n, 1))
    return GlobalRecoding(node, levels, violating, checked, True)
