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
    # 2026-02-30 has the shape of a date but names no day: the reason says so
    assert frame.loc[0, "parse_errors"] == "amount_cents:unparseable_amount;paid_on:impossible_date"


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


# ---------------------------------------------------------------- issue 15: exact or refused


def _roster(**overrides):
    from tests.connectors.conftest import _make_source

    base = {
        "entity": "member",
        "columns": {
            "身份证号": "id_number",
            "手机号码": "mobile",
            "出生日期": "birth_date",
            "入党申请时间": "applicant_on",
            "学号": "student_no",
        },
    }
    return _make_source(**{**base, **overrides})


def _roster_rows(**columns):
    defaults = {
        "身份证号": ["11010519491231002X"],
        "手机号码": ["13812341234"],
        "出生日期": ["1949-12-31"],
        "入党申请时间": ["2022-12-01"],
        "学号": ["2022010001"],
    }
    n = len(next(iter(columns.values()))) if columns else 1
    data = {k: (columns.get(k) or v * n) for k, v in defaults.items()}
    return raw(**data)


def test_month_precision_join_dates_are_months_not_misread_days():
    frame = standardise(
        _roster_rows(入党申请时间=["2022.12", "2017年11月", "2019-03-15"]), _roster()
    )
    assert [d.date().isoformat() for d in frame["applicant_on"]] == [
        "2022-12-01",
        "2017-11-01",
        "2019-03-15",
    ]
    assert list(frame["applicant_on_precision"]) == ["month", "month", "day"]
    assert list(frame["parse_errors"]) == ["", "", ""]


def test_a_month_where_a_day_is_needed_is_refused_not_guessed():
    frame = standardise(_roster_rows(出生日期=["2022.12"]), _roster())
    assert frame["birth_date"].isna().all()
    assert frame.loc[0, "parse_errors"] == "birth_date:unparseable_date"
    assert "birth_date_precision" not in frame.columns  # every read date is a day


def test_configured_shapes_replace_the_defaults():
    source = _roster(parse={"birth_date": {"dates": ["excel_1900"]}})
    frame = standardise(_roster_rows(出生日期=["45356", "2024-03-05"]), source)
    assert frame.loc[0, "birth_date"].date().isoformat() == "2024-03-05"
    assert frame.loc[1, "parse_errors"] == "birth_date:unparseable_date"
    default = standardise(_roster_rows(出生日期=["45356"]), _roster())
    assert default.loc[0, "parse_errors"] == "birth_date:unparseable_date"  # never guessed


def test_a_value_two_accepted_shapes_read_differently_is_ambiguous():
    source = _roster(parse={"applicant_on": {"dates": ["y", "excel_1900"]}})
    frame = standardise(_roster_rows(入党申请时间=["2021"]), source)
    assert frame["applicant_on"].isna().all()
    assert frame.loc[0, "parse_errors"] == "applicant_on:ambiguous_date"


def test_identifiers_stored_as_numbers_are_recovered_exactly():
    frame = standardise(
        _roster_rows(
            身份证号=["\ufeff11010519491231002x\u200b", "１１０１０５１９４９１２３１００２X"],
            手机号码=["15639811899.0", "1.5639811899e+10"],
            学号=["2022010001.0", "2022010002"],
        ),
        _roster(),
    )
    assert list(frame["id_number"]) == ["11010519491231002X"] * 2
    assert list(frame["mobile"]) == ["15639811899"] * 2
    assert list(frame["student_no"]) == ["2022010001", "2022010002"]
    assert list(frame["parse_errors"]) == ["", ""]


def test_identifiers_whose_digits_a_float_lost_are_quarantined_with_their_own_reason():
    frame = standardise(
        _roster_rows(
            身份证号=["3.205081956081715e+17", "11010519491231002X"],
            手机号码=["13812341234", "1.56398E+10"],
            学号=["2022010001", "2.02201E+09"],
        ),
        _roster(),
    )
    assert frame["id_number"].isna()[0] and frame["mobile"].isna()[1]
    assert frame.loc[0, "parse_errors"] == "id_precision_lost"
    assert frame.loc[1, "parse_errors"] == "mobile_precision_lost;student_no:precision_lost"


def test_decimal_comma_is_read_where_configured_and_refused_elsewhere(make_source):
    rows = raw(人员编号=["S1"], 姓名=["张三"], 缴费金额=["12,50"], 缴费日期=["2026-03-01"])
    assert standardise(rows, make_source()).loc[0, "parse_errors"] == (
        "amount_cents:unparseable_amount"
    )
    comma = standardise(rows, make_source(parse={"amount_cents": {"decimal": "comma"}}))
    assert comma.loc[0, "amount_cents"] == 1250 and comma.loc[0, "parse_errors"] == ""


@pytest.mark.parametrize(
    ("parse", "message"),
    [
        ({"paid_on": {"dates": ["ymd_sep", "dmy"]}}, r"unknown date shapes \['dmy'\]; known: \["),
        ({"paid_on": {"dates": ["excel_1900", "excel_1904"]}}, "cannot both be accepted"),
        ({"name": {"dates": ["ymd_sep"]}}, "parse.name.dates names a field that is not a date"),
        ({"paid_on": {"decimal": "comma"}}, "parse.paid_on.decimal names a field that is not a"),
        ({"salary": {"decimal": "comma"}}, "'salary' is not a field of 'dues'"),
        ({"paid_on": {"formats": ["x"]}}, "Extra inputs are not permitted"),
    ],
)
def test_parse_configuration_is_checked_on_load(make_source, parse, message):
    with pytest.raises(ValueError, match=message):
        make_source(parse=parse)


def test_reader_problems_are_named_by_canonical_field(make_source):
    frame = raw(
        人员编号=["S1", "S2", "S3"],
        姓名=["张三", "李四", "王五"],
        缴费金额=["1", "1", "1"],
        缴费日期=["2026-03-01"] * 3,
        __problems=["姓名:merged_cell[B5:B6]", "姓名:merged_cell[B5:B6];hidden_row", None],
    )
    out = standardise(frame, make_source())
    assert list(out["parse_errors"]) == [
        "name:merged_cell[B5:B6]",
        "name:merged_cell[B5:B6];hidden_row",
        "",
    ]


def test_a_departments_no_value_markers_are_read_as_empty(make_source):
    values = raw(
        人员编号=["S1", "S2"], 姓名=["张三", "李四"], 缴费金额=["1", "2"], 缴费日期=["—", " 无 "]
    )
    refused = standardise(values, make_source())
    assert list(refused["parse_errors"]) == ["paid_on:unparseable_date"] * 2
    frame = standardise(values, make_source(blank_values=["无", "—"]))
    assert frame["paid_on"].isna().all() and list(frame["parse_errors"]) == ["", ""]


def _row_by_row(frame: pd.DataFrame, source) -> pd.DataFrame:
    """``standardise`` of each row on its own (a one-row frame is read directly, not
    through the distinct values), stacked."""
    rows = [standardise(frame.iloc[[i]], source) for i in range(len(frame))]
    for row in rows:  # a row read at day precision has no precision column of its own
        for date in ("birth_date", "applicant_on"):
            if date in row and f"{date}_precision" not in row:
                read = row[date].notna()
                row[f"{date}_precision"] = pd.Series("day", dtype="string").where(read)
    return pd.concat(rows, ignore_index=True)


@pytest.mark.parametrize("blank_values", [[], ["无", "—"]])
def test_reading_each_distinct_value_once_gives_what_each_row_gives_alone(blank_values):
    """Repeated dirty values, read once per distinct value and taken back to their rows,
    give the rows' own readings, reasons and precisions (and the same for refusals)."""
    ids = ["11010519491231002X", "1.10105194912E+17", "", None, " 110105194912310029 "]
    mobiles = ["13812341234", "1.3812341234E+10", "+8613812341234", "12345", None]
    births = ["1949-12-31", "1949.12", "2023-02-30", "—", "03/04/2020"]
    joined = ["2022.12", "2017年11月", "2019-03-15", "无", "15/03/2019"]
    students = ["2022010001", "２０２２０１０００１", "2022010001.0", " ", None]
    n = 40
    frame = _roster_rows(
        身份证号=[ids[i % 5] for i in range(n)],
        手机号码=[mobiles[i % 3 + (i // 20)] for i in range(n)],
        出生日期=[births[i % 5] for i in range(n)],
        入党申请时间=[joined[(i * 3) % 5] for i in range(n)],
        学号=[students[(i * 7) % 5] for i in range(n)],
    )
    source = _roster(blank_values=blank_values)
    whole = standardise(frame, source)
    alone = _row_by_row(frame, source)
    pd.testing.assert_frame_equal(whole, alone.reindex(columns=whole.columns), check_dtype=False)
    assert (whole["parse_errors"] != "").sum() >= n // 2  # the sample is dirty enough to matter
    assert whole["applicant_on_precision"].nunique() == 2


def test_reading_per_distinct_value_keeps_dues_amounts_and_names(make_source):
    amounts = ["¥12.50", "30元", "1,234.00", "12,5", "twelve", "￥ 0.10", None]
    names = ["张 三", "李四", " 王\u3000五 ", "", None]
    n = 35
    frame = raw(
        人员编号=[f"S{i % 4}" for i in range(n)],
        姓名=[names[i % 5] for i in range(n)],
        缴费金额=[amounts[i % 7] for i in range(n)],
        缴费日期=["2026年3月15日", "20260316", "2026-13-01", "2026/3/1", "1.5.2026"][:5] * 7,
    )
    source = make_source()
    whole = standardise(frame, source)
    pd.testing.assert_frame_equal(whole, _row_by_row(frame, source), check_dtype=False)
    assert whole["amount_cents"].notna().any() and (whole["parse_errors"] != "").any()
