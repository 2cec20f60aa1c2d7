"""Aggregating queries over fact files that stand in for the rows they summarise: the
indicators' attendance summary (:class:`integrate.indicators.AttendanceSummary`) and the
statistics tier's per-person attendance. Each gives what the pandas code computes from
the whole frame (the same groups, nulls left out as ``groupby`` leaves them out)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from integrate.indicators import AttendanceSummary

__all__ = ["attendance_per_person", "summarise_attendance_file"]

_MARKED = "attendance IN ('present', 'absent')"


def _file(path: Path) -> str:
    return "read_parquet('" + path.as_posix().replace("'", "''") + "')"


def summarise_attendance_file(con, path: Path) -> AttendanceSummary:
    """The attendance summary of a published ``fact_attendance`` file (its rows placed in
    a month: a date known only to the year is left out, as the indicators do)."""
    rows = (
        f"(SELECT person_key, branch_id, attendance, meeting_date, "
        f"strftime(meeting_date, '%Y-%m') AS month FROM {_file(path)} "
        "WHERE meeting_date_precision IS DISTINCT FROM 'year')"
    )
    first, last = con.execute(
        f"SELECT min(meeting_date), max(meeting_date) FROM {rows}"
    ).fetchall()[0]
    org = con.sql(
        "SELECT branch_id, month, count(*) AS org_life_records, "
        "count(*) FILTER (WHERE attendance = 'present') AS org_life_present "
        f"FROM {rows} WHERE {_MARKED} AND branch_id IS NOT NULL AND month IS NOT NULL "
        "GROUP BY branch_id, month ORDER BY branch_id, month"
    ).df()
    org = org.astype({"branch_id": "string", "month": "string"}).set_index(["branch_id", "month"])
    months = con.sql(
        f"SELECT DISTINCT month FROM {rows} WHERE {_MARKED} AND month IS NOT NULL ORDER BY month"
    ).df()["month"]

    def present_until(end: str) -> pd.DataFrame:
        bound = "'" + end.replace("'", "''") + "'"
        return con.sql(
            f"SELECT person_key, max(month) AS month FROM {rows} WHERE attendance = 'present' "
            f"AND person_key IS NOT NULL AND month <= {bound} GROUP BY person_key "
            "ORDER BY person_key"
        ).df()

    return AttendanceSummary(
        first=None if first is None else pd.Timestamp(first),
        last=None if last is None else pd.Timestamp(last),
        org=org,
        months=months.astype("string"),
        present_until=present_until,
    )


def attendance_per_person(con, paths: Sequence[Path]) -> pd.DataFrame:
    """Per person (index ``person_key``): ``records`` marked present or absent and how
    many of them ``present``, over the linked attendance files ``paths`` (every row,
    before the privacy gate)."""
    if not paths:
        return pd.DataFrame(
            {"records": pd.Series(dtype="int64"), "present": pd.Series(dtype="int64")},
            index=pd.Index([], name="person_key", dtype="string"),
        )
    union = " UNION ALL ".join(f"SELECT person_key, attendance FROM {_file(p)}" for p in paths)
    frame = con.sql(
        "SELECT person_key, count(*) AS records, "
        "count(*) FILTER (WHERE attendance = 'present') AS present "
        f"FROM ({union}) WHERE {_MARKED} AND person_key IS NOT NULL "
        "GROUP BY person_key ORDER BY person_key"
    ).df()
    frame = frame.astype({"person_key": "string", "records": "int64", "present": "int64"})
    return frame.set_index("person_key")
