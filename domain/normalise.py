"""Value normalisers for department exports: widths, spaces, dates, amounts, gender codes.

Each normaliser takes one raw value and returns the canonical value, or ``None``
when the value is empty. A value that is present but cannot be understood raises
:class:`NormaliseError` so the caller can name the file, row and field.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date
from decimal import Decimal, InvalidOperation

import pandas as pd

__all__ = [
    "NormaliseError",
    "normalise_amount_cents",
    "normalise_date",
    "normalise_dates",
    "normalise_gender",
    "normalise_text",
    "to_halfwidth",
]


class NormaliseError(ValueError):
    """A present value that cannot be normalised. The message never contains the value."""


_SPACES = re.compile(r"\s+")
_DATE_PATTERNS: tuple[re.Pattern[str], ...] = (
    re.compile(r"^(\d{4})年(\d{1,2})月(\d{1,2})日?$"),
    re.compile(r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})$"),
    re.compile(r"^(\d{4})(\d{2})(\d{2})$"),
)
_GENDER = {
    "男": "M", "m": "M", "male": "M", "1": "M",
    "女": "F", "f": "F", "female": "F", "2": "F",
}  # fmt: skip


def _is_empty(value: object) -> bool:
    return value is None or (isinstance(value, float) and value != value) or value is pd.NA


def to_halfwidth(text: str) -> str:
    """Full-width ASCII forms (``１２３``, ``Ａ``, ideographic space) → half-width."""
    return unicodedata.normalize("NFKC", text)


def normalise_text(value: object) -> str | None:
    """Half-width, trimmed, inner runs of white space collapsed; ``None`` when empty."""
    if _is_empty(value):
        return None
    text = _SPACES.sub(" ", to_halfwidth(str(value))).strip()
    return text or None


def normalise_date(value: object) -> date | None:
    """Parse the date spellings departments use.

    ``2023年5月1日``, ``2023/5/1``, ``2023.05.01``, ``2023-05-01``, ``20230501``,
    and datetime-like values (from Excel or SQL).
    """
    if _is_empty(value):
        return None
    if isinstance(value, pd.Timestamp):
        return value.date()
    if isinstance(value, date):
        return value if type(value) is date else value.date()  # type: ignore[attr-defined]
    text = normalise_text(value)
    if text is None:
        return None
    text = text.split(" ")[0].split("T")[0]
    for pattern in _DATE_PATTERNS:
        match = pattern.match(text)
        if match:
            try:
                return date(*(int(g) for g in match.groups()))
            except ValueError as exc:
                raise NormaliseError("impossible calendar date") from exc
    raise NormaliseError("unrecognised date format")


def normalise_dates(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Vectorised :func:`normalise_date`: (datetime64 Series, bool Series of unparseable)."""
    text = values.astype("string").map(
        lambda v: v if v is pd.NA else to_halfwidth(v).strip(), na_action="ignore"
    )
    text = text.str.replace(r"[ T].*$", "", regex=True)
    parts = text.str.extract(r"^(\d{4})(?:年|[-/.])?(\d{1,2})(?:月|[-/.])?(\d{1,2})日?$")
    iso = parts[0] + "-" + parts[1].str.zfill(2) + "-" + parts[2].str.zfill(2)
    parsed = pd.to_datetime(iso, format="%Y-%m-%d", errors="coerce")
    present = text.notna() & (text != "")
    return parsed, present & parsed.isna()


def normalise_amount_cents(value: object) -> int | None:
    """``¥12.50``, ``￥12.5``, ``12.50元``, ``1,234.00`` → integer cents."""
    text = normalise_text(value)
    if text is None:
        return None
    text = text.replace("¥", "").replace("元", "").replace(",", "").strip()
    try:
        amount = Decimal(text)
    except InvalidOperation as exc:
        raise NormaliseError("not an amount of money") from exc
    if amount != amount.quantize(Decimal("0.01")):
        raise NormaliseError("amount has more than two decimals")
    return int(amount * 100)


def normalise_gender(value: object) -> str | None:
    """男/女, M/F, male/female, 1/2 (GB/T 2261.1) → ``"M"`` / ``"F"``."""
    text = normalise_text(value)
    if text is None:
        return None
    try:
        return _GENDER[text.lower()]
    except KeyError as exc:
        raise NormaliseError("unknown gender code") from exc
