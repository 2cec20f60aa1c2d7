"""Map a department's raw rows to the canonical schema and normalise the values.

Text is half-width, stripped of invisible characters (BOM, zero-width), trimmed and
space-collapsed; fields listed in a source's ``to_simplified`` are also converted from
traditional to simplified Chinese with OpenCC (``t2s``), before value maps apply.

Values are parsed exactly or refused: dates in the shapes the source's ``parse``
section accepts for the field (:mod:`domain.dates`; defaults: the common Chinese day
spellings, plus month precision for membership step dates), numbers and amounts in
its decimal mark, identifiers recovered from spreadsheet floats when every digit is
there. A date field read at month or year precision gets a companion
``<field>_precision`` column (:func:`domain.precision_column`).

A department's markers for "no value" (``blank_values``: ``无``, ``—``) are read as
empty before anything else.

The schema contract: every mapped department column must be present, and a
column that is neither mapped nor listed in ``ignore_columns`` is an error
(unless the source says ``unexpected_columns: ignore``). Values that cannot be
understood become null and are recorded in ``parse_errors`` as
``<field>:<code>`` (or a code of their own, ``id_precision_lost`` and
``mobile_precision_lost``), together with the problems a reader found in the row
(:data:`connectors.base.READER_PROBLEMS`), so the quality gate can quarantine the row.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import numpy as np
import pandas as pd

from connectors.base import READER_PROBLEMS, SourceError
from connectors.specs import SourceConfig
from domain import (
    DEFAULT_DATE_SHAPES,
    DEFAULT_STEP_DATE_SHAPES,
    STATUS_DATE_FIELDS,
    clean_text,
    entity,
    identifier_text,
    parse_amounts_cents,
    parse_dates,
    parse_numbers,
    precision_column,
    recover_identifiers,
)

__all__ = ["check_contract", "date_shapes_for", "standardise", "to_simplified"]

_GENDER_VALUES = {"男": "M", "女": "F", "M": "M", "F": "F", "m": "M", "f": "F", "1": "M", "2": "F"}
_DTYPES = {"string": "string", "date": "datetime64[us]", "int": "Int64", "float": "Float64"}
#: Identifier fields → the code for one whose digits a float lost (``None``: ``<field>:``).
_IDENTIFIERS: dict[str, str | None] = {
    "id_number": "id_precision_lost",
    "mobile": "mobile_precision_lost",
    "student_no": None,
    "staff_no": None,
    "person_no": None,
}


def check_contract(columns: list[str], source: SourceConfig, where: str) -> None:
    """Raise :class:`SourceError` for a missing mapped column or an unexpected one."""
    present = {c for c in columns if c != "record_key" and not c.startswith("__")}
    missing = [c for c in source.columns if c not in present]
    if missing:
        raise SourceError(source.name, where, "required column missing", column=missing[0])
    if source.unexpected_columns == "error":
        unexpected = sorted(present - set(source.columns) - set(source.ignore_columns))
        if unexpected:
            raise SourceError(source.name, where, "unexpected column", column=unexpected[0])


def _blanked(values: pd.Series, markers: list[str]) -> pd.Series:
    """``values`` with the department's 'no value' markers (after trimming) made empty."""
    if not markers:
        return values
    text = values.astype("string").str.strip()
    return values.mask(text.isin(markers).fillna(False).astype(bool))


def _text(values: pd.Series) -> pd.Series:
    return clean_text(values)


def _identifier(values: pd.Series, field_name: str) -> tuple[pd.Series, pd.Series]:
    """Identifier text recovered from spreadsheet floats, and where its digits were lost."""
    text = identifier_text(values)
    if field_name == "mobile":
        # no lookahead (it would run in Python's re value by value): the number is kept
        text = text.str.replace(r"^(?:\+|00)?86(1[0-9]{10}(?:\.0+)?)$", r"\1", regex=True)
    return recover_identifiers(text)


def _name(values: pd.Series) -> pd.Series:
    text = _text(values).str.replace(" ", "", regex=False)
    return text.mask(text == "")


def _mapped(text: pd.Series, mapping: dict[str, str]) -> pd.Series:
    """Each value through ``mapping`` (absent → null), once per distinct value."""
    codes, uniques = pd.factorize(text.astype("string"))
    targets = pd.array([mapping.get(u, pd.NA) for u in uniques], dtype="string")
    return pd.Series(targets.take(codes, allow_fill=True), index=text.index, dtype="string")


def date_shapes_for(source: SourceConfig, field_name: str) -> tuple[str, ...]:
    """The date shapes ``source`` accepts for ``field_name`` (configured, else the default)."""
    how = source.parse.get(field_name)
    if how is not None and how.dates is not None:
        return tuple(how.dates)
    if field_name in STATUS_DATE_FIELDS.values():
        return DEFAULT_STEP_DATE_SHAPES
    return DEFAULT_DATE_SHAPES


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


def _decimal(source: SourceConfig, field_name: str) -> Any:
    how = source.parse.get(field_name)
    return (how.decimal if how is not None else None) or "point"


def _reader_problems(raw: pd.DataFrame, source: SourceConfig) -> pd.Series:
    """A reader's row problems with department columns renamed to canonical fields."""
    problems = raw[READER_PROBLEMS].astype("string").fillna("")
    if not problems.str.len().any():
        return problems
    renames = {f"{src}:": f"{dst}:" for src, dst in source.columns.items()}

    def canonical(joined: str) -> str:
        out = []
        for code in filter(None, joined.split(";")):
            column, sep, _ = code.partition(":")
            out.append(renames.get(column + sep, "") + code[len(column + sep) :] if sep else code)
        return ";".join(out)

    distinct = problems.unique()
    return problems.map(dict(zip(distinct, map(canonical, distinct), strict=True)))


#: a field's output columns (name → values) and its problem codes ('' = none), in order
_FieldResult = tuple[dict[str, pd.Series], list[pd.Series]]


def _coded(mask: pd.Series, code: str) -> pd.Series:
    return pd.Series("", index=mask.index, dtype="string").mask(
        mask.fillna(False).astype(bool), code
    )


def _prefixed(field_name: str, problems: pd.Series) -> pd.Series:
    return (field_name + ":" + problems).where(problems != "", "")


def _field(values: pd.Series, f: Any, source: SourceConfig, blanks: bool) -> _FieldResult:
    """One field of the entity from its department values: output columns and codes."""
    if blanks:
        values = _blanked(values, source.blank_values)
    if f.dtype == "date":
        parsed = parse_dates(values, date_shapes_for(source, f.name))
        columns = {f.name: parsed.dates.astype("datetime64[us]")}
        if not parsed.all_day:
            columns[precision_column(f.name)] = parsed.precision
        return columns, [_prefixed(f.name, parsed.problem)]
    if f.name == "amount_cents":
        cents, problem = parse_amounts_cents(values, _decimal(source, f.name))
        return {f.name: cents}, [_prefixed(f.name, problem)]
    if f.dtype in ("int", "float"):
        number, problem = parse_numbers(values, _decimal(source, f.name))
        if f.dtype == "int":
            fraction = number.notna() & (number != number.round())
            problem = problem.mask(fraction, "not_a_number")
            number = number.mask(fraction)
        return {f.name: number.astype(_DTYPES[f.dtype])}, [_prefixed(f.name, problem)]
    codes: list[pd.Series] = []
    if f.name in _IDENTIFIERS:
        text, lost = _identifier(values, f.name)
        code = _IDENTIFIERS[f.name]
        codes.append(_coded(lost, code or f"{f.name}:precision_lost"))
    else:
        text = (_name if f.name == "name" else _text)(values)
    if f.name in source.to_simplified:
        text = to_simplified(text)
    mapping = source.values.get(f.name) or (_GENDER_VALUES if f.name == "gender" else None)
    if mapping:
        mapped = _mapped(text, mapping)
        codes.append(_coded(text.notna() & mapped.isna(), f"{f.name}:unknown_value"))
        text = mapped
    return {f.name: text.astype("string")}, codes


def _per_distinct(values: pd.Series, fn: Any) -> _FieldResult:
    """``fn(values)``, computed once per distinct value and taken back to the rows.

    Only for text columns (``str`` values and nulls): every step of :func:`_field` reads
    a value on its own, and strings are equal only when they are the same text (object
    columns are not: ``1 == 1.0 == True`` would share a reading).
    """
    if not isinstance(values.dtype, pd.StringDtype) or len(values) < 2:
        return fn(values)
    codes, uniques = pd.factorize(values, use_na_sentinel=False)
    if len(uniques) * 10 > len(values) * 9:  # nearly all distinct: nothing to share
        return fn(values)
    columns, problems = fn(pd.Series(uniques, dtype=values.dtype))
    positions = np.asarray(codes, dtype=np.intp)

    def back(column: pd.Series) -> pd.Series:
        return column.take(positions).set_axis(values.index)

    # a code column empty for every distinct value is empty for every row
    found = [c for c in problems if (c.astype("string").fillna("") != "").any()]
    return {k: back(v) for k, v in columns.items()}, [back(c) for c in found]


def _joined_codes(index: pd.Index, parts: list[pd.Series]) -> pd.Series:
    """Per-row ``;``-joined codes of ``parts`` (each '' = none), in order."""
    errors = pd.Series("", index=index, dtype="string")
    for codes in parts:
        codes = codes.astype("string").fillna("")
        has = codes != ""
        if not has.any():
            continue
        errors = errors.mask(has & (errors == ""), codes).mask(
            has & (errors != ""), errors + ";" + codes
        )
    return errors


def standardise(raw: pd.DataFrame, source: SourceConfig) -> pd.DataFrame:
    """Canonical frame: ``source``, ``record_key``, every field of the entity (with
    ``<field>_precision`` beside a date field read coarser than a day), ``parse_errors``.

    Each mapped field is read once per distinct department value (text columns)."""
    ent = entity(source.entity)
    check_contract(list(raw.columns), source, "landing")
    out = pd.DataFrame(index=raw.index)
    out["source"] = pd.Series(source.name, index=raw.index, dtype="string")
    out["record_key"] = raw["record_key"].astype("string")
    problems: list[pd.Series] = []
    if READER_PROBLEMS in raw.columns:
        problems.append(_reader_problems(raw, source))
    # field → (department values, whether the 'no value' markers apply)
    columns: dict[str, tuple[pd.Series, bool]] = {
        dst: (raw[src], True) for src, dst in source.columns.items()
    }
    for field_name in source.file.filename_fields if source.file else {}:
        columns[field_name] = (raw[f"__file_{field_name}"], False)
    for field_name, value in source.constants.items():
        columns[field_name] = (pd.Series(value, index=raw.index), False)

    for f in ent.fields:
        if f.name not in columns:
            out[f.name] = pd.Series(pd.NA, index=raw.index, dtype=_DTYPES[f.dtype])
            continue
        values, blanks = columns[f.name]
        fields, codes = _per_distinct(
            values, lambda v, f=f, blanks=blanks: _field(v, f, source, blanks)
        )
        for name, column in fields.items():
            out[name] = column
        problems.extend(codes)
    for field_name in source.derive_from_id:
        if field_name in columns:
            raise SourceError(source.name, "config", f"{field_name} is both mapped and derived")
        out[field_name] = _from_resident_id(out["id_number"], field_name)
    out["parse_errors"] = _joined_codes(raw.index, problems)
    return out.reset_index(drop=True)


def _from_resident_id(ids: pd.Series, field_name: str) -> pd.Series:
    """Birth date or gender embedded in well-formed ID numbers (null where malformed)."""
    shaped = ids.str.fullmatch(r"[0-9]{17}[0-9X]").fillna(False).astype(bool)
    if field_name == "birth_date":
        born = pd.to_datetime(ids.where(shaped).str[6:14], format="%Y%m%d", errors="coerce")
        return born.astype("datetime64[us]")
    digit = pd.to_numeric(ids.where(shaped).str[16], errors="coerce")
    return digit.map(lambda d: pd.NA if pd.isna(d) else ("M" if d % 2 else "F")).astype("string")
