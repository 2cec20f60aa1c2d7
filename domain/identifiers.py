"""Identifier rules: GB 11643 resident ID numbers, Chinese mobile numbers.

Every rule returns reason codes (stable, machine-readable strings) rather than
raising, so callers can quarantine a row with its reasons. No function here
logs or echoes the identifier it checks.

Rules come from well-kept sources, not hand-written lists: region codes are the
GB/T 2260 division codes, current and historical, from python-stdnum's table
(``stdnum/cn/loc.dat``); mobile ranges are the ones Google's libphonenumber
(``phonenumbers``) metadata lists as Chinese mobile numbers.

Spreadsheets mangle identifiers: :func:`recover_identifiers` undoes what can be
undone exactly (``15639811899.0``, ``1.5639811899e+10``, full-width digits, invisible
characters, Excel's ``'`` and ``="..."`` text guards) and flags what cannot (a float
holds at most 2**53 exactly, so an 18-digit ID number that went through one has
lost digits).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from functools import cache
from importlib import resources

import numpy as np
import pandas as pd

from domain.text import WHITESPACE, clean_text

__all__ = [
    "ID_WEIGHTS",
    "MOBILE_PATTERN",
    "PROVINCE_CODES",
    "ResidentId",
    "check_digits_ok",
    "check_digits_ok_digits",
    "cn_mobile_allocated",
    "gb11643_check_digit",
    "identifier_text",
    "is_cn_mobile",
    "mask_mobile",
    "mobile_problems",
    "mobile_shaped",
    "parse_resident_id",
    "recover_identifiers",
    "region_codes_ok",
    "region_codes_ok_digits",
    "resident_id_problems",
    "resident_id_problems_series",
]

#: ISO 7064 MOD 11-2 weights for the first 17 digits (GB 11643-1999).
ID_WEIGHTS: tuple[int, ...] = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK_CHARS = "10X98765432"

#: GB/T 2260 province-level codes (first two digits of an ID number). The region check
#: uses the full six-digit table (:func:`region_codes_ok`), not this list.
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
#: The shape of a mainland mobile number (``mobile_format``); whether its range is
#: allocated is :func:`cn_mobile_allocated` (``mobile_unallocated``).
MOBILE_PATTERN = re.compile(r"^1[3-9][0-9]{9}$")
#: Largest integer a binary64 float holds exactly: beyond it a float has lost digits.
_FLOAT_EXACT = 2**53
_OPEN_END = 9999


@cache
def _region_last_years() -> dict[str, int]:
    """GB/T 2260 code → last year it was in force (9999 while current), from python-stdnum.

    ``loc.dat`` lists each six-digit code with the names it has had, each optionally
    tagged ``[start-end]`` with the years it was in force.
    """
    text = resources.files("stdnum.cn").joinpath("loc.dat").read_text(encoding="utf-8")
    last: dict[str, int] = {}
    province = ""
    for line in text.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        if not line.startswith(" "):
            province = line.split()[0]
            continue
        sub, _, rest = line.strip().partition(" ")
        names = rest.partition("=")[2].strip('"')
        end = 0
        for name in names.split(","):
            tag = re.match(r"^\[(\d*)-(\d*)\]", name)
            end = max(end, int(tag.group(2)) if tag and tag.group(2) else _OPEN_END)
        last[province + sub] = end
    return last


def region_codes_ok(codes: pd.Series, birth_years: pd.Series | None = None) -> pd.Series:
    """True where the six-digit code is a GB/T 2260 division code that could be on the number.

    A code stays valid after it was abolished (a number keeps the code it was issued
    with), so the only historical test is that the code was still in force in or after
    the year of birth: a number cannot be issued before its holder is born. (python-stdnum's
    own ``cn.ric`` asks for the code to be in force in the birth year, which refuses real
    numbers issued years later under a code created after the birth.) Without a usable
    birth year, being in the table is enough.
    """
    last = codes.astype("string").map(_region_last_years()).astype("Float64")
    ok = last.notna()
    if birth_years is not None:
        years = pd.to_numeric(birth_years, errors="coerce").astype("Float64")
        ok &= (years.isna() | (last >= years)).fillna(True)
    return ok.fillna(False).astype(bool)


@cache
def _region_last_year_table() -> np.ndarray:
    """:func:`_region_last_years` as an array indexed by the six-digit code (0: not a code)."""
    table = np.zeros(1_000_000, dtype=np.int64)
    for code, last in _region_last_years().items():
        table[int(code)] = last
    return table


def region_codes_ok_digits(digits: np.ndarray) -> np.ndarray:
    """:func:`region_codes_ok` of well-formed ID numbers given as an ``(n, 18)`` array of
    ASCII bytes: the code (first six digits) in the table and in force in or after the
    embedded birth year (digits 7-10)."""
    values = digits[:, :10].astype(np.int64) - ord("0")
    code = values[:, :6] @ np.array([10**5, 10**4, 10**3, 10**2, 10, 1], dtype=np.int64)
    year = values[:, 6:10] @ np.array([1000, 100, 10, 1], dtype=np.int64)
    last = _region_last_year_table()[code]
    return (last > 0) & (last >= year)


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
    born = _embedded_date(text)
    year = pd.Series([born.year if born else int(text[6:10])])
    if not region_codes_ok(pd.Series([text[:6]]), year).iloc[0]:
        problems.append("id_region")
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
    region_bad = ~region_codes_ok(good.str[:6], good.str[6:10])
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
    return check_digits_ok_digits(raw)


def check_digits_ok_digits(raw: np.ndarray) -> np.ndarray:
    """:func:`check_digits_ok` of an ``(n, 18)`` array of ASCII bytes."""
    # one column at a time in int32 (totals < 2**11): no copy of the whole matrix, no BLAS
    totals = np.zeros(len(raw), dtype=np.int32)
    for column, weight in enumerate(ID_WEIGHTS):
        totals += (raw[:, column].astype(np.int32) - ord("0")) * weight
    return _CHECK_BYTES[totals % 11] == raw[:, 17]


@cache
def _cn_mobile_pattern() -> str:
    """libphonenumber's pattern of Chinese mobile national numbers (ASCII digits only)."""
    import phonenumbers

    meta = phonenumbers.PhoneMetadata.metadata_for_region("CN")
    if meta is None or meta.mobile is None or not meta.mobile.national_number_pattern:
        raise RuntimeError("phonenumbers has no metadata for Chinese mobile numbers")
    lengths = set(meta.mobile.possible_length or ())
    if lengths and lengths != {11}:  # the shape check below assumes 11 digits
        raise RuntimeError("phonenumbers' Chinese mobile numbers are no longer 11 digits")
    return meta.mobile.national_number_pattern.replace("\\d", "[0-9]")


def cn_mobile_allocated(mobiles: pd.Series) -> pd.Series:
    """True where the value is a mobile number in a range libphonenumber lists for China.

    Only well-formed numbers (:data:`MOBILE_PATTERN`) are judged; others count as
    meeting this rule (they fail ``mobile_format``), so a defect is reported once.
    """
    text = mobiles.astype("string")
    shaped = mobile_shaped(text)
    out = ~shaped
    if shaped.any():  # the allocation pattern is read on the well-formed numbers only
        judged = text[shaped].str.fullmatch(_cn_mobile_pattern()).fillna(False)
        out[shaped] = judged.to_numpy(dtype=bool)
    return pd.Series(out, index=mobiles.index)


def fixed_width_bytes(text: pd.Series, width: int) -> tuple[np.ndarray, np.ndarray]:
    """The values of ``text`` that are ``width`` bytes long in UTF-8: their positions (an
    integer array into ``text``) and their bytes as an ``(n, width)`` uint8 array. Nulls
    and values of any other length are left out."""
    import pyarrow as pa
    import pyarrow.compute as pc

    array = getattr(text.array, "_pa_array", None)
    if array is None:  # a string column not stored in Arrow
        array = pa.array(text.astype("string").to_numpy(dtype=object, na_value=None), pa.string())
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    sized = pc.fill_null(pc.equal(pc.binary_length(array), width), False)
    fixed = pc.cast(array.filter(sized), pa.binary(width))
    raw = np.frombuffer(fixed.buffers()[1], dtype=np.uint8) if len(fixed) else np.zeros(0, np.uint8)
    raw = raw[fixed.offset * width : (fixed.offset + len(fixed)) * width].reshape(-1, width)
    return np.flatnonzero(sized.to_numpy(zero_copy_only=False)), raw


def mobile_shaped(mobiles: pd.Series) -> np.ndarray:
    """Where a value matches :data:`MOBILE_PATTERN` (11 ASCII digits starting ``1[3-9]``),
    read from its UTF-8 bytes (any other character makes it longer or not a digit)."""
    where, raw = fixed_width_bytes(mobiles.astype("string"), 11)
    ok = ((raw >= ord("0")) & (raw <= ord("9"))).all(axis=1)
    ok &= (raw[:, 0] == ord("1")) & (raw[:, 1] >= ord("3"))
    out = np.zeros(len(mobiles), dtype=bool)
    out[where[ok]] = True
    return out


def mobile_problems(value: object) -> list[str]:
    """``mobile_missing``, ``mobile_format`` or ``mobile_unallocated``; empty when valid."""
    if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)):
        return ["mobile_missing"]
    text = str(value).strip()
    if not text:
        return ["mobile_missing"]
    if not MOBILE_PATTERN.match(text):
        return ["mobile_format"]
    if not cn_mobile_allocated(pd.Series([text], dtype="string")).iloc[0]:
        return ["mobile_unallocated"]
    return []


def is_cn_mobile(value: object) -> bool:
    """True for an 11-digit mainland mobile number in an allocated range (libphonenumber)."""
    return isinstance(value, str) and not mobile_problems(value)


def mask_mobile(value: str) -> str:
    """Display masking: ``13812341234`` → ``138****1234``."""
    text = value.strip()
    if not is_cn_mobile(text):
        raise ValueError("not a mainland mobile number")
    return f"{text[:3]}****{text[7:]}"


def identifier_text(values: pd.Series) -> pd.Series:
    """Identifier text: cleaned (:func:`domain.text.clean_text`), Excel's text guards
    (a leading ``'``, ``="..."``) removed, spaces and hyphens dropped, upper case."""
    text = clean_text(values)
    text = text.str.replace(r'^="(.*)"$', r"\1", regex=True).str.replace(r"^'", "", regex=True)
    text = text.str.replace(f"[{WHITESPACE}\\-]", "", regex=True).str.upper()
    return text.mask(text == "")


_FLOAT_FORM = r"(?P<int>[0-9]+)(?:\.(?P<frac>[0-9]*))?(?:E(?P<exp>[+-]?[0-9]{1,3}))?"


def recover_identifiers(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Identifiers a spreadsheet wrote as numbers → (exact digit text, precision-lost mask).

    ``values`` is identifier text (:func:`identifier_text`). A value in float form
    (``15639811899.0``, ``1.5639811899E+10``) becomes its digits when they are all
    there: the number is a whole number below 2**53 and the exponent pads no digits the
    text does not show. Otherwise (``3.205081956081715E+17``, ``1.56398E+10``, any float
    form of an 18-digit ID number) the mask is True. Other values are left as they are.
    """
    text = values.astype("string")
    lost = pd.Series(False, index=values.index)
    out = text.copy()
    # float form needs a fraction or an exponent: only values with "." or "E" can have one
    # (pandas' extract runs Python's re value by value: kept to those few)
    candidates = text.str.contains(r"[.E]", regex=True).fillna(False).astype(bool)
    if not candidates.any():
        return out, lost
    parts = text[candidates].str.extract(f"^(?:{_FLOAT_FORM})$")
    float_form = parts["int"].notna() & (parts["frac"].notna() | parts["exp"].notna())
    if not float_form.any():
        return out, lost
    rows = parts[float_form]
    digits = rows["int"] + rows["frac"].fillna("")
    shift = pd.to_numeric(rows["exp"].fillna("0")).astype(int) - rows["frac"].fillna("").str.len()
    recovered: list[str | None] = []
    lost_rows: list[bool] = []
    for mantissa, by in zip(digits.tolist(), shift.tolist(), strict=True):
        if by > 0:  # the exponent pads zeros the text never showed
            recovered.append(None)
            lost_rows.append(True)
            continue
        whole, dropped = (mantissa[:by], mantissa[by:]) if by < 0 else (mantissa, "")
        if dropped.strip("0"):  # not a whole number: no identifier; left for the format rules
            recovered.append(None)
            lost_rows.append(False)
            continue
        whole = whole.lstrip("0") or "0"
        too_big = int(whole) > _FLOAT_EXACT
        recovered.append(None if too_big else whole)
        lost_rows.append(too_big)
    fixed = pd.Series(recovered, index=rows.index, dtype="string")
    lost_mask = pd.Series(lost_rows, index=rows.index, dtype=bool)
    out[fixed.index] = fixed.where(fixed.notna(), text[fixed.index]).where(~lost_mask)
    lost[lost_mask.index] = lost_mask
    return out, lost
