"""The custom rules run as one GX expectation (one metric pass), then are reported per rule.

Each rule's result must be the one GX gives the rule's own expectation run alone (counts,
percentages, row positions, success, order), Data Docs must list every rule with its
count, and a rule whose condition cannot run must still stop the validation.
"""

from __future__ import annotations

import re

import pandas as pd
import pytest

from quality import QualityConfig, validate_frame
from quality.expectations._conditions import clear_id_memo
from quality.gx_context import dataframe_batch
from quality.rule_results import executed_suite, expand_result
from quality.suites import build_suite, suite_rules
from quality.verdict import RESULT_FORMAT, QualityRuleError
from tests.quality.conftest import AS_OF, canonical_frame, good_member, make_id, wrong_check_digit
from tests.quality.test_validate_frame import _dues, _service

STEPS = ("applicant_on", "activist_on", "candidate_on", "probationary_on", "full_on")


def _members() -> pd.DataFrame:
    """Good rows, rows breaking each member rule, and rows with missing values."""
    rows = [
        good_member(),
        good_member(gender="F"),  # id_gender_mismatch
        good_member(id_number=wrong_check_digit(make_id())),
        good_member(id_number="１" + make_id()[1:]),  # full-width digit: format
        good_member(id_number=make_id(region="000000")),
        good_member(id_number=make_id()[:17] + "x"),
        good_member(birth_date="1990-05-16"),  # id_birth_mismatch
        good_member(mobile="12345"),
        good_member(mobile="19999999999"),
        good_member(mobile=None, gender=None, name=None),
        good_member(activist_on="2009-01-01"),  # ladder backwards
        good_member(applicant_on="2005-01-01", activist_on=None),  # under 18
        good_member(full_on="2012-07-01"),  # probation too short
        good_member(full_on="2027-01-01"),  # future
        good_member(**dict.fromkeys(STEPS)),
        good_member(id_number=None, birth_date=None),
    ]
    return canonical_frame("member", rows)


def _at_month_precision() -> pd.DataFrame:
    frame = _members()
    for step in STEPS:
        frame[f"{step}_precision"] = pd.array(["month"] * len(frame), dtype="string")
    frame["birth_date_precision"] = pd.array(["day", "month"] * (len(frame) // 2), dtype="string")
    return frame


def _activity(entity: str) -> pd.DataFrame:
    if entity == "dues":  # the person type's range (the dues rule is custom only with it)
        rows = [
            _dues(person_type="student"),
            _dues(person_type="student", amount_cents=5000),
            _dues(person_type=None, amount_cents=5000),
            _dues(paid_on="2026-08-01", amount_cents=None),
        ]
        frame = canonical_frame(entity, rows, source="finance_dues")
        frame["person_type"] = frame["person_type"].astype("string")
        return frame
    rows = [
        _service(),
        _service(hours=25.0),
        _service(hours=None),
        _service(served_on="2027-01-01"),
    ]
    return canonical_frame(entity, rows, source="activity")


CASES = {
    "member": ("member", _members),
    "member at month precision": ("member", _at_month_precision),
    "dues": ("dues", lambda: _activity("dues")),
    "volunteer": ("volunteer", lambda: _activity("volunteer")),
}


@pytest.mark.parametrize("case", list(CASES))
def test_each_rule_gets_the_result_gx_gives_its_own_expectation(
    config: QualityConfig, case: str
) -> None:
    entity, make = CASES[case]
    frame = make().reset_index(drop=True)
    rules = suite_rules(entity, config, AS_OF, list(frame.columns))
    assert any(type(r.expectation).__module__.startswith("quality.") for r in rules)
    alone = dataframe_batch(frame).validate(build_suite(entity, rules), result_format=RESULT_FORMAT)
    clear_id_memo()
    ran = dataframe_batch(frame).validate(
        executed_suite(entity, rules), result_format=RESULT_FORMAT
    )
    clear_id_memo()
    assert len(ran.results) < len(alone.results)  # the custom rules ran as one expectation
    one_pass = expand_result(ran, rules, len(frame))
    assert [r.to_json_dict() for r in one_pass.results] == [r.to_json_dict() for r in alone.results]
    assert one_pass.statistics == alone.statistics
    assert one_pass.success == alone.success
    assert not one_pass.success  # the frames hold known-bad rows


def test_data_docs_list_every_rule_with_its_unexpected_count(
    config: QualityConfig, tmp_path
) -> None:
    frame = _members()
    verdict = validate_frame(
        frame, entity="member", config=config, as_of=AS_OF, data_docs_dir=tmp_path
    )
    pages = [p for p in (tmp_path / "validations").rglob("*.html")]
    assert len(pages) == 1
    text = re.sub(r"<[^>]+>", " ", pages[0].read_text(encoding="utf-8"))
    text = re.sub(r"\s+", " ", text)
    counts = [s["unexpected_count"] for s in verdict.expectations]
    assert len(counts) == len(suite_rules("member", config, AS_OF, list(frame.columns))) == 22
    # one line per rule, each with its observed value ("≈6.67% unexpected", "93.75% not null")...
    assert len(re.findall(r"[0-9.]+% (?:unexpected|not null)", text)) == len(counts)
    # ...and under each rule that found rows, GX's "<n> unexpected values found" with its count
    found = [int(n) for n in re.findall(r"(\d+) unexpected values found", text)]
    assert sorted(found) == sorted(c for c in counts if c)
    assert len(found) >= 8  # the frame breaks most rules
    assert "the gender must agree with the ID number" in text  # a custom rule, by its sentence


def test_a_custom_rule_that_cannot_run_names_its_rule(
    config: QualityConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    import quality.expectations.status_ladder as ladder

    def broken(steps: pd.DataFrame) -> pd.Series:
        raise RuntimeError("boom")

    monkeypatch.setattr(ladder, "ladder_in_order", broken)
    frame = canonical_frame("member", [good_member()])
    with pytest.raises(QualityRuleError, match="status_order") as raised:
        validate_frame(frame, entity="member", config=config, as_of=AS_OF)
    assert "boom" not in str(raised.value)
