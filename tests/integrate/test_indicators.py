"""compute_indicators: per-branch monthly rates and members inactive for three months."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from integrate import compute_indicators


@pytest.fixture
def unified() -> dict[str, pd.DataFrame]:
    person = pd.DataFrame(
        {"person_key": ["Pa", "Pb", "Pc", "Pd"], "branch_id": ["B1", "B1", "B1", "B2"]}
    )
    attendance = pd.DataFrame(
        {
            "person_key": ["Pa", "Pb", "Pc", "Pd", "Pa"],
            "branch_id": ["B1", "B1", "B1", "B2", "B1"],
            "meeting_date": pd.to_datetime(
                ["2026-04-03", "2026-04-03", "2026-04-03", "2026-04-10", "2026-06-05"]
            ),
            "attendance": ["present", "absent", "leave", "present", "present"],
        }
    )
    study = pd.DataFrame(
        {"person_key": ["Pb", "Pb"], "studied_on": pd.to_datetime(["2026-05-02", "2026-05-09"])}
    )
    volunteer = pd.DataFrame(
        {
            "person_key": ["Pa", "Pd"],
            "hours": [2.5, 4.0],
            "served_on": pd.to_datetime(["2026-04-20", "2026-01-05"]),
        }
    )
    dues = pd.DataFrame(
        {
            "person_key": ["Pa", "Pb", "Pd"],
            "dues_month": ["2026-04", "2026-04", "2026-04"],
            "paid_on": pd.to_datetime(["2026-04-30", "2026-05-01", "2026-04-15"]),
        }
    )
    return {
        "dim_person": person,
        "fact_attendance": attendance,
        "fact_study": study,
        "fact_volunteer": volunteer,
        "fact_dues": dues,
    }


def _row(ind: pd.DataFrame, branch: str, month: str) -> pd.Series:
    return ind[(ind["branch_id"] == branch) & (ind["month"] == month)].iloc[0]


def test_org_life_rate_counts_present_over_present_plus_absent(unified):
    ind = compute_indicators(unified, as_of=date(2026, 6, 30), months=3)["indicator_branch_month"]
    april = _row(ind, "B1", "2026-04")
    assert april["org_life_records"] == 2 and april["org_life_present"] == 1
    assert april["org_life_participation_rate"] == 0.5
    assert pd.isna(_row(ind, "B1", "2026-05")["org_life_participation_rate"])  # no meeting


def test_study_completion_counts_members_not_records(unified):
    ind = compute_indicators(unified, as_of=date(2026, 6, 30), months=3)["indicator_branch_month"]
    may = _row(ind, "B1", "2026-05")
    assert may["study_members"] == 1 and may["study_completion_rate"] == pytest.approx(1 / 3, 1e-3)


def test_dues_paid_after_month_end_are_not_on_time(unified):
    ind = compute_indicators(unified, as_of=date(2026, 6, 30), months=3)["indicator_branch_month"]
    assert _row(ind, "B1", "2026-04")["dues_on_time"] == 1  # Pb paid on 1 May
    assert _row(ind, "B2", "2026-04")["dues_on_time_rate"] == 1.0


def test_volunteer_hours_sum_per_branch_month(unified):
    ind = compute_indicators(unified, as_of=date(2026, 6, 30), months=3)["indicator_branch_month"]
    assert _row(ind, "B1", "2026-04")["volunteer_hours"] == 2.5
    assert _row(ind, "B2", "2026-04")["volunteer_hours"] == 0.0  # April has data, not B2's
    assert len(ind) == 2 * 3  # every branch × month, even without activity


def test_a_month_without_any_data_of_a_fact_is_null_not_zero(unified):
    ind = compute_indicators(unified, as_of=date(2026, 6, 30), months=3)["indicator_branch_month"]
    june = _row(ind, "B1", "2026-06")
    assert pd.isna(june["volunteer_hours"])  # no volunteer record at all in June
    assert pd.isna(june["dues_on_time"]) and pd.isna(june["dues_on_time_rate"])  # no June dues
    assert pd.isna(june["study_members"]) and pd.isna(june["study_completion_rate"])
    assert june["org_life_records"] == 1  # June has attendance: counted
    may = _row(ind, "B2", "2026-05")
    assert may["study_members"] == 0 and may["study_completion_rate"] == 0.0  # data, not B2's
    assert pd.isna(may["org_life_records"])  # no meeting anywhere in May


def test_inactive_members_listed_by_key_only(unified):
    out = compute_indicators(unified, as_of=date(2026, 6, 30), months=3)
    inactive = out["inactive_members"]
    # window Apr-Jun: Pa present in June, Pb studied in May, Pd present in April;
    # Pc was only ever on leave
    assert list(inactive.columns) == ["person_key", "branch_id", "last_active_month"]
    assert inactive["person_key"].tolist() == ["Pc"]
    assert pd.isna(inactive["last_active_month"].iloc[0])
    later = compute_indicators(unified, as_of=date(2026, 7, 31), months=3)["inactive_members"]
    assert later["person_key"].tolist() == ["Pc", "Pd"]  # window May-Jul
    assert later.set_index("person_key").loc["Pd", "last_active_month"] == "2026-04"


def test_inactive_members_are_party_members_only(unified):
    out = compute_indicators(
        unified, as_of=date(2026, 7, 31), months=3, party_members=pd.Series(["Pd", "Pa"])
    )
    assert out["inactive_members"]["person_key"].tolist() == ["Pd"]  # Pc: not a member
    wider = compute_indicators(
        unified, as_of=date(2026, 7, 31), inactive_months=4, party_members=pd.Series(["Pd"])
    )
    assert wider["inactive_members"].empty  # Pd was present in April: inside a 4-month window


def test_as_of_defaults_to_the_latest_activity(unified):
    ind = compute_indicators(unified)["indicator_branch_month"]
    assert ind["month"].min() == "2026-01" and ind["month"].max() == "2026-06"


def test_indicators_of_a_roster_without_any_activity_do_not_crash():
    """A publication whose fact tables are all empty (only rosters) still gets indicators."""
    from integrate import build_unified_dataset

    tables = build_unified_dataset(
        {
            "dim_person": pd.DataFrame(
                {"person_key": ["P1", "P2"], "branch_id": ["b1", "b1"], "college": ["c", "c"]}
            ),
            "fact_attendance": pd.DataFrame(columns=["person_key", "branch_id", "attendance"]),
            "fact_study": pd.DataFrame(columns=["person_key"]),
            "fact_dues": pd.DataFrame(columns=["person_key"]),
        }
    )
    out = compute_indicators(tables, as_of=date(2026, 6, 30))
    assert out["indicator_branch_month"]["org_life_records"].sum() == 0
    assert sorted(out["inactive_members"]["person_key"]) == ["P1", "P2"]


def test_a_fact_known_only_to_the_year_is_placed_in_no_month():
    from integrate import build_unified_dataset

    tables = build_unified_dataset(
        {
            "dim_person": pd.DataFrame({"person_key": ["P1"], "branch_id": ["b1"]}),
            "fact_volunteer": pd.DataFrame(
                {
                    "person_key": ["P1", "P1"],
                    "hours": [2.0, 5.0],
                    "served_on": pd.to_datetime(["2026-01-01", "2026-03-01"]),
                    "served_on_precision": ["year", "month"],
                }
            ),
        }
    )
    months = compute_indicators(tables, as_of=date(2026, 3, 31))["indicator_branch_month"]
    hours = dict(zip(months["month"], months["volunteer_hours"], strict=True))
    assert hours == {"2026-03": 5.0}  # nor does it stretch the months back to January
