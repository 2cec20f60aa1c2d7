"""Vectorised date arithmetic and text formatting over numpy / pyarrow arrays.

Dates are ``datetime64[D]`` arrays throughout; text columns are pyarrow string arrays.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

__all__ = [
    "FULLWIDTH_DIGITS",
    "add_years",
    "day",
    "iso_dates",
    "mixed_dates",
    "money",
    "slash_dates",
    "to_str",
    "ymd",
    "zfill",
]

FULLWIDTH_DIGITS = str.maketrans("0123456789", "０１２３４５６７８９")


def day(value: date) -> np.datetime64:
    """A calendar date as ``datetime64[D]``."""
    return np.datetime64(value, "D")


def ymd(days: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Year, month (1-12) and day (1-31) of each date."""
    years = days.astype("M8[Y]")
    months = days.astype("M8[M]")
    y = years.astype(np.int64) + 1970
    m = (months - years.astype("M8[M]")).astype(np.int64) + 1
    d = (days - months.astype("M8[D]")).astype(np.int64) + 1
    return y, m, d


def add_years(days: np.ndarray, n: int | np.ndarray) -> np.ndarray:
    """Same month and day ``n`` years later; 29 February becomes 28 February."""
    years = days.astype("M8[Y]")
    months = days.astype("M8[M]")
    month_no = (months - years.astype("M8[M]")).astype(np.int64)
    day0 = (days - months.astype("M8[D]")).astype(np.int64)
    new_month = (years + np.asarray(n)).astype("M8[M]") + month_no
    length = ((new_month + 1).astype("M8[D]") - new_month.astype("M8[D]")).astype(np.int64)
    return new_month.astype("M8[D]") + np.minimum(day0, length - 1)


def to_str(values: np.ndarray | pa.Array) -> pa.Array:
    """Integers (or anything castable) as a pyarrow string array."""
    return pc.cast(pa.array(values), pa.string())


def zfill(values: np.ndarray, width: int) -> pa.Array:
    """Non-negative integers as zero-padded strings."""
    return pc.utf8_lpad(to_str(values), width=width, padding="0")


def iso_dates(days: np.ndarray) -> pa.Array:
    """``YYYY-MM-DD`` strings."""
    return pa.array(np.datetime_as_string(days.astype("M8[D]"), unit="D"), type=pa.string())


def slash_dates(days: np.ndarray) -> pa.Array:
    """``2026/3/15`` strings (no zero padding)."""
    y, m, d = ymd(days)
    return pc.binary_join_element_wise(to_str(y), to_str(m), to_str(d), "/")


def mixed_dates(days: np.ndarray, style: np.ndarray) -> pa.Array:
    """Style 0 ``2023年5月1日``, 1 ``2023/5/1``, 2 ``20230501``, chosen per row."""
    y, m, d = ymd(days)
    ys, ms, ds = to_str(y), to_str(m), to_str(d)
    chinese = pc.binary_join_element_wise(ys, "年", ms, "月", ds, "日", "")
    slash = pc.binary_join_element_wise(ys, ms, ds, "/")
    compact = pc.binary_join_element_wise(
        ys, pc.utf8_lpad(ms, width=2, padding="0"), pc.utf8_lpad(ds, width=2, padding="0"), ""
    )
    style_arr = pa.array(style.astype(np.int8))
    return pc.choose(style_arr, chinese, slash, compact)


def money(cents: np.ndarray) -> pa.Array:
    """``¥12.50`` strings from integer fen."""
    cents = np.asarray(cents, dtype=np.int64)
    return pc.binary_join_element_wise("¥", to_str(cents // 100), ".", zfill(cents % 100, 2), "")
