"""Roster rows the gate rejected: their key tokens (only) let linkage give a person's other
records the reason person_rejected_in_roster instead of unknown_person."""

from __future__ import annotations

import stat

import pandas as pd
import pytest

from islandbridge.run_layout import DataLayout

pytestmark = [pytest.mark.xdist_group("stages")]

ROSTERS = ("org_members", "student_roster", "hr_roster")
ACTIVITIES = ("branch_signins", "league_volunteer", "finance_dues", "learning_platform")


def test_rejected_roster_keys_are_tokens_only_and_owner_only(small_installation):
    run = DataLayout(small_installation["data"]).run("base")
    for source in ROSTERS:
        path = run.rejected_keys(source)
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        keys = pd.read_parquet(path)
        assert list(keys.columns) == ["domain", "token"]
        rejected = pd.read_parquet(run.quality_quarantine(source))
        raw = set()
        for field in ("id_number", "student_no", "staff_no", "mobile", "name"):
            if field in rejected.columns:
                raw |= set(rejected[field].dropna().astype(str))
        assert raw and not raw & set(keys["token"]), source
    assert len(pd.read_parquet(run.rejected_keys("org_members"))) > 0
    assert pd.read_parquet(run.rejected_keys("branch_signins")).empty


def test_records_of_rejected_roster_rows_get_their_own_reason(small_installation):
    run = DataLayout(small_installation["data"]).run("base")
    reasons = pd.concat(
        [pd.read_parquet(run.link_quarantine(s), columns=["reasons"]) for s in ACTIVITIES]
    )["reasons"]
    assert (reasons == "person_rejected_in_roster").sum() > 0
    assert (reasons == "unknown_person").sum() > 0, "fabricated people stay unknown"
    rejects = small_installation["summary"]["rejects"]
    assert (
        rejects.get("person_rejected_in_roster", 0)
        == (reasons == "person_rejected_in_roster").sum()
    )
