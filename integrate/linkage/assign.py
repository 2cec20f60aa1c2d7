"""From scored pairs to decisions: one-to-one assignment, best per record, clusters.

* :func:`greedy_one_to_one` — the greedy assignment (highest score first, ties by left
  then right row), computed in rounds of mutual best pairs: a pair that is the best
  remaining pair of both its rows is one the greedy would take, so each round accepts all
  of them at once and drops the pairs they block. Same result as the sequential greedy,
  with a handful of vectorised rounds instead of a Python loop over millions of pairs.
* :func:`best_per_left` — many-to-one (records → persons): each left row takes its best
  pair; a row whose two best are within ``margin`` is ambiguous, not guessed.
* :func:`cluster_labels` — dedup clusters from accepted pairs under a linkage rule.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

__all__ = ["CLUSTER_RULES", "best_per_left", "cluster_labels", "greedy_one_to_one"]

CLUSTER_RULES = ("connected", "best_link")


def _first_by_rank(keys: np.ndarray, positions: np.ndarray, size: int) -> np.ndarray:
    best = np.full(size, np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(best, keys, positions)
    return best


def greedy_one_to_one(i: np.ndarray, j: np.ndarray, score: np.ndarray) -> np.ndarray:
    """Sorted indices of the pairs the greedy one-to-one assignment accepts."""
    if len(i) == 0:
        return np.empty(0, dtype=np.int64)
    order = np.lexsort((j, i, -score.astype(np.float64)))
    ii, jj = i[order].astype(np.int64), j[order].astype(np.int64)
    ni, nj = int(ii.max()) + 1, int(jj.max()) + 1
    alive = np.arange(len(order), dtype=np.int64)  # ranks still in play, ascending
    taken_i = np.zeros(ni, dtype=bool)
    taken_j = np.zeros(nj, dtype=bool)
    accepted = []
    while len(alive):
        ai, aj = ii[alive], jj[alive]
        best_i = _first_by_rank(ai, alive, ni)
        best_j = _first_by_rank(aj, alive, nj)
        mutual = (best_i[ai] == alive) & (best_j[aj] == alive)
        won = alive[mutual]
        accepted.append(won)
        taken_i[ii[won]] = True
        taken_j[jj[won]] = True
        alive = alive[~(taken_i[ai] | taken_j[aj])]
    return np.sort(order[np.concatenate(accepted)])


def best_per_left(
    i: np.ndarray, j: np.ndarray, score: np.ndarray, margin: float = 0.0
) -> tuple[np.ndarray, np.ndarray]:
    """(indices of each left row's best pair, left rows left ambiguous).

    A left row whose second-best pair scores within ``margin`` of its best (exact ties at
    the default 0) is ambiguous and takes no pair.
    """
    if len(i) == 0:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
    order = np.lexsort((j, -score.astype(np.float64), i))
    si, ss = i[order], score[order].astype(np.float64)
    first = np.ones(len(order), dtype=bool)
    first[1:] = si[1:] != si[:-1]
    second = np.zeros(len(order), dtype=bool)
    second[1:] = ~first[1:] & first[:-1]
    tied_next = np.zeros(len(order), dtype=bool)
    tied_next[:-1] = second[1:] & (ss[1:] >= ss[:-1] - margin - 1e-9)
    ambiguous = first & tied_next
    keep = first & ~ambiguous
    return np.sort(order[keep]), np.unique(si[ambiguous]).astype(np.int64)


def cluster_labels(
    n: int,
    i: np.ndarray,
    j: np.ndarray,
    score: np.ndarray,
    rule: Literal["connected", "best_link"] = "connected",
) -> np.ndarray:
    """A cluster label per row (``0..clusters-1``) from accepted dedup pairs.

    ``connected``: single linkage, rows joined by any accepted pair share a cluster.
    ``best_link``: each row keeps only its best-scoring pair before joining, so one weak
    pair cannot chain two clusters together.
    """
    if rule not in CLUSTER_RULES:
        raise ValueError(f"unknown cluster rule {rule!r}; known: {list(CLUSTER_RULES)}")
    i, j = np.asarray(i, dtype=np.int64), np.asarray(j, dtype=np.int64)
    if rule == "best_link" and len(i):
        both_i = np.concatenate([i, j])
        both_j = np.concatenate([j, i])
        both_s = np.concatenate([score, score])
        keep, _ = best_per_left(both_i, both_j, both_s, margin=-1.0)
        i, j = both_i[keep], both_j[keep]
    graph = coo_matrix((np.ones(len(i), dtype=np.int8), (i, j)), shape=(n, n))
    _, labels = connected_components(graph, directed=False)
    return labels.astype(np.int64)
