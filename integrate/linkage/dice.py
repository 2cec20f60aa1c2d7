"""Dice coefficients of candidate pairs on packed bits, in bounded chunks.

Rows are viewed as 64-bit words; a chunk of pairs gathers its rows, ANDs them and counts
bits with ``np.bitwise_count``, so memory stays at a few chunk-sized buffers whatever the
number of pairs. Scores are ``float32`` (Dice of filters up to 65,536 bits is exact to
about 1e-7, far below any threshold step).
"""

from __future__ import annotations

import numpy as np

__all__ = ["as_words", "dice_pairs", "popcounts"]

CHUNK_PAIRS = 65_536


def as_words(encodings: np.ndarray) -> np.ndarray:
    """``uint8[n, bytes]`` viewed as ``uint64[n, bytes // 8]`` (bytes must be a multiple of 8)."""
    arr = np.ascontiguousarray(encodings, dtype=np.uint8)
    if arr.ndim != 2 or arr.shape[1] % 8:
        raise ValueError(f"encodings must be uint8[n, 8k], got shape {arr.shape}")
    return arr.view(np.uint64)


def popcounts(words: np.ndarray) -> np.ndarray:
    """Set bits per row (``int32``)."""
    return np.bitwise_count(words).sum(axis=1, dtype=np.int32)


def dice_pairs(
    left: np.ndarray,
    right: np.ndarray,
    i: np.ndarray,
    j: np.ndarray,
    *,
    left_pop: np.ndarray | None = None,
    right_pop: np.ndarray | None = None,
    chunk: int = CHUNK_PAIRS,
) -> np.ndarray:
    """``float32`` Dice of ``left[i[k]]`` with ``right[j[k]]`` for every k (0 when both empty).

    ``left``/``right`` are word views (:func:`as_words`); popcounts may be passed in.
    """
    if left.shape[1] != right.shape[1]:
        raise ValueError("encodings of different lengths")
    lp = popcounts(left) if left_pop is None else left_pop
    rp = popcounts(right) if right_pop is None else right_pop
    out = np.empty(len(i), dtype=np.float32)
    size = min(chunk, len(i))
    buf_l = np.empty((size, left.shape[1]), dtype=np.uint64)
    buf_r = np.empty((size, left.shape[1]), dtype=np.uint64)
    counts = np.empty((size, left.shape[1]), dtype=np.uint8)
    for start in range(0, len(i), chunk):
        ci, cj = i[start : start + chunk], j[start : start + chunk]
        view_l, view_r, bits = buf_l[: len(ci)], buf_r[: len(ci)], counts[: len(ci)]
        np.take(left, ci, axis=0, out=view_l)
        np.take(right, cj, axis=0, out=view_r)
        np.bitwise_and(view_l, view_r, out=view_l)
        np.bitwise_count(view_l, out=bits)
        common = bits.sum(axis=1, dtype=np.int32)
        total = lp[ci] + rp[cj]
        with np.errstate(invalid="ignore", divide="ignore"):
            dice = (2.0 * common) / np.maximum(total, 1)
        out[start : start + len(ci)] = dice
    return out
