from __future__ import annotations

import pandas as pd
import pytest

from connectors import SourceError, standardise


def raw(**columns) -> pd.DataFrame:
    n = len(next(iter(columns.values())))
    return pd.DataFrame(
        {"record_key": [f"f.csv:{i + 2}" for i in range(n)], **columns}, dtype="string"
    )


def test_maps_columns_and_normalises_values(make_source):
    frame = standardise(
        raw(
            人员编号=["ｓ2022 001", " T1001"],
            姓名=["张 三", "李四"],
            缴费金额=["¥12.50", "30元"],
            缴费日期=["2026年3月15日", "20260316"],
        ),
        make_source(),
    )
    assert list(frame["person_no"]) == ["S2022001", "T1001"]
    assert list(frame["name"]) == ["张三", "李四"]
    assert list(frame["amount_cents"]) == [1250, 3000]
    assert [d.date().isoformat() for d in frame["paid_on"]] == ["2026-03-15", "2026-03-16"]
    assert list(frame["parse_errors"]) == ["", ""]
    assert set(frame["source"]) == {"demo_source"}


def test_unparseable_values_become_null_with_a_reason(make_source):
    frame = standardise(
        raw(人员编号=["S1"], 姓名=["张三"], 缴费金额=["twelve"], 缴费日期=["2026-02-30"]),
        make_source(),
    )
    assert frame["amount_cents"].isna().all() and frame["paid_on"].isna().all()
    assert (
        frame.loc[0, "parse_errors"] == "amount_cents:unparseable_amount;paid_on:unparseable_date"
    )


def test_value_maps_and_unknown_values(make_source):
    source = make_source(
        entity="member",
        columns={"xb": "gender", "rylb": "person_type"},
        values={"person_type": {"学生": "student", "教师": "faculty"}},
    )
    frame = standardise(raw(xb=["男", "女", "?"], rylb=["学生", "校友", "教师"]), source)
    assert list(frame["gender"].fillna("NA")) == ["M", "F", "NA"]
    assert list(frame["person_type"].fillna("NA")) == ["student", "NA", "faculty"]
    assert frame.loc[1, "parse_errors"] == "person_type:unknown_value"
    assert frame.loc[2, "parse_errors"] == "gender:unknown_value"


def test_every_entity_field_is_present_with_its_type(make_source):
    frame = standardise(
        raw(人员编号=["S1"], 姓名=["a"], 缴费金额=["1"], 缴费日期=["20260101"]), make_source()
    )
    assert "dues_month" in frame.columns and frame["dues_month"].isna().all()
    assert str(frame["amount_cents"].dtype) == "Int64"


def test_missing_required_column_names_it(make_source):
    with pytest.raises(SourceError, match="column '缴费日期': required column missing"):
        standardise(raw(人员编号=["S1"], 姓名=["a"], 缴费金额=["1"]), make_source())


def test_unexpected_column_is_an_error_unless_ignored(make_source):
    frame = raw(人员编号=["S1"], 姓名=["a"], 缴费金额=["1"], 缴费日期=["20260101"], 备注=["x"])
    with pytest.raises(SourceError, match="column '备注': unexpected column"):
        standardise(frame, make_source())
    assert len(standardise(frame, make_source(ignore_columns=["备注"]))) == 1
    assert len(standardise(frame, make_source(unexpected_columns="ignore"))) == 1


def test_config_rejects_mapping_to_unknown_field(make_source):
    with pytest.raises(ValueError, match="not a field of 'dues'"):
        make_source(columns={"x": "salary"})


def test_config_rejects_unknown_entity(make_source):
    with pytest.raises(ValueError, match="unknown entity"):
        make_source(entity="salary")


def test_derives_birth_date_and_gender_from_the_id_number(make_source):
    from domain import gb11643_check_digit

    body = "11010520030507123"
    source = make_source(
        entity="member", columns={"sfzh": "id_number"}, derive_from_id=["birth_date", "gender"]
    )
    frame = standardise(raw(sfzh=[body + gb11643_check_digit(body), "bad"]), source)
    assert frame.loc[0, "birth_date"].date().isoformat() == "2003-05-07"
    assert frame.loc[0, "gender"] == "M"
    assert frame["birth_date"].isna()[1] and frame["gender"].isna()[1]


def test_a_field_cannot_be_both_mapped_and_derived(make_source):
    source = make_source(
        entity="member",
        columns={"sfzh": "id_number", "csrq": "birth_date"},
        derive_from_id=["birth_date"],
    )
    with pytest.raises(SourceError, match="both mapped and derived"):
        standardise(raw(sfzh=["x"], csrq=["2000-01-01"]), source)


def test_a_source_whose_only_file_was_refused_standardises_to_no_rows(make_source):
    # a tampered (refused) export lands no rows: every column is empty and untyped
    empty = pd.DataFrame(
        {
            c: pd.Series([], dtype=object)
            for c in ["record_key", "人员编号", "姓名", "缴费金额", "缴费日期"]
        }
    )
    frame = standardise(empty, make_source())
    assert frame.empty and "amount_cents" in frame.columns and "parse_errors" in frame.columns


def test_listed_fields_are_converted_from_traditional_to_simplified(make_source):
    source = make_source(
        entity="member",
        columns={"xm": "name", "rylb": "person_type", "yx": "college"},
        values={"person_type": {"学生": "student"}},
        to_simplified=["name", "person_type"],
    )
    frame = standardise(
        raw(xm=["陳 曉明", "劉德華", None], rylb=["學生", "学生", "學生"], yx=["資訊學院"] * 3),
        source,
    )
    assert list(frame["name"].fillna("NA")) == ["陈晓明", "刘德华", "NA"]
    assert list(frame["person_type"]) == ["student"] * 3  # simplified before the value map
    assert list(frame["college"]) == ["資訊學院"] * 3  # not listed: left as written
    assert list(frame["parse_errors"]) == ["", "", ""]


def test_without_conversion_traditional_values_stay_unknown(make_source):
    source = make_source(
        entity="member", columns={"rylb": "person_type"}, values={"person_type": {"学生": "s"}}
    )
    frame = standardise(raw(rylb=["學生"]), source)
    assert frame.loc[0, "parse_errors"] == "person_type:unknown_value"


@pytest.mark.parametrize("target", ["paid_on", "salary"])
def test_config_rejects_conversion_of_a_field_that_is_not_text(make_source, target):
    with pytest.raises(ValueError, match=f"to_simplified names '{target}'"):
        make_source(to_simplified=[target])
