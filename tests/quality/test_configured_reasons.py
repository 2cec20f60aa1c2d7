"""A university's own rules and reason codes from quality.yaml alone; every code has both
texts; feedback names the department's own column."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pydantic
import pytest
import yaml

from quality import feedback_frame, load_quality_config, validate_frame
from quality.reasons import PARSE_PROBLEMS, REASONS, ReasonCatalogue, describe_reason
from tests.quality.conftest import AS_OF, canonical_frame, good_member

ROOT = Path(__file__).resolve().parents[2]

OWN_RULES = """
version: 1
reasons:
  joined_under_18:
    zh: 成为预备党员时未满18周岁
    en: became a probationary member before turning 18
  activist_before_application:
    zh: 确定为积极分子的日期早于递交入党申请书的日期
    en: made an activist before applying
  college_code_unknown:
    zh: 学院代码不在本校代码表中
    en: college code is not in the university's list
  branch_code_malformed:
    zh: 支部编号应为 DZB 加三位数字
    en: branch code must be DZB and three digits
entities:
  member:
    rules:
      - rule: min_age
        id_column: id_number
        event_column: probationary_on
        years: 18
        code: joined_under_18
      - {rule: date_order, columns: [applicant_on, activist_on], code: activist_before_application}
      - {rule: in_set, column: college, values: [测试学院, 医学院], code: college_code_unknown}
      - {rule: regex, column: branch_id, pattern: '^DZB\\d{3}$', code: branch_code_malformed}
"""


def _load(tmp_path: Path, text: str):
    path = tmp_path / "quality.yaml"
    path.write_text(text, encoding="utf-8")
    return load_quality_config(path)


def _reasons(config, **overrides: object) -> list[str]:
    base = {"branch_id": "DZB001"}
    frame = canonical_frame("member", [good_member(**base), good_member(**{**base, **overrides})])
    verdict = validate_frame(frame, entity="member", config=config, as_of=AS_OF)
    assert "org_dept:1" in set(verdict.accepted["record_key"])
    rows = verdict.quarantined[verdict.quarantined["record_key"] == "org_dept:2"]
    return rows["reasons"].iloc[0].split(";") if len(rows) else []


@pytest.mark.parametrize(
    ("overrides", "code"),
    [
        # born 1990-05-15: 17 on 2008-05-14
        ({"probationary_on": "2008-05-14", "full_on": None}, "joined_under_18"),
        (
            {"applicant_on": "2010-03-01", "activist_on": "2010-02-28"},
            "activist_before_application",
        ),
        ({"college": "外校学院"}, "college_code_unknown"),
        ({"branch_id": "B-1"}, "branch_code_malformed"),
    ],
)
def test_a_configured_rule_quarantines_under_its_own_code(tmp_path, overrides, code) -> None:
    config = _load(tmp_path, OWN_RULES)
    assert _reasons(config, **overrides) == [code]


def test_configured_rules_accept_a_row_that_keeps_them(tmp_path) -> None:
    config = _load(tmp_path, OWN_RULES)
    assert _reasons(config, applicant_on="2010-03-01", activist_on="2010-03-01") == []


def test_date_order_judges_month_precision_dates_by_their_periods(tmp_path) -> None:
    config = _load(tmp_path, OWN_RULES)
    base = {"branch_id": "DZB001", "applicant_on": "2010-03-01"}
    rows = [
        good_member(**base, activist_on="2010-03-01"),  # 2010-03 (month): may be after the 1st
        good_member(**base, activist_on="2010-02-01"),  # 2010-02 (month): wholly before
    ]
    frame = canonical_frame("member", rows)
    frame["activist_on_precision"] = pd.array(["month", "month"], dtype="string")
    verdict = validate_frame(frame, entity="member", config=config, as_of=AS_OF)
    assert list(verdict.accepted["record_key"]) == ["org_dept:1"]
    assert list(verdict.quarantined["reasons"]) == ["activist_before_application"]


def test_a_configured_code_has_its_text_in_feedback(tmp_path) -> None:
    config = _load(tmp_path, OWN_RULES)
    quarantined = canonical_frame("member", [good_member()]).assign(
        reasons=pd.array(["joined_under_18"], dtype="string")
    )
    out = feedback_frame(quarantined, "org_dept", {"name": "姓名"}, reasons=config.catalogue)
    assert out["问题说明"].iloc[0] == "成为预备党员时未满18周岁"
    assert out["Problem"].iloc[0] == "became a probationary member before turning 18"


@pytest.mark.parametrize(
    ("reasons", "problem"),
    [
        ("{joined_under_18: {zh: 未满18周岁}}", "en"),
        ("{joined_under_18: {en: under 18}}", "zh"),
        ("{joined_under_18: {zh: '  ', en: under 18}}", "blank"),
        ("{joined_under_18: {zh: 未满18周岁, en: under 18, fr: moins de 18 ans}}", "fr"),
        ("{Joined-Under-18: {zh: 未满18周岁, en: under 18}}", "pattern"),
    ],
)
def test_rejects_a_configured_reason_without_both_texts(tmp_path, reasons, problem) -> None:
    text = f"""
version: 1
reasons: {reasons}
entities:
  member:
    rules:
      - {{rule: min_age, event_column: probationary_on, years: 18, code: joined_under_18}}
"""
    with pytest.raises(pydantic.ValidationError, match=problem):
        _load(tmp_path, text)


def test_rejects_a_rule_whose_code_has_no_text(tmp_path) -> None:
    text = OWN_RULES.replace("code: joined_under_18", "code: joined_too_young")
    with pytest.raises(pydantic.ValidationError, match=r"joined_too_young.*has no text"):
        _load(tmp_path, text)


def test_rejects_a_configured_code_that_redefines_a_built_in_one(tmp_path) -> None:
    text = OWN_RULES.replace("  joined_under_18:\n", "  id_check_digit:\n", 1)
    with pytest.raises(pydantic.ValidationError, match="built-in"):
        _load(tmp_path, text)


def test_rejects_date_order_of_one_column(tmp_path) -> None:
    text = OWN_RULES.replace("columns: [applicant_on, activist_on]", "columns: [applicant_on]")
    with pytest.raises(pydantic.ValidationError, match="at least 2"):
        _load(tmp_path, text)


# -- every reason code has both texts ------------------------------------------------------


def _emitted_codes() -> set[str]:
    """Codes the code writes into quarantines: module constants and literal mask keys."""
    from connectors.signatures import SignatureVerdict
    from integrate.record_linkage import AMBIGUOUS_MATCH, UNKNOWN_PERSON
    from integrate.rejected_persons import PERSON_REJECTED_IN_ROSTER

    codes = {UNKNOWN_PERSON, AMBIGUOUS_MATCH, PERSON_REJECTED_IN_ROSTER}
    codes |= {v.value for v in SignatureVerdict} - {"valid", "not_required"}
    for folder in ("quality", "integrate", "connectors"):
        for path in (ROOT / folder).rglob("*.py"):
            text = path.read_text(encoding="utf-8")
            # verdict_from_masks(frame, {"code": mask}, ...) and np.where(..., "code", "code")
            codes |= set(re.findall(r'verdict_from_masks\([^{]*\{"([a-z_]+)"', text))
            for pair in re.findall(r'np\.where\([^,]+, "([a-z_]+)", "([a-z_]+)"', text):
                codes |= set(pair)
            codes |= set(re.findall(r'append\("([a-z]+_[a-z_]+)"\)', text))
    return codes


def test_the_scan_for_emitted_codes_finds_them() -> None:
    codes = _emitted_codes()
    assert {"no_meeting_signin", "exact_duplicate", "near_duplicate", "hidden_row"} <= codes


def _configured_codes() -> dict[Path, set[str]]:
    """Every quality.yaml of the repository (the demo's, the test universities') → codes."""
    out = {}
    for path in ROOT.glob("**/quality.yaml"):
        if ".venv" in path.parts:
            continue
        config = load_quality_config(path)
        out[path] = {r.code for spec in config.entities.values() for r in spec.rules}
    return out


def test_every_code_emitted_or_configured_has_chinese_and_english_text() -> None:
    missing = []
    for code in sorted(_emitted_codes() | set(REASONS)):
        text = describe_reason(code)
        if not (text.zh and text.en) or code in (text.zh, text.en) or text.zh == text.en:
            missing.append(code)
    configs = _configured_codes()
    names = {str(p.relative_to(ROOT)) for p in configs}
    assert {
        "config/quality.yaml",
        "islandbridge/templates/quality.yaml",
        "tests/universities/qinglan/quality.yaml",
    } <= names, "the scan is stale"
    for path, codes in configs.items():
        catalogue = load_quality_config(path).catalogue
        for code in codes:
            text = catalogue.describe(code)
            if not (text.zh and text.en) or code in (text.zh, text.en):
                missing.append(f"{path.relative_to(ROOT)}: {code}")
    assert not missing


def test_an_undescribed_code_is_noticed() -> None:
    """The check above can fail: a code with no text comes back as itself."""
    text = ReasonCatalogue().describe("made_up_code")
    assert text.zh == "made_up_code" == text.en


@pytest.mark.parametrize("problem", sorted(PARSE_PROBLEMS))
def test_every_parse_problem_differs_in_its_two_languages(problem) -> None:
    text = PARSE_PROBLEMS[problem]
    assert text.zh != text.en and re.search(r"[\u4e00-\u9fff]", text.zh)


# -- feedback names the department's column ------------------------------------------------


def _attendance_rejects(codes: list[str]) -> pd.DataFrame:
    rows = [{"branch_id": "DZB001", "meeting_date": None, "name": "测试甲"} for _ in codes]
    frame = canonical_frame("attendance", rows, source="signins")
    return frame.assign(reasons=pd.array(codes, dtype="string"))


def test_feedback_names_the_departments_column_not_the_internal_field() -> None:
    labels = {"meeting_date": "日期", "branch_id": "文件名", "name": "姓名"}
    out = feedback_frame(
        _attendance_rejects(["meeting_date:unparseable_date", "name_missing"]),
        "signins",
        {"name": "姓名"},
        field_labels=labels,
    )
    zh, en = list(out["问题说明"]), list(out["Problem"])
    assert zh[0] == "「日期」列的值不是本来源接受的日期格式"
    assert en[0] == "value of column 日期 is not a date in a shape this source accepts"
    assert zh[1] == "缺少必填的「姓名」列" and en[1] == "required column 姓名 is missing"
    assert not any("meeting_date" in t or "name" in t.split() for t in zh + en)


def test_feedback_without_labels_still_says_which_field() -> None:
    out = feedback_frame(_attendance_rejects(["meeting_date:ambiguous_date"]), "signins", {})
    assert "meeting_date" in out["问题说明"].iloc[0] and "meeting_date" in out["Problem"].iloc[0]


def test_a_source_labels_fields_by_its_own_columns() -> None:
    from connectors import SourceConfig

    spec = SourceConfig.model_validate(
        {
            "name": "signins",
            "department": "branches",
            "entity": "attendance",
            "connector": "file",
            "file": {"path": "*.csv", "format": "csv", "filename_fields": {"branch_id": "stem"}},
            "columns": {"日期": "meeting_date", "姓名": "name", "学号": "person_no"},
            "ignore_columns": ["备注"],
        }
    )
    assert spec.field_labels() == {
        "meeting_date": "日期",
        "name": "姓名",
        "person_no": "学号",
        "备注": "备注",
        "branch_id": "文件名",
    }


def test_the_demo_quality_config_still_loads_and_has_no_own_codes() -> None:
    config = load_quality_config(ROOT / "config" / "quality.yaml")
    assert config.reasons == {}
    assert yaml.safe_load((ROOT / "config" / "quality.yaml").read_text("utf-8"))["version"] == 1
