"""The published dataset reads well for analysts: every branch has its name, the data
dictionary speaks Chinese too, inactive_members lists party members only, and the demo's
one refused export is a single branch's sign-in sheet, named in the summary."""

from __future__ import annotations

import pandas as pd


def _table(installation: dict, name: str) -> pd.DataFrame:
    return pd.read_parquet(installation["data"] / "published" / "current" / f"{name}.parquet")


def test_every_branch_has_its_name(small_installation):
    branches = _table(small_installation, "dim_branch").dropna(subset=["branch_id"])
    assert len(branches) > 5 and branches["branch_name"].notna().all()
    assert branches["branch_name"].str.contains("支部").all()


def test_data_dictionary_has_chinese_meanings(small_installation):
    dictionary = _table(small_installation, "data_dictionary")
    row = dictionary[dictionary["column_name"] == "branch_name"].iloc[0]
    assert row["meaning_zh"] == "党支部名称"


def test_inactive_members_are_party_members_only(small_installation):
    inactive = _table(small_installation, "inactive_members")
    linked = small_installation["data"].glob("runs/*/linked/*.parquet")
    rosters = [pd.read_parquet(p) for p in linked]
    status = (
        pd.concat([r[["person_key", "status"]] for r in rosters if "status" in r.columns])
        .dropna()
        .drop_duplicates("person_key")
        .set_index("person_key")["status"]
    )
    assert len(inactive) and inactive["branch_id"].notna().all()
    assert set(inactive["person_key"].map(status)) <= {"probationary", "full"}
    assert not set(status[~status.isin(["probationary", "full"])].index) & set(
        inactive["person_key"]
    )


def test_the_refused_export_is_one_sign_in_sheet_and_the_summary_says_why(small_installation):
    summary = small_installation["summary"]
    refused = [(r["source"], i) for r in summary["sources"] for i in r["rejected_inputs"]]
    assert len(refused) == 1
    source, entry = refused[0]
    assert source == "branch_signins" and entry["reason"] == "signature_invalid"
    assert entry["location"].startswith("signins/")
    dues = next(r for r in summary["sources"] if r["source"] == "finance_dues")
    assert dues["published"] > 0  # finance's export is no longer emptied
