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
    assert len(out.tables["dim_person"]) == 11 and len(out.tables["fact_study"]) == 11
    assert set(out.tables["fact_study"]["source"]) == {"learning"}
    assert {"indicator_branch_month", "inactive_members", "data_dictionary"} <= set(out.tables)


def test_every_sources_published_rows_are_found_in_the_written_tables():
    out = assemble_dataset(_sources(), gate=GATE, as_of=date(2026, 6, 30))
    written = prepare_tables(out.tables).arrow
    assert published_rows(written, out.lineage) == {"roster": 11, "learning": 11}
    fewer = {**out.tables, "fact_study": out.tables["fact_study"].iloc[1:]}
    assert published_rows(prepare_tables(fewer).arrow, out.lineage)["learning"] == 10
