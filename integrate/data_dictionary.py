"""The data dictionary: every published column's meaning, type, privacy treatment, source."""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd
import pyarrow as pa

__all__ = [
    "COLUMN_DOCS",
    "UNDOCUMENTED",
    "data_dictionary",
    "table_tier",
    "undocumented_columns",
]

#: the tier of a published table: how it may be used and how it is protected
TIERS = {
    "statistics": "statistics: computed before any generalisation; small cells suppressed "
    "with complementary suppression, or differentially private (see the manifest)",
    "microdata": "microdata: pseudonymised, person level behind the privacy gate; for "
    "authorised analysts",
    "aggregate": "aggregate: counts and rates per branch, from the gated microdata",
    "reference": "reference: organisational units and documentation",
}


def table_tier(table: str) -> str:
    """The tier of a published table (see :data:`TIERS`)."""
    if table.startswith("stat_"):
        return TIERS["statistics"]
    if table in ("dim_person", "inactive_members") or table.startswith("fact_"):
        return TIERS["microdata"]
    if table in ("indicator_branch_month", "branch_status"):
        return TIERS["aggregate"]
    return TIERS["reference"]


UNDOCUMENTED = "UNDOCUMENTED"

#: column → (meaning, privacy treatment, source)
COLUMN_DOCS: dict[str, tuple[str, str, str]] = {
    "person_key": (
        "pseudonymous person key",
        "pseudonymised: derived from the keyed HMAC token of the resident ID; "
        "re-identification only through the vault",
        "org_dept, student_affairs, hr_staff rosters (linkage)",
    ),
    "branch_id": ("party branch code", "none (organisational unit)", "org_dept.branches"),
    "branch_name": ("party branch name", "none (organisational unit)", "org_dept.branches"),
    "college": ("college (学院)", "quasi-identifier; generalised by the privacy gate", "rosters"),
    "person_type": (
        "student / faculty / staff / retired",
        "quasi-identifier; k-anonymity checked",
        "org_dept.members",
    ),
    "gender": ("gender M / F", "quasi-identifier; k-anonymity checked", "rosters"),
    "birth_year_band": (
        "birth year, or a 5-year band, a decade, a 20-year band or *",
        "quasi-identifier; local recoding by the privacy gate (k-anonymity, checked)",
        "rosters",
    ),
    "status": (
        "membership status on the ladder (non_member: on a roster, on no step)",
        "sensitive; published only aggregated per branch, never per person",
        "org_dept",
    ),
    "joined_year_band": (
        "year of joining (becoming a probationary member): the year, a 5-year band, a decade "
        "or *; empty: never joined",
        "quasi-identifier; local recoding by the privacy gate (k-anonymity, checked)",
        "org_dept.members (probationary_on)",
    ),
    "age_band": (
        "age band at the run's as_of date (all: the margin)",
        "statistics tier",
        "rosters",
    ),
    "years_since_joining": (
        "years since joining, banded (all: the margin)",
        "statistics tier",
        "org_dept.members (probationary_on)",
    ),
    "protection": (
        "how this row's numbers are protected: published, suppressed (small cell or "
        "complementary) or dp (differentially private noise)",
        "statistics tier",
        "derived",
    ),
    "records": ("attendance records, present or absent", "statistics tier", "signins"),
    "present": ("attendance records marked present", "statistics tier", "signins"),
    "participation_rate": ("present / records", "statistics tier", "derived"),
    "members": ("number of people (in the branch, or of the status)", "aggregate count", "rosters"),
    "meeting_type": ("三会一课 meeting type", "none", "signins, org_dept.meetings"),
    "meeting_date": ("date of the meeting", "none", "signins"),
    "attendance": ("present / absent / leave", "none", "signins"),
    "course_id": ("course identifier", "none", "learning"),
    "course_title": ("course title", "none", "learning"),
    "minutes": ("minutes studied", "none", "learning"),
    "score": ("score 0-100", "none", "learning"),
    "studied_on": ("date the course was completed", "none", "learning"),
    "activity": ("volunteer activity", "none", "volunteer"),
    "hours": ("hours served", "none", "volunteer"),
    "served_on": ("date served", "none", "volunteer"),
    "dues_month": ("month the dues are for (YYYY-MM)", "none", "finance_dues"),
    "amount_cents": ("amount paid, in fen", "none", "finance_dues"),
    "paid_on": ("date paid", "none", "finance_dues"),
    **{
        f"{date}_precision": (
            f"how precise {date} is where the source gave less than a day: month or year "
            f"({date} is then the first day of that period); empty: exact to the day",
            "none",
            "the department's export",
        )
        for date in ("meeting_date", "studied_on", "served_on", "paid_on")
    },
    "source": ("source system the row came from", "none (provenance)", "pipeline"),
    "month": ("calendar month (YYYY-MM)", "none", "derived"),
    "org_life_records": ("attendance records, present or absent", "aggregate", "derived"),
    "org_life_present": ("attendance records marked present", "aggregate", "derived"),
    "org_life_participation_rate": (
        "present / (present + absent); leave excluded",
        "aggregate",
        "derived",
    ),
    "study_members": ("members with at least one completed course", "aggregate", "derived"),
    "study_completion_rate": ("study_members / members", "aggregate", "derived"),
    "dues_on_time": ("members who paid the month's dues by its last day", "aggregate", "derived"),
    "dues_on_time_rate": ("dues_on_time / members", "aggregate", "derived"),
    "volunteer_hours": ("volunteer hours served in the month", "aggregate", "derived"),
    "last_active_month": ("last month with any participation, or none", "generalised", "derived"),
}


_QI = "quasi-identifier; local recoding by the privacy gate (k-anonymity, checked)"
#: (table, column) → privacy treatment where a column is treated differently in one table
TABLE_PRIVACY: dict[tuple[str, str], str] = {
    ("dim_person", "branch_id"): _QI + "; * where only the college is published",
    ("dim_person", "college"): _QI + " (with the branch: a branch generalises to its college)",
    ("dim_person", "gender"): _QI,
    ("dim_person", "person_type"): _QI + " (student / staff)",
}


def data_dictionary(
    tables: Mapping[str, pd.DataFrame], *, docs: Mapping[str, tuple[str, str, str]] | None = None
) -> pd.DataFrame:
    """One row per published column: table, column, type, meaning, privacy treatment, source.

    A column without documentation gets ``UNDOCUMENTED`` (see :func:`undocumented_columns`).
    """
    known = {**COLUMN_DOCS, **(docs or {})}
    rows = []
    for table in sorted(tables):
        schema = pa.Schema.from_pandas(tables[table], preserve_index=False)
        for field in schema:
            meaning, privacy, source = known.get(field.name, (UNDOCUMENTED,) * 3)
            privacy = TABLE_PRIVACY.get((table, field.name), privacy)
            rows.append(
                {
                    "table_name": table,
                    "column_name": field.name,
                    "type": str(field.type).replace("large_", ""),
                    "meaning": meaning,
                    "privacy_treatment": privacy,
                    "source": source,
                    "tier": table_tier(table),
                }
            )
    return pd.DataFrame(
        rows,
        columns=[
            "table_name",
            "column_name",
            "type",
            "meaning",
            "privacy_treatment",
            "source",
            "tier",
        ],
    ).astype("string")


def undocumented_columns(dictionary: pd.DataFrame) -> list[str]:
    """``table.column`` of every column the dictionary cannot describe."""
    bad = dictionary[dictionary["meaning"] == UNDOCUMENTED]
    return [f"{t}.{c}" for t, c in zip(bad["table_name"], bad["column_name"], strict=True)]
