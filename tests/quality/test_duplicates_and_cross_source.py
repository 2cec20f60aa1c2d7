"""collapse_duplicates with lineage; cross-source checks run after linking."""

from __future__ import annotations

import pandas as pd
import pytest

from quality import (
    check_meeting_signins,
    check_unknown_persons,
    collapse_duplicates,
    resolve_birth_date_conflicts,
)
from tests.quality.conftest import canonical_frame, good_member

SIGNIN_KEYS = ["person_no", "branch_id", "meeting_type", "meeting_date"]


def _signin(**overrides: object) -> dict[str, object]:
    row = {
        "person_no": "S001",
        "name": "测试乙",
        "branch_id": "B001",
        "meeting_type": "党课",
        "meeting_date": "2026-05-01",
        "attendance": "present",
    }
    row.update(overrides)
    return row


def test_collapses_exact_duplicate_keeping_the_first_with_lineage() -> None:
    frame = canonical_frame(
        "attendance", [_signin(), _signin(person_no="S002"), _signin()], "signins"
    )
    kept, merged = collapse_duplicates(frame, entity="attendance", keys=SIGNIN_KEYS)
    assert list(kept["record_key"]) == ["signins:1", "signins:2"]
    assert merged[["record_key", "duplicate_of", "reasons"]].values.tolist() == [
        ["signins:3", "signins:1", "exact_duplicate"]
    ]


def test_collapses_near_duplicate_after_normalisation() -> None:
    rows = [_signin(), _signin(person_no="Ｓ００１", name="测试 乙"), _signin(person_no="s001 ")]
    frame = canonical_frame("attendance", rows, "signins")
    kept, merged = collapse_duplicates(frame, entity="attendance", keys=SIGNIN_KEYS)
    assert list(kept["record_key"]) == ["signins:1"]
    assert list(merged["reasons"]) == ["near_duplicate", "near_duplicate"]
    assert set(merged["duplicate_of"]) == {"signins:1"}


def test_keeps_distinct_records_and_rows_with_empty_keys() -> None:
    rows = [
        _signin(),
        _signin(meeting_date="2026-05-02"),
        _signin(person_no=None),
        _signin(person_no=None, attendance="absent"),
    ]
    frame = canonical_frame("attendance", rows, "signins")
    kept, merged = collapse_duplicates(frame, entity="attendance", keys=SIGNIN_KEYS)
    assert len(kept) == 4 and merged.empty


def test_exact_copy_of_a_near_duplicate_points_to_the_kept_row() -> None:
    rows = [_signin(), _signin(person_no="Ｓ００１"), _signin(person_no="Ｓ００１")]
    frame = canonical_frame("attendance", rows, "signins")
    kept, merged = collapse_duplicates(frame, entity="attendance", keys=SIGNIN_KEYS)
    assert list(kept["record_key"]) == ["signins:1"]
    assert dict(zip(merged["record_key"], merged["duplicate_of"], strict=True)) == {
        "signins:2": "signins:1",
        "signins:3": "signins:1",
    }
    assert len(kept) + len(merged) == len(frame)


def test_a_copy_of_a_rejected_row_is_merged_into_it_not_kept() -> None:
    # the roster query repeats a member without ladder dates; the original failed a rule
    rows = [
        good_member(),
        good_member(staff_no="T0002", person_no="T0002", id_number=None, mobile="13900002222"),
        good_member(**dict.fromkeys(("applicant_on", "activist_on", "candidate_on"), None)),
    ]
    frame = canonical_frame("member", rows, "members")
    rejected, accepted = frame.iloc[[0]], frame.iloc[[1, 2]]
    kept, merged = collapse_duplicates(accepted, entity="member", rejected=rejected)
    assert list(kept["record_key"]) == ["members:2"]
    assert merged[["record_key", "duplicate_of", "reasons"]].values.tolist() == [
        ["members:3", "members:1", "near_duplicate"]
    ]
    alone, none = collapse_duplicates(accepted, entity="member")
    assert len(alone) == 2 and none.empty


def test_two_sittings_of_a_course_on_one_day_are_not_duplicates() -> None:
    base = {"mobile": "13800001111", "course_id": "C01", "studied_on": "2026-05-01"}
    rows = [
        {**base, "minutes": 30, "score": 80.0},
        {**base, "minutes": 45, "score": 92.5},
        {**base, "mobile": "１３８００００１１１１", "minutes": 30, "score": 80.0},
    ]
    frame = canonical_frame("study", rows, "learning")
    kept, merged = collapse_duplicates(frame, entity="study")
    assert list(kept["record_key"]) == ["learning:1", "learning:2"]
    assert merged[["record_key", "duplicate_of"]].values.tolist() == [["learning:3", "learning:1"]]


def test_unknown_duplicate_key_fails() -> None:
    frame = canonical_frame("attendance", [_signin()], "signins")
    with pytest.raises(KeyError, match="student_no"):
        collapse_duplicates(frame, entity="attendance", keys=["student_no"])


def test_quarantines_signin_on_a_date_without_meeting() -> None:
    frame = canonical_frame(
        "attendance",
        [
            _signin(),
            _signin(meeting_date="2026-05-03"),
            _signin(branch_id="B002"),
            _signin(branch_id=None),
        ],
        "signins",
    )
    meetings = canonical_frame(
        "meeting", [{"branch_id": "B001", "meeting_type": "党课", "meeting_date": "2026-05-01"}]
    )
    verdict = check_meeting_signins(frame, meetings)
    assert sorted(verdict.quarantined["record_key"]) == ["signins:2", "signins:3"]
    assert set(verdict.quarantined["reasons"]) == {"no_meeting_signin"}
    assert len(verdict.accepted) + len(verdict.quarantined) == len(frame)
    assert verdict.counts == {"no_meeting_signin": 2}


def test_cross_source_verdict_keeps_earlier_flags() -> None:
    frame = canonical_frame("attendance", [_signin()], "signins")
    frame["flags"] = pd.array(["mobile_format"], dtype="string")
    meetings = canonical_frame("meeting", [{"branch_id": "B001", "meeting_date": "2026-05-01"}])
    verdict = check_meeting_signins(frame, meetings)
    assert list(verdict.accepted["flags"]) == ["mobile_format"]


def test_quarantines_activity_of_people_on_no_roster() -> None:
    activity = canonical_frame(
        "volunteer",
        [{"student_no": "S001"}, {"student_no": "S404"}, {"staff_no": "T001"}, {"name": "无编号"}],
        "volunteer",
    )
    roster = canonical_frame("member", [{"student_no": "S001"}, {"staff_no": "T001"}])
    verdict = check_unknown_persons(activity, roster, keys=["student_no", "staff_no"])
    assert sorted(verdict.quarantined["record_key"]) == ["volunteer:2", "volunteer:4"]
    assert set(verdict.quarantined["reasons"]) == {"unknown_person"}


def test_resolves_conflicting_birth_dates_by_source_priority_and_flags_them() -> None:
    rows = [
        {"birth_date": "1990-05-15"},
        {"birth_date": "1990-05-16"},
        {"birth_date": "1991-01-01"},
        {"birth_date": "1991-01-01"},
    ]
    members = canonical_frame("member", rows)
    members["source"] = pd.array(
        ["student_affairs", "org_dept", "hr_staff", "org_dept"], dtype="string"
    )
    members["person_id"] = ["P1", "P1", "P2", "P2"]
    resolved, conflicts = resolve_birth_date_conflicts(
        members, ["org_dept", "hr_staff", "student_affairs"]
    )
    assert list(resolved["birth_date"].dt.strftime("%Y-%m-%d")) == [
        "1990-05-16",
        "1990-05-16",
        "1991-01-01",
        "1991-01-01",
    ]
    assert list(resolved["flags"]) == ["birth_date_conflict", "birth_date_conflict", "", ""]
    assert list(conflicts["person_id"]) == ["P1", "P1"]
    assert list(conflicts["reported_birth_date"].dt.day) == [15, 16]


def test_default_keys_ignore_name_spelling_and_use_the_person_keys() -> None:
    rows = [_signin(), _signin(name="測試乙"), _signin(person_no="S002", name="測試乙")]
    frame = canonical_frame("attendance", rows, "signins")
    kept, merged = collapse_duplicates(frame, entity="attendance")
    assert list(kept["record_key"]) == ["signins:1", "signins:3"]
    assert list(merged["reasons"]) == ["near_duplicate"]


def test_verdict_unpacks_to_accepted_and_quarantined() -> None:
    frame = canonical_frame(
        "attendance", [_signin(), _signin(meeting_date="2026-05-09")], "signins"
    )
    meetings = canonical_frame("meeting", [{"branch_id": "B001", "meeting_date": "2026-05-01"}])
    accepted, quarantined = check_meeting_signins(frame, meetings)
    assert list(accepted["record_key"]) == ["signins:1"]
    assert list(quarantined["record_key"]) == ["signins:2"]


def test_birth_date_conflicts_resolve_with_no_conflict_and_with_string_person_keys():
    import pandas as pd

    from quality import resolve_birth_date_conflicts

    frame = pd.DataFrame(
        {
            "person_key": pd.Series(["Pa", "Pa", "Pb"], dtype="string"),
            "source": ["hr_staff", "org_dept", "org_dept"],
            "record_key": ["hr:1", "m:1", "m:2"],
            "birth_date": pd.to_datetime(["1990-01-01", "1991-01-01", "2000-01-01"]),
        }
    )
    resolved, conflicts = resolve_birth_date_conflicts(
        frame, ["org_dept", "hr_staff"], person_column="person_key"
    )
    assert list(resolved["birth_date"].dt.year) == [1991, 1991, 2000]
    assert set(conflicts["person_key"]) == {"Pa"}
    none, no_conflicts = resolve_birth_date_conflicts(
        frame[frame["person_key"] == "Pb"], ["org_dept"], person_column="person_key"
    )
    assert no_conflicts.empty and list(none["birth_date"].dt.year) == [2000]
