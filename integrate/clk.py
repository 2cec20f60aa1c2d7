"""Comparing keyed Bloom-filter encodings (CLK): Dice coefficients on packed bits.

The encodings are made by the ``clk_bloom`` pseudonymisation operator
(:mod:`anonymize.operators.clk_bloom`) and travel as ``bytes`` in ``<field>_bloom``
columns; :func:`bloom_matrix` reads such a column back as ``uint8[n, bytes]``, and
:func:`dice_rows` / :func:`dice_matrix` compare rows.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

__all__ = ["bloom_matrix", "dice_matrix", "dice_rows", "popcount_rows"]


def bloom_matrix(column: pd.Series | Sequence[bytes | None]) -> tuple[np.ndarray, np.ndarray]:
    """A ``bytes`` column back as ``uint8[n, nbytes]`` plus a validity mask (null → zeros)."""
    cells = list(column)
    valid = np.array([isinstance(c, bytes | bytearray) and len(c) > 0 for c in cells], dtype=bool)
    if not valid.any():
        return np.zeros((len(cells), 0), dtype=np.uint8), valid
    widths = {len(c) for c, ok in zip(cells, valid, strict=True) if ok}
    if len(widths) != 1:
        raise ValueError(f"encodings of different lengths: {sorted(widths)}")
    width = widths.pop()
    zero = bytes(width)
    joined = b"".join(c if ok else zero for c, ok in zip(cells, valid, strict=True))  # type: ignore[misc]
    return np.frombuffer(joined, dtype=np.uint8).reshape(len(cells), width).copy(), valid


def _words(encodings: np.ndarray) -> np.ndarray:
    arr = np.ascontiguousarray(encodings, dtype=np.uint8)
    if arr.ndim != 2:
        raise ValueError(f"encodings must be 2-D (rows × bytes), got shape {arr.shape}")
    if arr.shape[1] % 8 == 0:
        return arr.view(np.uint64)
    return arr


def popcount_rows(encodings: np.ndarray) -> np.ndarray:
    """Number of set bits in each row."""
    return np.bitwise_count(_words(encodings)).sum(axis=1, dtype=np.int64)


def _dice(common: np.ndarray, total: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.where(total > 0, 2.0 * common / total, 0.0)
    return out


def dice_rows(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Dice coefficient of row ``r`` of ``a`` with row ``r`` of ``b``."""
    wa, wb = _words(a), _words(b)
    common = np.bitwise_count(wa & wb).sum(axis=1, dtype=np.int64)
    total = np.bitwise_count(wa).sum(axis=1, dtype=np.int64) + np.bitwise_count(wb).sum(
        axis=1, dtype=np.int64
    )
    return _dice(common, total)


def dice_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """All-pairs Dice coefficients, ``float64[len(a), len(b)]``."""
    wa, wb = _words(a), _words(b)
    common = np.bitwise_count(wa[:, None, :] & wb[None, :, :]).sum(axis=2, dtype=np.int64)
    total = popcount_rows(a)[:, None] + popcount_rows(b)[None, :]
    return _dice(common, total)
