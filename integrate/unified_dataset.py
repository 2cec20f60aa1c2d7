"""The unified, pseudonymised dataset: which tables and columns are published.

Each published table has a fixed column list (a whitelist): anything else a
frame carries — tokens, Bloom encodings, raw fields, provenance — is dropped
here, so nothing identifying reaches the shared zone by accident. Columns are
cast to fixed types so the Parquet schema never depends on the data.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

import pandas as pd

__all__ = [
    "FORBIDDEN_COLUMNS",
    "FORBIDDEN_COLUMN_SUFFIXES",
    "TABLE_COLUMNS",
    "build_unified_dataset",
    "identifying_columns",
]

log = logging.getLogger(__name__)

#: table → column → pandas dtype of the published column.
TABLE_COLUMNS: dict[str, dict[str, str]] = {
    "dim_person": {
        "person_key": "string",
        "branch_id": "string",
        "college": "string",
        "person_type": "string",
        "gender": "string",
        "birth_year_band": "string",
        "joined_year_band": "string",
    },
    "branch_status": {
        "branch_id": "string",
        "status": "string",
        "members": "Int64",
    },
    "dim_branch": {
        "branch_id": "string",
        "branch_name": "string",
        "college": "string",
        "members": "Int64",
    },
    "fact_attendance": {
        "person_key": "string",
        "branch_id": "string",
        "meeting_type": "string",
        "meeting_date": "datetime64[us]",
        "meeting_date_precision": "string",
        "attendance": "string",
        "source": "string",
    },
    "fact_meeting": {
        "branch_id": "string",
        "meeting_type": "string",
        "meeting_date": "datetime64[us]",
        "meeting_date_precision": "string",
        "source": "string",
    },
    "fact_study": {
        "person_key": "string",
        "course_id": "string",
        "course_title": "string",
        "minutes": "float64",
        "score": "float64",
        "studied_on": "datetime64[us]",
        "studied_on_precision": "string",
        "source": "string",
    },
    "fact_volunteer": {
        "person_key": "string",
        "activity": "string",
        "hours": "float64",
        "served_on": "datetime64[us]",
        "served_on_precision": "string",
        "source": "string",
    },
    "fact_dues": {
        "person_key": "string",
        "dues_month": "string",
        "amount_cents": "Int64",
        "paid_on": "datetime64[us]",
        "paid_on_precision": "string",
        "source": "string",
    },
}

#: Column names that must never be published (direct identifiers of domain/canonical.py).
FORBIDDEN_COLUMNS = frozenset(
    {"id_number", "name", "mobile", "student_no", "staff_no", "person_no", "record_key"}
)
FORBIDDEN_COLUMN_SUFFIXES = ("_token", "_bloom")


def identifying_columns(frame: pd.DataFrame) -> list[str]:
    """Columns of ``frame`` that carry identifiers, tokens or encodings."""
    return sorted(
        c
        for c in frame.columns
        if c in FORBIDDEN_COLUMNS or str(c).endswith(FORBIDDEN_COLUMN_SUFFIXES)
    )


def _conform(name: str, frame: pd.DataFrame) -> pd.DataFrame:
    spec = TABLE_COLUMNS[name]
    out = pd.DataFrame(index=range(len(frame)))
    for column, dtype in spec.items():
        values = (
            frame[column].reset_index(drop=True)
            if column in frame.columns
            else pd.Series([None] * len(frame))
        )
        if dtype.startswith("datetime64"):
            values = pd.to_datetime(values)
            if getattr(values.dt, "tz", None) is not None:
                values = values.dt.tz_convert("Asia/Shanghai").dt.tz_localize(None)
            out[column] = values.astype(dtype)
        else:
            out[column] = values.astype(dtype)
    dropped = sorted(set(frame.columns) - set(spec))
    if dropped:
        log.debug("%s: not published: %s", name, dropped)
    return out


def build_unified_dataset(
    frames: Mapping[str, pd.DataFrame], *, branches: pd.DataFrame | None = None
) -> dict[str, pd.DataFrame]:
    """Conform linked frames to the published tables.

    ``frames`` maps table names of :data:`TABLE_COLUMNS` (``dim_person``,
    ``fact_attendance``, ...) to frames that have at least ``person_key`` (facts)
    or the dimension columns. ``dim_branch`` is taken from ``branches`` if given,
    else derived from ``dim_person``; its ``members`` is counted from ``dim_person``.
    """
    unknown = sorted(set(frames) - set(TABLE_COLUMNS))
    if unknown:
        raise KeyError(f"unknown tables {unknown}; known: {sorted(TABLE_COLUMNS)}")
    tables = {name: _conform(name, frame) for name, frame in frames.items()}
    person = tables.get("dim_person")
    if person is not None:
        base = (
            branches
            if branches is not None
            else person[["branch_id", "college"]].drop_duplicates("branch_id")
        )
        counts = person.groupby("branch_id")["person_key"].nunique()
        base = base.assign(members=base["branch_id"].map(counts).fillna(0).astype("Int64"))
        tables["dim_branch"] = _conform("dim_branch", base)
    return tables
