"""Dates as departments write them: named shapes, exact or refused, precision kept.

A *shape* is one anchored way of writing a date (``ymd_sep`` is ``2023-05-01``,
``2023/5/1`` or ``2023.5.1`` with one consistent separator; ``ym_cn`` is
``2021年9月``; ``excel_1900`` is an Excel serial number ...). A source may name,
per column, which shapes it accepts; :data:`DEFAULT_DATE_SHAPES` covers the
common Chinese day-precision spellings.

:func:`parse_dates` tries every accepted shape on every distinct value:

* no shape matches → ``unparseable_date``;
* a shape matches but names no real calendar day (``2023-02-30``) and no other
  shape reads the value → ``impossible_date``;
* two shapes read different dates (or precisions) → ``ambiguous_date``: the
  collision is reported, never resolved by the order of the shapes;
* otherwise the one reading wins.

A month- or year-precision date is stored as the first day of its period and
its precision (:class:`domain.canonical.DatePrecision`) travels beside it, so
rules can compare at the coarser precision of the two sides.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from domain.canonical import DatePrecision
from domain.text import clean_text

__all__ = [
    "DATE_PROBLEMS",
    "DATE_SHAPES",
    "DEFAULT_DATE_SHAPES",
    "DEFAULT_STEP_DATE_SHAPES",
    "DateShape",
    "ParsedDates",
    "check_date_shapes",
    "parse_dates",
    "period_end",
]

#: Problem codes :func:`parse_dates` reports (``<field>:<code>`` in ``parse_errors``).
DATE_PROBLEMS: tuple[str, ...] = ("unparseable_date", "impossible_date", "ambiguous_date")

_D = "[0-9]"  # ASCII digits only: \d would admit other scripts' digits
_TIME = (
    rf"(?:T| +)(?P<H>{_D}{{1,2}}):(?P<M>{_D}{{2}})(?::(?P<S>{_D}{{2}})(?:\.{_D}{{1,9}})?)?"
    rf"(?: ?(?:Z|[+-]{_D}{{2}}:?{_D}{{2}}))?"
)
_YMD_SEP = rf"(?P<y>{_D}{{4}})(?P<sep>[-/.])(?P<m>{_D}{{1,2}})(?P=sep)(?P<d>{_D}{{1,2}})"
_YMD_CN = rf"(?P<y>{_D}{{4}}) ?年 ?(?P<m>{_D}{{1,2}}) ?月 ?(?P<d>{_D}{{1,2}}) ?日?"
_EXCEL_MAX = 2_958_465  # 9999-12-31 in the 1900 system


@dataclass(frozen=True, slots=True)
class DateShape:
    """One anchored way of writing a date; ``kind`` says how a match becomes a date."""

    name: str
    precision: DatePrecision
    patterns: tuple[str, ...]
    examples: tuple[str, ...]
    kind: str = "calendar"  # "calendar" (y/m/d groups) or "excel_1900" / "excel_1904"

    def read(self, text: pd.Series) -> tuple[np.ndarray, np.ndarray]:
        """(matched, datetime64[D]) for distinct normalised ``text``; NaT where no real day."""
        matched = np.zeros(len(text), dtype=bool)
        days = np.full(len(text), np.datetime64("NaT"), dtype="M8[D]")
        for pattern in self.patterns:
            hit = text.str.fullmatch(pattern).fillna(False).to_numpy(dtype=bool) & ~matched
            if not hit.any():
                continue
            rows = text[hit].str.extract(f"^(?:{pattern})$")
            if self.kind == "calendar":
                days[hit] = _calendar_days(rows)
            else:
                days[hit] = _excel_days(rows, self.kind)
            matched |= hit
        return matched, days


def _ints(rows: pd.DataFrame, name: str, default: int) -> np.ndarray:
    if name not in rows.columns:
        return np.full(len(rows), default, dtype=np.int64)
    digits = rows[name].fillna(str(default)).to_numpy(dtype=object)
    return np.array(digits, dtype="U8").astype(np.int64)  # ASCII digits by the patterns


def _calendar_days(rows: pd.DataFrame) -> np.ndarray:
    """datetime64[D] of y/m/d groups (month and day default to 1); NaT where impossible."""
    y, m, d = _ints(rows, "y", 0), _ints(rows, "m", 1), _ints(rows, "d", 1)
    hh, mm, ss = _ints(rows, "H", 0), _ints(rows, "M", 0), _ints(rows, "S", 0)
    ok = (y >= 1) & (m >= 1) & (m <= 12) & (d >= 1) & (hh <= 23) & (mm <= 59) & (ss <= 59)
    months = ((np.where(ok, y, 1970) - 1970) * 12 + np.where(ok, m, 1) - 1).astype("M8[M]")
    start = months.astype("M8[D]")
    length = ((months + 1).astype("M8[D]") - start).astype(np.int64)
    ok &= d <= length
    out = start + (np.where(ok, d, 1) - 1).astype("m8[D]")
    out[~ok] = np.datetime64("NaT")
    return out


def _excel_days(rows: pd.DataFrame, kind: str) -> np.ndarray:
    """datetime64[D] of Excel serial numbers (the fraction is a time of day, dropped)."""
    serial = _ints(rows, "serial", -1)
    if kind == "excel_1904":
        ok = (serial >= 0) & (serial <= _EXCEL_MAX - 1462)
        out = np.datetime64("1904-01-01", "D") + np.where(ok, serial, 0).astype("m8[D]")
    else:
        # serial 60 is 1900-02-29, a day that never was (Lotus 1-2-3's leap-year bug)
        ok = (serial >= 1) & (serial <= _EXCEL_MAX) & (serial != 60)
        epoch = np.where(serial < 60, np.datetime64("1899-12-31", "D"), np.datetime64("1899-12-30"))
        out = epoch + np.where(ok, serial, 0).astype("m8[D]")
    out = out.astype("M8[D]")
    out[~ok] = np.datetime64("NaT")
    return out


_SERIAL = rf"(?P<serial>{_D}{{1,7}})(?:\.{_D}+)?"

#: Every shape a configuration may name.
DATE_SHAPES: dict[str, DateShape] = {
    s.name: s
    for s in (
        DateShape(
            "ymd_sep", DatePrecision.DAY, (_YMD_SEP,), ("2023-05-01", "2023/5/1", "2023.5.1")
        ),
        DateShape("ymd_cn", DatePrecision.DAY, (_YMD_CN,), ("2023年5月1日", "2023年05月01")),
        DateShape(
            "ymd_compact",
            DatePrecision.DAY,
            (rf"(?P<y>{_D}{{4}})(?P<m>{_D}{{2}})(?P<d>{_D}{{2}})",),
            ("20230501",),
        ),
        DateShape(
            "datetime",
            DatePrecision.DAY,
            (_YMD_SEP + _TIME, _YMD_CN + _TIME),
            ("2023-05-01 08:30", "2023-05-01T08:30:00+08:00", "2023年5月1日 8:30:00"),
        ),
        DateShape(
            "ym_sep",
            DatePrecision.MONTH,
            (rf"(?P<y>{_D}{{4}})[-/.](?P<m>{_D}{{1,2}})",),
            ("2021-09", "2021.9", "2021/09"),
        ),
        DateShape(
            "ym_cn",
            DatePrecision.MONTH,
            (rf"(?P<y>{_D}{{4}}) ?年 ?(?P<m>{_D}{{1,2}}) ?月",),
            ("2021年9月", "2021年09月"),
        ),
        DateShape(
            "ym_compact", DatePrecision.MONTH, (rf"(?P<y>{_D}{{4}})(?P<m>{_D}{{2}})",), ("202109",)
        ),
        DateShape("y", DatePrecision.YEAR, (rf"(?P<y>{_D}{{4}})年?",), ("2021", "2021年")),
        DateShape("excel_1900", DatePrecision.DAY, (_SERIAL,), ("45356",), kind="excel_1900"),
        DateShape("excel_1904", DatePrecision.DAY, (_SERIAL,), ("43894",), kind="excel_1904"),
    )
}

#: Accepted when a source names no shapes for a column: the common Chinese day spellings.
DEFAULT_DATE_SHAPES: tuple[str, ...] = ("ymd_sep", "ymd_cn", "ymd_compact", "datetime")
#: Membership step dates (入党 etc.) are often kept to the month; accepted by default there.
DEFAULT_STEP_DATE_SHAPES: tuple[str, ...] = (*DEFAULT_DATE_SHAPES, "ym_sep", "ym_cn")


def check_date_shapes(names: Sequence[str]) -> tuple[str, ...]:
    """``names`` validated: known shapes, no duplicates, not both Excel systems."""
    unknown = [n for n in names if n not in DATE_SHAPES]
    if unknown:
        raise ValueError(f"unknown date shapes {unknown}; known: {sorted(DATE_SHAPES)}")
    if not names:
        raise ValueError(f"name at least one date shape; known: {sorted(DATE_SHAPES)}")
    if len(set(names)) != len(names):
        raise ValueError("a date shape is named twice")
    if {"excel_1900", "excel_1904"} <= set(names):
        raise ValueError(
            "excel_1900 and excel_1904 cannot both be accepted: every serial number would be "
            "ambiguous (a workbook uses one date system)"
        )
    return tuple(names)


@dataclass(frozen=True)
class ParsedDates:
    """The outcome for each input value (aligned with the input's index).

    ``dates``: datetime64[us], the first day of the period, NaT where empty or refused;
    ``precision``: ``day`` / ``month`` / ``year`` where a date was read, else null;
    ``problem``: ``''`` or one of :data:`DATE_PROBLEMS`.
    """

    dates: pd.Series
    precision: pd.Series
    problem: pd.Series

    @property
    def all_day(self) -> bool:
        """True when no value was read at a coarser precision than a day."""
        return bool((self.precision.dropna() == DatePrecision.DAY.value).all())


def parse_dates(values: pd.Series, shapes: Sequence[str] = DEFAULT_DATE_SHAPES) -> ParsedDates:
    """Read ``values`` with the accepted ``shapes`` only; see the module text for the verdicts.

    Works on the distinct values (vectorised per shape), so a column of repeated dates
    costs what its distinct values cost.
    """
    accepted = [DATE_SHAPES[n] for n in check_date_shapes(list(shapes))]
    text = clean_text(values)
    distinct = pd.Series(text.dropna().unique(), dtype="string")
    n = len(distinct)
    readings: list[tuple[np.ndarray, np.ndarray, DatePrecision]] = []
    matched_any = np.zeros(n, dtype=bool)
    for shape in accepted if n else ():
        matched, days = shape.read(distinct)
        matched_any |= matched
        readings.append((~np.isnat(days), days, shape.precision))
    code = {p: i for i, p in enumerate(DatePrecision)}
    first = np.full(n, np.datetime64("NaT"), dtype="M8[D]")
    first_precision = np.full(n, -1, dtype=np.int64)
    meanings = np.zeros(n, dtype=np.int64)
    for valid, days, precision in readings:
        new = valid & (meanings == 0)
        differs = valid & (meanings > 0) & ((days != first) | (first_precision != code[precision]))
        first[new] = days[new]
        first_precision[new] = code[precision]
        meanings += new
        meanings[differs] += 1
    problem = np.full(n, "", dtype=object)
    problem[~matched_any] = "unparseable_date"
    problem[matched_any & (meanings == 0)] = "impossible_date"
    problem[meanings > 1] = "ambiguous_date"
    good = meanings == 1
    first[~good] = np.datetime64("NaT")
    names = np.array([p.value for p in DatePrecision], dtype=object)
    precision_text = np.where(good, names[np.maximum(first_precision, 0)], None)

    index = pd.Index(distinct.to_numpy(dtype=object))
    lookup_dates = pd.Series(first.astype("M8[us]"), index=index)
    lookup_precision = pd.Series(precision_text, index=index, dtype="string")
    lookup_problem = pd.Series(problem, index=index, dtype="string")
    keys = text.astype(object).where(text.notna(), None)
    dates = pd.Series(lookup_dates.reindex(keys).to_numpy(), index=values.index)
    precision = pd.Series(
        lookup_precision.reindex(keys).to_numpy(), index=values.index, dtype="string"
    )
    problems = pd.Series(lookup_problem.reindex(keys).to_numpy(), index=values.index)
    problems = problems.astype("string").fillna("")
    return ParsedDates(dates.astype("datetime64[us]"), precision, problems)


def period_end(dates: pd.Series, precision: pd.Series | None) -> pd.Series:
    """The last day of each date's period (the date itself at day precision or without one)."""
    stamps = pd.to_datetime(dates, errors="coerce")
    if precision is None:
        return stamps
    days = stamps.to_numpy(dtype="M8[D]")
    kind = precision.astype("string").fillna(DatePrecision.DAY.value).to_numpy(dtype=object)
    month_end = (days.astype("M8[M]") + 1).astype("M8[D]") - np.timedelta64(1, "D")
    year_end = (days.astype("M8[Y]") + 1).astype("M8[D]") - np.timedelta64(1, "D")
    out = np.where(
        kind == DatePrecision.MONTH.value,
        month_end,
        np.where(kind == DatePrecision.YEAR.value, year_end, days),
    )
    return pd.Series(out.astype("M8[us]"), index=dates.index)
