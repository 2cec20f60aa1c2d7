"""The person table and the assembled publication: attributes by priority, suppressed
persons' facts left out and counted, every source's rows found again as written."""

from __future__ import annotations

from datetime import date

import pandas as pd

from integrate.accounting import published_rows
from integrate.assembly import LinkedSource, assemble_dataset
from integrate.person_table import NON_MEMBER, build_person_table
from integrate.publish import prepare_tables


def _roster(keys, **columns) -> pd.DataFrame:
    n = len(keys)
    base = {"person_key": keys, "record_key": [f"r:{i}" for i in range(n)]}
    return pd.DataFrame(base | columns)


def test_person_table_resolves_birth_years_by_department_priority():
    org = _roster(["P1", "P2"], birth_date=["1990", "1985"], status=["full", None])
    hr = _roster(["P1"], birth_date=["1991"], college=["文学院"])
    persons, conflicts = build_person_table(
        {"org": org, "hr": hr}, {"org": "org_dept", "hr": "hr_staff"}, ["hr_staff", "org_dept"]
    )
    by_key = persons.set_index("person_key")
    assert by_key.loc["P1", "birth_date"] == "1991" and conflicts == 1
    assert by_key.loc["P1", "college"] == "文学院"  # from the roster that has it
    assert by_key.loc["P2", "status"] == NON_MEMBER


def _sources(n_people: int = 12) -> dict[str, LinkedSource]:
    keys = [f"P{i:02d}" for i in range(n_people)]
    roster = _roster(
        keys,
        gender=["M"] * n_people,
        ethnicity=["汉族"] * n_people,
        birth_date=["1990"] * (n_people - 1) + ["1950"],  # the last one stands out
        college=["c"] * n_people,
        branch_id=["b1"] * n_people,
        person_type=["student"] * n_people,
        status=["full"] * n_people,
    )
    study = pd.DataFrame(
        {
            "person_key": keys,
            "record_key": [f"s:{i}" for i in range(n_people)],
            "course_id": "C1",
            "studied_on": pd.Timestamp("2026-05-01"),
        }
    )
    return {
        "roster": LinkedSource("member", "org_dept", roster),
        "learning": LinkedSource("study", "learning_platform", study),
    }


GATE = {
    "quasi_identifiers": ["gender", "birth_date"],
    "k": 5,
    "ladders": {},
    "sensitive": [],
    "l": 1,
    "max_suppression_rate": 0.2,
}


def test_facts_of_suppressed_persons_are_left_out_and_counted():
    out = assemble_dataset(_sources(), gate=GATE, as_of=date(2026, 6, 30))
    assert out.suppressed == {"roster": 1, "learning": 1}
    study = out.tables["fact_study"].frame()  # written by streaming
    assert len(out.tables["dim_person"]) == 11 and out.tables["fact_study"].rows == len(study) == 11
    assert set(study["source"]) == {"learning"}
    assert {"indicator_branch_month", "inactive_members", "data_dictionary"} <= set(out.tables)


def test_every_sources_published_rows_are_found_in_the_written_tables():
    out = assemble_dataset(_sources(), gate=GATE, as_of=date(2026, 6, 30))
    written = prepare_tables(out.tables).arrow
    assert published_rows(written, out.lineage) == {"roster": 11, "learning": 11}
    fewer = {**out.tables, "fact_study": out.tables["fact_study"].frame().iloc[1:]}
    assert published_rows(prepare_tables(fewer).arrow, out.lineage)["learning"] == 10


def _local_sources(distinct_dates: bool = False) -> dict[str, LinkedSource]:
    n = 40
    keys = [f"P{i:02d}" for i in range(n)]
    roster = _roster(
        keys,
        gender=["M", "F"] * (n // 2),
        ethnicity=["汉族"] * n,
        birth_date=[str(1990 + i % 4) for i in range(n)],
        college=["c"] * n,
        branch_id=["b1"] * 20 + ["b2"] * 20,
        person_type=["student"] * n,
        status=["full"] * 10 + ["applicant"] * 30,
        probationary_on=["2015-09"] * 10 + [None] * 30,
    )
    attendance = pd.DataFrame(
        {
            "person_key": keys,
            "record_key": [f"a:{i}" for i in range(n)],
            "branch_id": ["b1"] * 20 + ["b2"] * 20,
            "meeting_date": pd.date_range("2026-01-01", periods=n)
            if distinct_dates
            else pd.Timestamp("2026-05-01"),
            "attendance": "present",
        }
    )
    return {
        "roster": LinkedSource("member", "org_dept", roster),
        "signins": LinkedSource("attendance", "branch", attendance),
    }


def _local_gate() -> dict:
    band = {"operator": "generalise", "params": {"to": "band", "width": 5}}
    return {
        "method": "local",
        "quasi_identifiers": ["branch_id", "gender", "birth_date", "joined_year"],
        "k": 5,
        "ladders": {"birth_date": [band], "joined_year": [band]},
        "nested": {"branch_id": "college"},
        "max_suppression_rate": 0.1,
        "sensitive": [],
        "l": 1,
    }


def test_local_gate_publishes_join_band_statistics_and_attack_facts():
    from anonymize.policy import AttackConfig, StatisticsConfig

    out = assemble_dataset(
        _local_sources(),
        gate=_local_gate(),
        as_of=date(2026, 6, 30),
        attack=AttackConfig(
            known=["branch_id", "gender", "birth_date", "joined_year"], max_singled_out=1.0
        ),
        statistics=StatisticsConfig(threshold=5),
    )
    person = out.tables["dim_person"]
    assert set(person["joined_year_band"].dropna()) <= {"2015", "2015-2019", "*"}
    assert {"stat_branch_age_status", "stat_branch_joined", "stat_participation_age"} <= set(
        out.tables
    )
    assert out.statistics["threshold"] == 5
    assert out.attack["by_facts"]["0"]["prosecutor_singled_out"] == 0.0
    tiers = out.tables["data_dictionary"].set_index(["table_name", "column_name"])["tier"]
    assert tiers[("stat_branch_joined", "members")].startswith("statistics")
    assert tiers[("dim_person", "birth_year_band")].startswith("microdata")


def test_attack_above_its_threshold_refuses_the_publication():
    import pytest

    from anonymize import PrivacyThresholdError
    from anonymize.policy import AttackConfig

    with pytest.raises(PrivacyThresholdError, match="re-identification attack"):
        assemble_dataset(
            _local_sources(distinct_dates=True),  # one meeting date tells each person
            gate=_local_gate(),
            as_of=date(2026, 6, 30),
            attack=AttackConfig(known=["branch_id", "gender", "birth_date"], max_singled_out=0.2),
        )
