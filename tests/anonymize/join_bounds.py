"""The test side's own bound on the join target (independent of the gate's code)."""

from __future__ import annotations

import numpy as np
import pandas as pd


def branch_peers_bound(persons: pd.DataFrame, width: int = 5, k: int = 5) -> int:
    """Most joiners that can share a class of >= k joiners of their own branch whose join
    years span <= ``width`` (any interval, not only aligned bands; the rows of one year
    may fall in different classes): per branch, the best cover of the sorted join years
    by disjoint runs of >= k rows spanning <= width."""
    joined = persons[persons["joined_year"].notna()]
    total = 0
    for _, years in joined.groupby("branch_id")["joined_year"]:
        ys = np.sort(years.astype(int).to_numpy())
        best = [0] * (len(ys) + 1)
        for i in range(1, len(ys) + 1):
            best[i] = best[i - 1]
            for s in range(i - k, -1, -1):
                if ys[i - 1] - ys[s] + 1 > width:
                    break
                best[i] = max(best[i], best[s] + i - s)
        total += best[-1]
    return total
