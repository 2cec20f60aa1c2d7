"""Branch indicators per month, and members with no recent participation.

Definitions (one place, also in the data dictionary):

* org-life participation rate = present / (present + absent) over the branch's
  attendance records in the month (leave is excused and left out);
* study completion rate = members with at least one completed course in the
  month / members of the branch;
* dues on time rate = members who paid the month's dues by the month's last day /
  members of the branch;
* volunteer hours = hours served by the branch's members in the month;
* inactive members: party members (probationary and full; applicants and non-members
  are not listed) with no attendance marked present, no study and no volunteer
  service in the last ``inactive_months`` months up to ``as_of`` (configured:
  ``report.inactive_months``) — listed by person_key only (re-identification, for a
  reminder, goes through the vault: ``islandbridge remind``).

"No data" is NULL, never 0: a month in which a fact table holds no row at all (the
source delivered nothing for it) has NULL counts and rates for that fact in every
branch; the participation rate is NULL for a branch that held no meeting that month.

Facts other than attendance are assigned to the member's branch in dim_person. A fact
whose date the source gave only to the year (``<date>_precision`` = ``year``) belongs to
no month and is left out of the monthly indicators (a month-precision date is exact
enough: its month is known).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

__all__ = ["INDICATOR_COLUMNS", "AttendanceSummary", "compute_indicators", "summarise_attendance"]

INDICATOR_COLUMNS = (
    "branch_id",
    "month",
    "members",
    "org_life_records",
    "org_life_present",
    "org_life_participation_rate",
    "study_members",
    "study_completion_rate",
    "dues_on_time",
    "dues_on_time_rate",
    "volunteer_hours",
)


def _month(values: pd.Series) -> pd.Series:
    return pd.to_datetime(values).dt.strftime("%Y-%m")


_FACT_DATES = {
    "fact_attendance": "meeting_date",
    "fact_study": "studied_on",
    "fact_volunteer": "served_on",
    "fact_dues": "paid_on",
}


def _monthly(name: str, frame: pd.DataFrame) -> pd.DataFrame:
    """The fact's rows that can be placed in a month (not known only to the year)."""
    column = f"{_FACT_DATES.get(name, '')}_precision"
    if name not in _FACT_DATES or column not in frame.columns:
        return frame
    return frame[~(frame[column] == "year").fillna(False).to_numpy(dtype=bool)]


def _empty(columns: list[str]) -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype="object") for c in columns})


@dataclass(frozen=True)
class AttendanceSummary:
    """What the indicators read of the attendance facts (those placed in a month): all
    that needs the rows themselves, so an aggregating query can stand in for them."""

    #: the earliest and latest meeting date (None: no dated row)
    first: pd.Timestamp | None
    last: pd.Timestamp | None
    #: index (branch_id, month): org_life_records (present or absent), org_life_present
    org: pd.DataFrame
    #: the month of every present or absent record (repeats allowed)
    months: pd.Series
    #: given the last month of the window, (person_key, month) of attendance marked
    #: present up to it (at least each person's latest such month)
    present_until: Callable[[str], pd.DataFrame]


def summarise_attendance(attendance: pd.DataFrame) -> AttendanceSummary:
    """The summary of attendance rows (``person_key``, ``branch_id``, ``meeting_date``,
    ``attendance``) already placed in a month."""
    dates = pd.to_datetime(attendance["meeting_date"]).dropna()
    att = attendance.assign(month=_month(attendance["meeting_date"]))
    att = att[att["attendance"].isin(["present", "absent"])]
    org = att.groupby(["branch_id", "month"]).agg(
        org_life_records=("attendance", "size"),
        org_life_present=("attendance", lambda s: int((s == "present").sum())),
    )
    present = att.loc[att["attendance"] == "present", ["person_key", "month"]]
    return AttendanceSummary(
        first=dates.min() if not dates.empty else None,
        last=dates.max() if not dates.empty else None,
        org=org,
        months=att["month"],
        present_until=lambda end: present[present["month"] <= end],
    )


def compute_indicators(
    tables: Mapping[str, pd.DataFrame],
    *,
    as_of: date | None = None,
    months: int | None = None,
    inactive_months: int = 3,
    party_members: pd.Series | None = None,
    attendance: AttendanceSummary | None = None,
) -> dict[str, pd.DataFrame]:
    """Indicators from the unified tables (``dim_person`` and the ``fact_*`` tables).

    Returns ``indicator_branch_month`` (one row per branch and month, columns
    :data:`INDICATOR_COLUMNS`) and ``inactive_members`` (person_key, branch_id,
    last_active_month). The month range ends at ``as_of``'s month (default: the
    latest activity date) and covers ``months`` months (default: back to the first
    activity). ``party_members``: the person keys of party members (probationary and
    full), the only ones ``inactive_members`` may list (default: everyone in dim_person).
    ``attendance``: the attendance facts as summarised (default: summarised here from
    ``tables["fact_attendance"]``, which is then not read).
    """
    person = tables["dim_person"][["person_key", "branch_id"]].drop_duplicates("person_key")
    tables = {name: _monthly(name, frame) for name, frame in tables.items()}
    if attendance is None:
        attendance = summarise_attendance(
            tables.get(
                "fact_attendance",
                _empty(["person_key", "branch_id", "meeting_date", "attendance"]),
            )
        )
    study = tables.get("fact_study", _empty(["person_key", "studied_on"]))
    volunteer = tables.get("fact_volunteer", _empty(["person_key", "hours", "served_on"]))
    dues = tables.get("fact_dues", _empty(["person_key", "dues_month", "paid_on"]))

    dates = pd.concat(
        [
            pd.Series([d for d in (attendance.first, attendance.last) if d is not None]),
            pd.to_datetime(study["studied_on"]),
            pd.to_datetime(volunteer["served_on"]),
            pd.to_datetime(dues["paid_on"]),
        ]
    ).dropna()
    if as_of is None:
        if dates.empty:
            raise ValueError("no activity dates and no as_of: cannot place the months")
        as_of = dates.max().date()
    end = pd.Period(as_of, freq="M")
    start = (
        end - (months - 1)
        if months
        else (pd.Period(dates.min(), freq="M") if not dates.empty else end)
    )
    month_labels = [str(p) for p in pd.period_range(start, end, freq="M")]

    members = person.groupby("branch_id")["person_key"].nunique().rename("members")
    grid = pd.MultiIndex.from_product(
        [sorted(members.index), month_labels], names=["branch_id", "month"]
    ).to_frame(index=False)
    grid["members"] = grid["branch_id"].map(members).astype("int64")

    org = attendance.org

    def per_member(frame: pd.DataFrame, date_column: str) -> pd.DataFrame:
        out = frame.assign(month=_month(frame[date_column]))[["person_key", "month"]]
        return out.merge(person, on="person_key", how="inner")

    st = per_member(study, "studied_on").groupby(["branch_id", "month"])["person_key"].nunique()
    vol = volunteer.assign(month=_month(volunteer["served_on"])).merge(
        person, on="person_key", how="inner"
    )
    vol_hours = vol.groupby(["branch_id", "month"])["hours"].sum()

    paid = dues[["person_key", "dues_month", "paid_on"]].copy()
    paid["month"] = paid["dues_month"].astype("string")
    last_day = pd.to_datetime(paid["month"] + "-01", errors="coerce") + pd.offsets.MonthEnd(0)
    paid = paid[pd.to_datetime(paid["paid_on"]) <= last_day]
    on_time = (
        paid.merge(person, on="person_key").groupby(["branch_id", "month"])["person_key"].nunique()
    )

    out = grid.set_index(["branch_id", "month"])
    out = out.join(org, how="left")
    months_of = out.index.get_level_values("month")

    def covered(values: pd.Series, counts: pd.Series, dtype: str) -> pd.Series:
        """0 where the fact has rows in the month but not for the branch; NULL (no data)
        where the fact has no row at all in that month."""
        have = set(values.dropna().astype("string"))
        filled = pd.to_numeric(counts.reindex(out.index), errors="coerce").fillna(0).astype(dtype)
        return filled.where(pd.Series(months_of.isin(have), index=out.index))

    att_months = attendance.months
    out["org_life_records"] = covered(att_months, out["org_life_records"], "Int64")
    out["org_life_present"] = covered(att_months, out["org_life_present"], "Int64")
    out["study_members"] = covered(_month(study["studied_on"]), st, "Int64")
    out["dues_on_time"] = covered(dues["dues_month"].astype("string"), on_time, "Int64")
    out["volunteer_hours"] = covered(_month(volunteer["served_on"]), vol_hours, "Float64").round(2)
    with np.errstate(invalid="ignore", divide="ignore"):
        records = out["org_life_records"].astype("Float64")
        out["org_life_participation_rate"] = (
            out["org_life_present"].astype("Float64") / records.where(records > 0)
        ).round(4)
        members_ = out["members"].astype("Float64")
        out["study_completion_rate"] = (
            out["study_members"].astype("Float64") / members_.where(members_ > 0)
        ).round(4)
        out["dues_on_time_rate"] = (
            out["dues_on_time"].astype("Float64") / members_.where(members_ > 0)
        ).round(4)
    indicators = out.reset_index()[list(INDICATOR_COLUMNS)]
    indicators = indicators.astype({"branch_id": "string", "month": "string"})

    window = {str(p) for p in pd.period_range(end - (inactive_months - 1), end, freq="M")}
    active = pd.concat(
        [
            attendance.present_until(str(end)),
            per_member(study, "studied_on")[["person_key", "month"]],
            vol[["person_key", "month"]],
        ],
        ignore_index=True,
    )
    active = active[active["month"] <= str(end)]
    last_active = active.groupby("person_key")["month"].max()
    listed = person
    if party_members is not None:
        listed = person[person["person_key"].isin(set(party_members))]
    inactive = listed.assign(
        last_active_month=listed["person_key"].map(last_active).astype("string")
    )
    inactive = inactive[~inactive["last_active_month"].isin(window)]
    inactive = inactive.sort_values(["branch_id", "person_key"]).reset_index(drop=True)
    inactive = inactive.astype("string")
    return {"indicator_branch_month": indicators, "inactive_members": inactive}
