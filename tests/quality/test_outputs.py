"""Quarantine zone, department feedback files, Data Docs, configuration and reason table."""

from __future__ import annotations

import stat
from pathlib import Path

import pandas as pd
import pydantic
import pytest
import yaml

from quality import (
    REASONS,
    QualityConfig,
    describe_reason,
    load_quality_config,
    validate_frame,
    write_department_feedback,
    write_quarantine,
)
from tests.quality.conftest import AS_OF, CONFIG_PATH, canonical_frame, good_member, make_id


def _quarantined() -> pd.DataFrame:
    frame = canonical_frame("member", [good_member(), good_member(gender="F")])
    frame.loc[1, "source"] = "hr_staff"
    frame["reasons"] = pd.array(
        ["id_check_digit", "id_gender_mismatch;future_date"], dtype="string"
    )
    return frame


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_quarantine_is_written_owner_only(tmp_path: Path) -> None:
    zone = tmp_path / "quarantine"
    path = write_quarantine(_quarantined(), zone, run_id="run-1", name="member")
    assert path == zone / "run-1" / "member.parquet"
    assert _mode(zone) == 0o700 and _mode(path.parent) == 0o700 and _mode(path) == 0o600
    back = pd.read_parquet(path)
    assert list(back["reasons"]) == ["id_check_digit", "id_gender_mismatch;future_date"]


def test_quarantine_refuses_rows_without_reason(tmp_path: Path) -> None:
    frame = _quarantined()
    frame.loc[0, "reasons"] = ""
    with pytest.raises(ValueError, match="reason"):
        write_quarantine(frame, tmp_path, run_id="r", name="member")


def test_department_feedback_holds_only_its_rows_in_its_columns_and_encoding(
    tmp_path: Path,
) -> None:
    names = {"id_number": "身份证号码", "name": "姓名", "gender": "性别", "birth_date": "出生日期"}
    paths = write_department_feedback(
        _quarantined(),
        tmp_path / "feedback",
        department="hr_staff",
        column_names=names,
        encoding="gbk",
        run_id="run-1",
    )
    csv = pd.read_csv(paths["csv"], encoding="gbk", dtype=str)
    assert len(csv) == 1 and csv.loc[0, "记录位置 Record"] == "org_dept:2"
    assert {"身份证号码", "姓名", "性别", "出生日期"} <= set(csv.columns)
    assert "mobile" not in csv.columns and "id_number" not in csv.columns
    assert csv.loc[0, "出生日期"] == "1990-05-15"
    assert csv.loc[0, "问题说明"] == "性别与身份证号不一致；日期晚于统计基准日"
    assert csv.loc[0, "Problem"].startswith("gender disagrees with the resident ID number")
    xlsx = pd.read_excel(paths["xlsx"], dtype=str)
    assert list(xlsx.columns) == list(csv.columns) and len(xlsx) == 1
    assert _mode(paths["csv"]) == 0o600 and _mode(paths["xlsx"]) == 0o600
    with pytest.raises(UnicodeDecodeError):
        paths["csv"].read_bytes().decode("utf-8")


def test_department_without_rejected_rows_gets_an_empty_report(tmp_path: Path) -> None:
    paths = write_department_feedback(
        _quarantined(), tmp_path, department="finance_dues", column_names={"name": "姓名"}
    )
    assert pd.read_csv(paths["csv"], encoding="gbk").empty


def test_data_docs_are_built_per_run_without_row_values(
    tmp_path: Path, config: QualityConfig
) -> None:
    secret_id = make_id(region="330106", born="19851111", seq="771")
    frame = canonical_frame("member", [good_member(), good_member(id_number=secret_id, gender="F")])
    verdict = validate_frame(
        frame, entity="member", config=config, as_of=AS_OF, data_docs_dir=tmp_path / "docs"
    )
    assert verdict.data_docs_index == tmp_path / "docs" / "index.html"
    assert verdict.data_docs_index.is_file()
    pages = list((tmp_path / "docs").rglob("*.html"))
    assert len(pages) >= 2
    text = "".join(p.read_text(encoding="utf-8") for p in pages)
    assert "性别须与身份证号第17位一致" in text  # the gender rule, described
    assert secret_id not in text


def test_config_typo_fails_on_load(tmp_path: Path) -> None:
    data = yaml.safe_load(CONFIG_PATH.read_text(encoding="utf-8"))
    cases = []
    typo_key = yaml.safe_load(CONFIG_PATH.read_text(encoding="utf-8"))
    typo_key["entities"]["member"]["rules"][0]["colum"] = "id_number"
    cases.append(typo_key)
    bad_column = yaml.safe_load(CONFIG_PATH.read_text(encoding="utf-8"))
    bad_column["entities"]["member"]["rules"][0]["column"] = "id_numbr"
    cases.append(bad_column)
    bad_kind = yaml.safe_load(CONFIG_PATH.read_text(encoding="utf-8"))
    bad_kind["entities"]["member"]["rules"][0]["rule"] = "requird"
    cases.append(bad_kind)
    bad_code = yaml.safe_load(CONFIG_PATH.read_text(encoding="utf-8"))
    bad_code["entities"]["member"]["rules"][1]["code"] = "id_wrong_thing"
    cases.append(bad_code)
    bad_entity = yaml.safe_load(CONFIG_PATH.read_text(encoding="utf-8"))
    bad_entity["entities"]["members"] = bad_entity["entities"].pop("member")
    cases.append(bad_entity)
    bad_severity = yaml.safe_load(CONFIG_PATH.read_text(encoding="utf-8"))
    bad_severity["entities"]["member"]["rules"][0]["severity"] = "fatal"
    cases.append(bad_severity)
    for number, case in enumerate(cases):
        path = tmp_path / f"case{number}.yaml"
        path.write_text(yaml.safe_dump(case, allow_unicode=True), encoding="utf-8")
        with pytest.raises(pydantic.ValidationError):
            load_quality_config(path)
    assert load_quality_config(CONFIG_PATH).model_dump()["version"] == data["version"]


def test_every_configured_code_has_chinese_and_english_text(config: QualityConfig) -> None:
    codes = {rule.code for spec in config.entities.values() for rule in spec.rules}
    for code in codes:
        text = describe_reason(code)
        assert text.zh and text.en and text.zh != code
    for code in (
        "exact_duplicate",
        "near_duplicate",
        "no_meeting_signin",
        "unknown_person",
        "birth_date_conflict",
    ):
        assert code in REASONS
    assert describe_reason("birth_date:unparseable").en == "value of birth_date could not be parsed"
