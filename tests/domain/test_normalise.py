from datetime import date

import pandas as pd
import pytest

from domain import (
    NormaliseError,
    normalise_amount_cents,
    normalise_date,
    normalise_dates,
    normalise_gender,
    normalise_text,
    parse_amounts_cents,
    parse_numbers,
    to_halfwidth,
)


@pytest.mark.parametrize(
    "text",
    ["2023年5月1日", "2023/5/1", "2023.05.01", "2023-05-01", "20230501", "２０２３年５月１日"],
)
def test_reads_every_department_date_spelling(text):
    assert normalise_date(text) == date(2023, 5, 1)


@pytest.mark.parametrize("text", ["2023-02-30", "2023年13月1日"])
def test_rejects_impossible_calendar_dates(text):
    with pytest.raises(NormaliseError):
        normalise_date(text)


def test_rejects_unrecognised_date_format():
    with pytest.raises(NormaliseError):
        normalise_date("May 1st")


def test_vectorised_dates_flag_only_present_unparseable_values():
    parsed, bad = normalise_dates(pd.Series(["2023年5月1日", "20230501", "2023-02-30", "x", None]))
    assert list(parsed[:2].dt.date) == [date(2023, 5, 1)] * 2
    assert list(bad.astype(bool)) == [False, False, True, True, False]


def test_halfwidth_and_spaces():
    assert to_halfwidth("１２３ＡＢ") == "123AB"
    assert normalise_text("  张　三  ") == "张 三"
    assert normalise_text("   ") is None


@pytest.mark.parametrize(
    ("text", "cents"), [("¥12.50", 1250), ("￥12.5", 1250), ("12.50元", 1250), ("1,234.00", 123400)]
)
def test_reads_amounts(text, cents):
    assert normalise_amount_cents(text) == cents


@pytest.mark.parametrize("text", ["abc", "12.505", "12,50", "1,2"])
def test_rejects_bad_amounts(text):
    with pytest.raises(NormaliseError):
        normalise_amount_cents(text)


@pytest.mark.parametrize(
    ("code", "gender"), [("男", "M"), ("女", "F"), ("1", "M"), ("2", "F"), ("f", "F")]
)
def test_gender_codes(code, gender):
    assert normalise_gender(code) == gender


def test_unknown_gender_code_is_an_error():
    with pytest.raises(NormaliseError):
        normalise_gender("未知")


@pytest.mark.parametrize(
    ("text", "decimal", "value"),
    [
        ("12", "point", 12.0),
        ("12.5", "point", 12.5),
        ("1,234.5", "point", 1234.5),
        ("-3", "point", -3.0),
        ("１２.５", "point", 12.5),
        ("12,5", "comma", 12.5),
        ("1.234,5", "comma", 1234.5),
        ("1 234,5", "comma", 1234.5),
        ("30.0", "point", 30.0),
    ],
)
def test_reads_numbers_in_the_configured_format(text, decimal, value):
    number, problem = parse_numbers(pd.Series([text]), decimal)
    assert (number.iloc[0], problem.iloc[0]) == (value, "")


@pytest.mark.parametrize(
    ("text", "decimal"),
    [
        ("12,5", "point"),  # a decimal comma where a point is configured: never 125
        ("1,23,4", "point"),
        ("1.2.3", "point"),
        ("1e5", "point"),
        ("inf", "point"),
        ("nan", "point"),
        ("12.5", "comma"),
        ("1,234.5", "comma"),
        ("12 分钟", "point"),
    ],
)
def test_refuses_numbers_outside_the_configured_format(text, decimal):
    number, problem = parse_numbers(pd.Series([text]), decimal)
    assert pd.isna(number.iloc[0]) and problem.iloc[0] == "not_a_number"


def test_amounts_are_exact_and_grouping_is_strict():
    cents, problem = parse_amounts_cents(
        pd.Series(["¥12.50", "12,50", "1,234.00", "12.500", "12.505", None, "-1.5"])
    )
    assert list(cents.astype("object").where(cents.notna(), None)) == [
        1250, None, 123400, 1250, None, None, -150
    ]  # fmt: skip
    assert list(problem) == ["", "unparseable_amount", "", "", "unparseable_amount", "", ""]
    comma, problem = parse_amounts_cents(pd.Series(["12,50 元", "1.234,00"]), "comma")
    assert list(comma) == [1250, 123400] and list(problem) == ["", ""]


def test_invisible_characters_are_removed_from_text():
    assert normalise_text("\ufeff张\u200b三\u00a0") == "张三"
