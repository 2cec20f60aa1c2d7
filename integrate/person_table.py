"""The person dimension: one row per person from the linked rosters.

Several departments' rosters may hold the same person (linked on the ID token). For
the birth date, conflicting values are resolved by the configured department
priority (and counted); for every other attribute the first roster (configuration
order) with a value wins. Persons on a departmental roster but on no step of the
membership ladder get the status :data:`NON_MEMBER`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pandas as pd

__all__ = [
    "JOINED_YEAR",
    "NON_MEMBER",
    "PERSON_ATTRIBUTES",
    "branch_status",
    "build_person_table",
    "published_person",
]

NON_MEMBER = "non_member"
PERSON_ATTRIBUTES = (
    "gender",
    "ethnicity",
    "birth_date",
    "college",
    "branch_id",
    "branch_name",
    "person_type",
)
#: the year the person joined (became a probationary member); empty: never joined
JOINED_YEAR = "joined_year"


def build_person_table(
    rosters: Mapping[str, pd.DataFrame],
    departments: Mapping[str, str],
    priority: Sequence[str],
) -> tuple[pd.DataFrame, int]:
    """One row per ``person_key`` from the linked roster frames (source name → frame, in
    configuration order), and the number of persons whose rosters disagreed on the birth
    date (the department first in ``priority`` wins)."""
    from quality import resolve_birth_date_conflicts

    if not rosters:
        raise ValueError("no roster frames: nobody to build the person table from")
    stacked = pd.concat(
        [frame.assign(source=name) for name, frame in rosters.items()],
        ignore_index=True,
        sort=False,
    )
    if "birth_date" not in stacked.columns:
        stacked["birth_date"] = pd.Series(pd.NA, index=stacked.index, dtype="string")
    columns = [
        "person_key",
        *[c for c in (*PERSON_ATTRIBUTES, "status", "probationary_on") if c in stacked],
    ]
    # birth dates arrive generalised to the year by the field policy: compare those
    years = pd.to_datetime(stacked["birth_date"].astype("string"), format="%Y", errors="coerce")
    by_department = stacked[[*columns, "record_key"]].assign(
        source=stacked["source"].map(departments), birth_date=years
    )
    resolved, conflicts = resolve_birth_date_conflicts(
        by_department, list(priority), person_column="person_key"
    )
    resolved["birth_date"] = resolved["birth_date"].dt.year.astype("Int64").astype("string")
    persons = resolved[columns].groupby("person_key", sort=True).first().reset_index()
    status = persons["status"] if "status" in persons else pd.Series(pd.NA, index=persons.index)
    persons["status"] = status.astype("string").fillna(NON_MEMBER)
    joined = persons.pop("probationary_on") if "probationary_on" in persons else None
    persons[JOINED_YEAR] = (
        joined.astype("string").str.extract(r"^(\d{4})", expand=False).astype("string")
        if joined is not None
        else pd.Series(pd.NA, index=persons.index, dtype="string")
    )
    return persons, int(conflicts["person_key"].nunique()) if len(conflicts) else 0


def branch_status(persons: pd.DataFrame) -> pd.DataFrame:
    """Members per branch and status (status is published aggregated, not per person)."""
    return (
        persons.dropna(subset=["branch_id"])
        .groupby(["branch_id", "status"], sort=True)
        .size()
        .rename("members")
        .reset_index()
    )


def published_person(gated: pd.DataFrame, *, joined_gated: bool = False) -> pd.DataFrame:
    """The gated person table with the published column names. The join year is
    published only where the gate treated it as a quasi-identifier."""
    joined = (
        gated[JOINED_YEAR].astype("string")
        if joined_gated and JOINED_YEAR in gated
        else pd.Series(pd.NA, index=gated.index, dtype="string")
    )
    return gated.assign(
        birth_year_band=gated["birth_date"].astype("string"), joined_year_band=joined
    )
