"""Identifier rules: GB 11643 resident ID numbers, Chinese mobile numbers.

Every rule returns reason codes (stable, machine-readable strings) rather than
raising, so callers can quarantine a row with its reasons. No function here
logs or echoes the identifier it checks.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

__all__ = [
    "ID_WEIGHTS",
    "MOBILE_PATTERN",
    "PROVINCE_CODES",
    "ResidentId",
    "check_digits_ok",
    "gb11643_check_digit",
    "is_cn_mobile",
    "mask_mobile",
    "parse_resident_id",
    "resident_id_problems",
    "resident_id_problems_series",
]

#: ISO 7064 MOD 11-2 weights for the first 17 digits (GB 11643-1999).
ID_WEIGHTS: tuple[int, ...] = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK_CHARS = "10X98765432"

#: GB/T 2260 province-level codes (first two digits of an ID number).
PROVINCE_CODES: frozenset[str] = frozenset(
    [
        "11",
        "12",
        "13",
        "14",
        "15",
        "21",
        "22",
        "23",
        "31",
        "32",
        "33",
        "34",
        "35",
        "36",
        "37",
        "41",
        "42",
        "43",
        "44",
        "45",
        "46",
        "50",
        "51",
        "52",
        "53",
        "54",
        "61",
        "62",
        "63",
        "64",
        "65",
        "71",
        "81",
        "82",
    ]
)

_ID_SHAPE = re.compile(r"^[0-9]{17}[0-9X]$")  # ASCII only: \d admits full-width digits
MOBILE_PATTERN = re.compile(r"^1[3-9][0-9]{9}$")


@dataclass(frozen=True, slots=True)
class ResidentId:
    """The facts an 18-character resident ID number embeds."""

    region: str
    birth_date: date
    sequence: str
    gender: str  # "M" or "F": odd 17th digit is male
    check: str


def gb11643_check_digit(first17: str) -> str:
    """The ISO 7064 MOD 11-2 check character for the first 17 digits."""
    if len(first17) != 17 or not first17.isdigit():
        raise ValueError("the check digit needs exactly 17 digits")
    total = sum(int(d) * w for d, w in zip(first17, ID_WEIGHTS, strict=True))
    return _CHECK_CHARS[total % 11]


def _embedded_date(value: str) -> date | None:
    try:
        return date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        return None


def resident_id_problems(value: object, *, today: date | None = None) -> list[str]:
    """Reason codes for what is wrong with an ID number; empty when it is valid.

    Codes: ``id_missing``, ``id_format`` (length or characters), ``id_region``,
    ``id_birth_date`` (impossible or future embedded date), ``id_check_digit``.
    """
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ["id_missing"]
    text = str(value).strip().upper()
    if not text:
        return ["id_missing"]
    if not _ID_SHAPE.match(text):
        return ["id_format"]
    problems: list[str] = []
    if text[:2] not in PROVINCE_CODES:
        problems.append("id_region")
    born = _embedded_date(text)
    limit = today or date.today()  # noqa: DTZ011 - a calendar date, no time zone involved
    if born is None or born > limit or born.year < 1900:
        problems.append("id_birth_date")
    if gb11643_check_digit(text[:17]) != text[17]:
        problems.append("id_check_digit")
    return problems


def parse_resident_id(value: str) -> ResidentId:
    """Parse a valid ID number; raises ``ValueError`` naming the problem codes otherwise."""
    problems = resident_id_problems(value)
    if problems:
        raise ValueError(f"invalid resident ID number: {', '.join(problems)}")
    text = value.strip().upper()
    born = _embedded_date(text)
    assert born is not None
    return ResidentId(
        region=text[:6],
        birth_date=born,
        sequence=text[14:17],
        gender="M" if int(text[16]) % 2 else "F",
        check=text[17],
    )


def resident_id_problems_series(ids: pd.Series, *, today: date | None = None) -> pd.Series:
    """Vectorised :func:`resident_id_problems`: a Series of ``;``-joined codes ('' = valid)."""
    text = ids.astype("string").str.strip().str.upper()
    out = pd.Series("", index=ids.index, dtype="string")
    missing = text.isna() | (text == "")
    shape_ok = text.str.fullmatch(r"[0-9]{17}[0-9X]").fillna(False).astype(bool) & ~missing
    out[missing] = "id_missing"
    out[~missing & ~shape_ok] = "id_format"
    good = text[shape_ok]
    if good.empty:
        return out
    codes: list[pd.Series] = []
    region_bad = ~good.str[:2].isin(PROVINCE_CODES)
    codes.append(region_bad.map({True: "id_region", False: ""}))
    born = pd.to_datetime(good.str[6:14], format="%Y%m%d", errors="coerce")
    limit = pd.Timestamp(today or date.today())  # noqa: DTZ011
    date_bad = born.isna() | (born > limit) | (born.dt.year < 1900)
    codes.append(date_bad.map({True: "id_birth_date", False: ""}))
    check_bad = pd.Series(~check_digits_ok(good), index=good.index)
    codes.append(check_bad.map({True: "id_check_digit", False: ""}))
    joined = pd.concat(codes, axis=1).apply(lambda r: ";".join(c for c in r if c), axis=1)
    out[good.index] = joined.astype("string")
    return out


_CHECK_BYTES = np.frombuffer(_CHECK_CHARS.encode(), dtype=np.uint8)


def check_digits_ok(well_formed: pd.Series) -> np.ndarray:
    """Vectorised check-digit test of well-formed (17 ASCII digits + digit/X) ID numbers."""
    if well_formed.empty:
        return np.zeros(0, dtype=bool)
    raw = np.array(well_formed.tolist(), dtype="S18").view(np.uint8).reshape(-1, 18)
    totals = (raw[:, :17].astype(np.int64) - ord("0")) @ np.array(ID_WEIGHTS, dtype=np.int64)
    return _CHECK_BYTES[totals % 11] == raw[:, 17]


def is_cn_mobile(value: object) -> bool:
    """True for an 11-digit mainland mobile number with a ``1[3-9]`` prefix."""
    return isinstance(value, str) and bool(MOBILE_PATTERN.match(value.strip()))


def mask_mobile(value: str) -> str:
    """Display masking: ``13812341234`` → ``138****1234``."""
    text = value.strip()
    if not is_cn_mobile(text):
        raise ValueError("not a mainland mobile number")
    return f"{text[:3]}****{text[7:]}"
