"""validate_frame: each configured rule has a known-good and a known-bad case; exact split."""

from __future__ import annotations

import pandas as pd
import pytest

from quality import QualityConfig, QualityRuleError, validate_frame
from tests.quality.conftest import (
    AS_OF,
    canonical_frame,
    good_member,
    make_id,
    wrong_check_digit,
)


def _member_verdict(config: QualityConfig, **overrides: object):
    frame = canonical_frame("member", [good_member(), good_member(**overrides)])
    return validate_frame(frame, entity="member", config=config, as_of=AS_OF)


def _reasons_of_second_row(config: QualityConfig, **overrides: object) -> list[str]:
    verdict = _member_verdict(config, **overrides)
    assert "org_dept:1" in set(verdict.accepted["record_key"]), "the good row must be accepted"
    rows = verdict.quarantined[verdict.quarantined["record_key"] == "org_dept:2"]
    return rows["reasons"].iloc[0].split(";") if len(rows) else []


def test_accepts_a_valid_member_row(config: QualityConfig) -> None:
    verdict = _member_verdict(config)
    assert len(verdict.accepted) == 2
    assert verdict.quarantined.empty
    assert list(verdict.accepted["flags"]) == ["", ""]


@pytest.mark.parametrize(
    ("overrides", "code"),
    [
        ({"id_number": wrong_check_digit(make_id())}, "id_check_digit"),
        ({"id_number": make_id()[:17]}, "id_format"),
        ({"id_number": make_id()[:16] + "AB"}, "id_format"),
        ({"id_number": make_id(region="990105")}, "id_region"),
        ({"id_number": make_id(born="19900231")}, "id_birth_date"),
        ({"id_number": make_id(born="20300101"), "birth_date": "2030-01-01"}, "id_birth_date"),
        ({"id_number": None}, "id_missing"),
        ({"birth_date": "1990-05-16"}, "id_birth_mismatch"),
        ({"gender": "F"}, "id_gender_mismatch"),
        ({"gender": "X"}, "gender_invalid"),
        ({"name": None}, "name_missing"),
        ({"person_type": "visitor"}, "person_type_invalid"),
        ({"status": "member"}, "status_invalid"),
        ({"applicant_on": "2008-05-14", "activist_on": None}, "applicant_under_18"),
        ({"activist_on": "2010-01-01"}, "status_order"),
        ({"candidate_on": "2013-09-01"}, "status_order"),
        ({"full_on": "2012-12-01"}, "probation_not_one_year"),
        ({"full_on": "2015-06-01"}, "probation_not_one_year"),
        ({"full_on": "2026-07-01"}, "future_date"),
        ({"birth_date": "2026-07-01"}, "future_date"),
    ],
)
def test_quarantines_member_row_breaking_a_rule(
    config: QualityConfig, overrides: dict[str, object], code: str
) -> None:
    assert code in _reasons_of_second_row(config, **overrides)


def test_quarantines_id_with_wrong_check_digit(config: QualityConfig) -> None:
    reasons = _reasons_of_second_row(config, id_number=wrong_check_digit(make_id()))
    assert reasons == ["id_check_digit"]


def test_lowercase_x_check_character_is_accepted(config: QualityConfig) -> None:
    seq = next(f"{i:03d}" for i in range(1, 999, 2) if make_id(seq=f"{i:03d}").endswith("X"))
    assert _reasons_of_second_row(config, id_number=make_id(seq=seq).lower()) == []


@pytest.mark.parametrize(
    "overrides",
    [
        {"applicant_on": "2008-05-15", "activist_on": None},  # the 18th birthday itself
        {"activist_on": None, "candidate_on": None},  # steps may be missing
        {"full_on": None, "status": "probationary"},
        {"full_on": "2013-05-27"},  # within the configured tolerance of one year
        {"probationary_on": "2025-06-30", "full_on": "2026-06-30"},  # as_of is not the future
        {"mobile": None},
    ],
)
def test_accepts_boundary_cases(config: QualityConfig, overrides: dict[str, object]) -> None:
    assert _reasons_of_second_row(config, **overrides) == []


def test_flags_malformed_mobile_but_accepts_the_row(config: QualityConfig) -> None:
    verdict = _member_verdict(config, mobile="12800001111")
    assert verdict.quarantined.empty
    flags = dict(zip(verdict.accepted["record_key"], verdict.accepted["flags"], strict=True))
    assert flags == {"org_dept:1": "", "org_dept:2": "mobile_format"}
    assert verdict.counts == {"mobile_format": 1}


def test_quarantines_row_with_parse_errors_under_their_codes(config: QualityConfig) -> None:
    frame = canonical_frame("member", [good_member(), good_member(birth_date=None)])
    frame["parse_errors"] = pd.array(["", "birth_date:unparseable"], dtype="string")
    verdict = validate_frame(frame, entity="member", config=config, as_of=AS_OF)
    assert list(verdict.quarantined["reasons"]) == ["birth_date:unparseable"]
    assert "parse_errors" in verdict.accepted.columns


def test_a_refused_value_is_not_also_called_missing(config: QualityConfig) -> None:
    rows = [good_member(id_number=None, name=None), good_member(id_number=None, name=None)]
    frame = canonical_frame("member", rows)
    frame["parse_errors"] = pd.array(["id_precision_lost;name:unreadable_cell", ""], dtype="string")
    verdict = validate_frame(frame, entity="member", config=config, as_of=AS_OF)
    reasons = list(verdict.quarantined.sort_values("record_key")["reasons"])
    assert reasons[0].split(";") == ["id_precision_lost", "name:unreadable_cell"]
    assert set(reasons[1].split(";")) == {"id_missing", "name_missing"}  # truly empty


def test_split_is_exact_disjoint_and_keeps_input_columns(config: QualityConfig) -> None:
    rows = [
        good_member(),
        good_member(id_number=wrong_check_digit(make_id()), gender="X"),
        good_member(mobile="123"),
        good_member(activist_on="2001-01-01", full_on="2027-01-01"),
        good_member(),
    ]
    frame = canonical_frame("member", rows)
    frame.index = [10, 10, 3, 7, 1]  # duplicate, unordered labels must not confuse positions
    verdict = validate_frame(frame, entity="member", config=config, as_of=AS_OF)
    assert len(verdict.accepted) + len(verdict.quarantined) == len(frame)
    keys_ok, keys_bad = set(verdict.accepted["record_key"]), set(verdict.quarantined["record_key"])
    assert not keys_ok & keys_bad
    assert keys_ok | keys_bad == set(frame["record_key"])
    assert list(verdict.accepted.columns) == [*frame.columns, "flags"]
    assert list(verdict.quarantined.columns) == [*frame.columns, "reasons"]
    reasons = dict(
        zip(verdict.quarantined["record_key"], verdict.quarantined["reasons"], strict=True)
    )
    assert reasons == {
        "org_dept:2": "id_check_digit;gender_invalid",
        "org_dept:4": "status_order;probation_not_one_year;future_date",
    }
    assert (verdict.quarantined["reasons"] != "").all()
    assert verdict.counts == {
        "id_check_digit": 1,
        "gender_invalid": 1,
        "status_order": 1,
        "probation_not_one_year": 1,
        "future_date": 1,
        "mobile_format": 1,
    }


def test_skips_rules_whose_columns_are_absent(config: QualityConfig) -> None:
    frame = canonical_frame("member", [{"id_number": wrong_check_digit(make_id())}])
    verdict = validate_frame(frame, entity="member", config=config, as_of=AS_OF)
    assert list(verdict.quarantined["reasons"]) == ["id_check_digit"]
    assert {s["code"] for s in verdict.expectations} == {
        "id_missing",
        "id_format",
        "id_region",
        "id_birth_date",
        "id_check_digit",
    }


def test_empty_frame_gives_empty_verdict(config: QualityConfig) -> None:
    frame = canonical_frame("member", [good_member()]).iloc[:0]
    verdict = validate_frame(frame, entity="member", config=config, as_of=AS_OF)
    assert verdict.accepted.empty and verdict.quarantined.empty and verdict.counts == {}


def test_a_rule_that_cannot_run_raises_instead_of_accepting(
    config: QualityConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    import quality.expectations.mobile as mobile

    def broken(values: pd.Series) -> pd.Series:
        raise RuntimeError("boom")

    monkeypatch.setattr(mobile, "mobile_ok", broken)
    frame = canonical_frame("member", [good_member()])
    with pytest.raises(QualityRuleError, match="mobile_format"):
        validate_frame(frame, entity="member", config=config, as_of=AS_OF)


# --- activity entities -------------------------------------------------------------------------


def _activity_reasons(
    config: QualityConfig, entity: str, rows: list[dict[str, object]]
) -> list[str]:
    frame = canonical_frame(entity, rows, source="activity")
    verdict = validate_frame(frame, entity=entity, config=config, as_of=AS_OF)
    assert len(verdict.accepted) + len(verdict.quarantined) == len(frame)
    by_key = dict(
        zip(verdict.quarantined["record_key"], verdict.quarantined["reasons"], strict=True)
    )
    return [by_key.get(k, "") for k in frame["record_key"]]


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


def test_quarantines_signin_dated_after_as_of(config: QualityConfig) -> None:
    rows = [_signin(), _signin(meeting_date="2026-07-01")]
    assert _activity_reasons(config, "attendance", rows) == ["", "future_date"]


def test_quarantines_unknown_attendance_value(config: QualityConfig) -> None:
    rows = [_signin(attendance="leave"), _signin(attendance="late")]
    assert _activity_reasons(config, "attendance", rows) == ["", "attendance_invalid"]


def test_quarantines_signin_without_meeting_date(config: QualityConfig) -> None:
    rows = [_signin(), _signin(meeting_date=None)]
    assert _activity_reasons(config, "attendance", rows) == ["", "meeting_date_missing"]


def _service(**overrides: object) -> dict[str, object]:
    row = {"student_no": "S001", "activity": "社区服务", "hours": 3.5, "served_on": "2026-04-02"}
    row.update(overrides)
    return row


def test_quarantines_impossible_volunteer_hours(config: QualityConfig) -> None:
    rows = [_service(hours=24.0), _service(hours=25.0), _service(hours=0.0), _service(hours=-2.0)]
    assert _activity_reasons(config, "volunteer", rows) == [
        "",
        "impossible_hours",
        "impossible_hours",
        "impossible_hours",
    ]


def test_quarantines_volunteer_service_in_the_future(config: QualityConfig) -> None:
    rows = [_service(), _service(served_on="2027-01-01")]
    assert _activity_reasons(config, "volunteer", rows) == ["", "future_date"]


def _dues(**overrides: object) -> dict[str, object]:
    row = {
        "person_no": "S001",
        "dues_month": "2026-03",
        "amount_cents": 20,
        "paid_on": "2026-03-15",
    }
    row.update(overrides)
    return row


def test_quarantines_dues_amount_outside_the_rule_for_the_person_type(
    config: QualityConfig,
) -> None:
    rows = [
        _dues(person_type="student"),
        _dues(person_type="student", amount_cents=5000),
        _dues(person_type="faculty", amount_cents=5000),
        _dues(person_type="faculty", amount_cents=20),
    ]
    frame = canonical_frame("dues", rows, source="finance_dues")
    frame["person_type"] = frame["person_type"].astype("string")
    verdict = validate_frame(frame, entity="dues", config=config, as_of=AS_OF)
    assert sorted(verdict.quarantined["record_key"]) == ["finance_dues:2", "finance_dues:4"]
    assert set(verdict.quarantined["reasons"]) == {"dues_amount_out_of_range"}


def test_quarantines_dues_amount_outside_every_rule_without_person_type(
    config: QualityConfig,
) -> None:
    rows = [_dues(amount_cents=20), _dues(amount_cents=10), _dues(amount_cents=10_000_000)]
    assert _activity_reasons(config, "dues", rows) == [
        "",
        "dues_amount_out_of_range",
        "dues_amount_out_of_range",
    ]


def test_quarantines_malformed_dues_month_and_future_payment(config: QualityConfig) -> None:
    rows = [_dues(), _dues(dues_month="2026-13"), _dues(paid_on="2026-08-01")]
    assert _activity_reasons(config, "dues", rows) == ["", "dues_month_format", "future_date"]


def _study(**overrides: object) -> dict[str, object]:
    row = {
        "mobile": "13900002222",
        "course_id": "C01",
        "course_title": "理论学习",
        "minutes": 45.0,
        "score": 90.0,
        "studied_on": "2026-05-20",
    }
    row.update(overrides)
    return row


def test_quarantines_study_record_with_impossible_score_minutes_or_date(
    config: QualityConfig,
) -> None:
    rows = [_study(), _study(score=101.0), _study(minutes=-1.0), _study(studied_on="2026-07-02")]
    assert _activity_reasons(config, "study", rows) == [
        "",
        "score_out_of_range",
        "minutes_out_of_range",
        "future_date",
    ]


def _month_precision_members(config: QualityConfig, rows: list[dict]) -> dict[str, list[str]]:
    """Member rows whose step dates were written as months, through the configured suite."""
    frame = canonical_frame("member", rows)
    for step in ("applicant_on", "activist_on", "candidate_on", "probationary_on", "full_on"):
        frame[f"{step}_precision"] = pd.array(["month"] * len(frame), dtype="string")
    verdict = validate_frame(frame, entity="member", config=config, as_of=AS_OF)
    out = {k: [] for k in frame["record_key"]}
    q = verdict.quarantined
    for key, reasons in zip(q["record_key"], q["reasons"], strict=True):
        out[key] = reasons.split(";")
    return out


def test_month_precision_steps_are_judged_at_month_precision(config: QualityConfig) -> None:
    born_may = make_id(born="19920515")
    reasons = _month_precision_members(
        config,
        [
            # applied in the month of the 18th birthday, probation June 2025 → June 2026
            # (the reference month): none of it is a violation
            good_member(
                id_number=born_may,
                birth_date="1992-05-15",
                applicant_on="2010-05-01",
                activist_on="2010-05-01",
                candidate_on="2011-09-01",
                probationary_on="2025-06-01",
                full_on="2026-06-01",
            ),
            # known-bad at month precision: applied a month before the 18th birthday
            good_member(
                id_number=born_may,
                birth_date="1992-05-15",
                applicant_on="2010-04-01",
                activist_on="2010-05-01",
                full_on="2013-06-01",
            ),
            # known-bad: a step in a month after the reference date, steps out of order
            good_member(candidate_on="2010-08-01", full_on="2026-07-01"),
        ],
    )
    assert reasons["org_dept:1"] == []
    assert reasons["org_dept:2"] == ["applicant_under_18"]
    assert set(reasons["org_dept:3"]) >= {"future_date", "status_order"}
