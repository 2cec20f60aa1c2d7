"""Multi-pass OR blocking on keyed block keys, under a candidate budget.

Each pass compares the records that share its block key (a record without a key in a pass
takes no part in it); a pair is a candidate when *any* pass brings it together, and is
compared once. Before any pair is made, the pass sizes are counted: when their sum would
pass ``budget``, :class:`CandidateBudgetExceeded` says by how much and which pass is the
largest — nothing is compared silently for hours.

After scoring, :func:`estimate_recall_loss` estimates the share of true matches no pass
caught, from how often the accepted matches agree on each pass (a capture–recapture
estimate that takes the passes' misses as independent).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = [
    "BlockingReport",
    "CandidateBudgetExceeded",
    "Candidates",
    "candidate_pairs",
    "estimate_recall_loss",
]

NO_BLOCK = -1


class CandidateBudgetExceeded(ValueError):
    """Blocking would make more candidate pairs than the budget allows."""


@dataclass(frozen=True)
class Candidates:
    i: np.ndarray  # int32 left (or first) row
    j: np.ndarray  # int32 right (or second) row; i < j in dedup
    per_pass: dict[str, int]  # new pairs each pass added (after the earlier passes)


@dataclass(frozen=True)
class BlockingReport:
    """Pairs compared, out of how many, and the estimated share of matches blocking lost."""

    passes: dict[str, int]
    pairs_compared: int
    pairs_possible: int
    estimated_recall_loss: float | None = None

    @property
    def reduction_ratio(self) -> float:
        return 1.0 - self.pairs_compared / self.pairs_possible if self.pairs_possible else 0.0


def _runs(sorted_keys: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(key, start, length) of each run of equal keys in a sorted array."""
    if len(sorted_keys) == 0:
        empty = np.empty(0, dtype=np.int64)
        return empty, empty, empty
    starts = np.flatnonzero(np.r_[True, sorted_keys[1:] != sorted_keys[:-1]])
    counts = np.diff(np.r_[starts, len(sorted_keys)])
    return sorted_keys[starts], starts, counts


def _groups(left: np.ndarray, right: np.ndarray | None):
    """Per common key: sorted row orders and run starts/lengths on each side."""
    ol = np.argsort(left, kind="stable")
    sl = left[ol]
    keep = sl != NO_BLOCK
    ol, sl = ol[keep], sl[keep]
    kl, startl, countl = _runs(sl)
    if right is None:
        return ol, startl, countl, ol, startl, countl
    orr = np.argsort(right, kind="stable")
    sr = right[orr]
    keep = sr != NO_BLOCK
    orr, sr = orr[keep], sr[keep]
    kr, startr, countr = _runs(sr)
    _, a, b = np.intersect1d(kl, kr, assume_unique=True, return_indices=True)
    return ol, startl[a], countl[a], orr, startr[b], countr[b]


def _pass_size(groups, dedup: bool) -> int:
    _, _, cl, _, _, cr = groups
    cl, cr = cl.astype(np.int64), cr.astype(np.int64)
    if dedup:
        return int((cl * (cl - 1) // 2).sum())
    return int((cl * cr).sum())


def _expand(groups, dedup: bool) -> tuple[np.ndarray, np.ndarray]:
    """All pairs sharing a key in one pass (``i < j`` when deduplicating)."""
    ol, sl, cl, orr, sr, cr = groups
    # every left member of a common block, repeated once per right member
    member_block = np.repeat(np.arange(len(cl)), cl)
    cl = cl.astype(np.int64)
    member_pos = (
        np.arange(int(cl.sum()), dtype=np.int64)
        - np.repeat(np.cumsum(cl) - cl, cl)
        + np.repeat(sl.astype(np.int64), cl)
    )
    reps = cr[member_block].astype(np.int64)
    total = int(reps.sum())
    li = np.repeat(ol[member_pos], reps)
    offset = np.arange(total, dtype=np.int64) - np.repeat(np.cumsum(reps) - reps, reps)
    rj = orr[np.repeat(sr[member_block], reps) + offset]
    if dedup:
        keep = li < rj
        li, rj = li[keep], rj[keep]
    return li.astype(np.int32), rj.astype(np.int32)


def candidate_pairs(
    left_keys: np.ndarray,
    right_keys: np.ndarray | None,
    passes: tuple[str, ...],
    *,
    budget: int = 50_000_000,
) -> Candidates:
    """Candidate pairs of multi-pass OR blocking; ``right_keys=None`` deduplicates one table.

    ``left_keys``/``right_keys`` are ``int64[n, passes]`` (-1 = no key in that pass).
    Raises :class:`CandidateBudgetExceeded` before making any pair when the passes
    together would make more than ``budget`` pairs.
    """
    left_keys = np.asarray(left_keys, dtype=np.int64)
    right = None if right_keys is None else np.asarray(right_keys, dtype=np.int64)
    if left_keys.ndim != 2 or left_keys.shape[1] != len(passes):
        raise ValueError(f"block keys must be int64[n, {len(passes)}], got {left_keys.shape}")
    if right is not None and right.shape[1] != len(passes):
        raise ValueError("both sides need block keys for the same passes")
    if not passes:
        raise ValueError("blocking needs at least one pass")
    groups = [
        _groups(left_keys[:, p], None if right is None else right[:, p]) for p in range(len(passes))
    ]
    sizes = {name: _pass_size(groups[p], right is None) for p, name in enumerate(passes)}
    if sum(sizes.values()) > budget:
        largest = max(sizes, key=sizes.__getitem__)
        raise CandidateBudgetExceeded(
            f"blocking would compare up to {sum(sizes.values()):,} pairs, over the candidate "
            f"budget of {budget:,} (largest pass {largest!r}: {sizes[largest]:,} pairs); "
            "make a pass more selective or raise the budget"
        )
    out_i, out_j, added = [], [], {}
    for p, name in enumerate(passes):
        i, j = _expand(groups[p], right is None)
        other = left_keys if right is None else right
        seen = np.zeros(len(i), dtype=bool)
        for q in range(p):  # a pair an earlier pass brought together is already there
            earlier = left_keys[i, q]
            seen |= (earlier == other[j, q]) & (earlier != NO_BLOCK)
        i, j = i[~seen], j[~seen]
        added[name] = len(i)
        out_i.append(i)
        out_j.append(j)
    return Candidates(np.concatenate(out_i), np.concatenate(out_j), added)


def estimate_recall_loss(
    left_keys: np.ndarray, right_keys: np.ndarray, i: np.ndarray, j: np.ndarray
) -> float | None:
    """Estimated share of true matches that no pass brought together, from matches ``(i, j)``.

    Pass ``p`` caught ``n_p`` of the ``n`` matches found. Taking the passes' misses as
    independent, the number of true matches ``N`` solves ``N * (1 - prod(1 - n_p / N)) = n``
    (Lincoln–Petersen for several lists); the loss is ``1 - n / N``. None without matches.
    """
    n = len(i)
    if n == 0:
        return None
    lk, rk = left_keys[i], right_keys[j]
    caught = ((lk == rk) & (lk != NO_BLOCK)).sum(axis=0).astype(float)
    if (caught >= n).any():
        return 0.0
    if (caught == 0).all():
        return None

    def found(total: float) -> float:
        return total * (1.0 - np.prod(1.0 - caught / total))

    lo, hi = float(n), float(n) * 1e3
    if found(hi) < n:
        return None
    for _ in range(100):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if found(mid) < n else (lo, mid)
    return 1.0 - n / hi
