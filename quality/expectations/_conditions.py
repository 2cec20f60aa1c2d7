"""Vectorised pandas conditions behind the custom expectations.

Each function returns a plain ``bool`` Series aligned with its input: ``True`` where
the value meets the rule. Values the rule does not apply to (for example a malformed
ID number in the birth-date comparison) count as meeting it, so that one defect is
reported once, under the rule that names it.

Dates may come with a precision (``<field>_precision``: ``day`` / ``month`` / ``year``;
the date is the first day of its period). Rules comparing dates compare their periods:
a row breaks a rule only when every day the periods allow breaks it, which is the same
as comparing at the coarser precision of the two sides (``2021-09`` is not before
``2021-09-15``; a month-precision date in the reference month is not in the future).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from domain.canonical import PRECISION_SUFFIX
from domain.dates import period_end
from domain.identifiers import (
    check_digits_ok_digits,
    cn_mobile_allocated,
    fixed_width_bytes,
    mobile_shaped,
    region_codes_ok_digits,
)

__all__ = [
    "RESIDENT_ID_CHECKS",
    "clear_id_memo",
    "dates_not_after",
    "dues_amount_ok",
    "hours_within_day",
    "id_birth_date_matches",
    "id_gender_matches",
    "ladder_in_order",
    "min_age_at",
    "min_age_on_id",
    "mobile_allocated",
    "mobile_ok",
    "resident_id_ok",
    "span_days_between",
    "split_precision",
]

RESIDENT_ID_CHECKS: tuple[str, ...] = ("format", "region", "birth_date", "check_digit")


def _bool(values: pd.Series) -> pd.Series:
    """Nullable booleans → plain bool, missing counting as *meets the rule*."""
    return values.fillna(True).astype(bool)


def split_precision(frame: pd.DataFrame) -> tuple[list[str], dict[str, pd.Series]]:
    """Columns of ``frame`` that are not precision companions, and date column → precision.

    A column ``<x>_precision`` is a companion only when ``<x>`` is also in the frame.
    """
    columns = [str(c) for c in frame.columns]
    companions = {
        c.removesuffix(PRECISION_SUFFIX): c
        for c in columns
        if c.endswith(PRECISION_SUFFIX) and c.removesuffix(PRECISION_SUFFIX) in columns
    }
    values = [c for c in columns if c not in companions.values()]
    return values, {date: frame[col] for date, col in companions.items()}


def _start(dates: pd.Series) -> pd.Series:
    return pd.to_datetime(dates, errors="coerce")


def _end(dates: pd.Series, precision: pd.Series | None) -> pd.Series:
    return period_end(dates, precision) if precision is not None else _start(dates)


def _embedded_birth(text: pd.Series) -> pd.Series:
    return pd.to_datetime(text.str[6:14], format="%Y%m%d", errors="coerce")


def _yyyymmdd(raw: np.ndarray) -> np.ndarray:
    """``(n, 8)`` ASCII digits ``YYYYMMDD`` → ``datetime64[us]``, NaT where no such day
    (as ``pd.to_datetime(format="%Y%m%d", errors="coerce")`` reads them)."""

    def number(first: int, last: int) -> np.ndarray:
        out = np.zeros(len(raw), dtype=np.int64)
        for column in range(first, last):
            out = out * 10 + (raw[:, column].astype(np.int64) - ord("0"))
        return out

    year, month, day = number(0, 4), number(4, 6), number(6, 8)
    month_ok = (month >= 1) & (month <= 12)
    first = ((year - 1970) * 12 + np.where(month_ok, month, 1) - 1).astype("M8[M]")
    start = first.astype("M8[D]")
    length = ((first + 1).astype("M8[D]") - start).astype(np.int64)
    real = month_ok & (day >= 1) & (day <= length)
    out = (start + (day - 1).astype("m8[D]")).astype("M8[us]")
    out[~real] = np.datetime64("NaT")
    return out


def _shape(text: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Which values are well-formed ID numbers (``[0-9]{17}[0-9X]`` once upper-cased: 18
    bytes, 17 ASCII digits then a digit, ``X`` or ``x``), and those numbers as an
    ``(n, 18)`` array of ASCII bytes with ``x`` upper-cased. Read from the UTF-8 bytes:
    any other character (a full-width digit) makes the value longer or not a digit."""
    where, raw = fixed_width_bytes(text, 18)
    first = raw[:, :17]
    last = raw[:, 17]
    digit_last = (last >= ord("0")) & (last <= ord("9"))
    ok = ((first >= ord("0")) & (first <= ord("9"))).all(axis=1)
    ok &= digit_last | (last == ord("X")) | (last == ord("x"))
    shape_ok = np.zeros(len(text), dtype=bool)
    shape_ok[where[ok]] = True
    digits = raw[ok].copy()
    digits[digits[:, 17] == ord("x"), 17] = ord("X")
    return shape_ok, digits


@dataclass(eq=False, slots=True)
class _IdFacts:
    """What several rules read from one ID column, each computed once (positional:
    re-indexed to the caller's rows on the way out)."""

    text: pd.Series  # as given, RangeIndex
    shape_ok: pd.Series  # bool, RangeIndex
    _born: pd.Series | None = None
    _digits: np.ndarray | None = None
    _region_ok: np.ndarray | None = None
    _check_ok: np.ndarray | None = None
    _digit17: np.ndarray | None = None

    def born(self) -> pd.Series:
        """The embedded birth date of well-formed numbers (NaT elsewhere)."""
        if self._born is None:
            shaped = self.shape_ok.to_numpy(dtype=bool)
            if not shaped.any():
                self._born = _embedded_birth(self.text.where(self.shape_ok))
            else:
                born = np.full(len(shaped), np.datetime64("NaT"), dtype="M8[us]")
                born[shaped] = _yyyymmdd(self.digits()[:, 6:14])
                self._born = pd.Series(born)
        return self._born

    def digits(self) -> np.ndarray:
        """The well-formed numbers as an ``(n, 18)`` array of ASCII bytes (``x`` read as ``X``)."""
        if self._digits is None:
            self._digits = _shape(self.text)[1]
        return self._digits

    def region_ok(self) -> np.ndarray:
        """GB/T 2260 region test of the well-formed numbers."""
        if self._region_ok is None:
            self._region_ok = region_codes_ok_digits(self.digits())
        return self._region_ok

    def check_ok(self) -> np.ndarray:
        """MOD 11-2 check digit test of the well-formed numbers."""
        if self._check_ok is None:
            self._check_ok = check_digits_ok_digits(self.digits())
        return self._check_ok

    def digit17(self) -> np.ndarray:
        """The 17th digit of well-formed numbers (NaN elsewhere), float."""
        if self._digit17 is None:
            out = np.full(len(self.text), np.nan)
            out[self.shape_ok.to_numpy(dtype=bool)] = self.digits()[:, 16] - ord("0")
            self._digit17 = out
        return self._digit17


#: the last ID column's facts, keyed by its content (an Arrow array; ``equals`` is a
#: byte comparison), so the suite's ID rules share one parse of the same column
_memo_lock = threading.Lock()
_memo: tuple[object, _IdFacts] | None = None


def clear_id_memo() -> None:
    """Drop the shared ID facts (called when a validation ends, to free the column)."""
    global _memo
    with _memo_lock:
        _memo = None


def _id_facts(ids: pd.Series) -> _IdFacts:
    global _memo
    text = ids.astype("string")
    key = getattr(text.array, "_pa_array", None)
    with _memo_lock:
        cached = _memo
    if key is not None and cached is not None:
        held, facts = cached
        if held is key or (len(held) == len(key) and held.equals(key)):  # type: ignore[attr-defined]
            return facts
    text = text.reset_index(drop=True)
    shape_ok, digits = _shape(text)
    facts = _IdFacts(text, pd.Series(shape_ok), _digits=digits)
    if key is not None:
        with _memo_lock:
            _memo = (key, facts)
    return facts


def resident_id_ok(ids: pd.Series, checks: list[str], as_of: date | None = None) -> pd.Series:
    """GB 11643 checks on ID numbers: any of ``format`` (18 chars, 17 digits + digit/X),
    ``region`` (a GB/T 2260 division code, historical ones included, still in force in or after
    the embedded birth year), ``birth_date`` (embedded date real, 1900..as_of),
    ``check_digit`` (ISO 7064 MOD 11-2). Only well-formed numbers are judged by the last three.
    """
    unknown = set(checks) - set(RESIDENT_ID_CHECKS)
    if unknown:
        raise ValueError(
            f"unknown resident ID checks {sorted(unknown)}; known: {RESIDENT_ID_CHECKS}"
        )
    facts = _id_facts(ids)
    shape_ok = facts.shape_ok.to_numpy(dtype=bool)
    ok = shape_ok.copy() if "format" in checks else np.ones(len(ids), dtype=bool)
    if not shape_ok.any():
        return pd.Series(ok, index=ids.index)
    sub = np.ones(int(shape_ok.sum()), dtype=bool)
    if "region" in checks:
        sub &= facts.region_ok()
    if "birth_date" in checks:
        born = facts.born().to_numpy()[shape_ok]  # NaT compares False
        limit = pd.Timestamp(as_of) if as_of else pd.Timestamp.today().normalize()
        sub &= (born >= np.datetime64("1900-01-01")) & (born <= limit.to_datetime64())
    if "check_digit" in checks:
        sub &= facts.check_ok()
    ok[shape_ok] &= sub
    return pd.Series(ok, index=ids.index)


def id_birth_date_matches(
    ids: pd.Series, birth_dates: pd.Series, precision: pd.Series | None = None
) -> pd.Series:
    """The date embedded in a well-formed ID number lies in the stated birth date's period
    (equals it at day precision)."""
    born = _id_facts(ids).born().set_axis(ids.index)
    stated = _start(birth_dates).dt.normalize()
    last = _end(birth_dates, precision).dt.normalize() if precision is not None else stated
    judged = born.notna() & stated.notna()
    return (~judged | ((born >= stated) & (born <= last))).astype(bool)


def id_gender_matches(ids: pd.Series, genders: pd.Series) -> pd.Series:
    """The gender column (M/F) agrees with the parity of the 17th ID digit (odd = M)."""
    facts = _id_facts(ids)
    shape_ok = facts.shape_ok
    digit = facts.digit17()
    male = np.fmod(digit, 2) == 1
    stated = genders.astype("string")
    says_m = (stated == "M").fillna(False).to_numpy(dtype=bool)
    says_f = (stated == "F").fillna(False).to_numpy(dtype=bool)
    judged = shape_ok.to_numpy() & ~np.isnan(digit) & (says_m | says_f)
    return pd.Series(~judged | (male == says_m), index=ids.index)


def mobile_ok(mobiles: pd.Series) -> pd.Series:
    """Mainland mobile: 11 digits with a ``1[3-9]`` prefix (domain.MOBILE_PATTERN, ASCII
    digits only: a full-width digit is not one)."""
    return pd.Series(mobile_shaped(mobiles), index=mobiles.index)


def mobile_allocated(mobiles: pd.Series) -> pd.Series:
    """A well-formed mobile is in a range libphonenumber lists for China (others pass)."""
    return _bool(cn_mobile_allocated(mobiles))


def dates_not_after(dates: pd.Series, as_of: date) -> pd.Series:
    """No date after ``as_of`` (the run's reference date).

    Needs no precision: a date is the first day of its period, so it is after ``as_of``
    exactly when the whole period is (``2026-06`` is not after 2026-06-30).
    """
    return _bool(pd.to_datetime(dates, errors="coerce") <= pd.Timestamp(as_of))


def ladder_in_order(steps: pd.DataFrame) -> pd.Series:
    """Status step dates (columns in ladder order) never go backwards; gaps are allowed.

    ``steps`` may hold ``<step>_precision`` companions: a later step goes backwards only
    when its whole period ends before an earlier step's period begins.
    """
    columns, precisions = split_precision(steps)
    first = {c: _start(steps[c]).to_numpy(dtype="datetime64[ns]") for c in columns}
    starts = np.column_stack([first[c] for c in columns])
    ends = np.column_stack(
        [
            _end(steps[c], precisions[c]).to_numpy(dtype="datetime64[ns]")
            if c in precisions
            else first[c]
            for c in columns
        ]
    )
    # NaT is the smallest int64, so it never raises the running maximum of the starts
    running = np.maximum.accumulate(starts.view(np.int64), axis=1)
    backwards = ~np.isnat(ends[:, 1:]) & (ends[:, 1:].view(np.int64) < running[:, :-1])
    return pd.Series(~backwards.any(axis=1), index=steps.index)


def _ymd(values: pd.Series) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Year, month, day (int64; 0 where missing) of datetimes, and where they are missing."""
    stamps = pa.array(values.to_numpy(dtype="datetime64[us]"))  # NaT → null
    missing = stamps.is_null().to_numpy(zero_copy_only=False)
    fields = [
        pc.fill_null(f(stamps), 0).to_numpy(zero_copy_only=False).astype(np.int64)
        for f in (pc.year, pc.month, pc.day)
    ]
    return fields[0], fields[1], fields[2], missing


def _at_least(born: pd.Series, event: pd.Series, years: int) -> pd.Series:
    """Age on ``event`` from ``born`` (birthday counted as reached) ≥ ``years``; a missing
    date meets the rule."""
    by, bm, bd, b_missing = _ymd(born)
    ey, em, ed, e_missing = _ymd(event)
    before_birthday = (em < bm) | ((em == bm) & (ed < bd))
    age = ey - by - before_birthday
    return pd.Series(b_missing | e_missing | (age >= years), index=born.index)


def min_age_at(
    birth_dates: pd.Series,
    event_dates: pd.Series,
    years: int,
    birth_precision: pd.Series | None = None,
    event_precision: pd.Series | None = None,
) -> pd.Series:
    """Age on the event date is at least ``years`` (birthday counted as reached).

    With precisions, the age is taken at its largest the periods allow (earliest birth,
    latest event): an applicant of ``2008-05`` born 1990-05-15 is not under 18.
    """
    born = _start(birth_dates)
    event = _end(event_dates, event_precision)
    del birth_precision  # the earliest possible birth is the stored first day
    return _at_least(born, event, years)


def min_age_on_id(columns: pd.DataFrame, years: int) -> pd.Series:
    """Like :func:`min_age_at` on columns ``[id number, birth date, event date]``
    (+ optional precision companions of the two dates).

    The age comes from the birth date embedded in a well-formed ID number (GB 11643, the
    authoritative one) and from the birth-date column only where the ID has none: a birth
    date column that disagrees with the ID is its own defect (``id_birth_mismatch``) and
    must neither raise nor hide an under-age verdict.
    """
    names, precisions = split_precision(columns)
    ids, birth_dates, event_dates = (columns[c] for c in names[:3])
    from_id = _id_facts(ids).born().set_axis(ids.index)
    stated = _start(birth_dates)
    return min_age_at(from_id.fillna(stated), event_dates, years, None, precisions.get(names[2]))


def span_days_between(
    start: pd.Series,
    end: pd.Series,
    min_days: int,
    max_days: int,
    start_precision: pd.Series | None = None,
    end_precision: pd.Series | None = None,
) -> pd.Series:
    """``end - start`` in days lies in ``[min_days, max_days]``.

    With precisions, a row fails only when no choice of days within the two periods
    gives a span in range (the longest possible span too short, or the shortest too long).
    """
    shortest = (_start(end) - _end(start, start_precision)).dt.days
    longest = (_end(end, end_precision) - _start(start)).dt.days
    return _bool(~((longest < min_days) | (shortest > max_days)))


def hours_within_day(hours: pd.Series, max_hours: float) -> pd.Series:
    """Hours served on one day: more than 0 and at most ``max_hours``."""
    value = pd.to_numeric(hours, errors="coerce")
    return _bool((value > 0) & (value <= max_hours))


def dues_amount_ok(
    amounts: pd.Series, person_types: pd.Series | None, ranges: dict[str, tuple[int, int]]
) -> pd.Series:
    """Amount (fen) within the configured range of the payer's person type.

    Without a person type the widest range of all types applies.
    """
    amount = pd.to_numeric(amounts, errors="coerce")
    low_all = min(lo for lo, _ in ranges.values())
    high_all = max(hi for _, hi in ranges.values())
    low = pd.Series(float(low_all), index=amounts.index)
    high = pd.Series(float(high_all), index=amounts.index)
    if person_types is not None:
        kinds = person_types.astype("string")
        low = kinds.map({k: float(v[0]) for k, v in ranges.items()}).astype("Float64").fillna(low)
        high = kinds.map({k: float(v[1]) for k, v in ranges.items()}).astype("Float64").fillna(high)
    return _bool((amount >= low) & (amount <= high))
