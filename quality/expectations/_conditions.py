"""Vectorised pandas conditions behind the custom expectations.

Each function returns a plain ``bool`` Series aligned with its input: ``True`` where
the value meets the rule. Values the rule does not apply to (for example a malformed
ID number in the birth-date comparison) count as meeting it, so that one defect is
reported once, under the rule that names it.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from domain.identifiers import (
    MOBILE_PATTERN,
    check_digits_ok,
    cn_mobile_allocated,
    region_codes_ok,
)

__all__ = [
    "RESIDENT_ID_CHECKS",
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
]

RESIDENT_ID_CHECKS: tuple[str, ...] = ("format", "region", "birth_date", "check_digit")
_ID_REGEX = r"[0-9]{17}[0-9X]"  # ASCII only: \d would admit full-width digits


def _bool(values: pd.Series) -> pd.Series:
    """Nullable booleans → plain bool, missing counting as *meets the rule*."""
    return values.fillna(True).astype(bool)


def _id_text(ids: pd.Series) -> tuple[pd.Series, pd.Series]:
    text = ids.astype("string").str.upper()
    shape_ok = text.str.fullmatch(_ID_REGEX).fillna(False).astype(bool)
    return text, shape_ok


def _embedded_birth(text: pd.Series) -> pd.Series:
    return pd.to_datetime(text.str[6:14], format="%Y%m%d", errors="coerce")


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
    text, shape_ok = _id_text(ids)
    ok = shape_ok.copy() if "format" in checks else pd.Series(True, index=ids.index)
    good = text[shape_ok]
    if good.empty:
        return ok
    sub = pd.Series(True, index=good.index)
    if "region" in checks:
        sub &= region_codes_ok(good.str[:6], good.str[6:10])
    if "birth_date" in checks:
        born = _embedded_birth(good)
        limit = pd.Timestamp(as_of) if as_of else pd.Timestamp.today().normalize()
        sub &= (born.notna() & (born.dt.year >= 1900) & (born <= limit)).astype(bool)
    if "check_digit" in checks:
        sub &= pd.Series(check_digits_ok(good), index=good.index)
    ok.loc[good.index] = ok.loc[good.index] & sub
    return ok.astype(bool)


def id_birth_date_matches(ids: pd.Series, birth_dates: pd.Series) -> pd.Series:
    """The birth date column equals the date embedded in a well-formed ID number."""
    text, shape_ok = _id_text(ids)
    born = _embedded_birth(text.where(shape_ok))
    stated = pd.to_datetime(birth_dates, errors="coerce").dt.normalize()
    judged = born.notna() & stated.notna()
    return (~judged | (born == stated)).astype(bool)


def id_gender_matches(ids: pd.Series, genders: pd.Series) -> pd.Series:
    """The gender column (M/F) agrees with the parity of the 17th ID digit (odd = M)."""
    text, shape_ok = _id_text(ids)
    digit = pd.to_numeric(text.str[16], errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
    male = np.fmod(digit, 2) == 1
    stated = genders.astype("string").to_numpy(dtype=object, na_value=None)
    judged = shape_ok.to_numpy() & ~np.isnan(digit) & np.isin(stated, ["M", "F"])
    agrees = np.where(male, "M", "F") == stated
    return pd.Series(~judged | agrees, index=ids.index)


def mobile_ok(mobiles: pd.Series) -> pd.Series:
    """Mainland mobile: 11 digits with a ``1[3-9]`` prefix."""
    # domain.MOBILE_PATTERN, with ASCII digits only (\d would admit full-width ones)
    pattern = MOBILE_PATTERN.pattern.strip("^$").replace("\\d", "[0-9]")
    return mobiles.astype("string").str.fullmatch(pattern).fillna(False).astype(bool)


def mobile_allocated(mobiles: pd.Series) -> pd.Series:
    """A well-formed mobile is in a range libphonenumber lists for China (others pass)."""
    return _bool(cn_mobile_allocated(mobiles))


def dates_not_after(dates: pd.Series, as_of: date) -> pd.Series:
    """No date after ``as_of`` (the run's reference date)."""
    return _bool(pd.to_datetime(dates, errors="coerce") <= pd.Timestamp(as_of))


def ladder_in_order(steps: pd.DataFrame) -> pd.Series:
    """Status step dates (columns in ladder order) never go backwards; gaps are allowed."""
    values = np.column_stack(
        [pd.to_datetime(steps[c], errors="coerce").to_numpy(dtype="datetime64[ns]") for c in steps]
    )
    ints = values.view(np.int64)  # NaT is the smallest int64, so it never raises the running max
    running = np.maximum.accumulate(ints, axis=1)
    backwards = ~np.isnat(values[:, 1:]) & (ints[:, 1:] < running[:, :-1])
    return pd.Series(~backwards.any(axis=1), index=steps.index)


def min_age_at(birth_dates: pd.Series, event_dates: pd.Series, years: int) -> pd.Series:
    """Age on the event date is at least ``years`` (birthday counted as reached)."""
    born = pd.to_datetime(birth_dates, errors="coerce")
    event = pd.to_datetime(event_dates, errors="coerce")
    age = event.dt.year - born.dt.year
    before_birthday = (event.dt.month < born.dt.month) | (
        (event.dt.month == born.dt.month) & (event.dt.day < born.dt.day)
    )
    age = age - before_birthday.astype("Int64")
    return _bool(age >= years)


def min_age_on_id(columns: pd.DataFrame, years: int) -> pd.Series:
    """Like :func:`min_age_at` on columns ``[id number, birth date, event date]``.

    The age comes from the birth date embedded in a well-formed ID number (GB 11643, the
    authoritative one) and from the birth-date column only where the ID has none: a birth
    date column that disagrees with the ID is its own defect (``id_birth_mismatch``) and
    must neither raise nor hide an under-age verdict.
    """
    ids, birth_dates, event_dates = (columns[c] for c in columns.columns)
    text, shape_ok = _id_text(ids)
    from_id = _embedded_birth(text.where(shape_ok))
    stated = pd.to_datetime(birth_dates, errors="coerce")
    return min_age_at(from_id.fillna(stated), event_dates, years)


def span_days_between(start: pd.Series, end: pd.Series, min_days: int, max_days: int) -> pd.Series:
    """``end - start`` in days lies in ``[min_days, max_days]``."""
    days = (pd.to_datetime(end, errors="coerce") - pd.to_datetime(start, errors="coerce")).dt.days
    return _bool((days >= min_days) & (days <= max_days))


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
