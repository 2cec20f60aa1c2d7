"""Information loss of a recoding, by standard metrics, and the utility it keeps.

* **NCP** (normalised certainty penalty; ARX's "loss" for hierarchies, Xu et al. 2006):
  per value, (leaves under the published node − 1) / (distinct values − 1); a
  suppressed row counts 1 on every quasi-identifier; averaged over rows and QIs, in
  [0, 1] (0: nothing generalised). ``weighted_ncp`` weighs the QIs as the search does.
* **Discernibility** (Bayardo & Agrawal 2005): Σ |class|² over classes, plus
  rows × suppressed rows; ``discernibility_per_row`` divides by the rows.
* **Generalisation intensity** per QI: mean published level / ladder height.
* **Coverage** per QI: the share of rows with a known value that are published at
  each level or finer (a suppressed row is published at no level).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from anonymize.hierarchy import QiHierarchy

__all__ = ["combined_key", "coverage", "information_loss", "published_nodes"]


Bounds = Mapping[int, tuple[np.ndarray, np.ndarray]]


def published_nodes(
    hierarchies: Sequence[QiHierarchy], levels: np.ndarray, bounds: Bounds | None = None
) -> np.ndarray:
    """Per row and QI, a code of the published node: equal codes, equal labels. At an
    interval level the node is the row's interval (its bounds), else the level's code."""
    out = np.empty(levels.shape, dtype=np.int64)
    for q, h in enumerate(hierarchies):
        lv = levels[:, q].astype(np.int64)
        node = np.empty(len(lv), dtype=np.int64)
        for j in np.unique(lv):
            at = lv == j
            if h.is_interval(int(j)) and bounds and q in bounds:
                lo, hi = bounds[q][0][at], bounds[q][1][at]
                pair = np.stack([np.nan_to_num(lo, nan=-1.0), np.nan_to_num(hi, nan=-1.0)])
                _, code = np.unique(pair, axis=1, return_inverse=True)
                node[at] = code.ravel()
            else:
                node[at] = h.maps[j][h.codes[at]]
        out[:, q] = node
    return out


def combined_key(columns: Sequence[np.ndarray]) -> np.ndarray:
    """One dense code per distinct combination of the non-negative integer ``columns``."""
    if not columns:
        return np.zeros(0, dtype=np.int64)
    key = np.zeros(len(columns[0]), dtype=np.int64)
    for col in columns:
        col = np.asarray(col, dtype=np.int64)
        key = key * (int(col.max(initial=0)) + 1) + col
        _, key = np.unique(key, return_inverse=True)
        key = key.ravel().astype(np.int64)
    return key


def _ncp_matrix(
    hierarchies: Sequence[QiHierarchy], levels: np.ndarray, bounds: Bounds | None = None
) -> np.ndarray:
    out = np.empty(levels.shape, dtype=float)
    for q, h in enumerate(hierarchies):
        lv = levels[:, q].astype(np.int64)
        value = np.empty(len(lv), dtype=float)
        for j in np.unique(lv):
            at = lv == j
            if h.is_interval(int(j)) and bounds and q in bounds:
                value[at] = h.interval_ncp(bounds[q][0][at], bounds[q][1][at])
            else:
                value[at] = h.ncp(int(j), h.maps[j][h.codes[at]])
        out[:, q] = value
    return out


def information_loss(
    hierarchies: Sequence[QiHierarchy],
    levels: np.ndarray,
    suppressed: np.ndarray,
    weights: Sequence[float] | None = None,
    bounds: Bounds | None = None,
) -> dict[str, Any]:
    """NCP (plain and weighted), discernibility and generalisation intensity of a recoding
    (``bounds``: the intervals of rows at a data-driven interval level)."""
    n = len(suppressed)
    if n == 0 or not hierarchies:
        return {"ncp": 0.0, "weighted_ncp": 0.0, "discernibility": 0, "rows": n}
    w = np.asarray(weights if weights is not None else [1.0] * len(hierarchies), dtype=float)
    ncp = _ncp_matrix(hierarchies, levels, bounds)
    ncp[suppressed] = 1.0
    kept = ~suppressed
    keys = np.zeros(int(kept.sum()), dtype=np.int64)
    if kept.any():
        nodes = published_nodes(hierarchies, levels, bounds)[kept]
        parts = []
        for q in range(len(hierarchies)):
            parts.append(levels[kept, q].astype(np.int64))
            parts.append(nodes[:, q])
        keys = combined_key(parts)
    sizes = np.bincount(keys.ravel()) if kept.any() else np.zeros(0, dtype=np.int64)
    discernibility = int((sizes.astype(np.int64) ** 2).sum()) + n * int(suppressed.sum())
    return {
        "rows": n,
        "suppressed": int(suppressed.sum()),
        "classes": len(sizes),
        "k_achieved": int(sizes.min()) if len(sizes) else None,
        "ncp": round(float(ncp.mean()), 6),
        "weighted_ncp": round(float((ncp * w).sum(axis=1).mean() / w.sum()), 6),
        "ncp_per_qi": {
            h.name: round(float(ncp[:, q].mean()), 6) for q, h in enumerate(hierarchies)
        },
        "discernibility": discernibility,
        "discernibility_per_row": round(discernibility / n, 3),
        "generalisation_intensity": {
            h.name: round(float(np.where(suppressed, h.top, levels[:, q]).mean() / h.top), 6)
            if h.top
            else 0.0
            for q, h in enumerate(hierarchies)
        },
    }


def coverage(
    hierarchies: Sequence[QiHierarchy], levels: np.ndarray, suppressed: np.ndarray
) -> dict[str, dict[str, Any]]:
    """Per QI: rows with a known value, and the share of them published at each level or
    finer (``at_or_finer[j]``; level 0 is the value itself). Suppressed rows count as
    published at no level; rows whose value is missing (e.g. never joined) are not counted."""
    out: dict[str, dict[str, Any]] = {}
    for q, h in enumerate(hierarchies):
        known = h.known()
        base = int(known.sum())
        lv = np.where(suppressed, h.top + 1, levels[:, q])[known]
        shares = [round(float((lv <= j).mean()), 6) if base else None for j in range(h.top + 1)]
        out[h.name] = {
            "rows_with_value": base,
            "levels": [_level_name(h, j) for j in range(h.top + 1)],
            "at_or_finer": shares,
        }
    return out


def _level_name(h: QiHierarchy, j: int) -> str:
    return h.level_names[j] if j < len(h.level_names) else f"level {j}"
