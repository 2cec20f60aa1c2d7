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

from collections.abc import Sequence
from typing import Any

import numpy as np

from anonymize.hierarchy import QiHierarchy

__all__ = ["coverage", "information_loss"]


def _ncp_matrix(hierarchies: Sequence[QiHierarchy], levels: np.ndarray) -> np.ndarray:
    out = np.empty(levels.shape, dtype=float)
    for q, h in enumerate(hierarchies):
        lv = levels[:, q].astype(np.int64)
        node = np.empty(len(lv), dtype=np.int64)
        value = np.empty(len(lv), dtype=float)
        for j in np.unique(lv):
            at = lv == j
            node[at] = h.maps[j][h.codes[at]]
            value[at] = h.ncp(int(j), node[at])
        out[:, q] = value
    return out


def information_loss(
    hierarchies: Sequence[QiHierarchy],
    levels: np.ndarray,
    suppressed: np.ndarray,
    weights: Sequence[float] | None = None,
) -> dict[str, Any]:
    """NCP (plain and weighted), discernibility and generalisation intensity of a recoding."""
    n = len(suppressed)
    if n == 0 or not hierarchies:
        return {"ncp": 0.0, "weighted_ncp": 0.0, "discernibility": 0, "rows": n}
    w = np.asarray(weights if weights is not None else [1.0] * len(hierarchies), dtype=float)
    ncp = _ncp_matrix(hierarchies, levels)
    ncp[suppressed] = 1.0
    kept = ~suppressed
    keys = np.zeros(int(kept.sum()), dtype=np.int64)
    if kept.any():
        parts = []
        for q, h in enumerate(hierarchies):
            lv = levels[kept, q].astype(np.int64)
            node = np.empty(len(lv), dtype=np.int64)
            for j in np.unique(lv):
                at = lv == j
                node[at] = h.maps[j][h.codes[kept][at]]
            parts.append(lv)
            parts.append(node)
        _, keys = np.unique(np.stack(parts), axis=1, return_inverse=True)
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
