"""Map a department's raw rows to the canonical schema and normalise the values.

Text is half-width, trimmed and space-collapsed; fields listed in a source's
``to_simplified`` are also converted from traditional to simplified Chinese with
OpenCC (``t2s``), before value maps apply.

The schema contract: every mapped department column must be present, and a
column that is neither mapped nor listed in ``ignore_columns`` is an error
(unless the source says ``unexpected_columns: ignore``). Values that cannot be
understood become null and are recorded in ``parse_errors`` as
``<field>:<code>`` so the quality gate can quarantine the row with a reason.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import pandas as pd

from connectors.base import SourceError
from connectors.specs import SourceConfig
from domain import NormaliseError, entity, normalise_amount_cents, normalise_dates

__all__ = ["check_contract", "standardise", "to_simplified"]

_GENDER_VALUES = {"男": "M", "女": "F", "M": "M", "F": "F", "m": "M", "f": "F", "1": "M", "2": "F"}
_DTYPES = {"string": "string", "date": "datetime64[us]", "int": "Int64", "float": "Float64"}


def check_contract(columns: list[str], source: SourceConfig, where: str) -> None:
    """Raise :class:`SourceError` for a missing mapped column or an unexpected one."""
    present = {c for c in columns if c != "record_key" and not c.startswith("__file_")}
    missing = [c for c in source.columns if c not in present]
    if missing:
        raise SourceError(source.name, where, "required column missing", column=missing[0])
    if source.unexpected_columns == "error":
        unexpected = sorted(present - set(source.columns) - set(source.ignore_columns))
        if unexpected:
            raise SourceError(source.name, where, "unexpected column", column=unexpected[0])


def _text(values: pd.Series) -> pd.Series:
    text = values.astype("string").str.normalize("NFKC").str.strip()
    text = text.str.replace(r"\s+", " ", regex=True)
    return text.mask(text == "")


def _identifier(values: pd.Series) -> pd.Series:
    text = _text(values).str.replace(r"[\s\-]", "", regex=True).str.upper()
    return text.mask(text == "")


def _mobile(values: pd.Series) -> pd.Series:
    text = _identifier(values).str.replace(r"^(\+?86)(?=1\d{10}$)", "", regex=True)
    return text


def _name(values: pd.Series) -> pd.Series:
    text = _text(values).str.replace(" ", "", regex=False)
    return text.mask(text == "")


@cache
def _opencc() -> Any:
    import opencc

    return opencc.OpenCC("t2s")


def to_simplified(values: pd.Series) -> pd.Series:
    """Traditional → simplified Chinese (OpenCC ``t2s``, phrase-aware); nulls stay null."""
    text = values.astype("string")
    distinct = text.dropna().unique()
    if len(distinct) == 0:
        return text
    converter = _opencc()
    table = {v: converter.convert(v) for v in distinct}
    return text.map(table, na_action="ignore").astype("string")


_FIELD_NORMALISERS = {
    "id_number": _identifier,
    "student_no": _identifier,
    "staff_no": _identifier,
    "person_no": _identifier,
    "mobile": _mobile,
    "name": _name,
}


def _amount(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    out, bad = [], []
    for v in values.astype("string"):
        try:
            out.append(normalise_amount_cents(None if v is pd.NA else v))
            bad.append(False)
        except NormaliseError:
            out.append(None)
            bad.append(True)
    return (
        pd.Series(out, index=values.index, dtype="Int64"),
        pd.Series(bad, index=values.index, dtype=bool),
    )


def standardise(raw: pd.DataFrame, source: SourceConfig) -> pd.DataFrame:
    """Canonical frame: ``source``, ``record_key``, every field of the entity, ``parse_errors``."""
    ent = entity(source.entity)
    check_contract(list(raw.columns), source, "landing")
    out = pd.DataFrame(index=raw.index)
    out["source"] = pd.Series(source.name, index=raw.index, dtype="string")
    out["record_key"] = raw["record_key"].astype("string")
    errors = pd.Series("", index=raw.index, dtype="string")

    def note(field: str, code: str, mask: pd.Series) -> None:
        nonlocal errors
        tag = f"{field}:{code}"
        mask = mask.fillna(False).astype(bool)
        errors = errors.mask(mask & (errors == ""), tag).mask(
            mask & (errors != ""), errors + ";" + tag
        )

    columns: dict[str, pd.Series] = {dst: raw[src] for src, dst in source.columns.items()}
    for field_name in source.file.filename_fields if source.file else {}:
        columns[field_name] = raw[f"__file_{field_name}"]
    for field_name, value in source.constants.items():
        columns[field_name] = pd.Series(value, index=raw.index)

    for f in ent.fields:
        if f.name not in columns:
            out[f.name] = pd.Series(pd.NA, index=raw.index, dtype=_DTYPES[f.dtype])
            continue
        values = columns[f.name]
        if f.dtype == "date":
            parsed, bad = normalise_dates(values)
            note(f.name, "unparseable_date", bad.astype(bool))
            out[f.name] = parsed.astype("datetime64[us]")
            continue
        if f.name == "amount_cents":
            out[f.name], bad = _amount(values)
            note(f.name, "unparseable_amount", bad)
            continue
        if f.dtype in ("int", "float"):
            text = _text(values)
            number = pd.to_numeric(text, errors="coerce")
            note(f.name, "not_a_number", text.notna() & number.isna())
            out[f.name] = number.astype(_DTYPES[f.dtype])
            continue
        text = _FIELD_NORMALISERS.get(f.name, _text)(values)
        if f.name in source.to_simplified:
            text = to_simplified(text)
        mapping = source.values.get(f.name) or (_GENDER_VALUES if f.name == "gender" else None)
        if mapping:
            mapped = text.map(lambda v, m=mapping: m.get(v, pd.NA) if v is not pd.NA else pd.NA)
            note(f.name, "unknown_value", text.notna() & mapped.isna())
            text = mapped.astype("string")
        out[f.name] = text.astype("string")
    for field_name in source.derive_from_id:
        if field_name in columns:
            raise SourceError(source.name, "config", f"{field_name} is both mapped and derived")
        out[field_name] = _from_resident_id(out["id_number"], field_name)
    out["parse_errors"] = errors
    return out.reset_index(drop=True)


def _from_resident_id(ids: pd.Series, field_name: str) -> pd.Series:
    """Birth date or gender embedded in well-formed ID numbers (null where malformed)."""
    shaped = ids.str.fullmatch(r"[0-9]{17}[0-9X]").fillna(False).astype(bool)
    if field_name == "birth_date":
        born = pd.to_datetime(ids.where(shaped).str[6:14], format="%Y%m%d", errors="coerce")
        return born.astype("datetime64[us]")
    digit = pd.to_numeric(ids.where(shaped).str[16], errors="coerce")
    return digit.map(lambda d: pd.NA if pd.isna(d) else ("M" if d % 2 else "F")).astype("string")
