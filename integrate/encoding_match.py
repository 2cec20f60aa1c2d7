"""Matching two tables of Bloom-filter encodings: blocking, Dice scoring, assignment.

The reusable linkage API: encodings in (``uint8[n, bytes]`` each side, optional
block keys), pairs with scores out. It knows nothing of people or columns.

* Blocking: only rows with equal block keys are compared (a null key compares
  with nothing). Without block keys every left row meets every right row.
* Scoring: Dice on packed bits with ``np.bitwise_count``, block by block, in
  chunks bounded by ``max_cells`` so memory stays flat.
* Ambiguity: a left row whose best two candidates score within
  ``ambiguity_margin`` of each other (exact ties at the default 0) is not
  matched but reported in ``ambiguous_left`` — never guessed. In one-to-one
  mode a right row with two such left candidates makes both ambiguous too.
* Assignment: one-to-one greedy by descending score (ties by index, so the
  result is deterministic); or, with ``one_to_one=False``, each left row takes
  its best right row (many records → one person).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd

from integrate.clk import popcount_rows

__all__ = ["EncodingMatch", "match_encodings", "match_encodings_detailed"]

log = logging.getLogger(__name__)

_PAIR_COLUMNS = ("i", "j", "dice")


@dataclass(frozen=True, slots=True)
class EncodingMatch:
    pairs: pd.DataFrame  # i, j, dice (accepted matches)
    ambiguous_left: np.ndarray  # left indices with two (near-)equal best candidates
    candidates: int  # candidate pairs at or above the threshold
    comparisons: int  # Dice computations made


def _as_words(encodings: np.ndarray) -> np.ndarray:
    arr = np.ascontiguousarray(encodings, dtype=np.uint8)
    if arr.ndim != 2:
        raise ValueError(f"encodings must be 2-D (rows × bytes), got shape {arr.shape}")
    return arr.view(np.uint64) if arr.shape[1] % 8 == 0 else arr


def _block_groups(
    n_left: int, n_right: int, block_left: object, block_right: object
) -> list[tuple[np.ndarray, np.ndarray]]:
    if block_left is None and block_right is None:
        return [(np.arange(n_left), np.arange(n_right))]
    if block_left is None or block_right is None:
        raise ValueError("give block keys for both sides or for neither")
    bl, br = (
        pd.Series(np.asarray(block_left, dtype=object)),
        pd.Series(np.asarray(block_right, dtype=object)),
    )
    if len(bl) != n_left or len(br) != n_right:
        raise ValueError("block keys must have one entry per encoding row")
    codes, _ = pd.factorize(pd.concat([bl, br], ignore_index=True), use_na_sentinel=True)
    cl, cr = codes[:n_left], codes[n_left:]
    order_l = np.argsort(cl, kind="stable")
    order_r = np.argsort(cr, kind="stable")
    sl, sr = cl[order_l], cr[order_r]
    common = np.intersect1d(sl[sl >= 0], sr[sr >= 0])
    starts_l = np.searchsorted(sl, common, "left")
    ends_l = np.searchsorted(sl, common, "right")
    starts_r = np.searchsorted(sr, common, "left")
    ends_r = np.searchsorted(sr, common, "right")
    return [
        (order_l[a:b], order_r[c:d])
        for a, b, c, d in zip(starts_l, ends_l, starts_r, ends_r, strict=True)
    ]


def _score_blocks(
    left: np.ndarray,
    right: np.ndarray,
    groups: list[tuple[np.ndarray, np.ndarray]],
    threshold: float,
    max_cells: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    wl, wr = _as_words(left), _as_words(right)
    pl, pr = popcount_rows(left), popcount_rows(right)
    words = wl.shape[1]
    out_i: list[np.ndarray] = []
    out_j: list[np.ndarray] = []
    out_d: list[np.ndarray] = []
    comparisons = 0
    for li, rj in groups:
        right_words = wr[rj]
        right_pop = pr[rj]
        step = max(1, max_cells // max(1, len(rj) * words))
        for start in range(0, len(li), step):
            rows = li[start : start + step]
            common = np.bitwise_count(wl[rows][:, None, :] & right_words[None, :, :]).sum(
                axis=2, dtype=np.int32
            )
            total = pl[rows][:, None] + right_pop[None, :]
            dice = np.divide(2.0 * common, total, out=np.zeros(common.shape), where=total > 0)
            comparisons += dice.size
            a, b = np.nonzero(dice >= threshold)
            if len(a):
                out_i.append(rows[a])
                out_j.append(rj[b])
                out_d.append(dice[a, b])
    if not out_i:
        empty = np.empty(0, dtype=np.int64)
        return empty, empty, np.empty(0), comparisons
    return np.concatenate(out_i), np.concatenate(out_j), np.concatenate(out_d), comparisons


def _tied_best(keys: np.ndarray, scores: np.ndarray, margin: float) -> np.ndarray:
    """Mask of candidates that are a top-two of their key with the top two within margin."""
    order = np.lexsort((-scores, keys))
    k, s = keys[order], scores[order]
    first = np.ones(len(k), dtype=bool)
    first[1:] = k[1:] != k[:-1]
    second = np.zeros(len(k), dtype=bool)
    second[1:] = (~first[1:]) & first[:-1]
    best = np.maximum.accumulate(np.where(first, np.arange(len(k)), 0))
    tied_second = second & (s >= s[best] - margin - 1e-12)
    mask_sorted = tied_second.copy()
    mask_sorted[best[tied_second]] = True
    mask = np.zeros(len(k), dtype=bool)
    mask[order] = mask_sorted
    return mask


def _greedy_one_to_one(i: np.ndarray, j: np.ndarray, d: np.ndarray) -> np.ndarray:
    """Indices of accepted candidates: highest score first, ties by (i, j)."""
    order = np.lexsort((j, i, -d))
    # fast path: pairs that are each other's best are accepted at once
    best_i = np.full(i.max() + 1, -1, dtype=np.int64) if len(i) else np.empty(0, np.int64)
    best_j = np.full(j.max() + 1, -1, dtype=np.int64) if len(j) else np.empty(0, np.int64)
    for pos in order[::-1]:  # reverse so the highest-ranked candidate is written last
        best_i[i[pos]] = pos
        best_j[j[pos]] = pos
    mutual = (best_i[i] == np.arange(len(i))) & (best_j[j] == np.arange(len(j)))
    taken_i = np.zeros(len(best_i), dtype=bool)
    taken_j = np.zeros(len(best_j), dtype=bool)
    taken_i[i[mutual]] = True
    taken_j[j[mutual]] = True
    accepted = list(np.nonzero(mutual)[0])
    rest = order[~mutual[order]]
    for pos, a, b in zip(rest.tolist(), i[rest].tolist(), j[rest].tolist(), strict=True):
        if not taken_i[a] and not taken_j[b]:
            taken_i[a] = taken_j[b] = True
            accepted.append(pos)
    return np.sort(np.asarray(accepted, dtype=np.int64))


def match_encodings_detailed(
    left: np.ndarray,
    right: np.ndarray,
    *,
    threshold: float = 0.8,
    block_left: object = None,
    block_right: object = None,
    one_to_one: bool = True,
    ambiguity_margin: float = 0.0,
    max_cells: int = 4_000_000,
) -> EncodingMatch:
    """Like :func:`match_encodings`, with the ambiguous left rows and counts."""
    if not 0.0 < threshold <= 1.0:
        raise ValueError(f"threshold must be in (0, 1], got {threshold}")
    left, right = np.asarray(left, dtype=np.uint8), np.asarray(right, dtype=np.uint8)
    if left.ndim != 2 or right.ndim != 2 or left.shape[1] != right.shape[1]:
        raise ValueError(f"encodings must be 2-D of equal width, got {left.shape}, {right.shape}")
    groups = _block_groups(len(left), len(right), block_left, block_right)
    i, j, d, comparisons = _score_blocks(left, right, groups, threshold, max_cells)
    ambiguous = np.zeros(len(i), dtype=bool)
    if len(i):
        ambiguous_rows = _tied_best(i, d, ambiguity_margin)
        if one_to_one:
            ambiguous_rows |= _tied_best(j, d, ambiguity_margin)
        ambiguous_left = np.unique(i[ambiguous_rows])
        ambiguous = np.isin(i, ambiguous_left)
    else:
        ambiguous_left = np.empty(0, dtype=np.int64)
    ki, kj, kd = i[~ambiguous], j[~ambiguous], d[~ambiguous]
    if one_to_one and len(ki):
        keep = _greedy_one_to_one(ki, kj, kd)
    elif len(ki):
        order = np.lexsort((kj, -kd, ki))
        first = np.ones(len(order), dtype=bool)
        first[1:] = ki[order][1:] != ki[order][:-1]
        keep = np.sort(order[first])
    else:
        keep = np.empty(0, dtype=np.int64)
    pairs = pd.DataFrame(
        {"i": ki[keep].astype(np.int64), "j": kj[keep].astype(np.int64), "dice": kd[keep]}
    )
    pairs = pairs.sort_values(["i", "j"], kind="stable").reset_index(drop=True)
    log.debug(
        "matched %d pairs from %d candidates (%d comparisons, %d ambiguous)",
        len(pairs),
        len(i),
        comparisons,
        len(ambiguous_left),
    )
    return EncodingMatch(
        pairs=pairs,
        ambiguous_left=ambiguous_left.astype(np.int64),
        candidates=len(i),
        comparisons=comparisons,
    )


def match_encodings(
    left: np.ndarray,
    right: np.ndarray,
    *,
    threshold: float = 0.8,
    block_left: object = None,
    block_right: object = None,
    one_to_one: bool = True,
    ambiguity_margin: float = 0.0,
) -> pd.DataFrame:
    """Match two tables of encodings; a DataFrame of ``i``, ``j``, ``dice``.

    ``left``/``right`` are ``uint8[n, bytes]`` (e.g. from :func:`clk_encode`);
    ``block_left``/``block_right`` optional sequences of block keys. Pairs scoring
    below ``threshold``, and left rows with (near-)tied best candidates, are left
    out; use :func:`match_encodings_detailed` to see those.
    """
    return match_encodings_detailed(
        left,
        right,
        threshold=threshold,
        block_left=block_left,
        block_right=block_right,
        one_to_one=one_to_one,
        ambiguity_margin=ambiguity_margin,
    ).pairs
