"""Value normalisers for department exports: widths, spaces, dates, numbers, amounts, gender.

The scalar normalisers take one raw value and return the canonical value, or ``None``
when the value is empty; a value that is present but cannot be understood raises
:class:`NormaliseError` (whose message never contains the value). The vectorised
ones (:func:`parse_numbers`, :func:`parse_amounts_cents`, and
:func:`domain.dates.parse_dates`) return the values and a problem code per row.

Numbers are exact or refused: the decimal mark is configured (``point``, the default,
or ``comma``), and the other mark is accepted only as a thousands separator between
groups of exactly three digits, so ``12,50`` under ``point`` is refused rather than
read as 1250.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date
from typing import Literal

import pandas as pd

from domain.dates import DEFAULT_DATE_SHAPES, parse_dates
from domain.text import INVISIBLE_CHARACTERS, WHITESPACE, clean_text

__all__ = [
    "NUMBER_PROBLEMS",
    "DecimalMark",
    "NormaliseError",
    "normalise_amount_cents",
    "normalise_date",
    "normalise_dates",
    "normalise_gender",
    "normalise_text",
    "parse_amounts_cents",
    "parse_numbers",
    "to_halfwidth",
]

DecimalMark = Literal["point", "comma"]
#: Problem codes of :func:`parse_numbers` and :func:`parse_amounts_cents`.
NUMBER_PROBLEMS: tuple[str, ...] = ("not_a_number", "unparseable_amount")


class NormaliseError(ValueError):
    """A present value that cannot be normalised. The message never contains the value."""


_SPACES = re.compile(r"\s+")
_INVISIBLE = re.compile("[" + INVISIBLE_CHARACTERS + "]")
_GENDER = {
    "男": "M", "m": "M", "male": "M", "1": "M",
    "女": "F", "f": "F", "female": "F", "2": "F",
}  # fmt: skip
_NUMBER = {
    "point": r"(?P<sign>[+-]?)(?P<int>[0-9]{1,3}(?:,[0-9]{3})+|[0-9]+)(?:\.(?P<frac>[0-9]+))?",
    "comma": r"(?P<sign>[+-]?)(?P<int>[0-9]{1,3}(?:[. ][0-9]{3})+|[0-9]+)(?:,(?P<frac>[0-9]+))?",
}


def _is_empty(value: object) -> bool:
    return value is None or (isinstance(value, float) and value != value) or value is pd.NA


def to_halfwidth(text: str) -> str:
    """Full-width ASCII forms (``１２３``, ``Ａ``, ideographic space) → half-width."""
    return unicodedata.normalize("NFKC", text)


def normalise_text(value: object) -> str | None:
    """Half-width, invisible characters removed, trimmed, inner white space collapsed."""
    if _is_empty(value):
        return None
    text = _SPACES.sub(" ", _INVISIBLE.sub("", to_halfwidth(str(value)))).strip()
    return text or None


def normalise_date(value: object, shapes: tuple[str, ...] = DEFAULT_DATE_SHAPES) -> date | None:
    """One date in the accepted ``shapes`` (default: the common Chinese day spellings).

    ``date``/``datetime``/``Timestamp`` values are taken as they are (their date).
    Raises :class:`NormaliseError` naming the problem (unparseable, impossible, ambiguous).
    """
    if _is_empty(value):
        return None
    if isinstance(value, pd.Timestamp):
        return value.date()
    if isinstance(value, date):
        return value if type(value) is date else value.date()  # type: ignore[attr-defined]
    parsed = parse_dates(pd.Series([str(value)], dtype="string"), shapes)
    problem = parsed.problem.iloc[0]
    if problem:
        raise NormaliseError(problem.replace("_", " "))
    stamp = parsed.dates.iloc[0]
    return None if pd.isna(stamp) else stamp.date()


def normalise_dates(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Default-shape dates: (datetime64 Series, bool Series of present values refused).

    Kept for callers that need no precision; see :func:`domain.dates.parse_dates`.
    """
    parsed = parse_dates(values)
    return parsed.dates, parsed.problem != ""


def _number_parts(text: pd.Series, decimal: DecimalMark) -> pd.DataFrame:
    if decimal not in _NUMBER:
        raise ValueError(f"unknown decimal mark {decimal!r}; known: {sorted(_NUMBER)}")
    return text.str.extract(f"^(?:{_NUMBER[decimal]})$")


def parse_numbers(values: pd.Series, decimal: DecimalMark = "point") -> tuple[pd.Series, pd.Series]:
    """Exact decimal numbers → (``Float64`` Series, problem Series ``''``/``not_a_number``).

    Accepted: an optional sign, digits (optionally grouped by thousands with the other
    mark), an optional fraction after the configured decimal mark. Refused: anything
    else (``1e5``, ``inf``, ``12,5`` under ``point``, ``1.2.3``).
    """
    text = clean_text(values)
    parts = _number_parts(text, decimal)
    ok = parts["int"].notna()
    plain = (
        parts["sign"].fillna("")
        + parts["int"].str.replace(r"[^0-9]", "", regex=True)
        + ("." + parts["frac"]).fillna("")
    )
    number = pd.to_numeric(plain.where(ok), errors="coerce").astype("Float64")
    problem = pd.Series("", index=values.index, dtype="string")
    problem[text.notna() & ~ok] = "not_a_number"
    return number, problem


def parse_amounts_cents(
    values: pd.Series, decimal: DecimalMark = "point"
) -> tuple[pd.Series, pd.Series]:
    """``¥12.50``, ``￥12.5``, ``12.50元``, ``1,234.00`` → (``Int64`` fen, problem Series).

    At most two decimals (trailing zeros beyond are fine); the problem is
    ``unparseable_amount``. Computed on the digits, never through a float.
    """
    text = clean_text(values)
    space = f"[{WHITESPACE}]?"  # not \s: pandas would run it in Python's re, value by value
    bare = text.str.replace(f"^[¥￥]{space}", "", regex=True).str.replace(
        f"{space}元$", "", regex=True
    )
    parts = _number_parts(bare, decimal)
    frac = parts["frac"].fillna("").str.rstrip("0")
    ok = parts["int"].notna() & (frac.str.len() <= 2)
    whole = parts["int"].str.replace(r"[^0-9]", "", regex=True)
    cents_text = whole + frac.str.pad(2, side="right", fillchar="0")
    cents = pd.to_numeric(cents_text.where(ok), errors="coerce").astype("Int64")
    cents = cents.where(parts["sign"].fillna("") != "-", -cents)
    problem = pd.Series("", index=values.index, dtype="string")
    problem[text.notna() & ~ok] = "unparseable_amount"
    return cents, problem


def normalise_amount_cents(value: object, decimal: DecimalMark = "point") -> int | None:
    """One amount in fen (see :func:`parse_amounts_cents`); ``None`` when empty."""
    if _is_empty(value):
        return None
    cents, problem = parse_amounts_cents(pd.Series([str(value)], dtype="string"), decimal)
    if problem.iloc[0]:
        raise NormaliseError("not an amount of money with at most two decimals")
    result = cents.iloc[0]
    return None if pd.isna(result) else int(result)


def normalise_gender(value: object) -> str | None:
    """男/女, M/F, male/female, 1/2 (GB/T 2261.1) → ``"M"`` / ``"F"``."""
    text = normalise_text(value)
    if text is None:
        return None
    try:
        return _GENDER[text.lower()]
    except KeyError as exc:
        raise NormaliseError("unknown gender code") from exc
