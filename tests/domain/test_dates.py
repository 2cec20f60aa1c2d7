"""Date shapes: every shape round-trips, every refusal has a known-bad case."""

from __future__ import annotations

from datetime import date, timedelta

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain import (
    DATE_SHAPES,
    DEFAULT_DATE_SHAPES,
    DEFAULT_STEP_DATE_SHAPES,
    check_date_shapes,
    normalise_date,
    parse_dates,
    period_end,
)


def parse_one(text: str, shapes) -> tuple[date | None, str | None, str]:
    parsed = parse_dates(pd.Series([text], dtype="string"), shapes)
    stamp = parsed.dates.iloc[0]
    precision = parsed.precision.iloc[0]
    return (
        None if pd.isna(stamp) else stamp.date(),
        None if pd.isna(precision) else precision,
        parsed.problem.iloc[0],
    )


def _pad(draw, n: int) -> str:
    return f"{n:02d}" if draw(st.booleans()) else str(n)


@st.composite
def written(draw, shape: str, day: date) -> tuple[str, date, str]:
    """``day`` written in ``shape``: (text, the date it stands for, precision)."""
    y, m, d = day.year, day.month, day.day
    if shape == "ymd_sep":
        sep = draw(st.sampled_from("-/."))
        return f"{y}{sep}{_pad(draw, m)}{sep}{_pad(draw, d)}", day, "day"
    if shape == "ymd_cn":
        end = draw(st.sampled_from(["日", ""]))
        return f"{y}年{_pad(draw, m)}月{_pad(draw, d)}{end}", day, "day"
    if shape == "ymd_compact":
        return f"{y}{m:02d}{d:02d}", day, "day"
    if shape == "datetime":
        sep = draw(st.sampled_from("-/."))
        clock = f"{draw(st.integers(0, 23))}:{draw(st.integers(0, 59)):02d}"
        if draw(st.booleans()):
            clock += f":{draw(st.integers(0, 59)):02d}"
        zone = draw(st.sampled_from(["", "Z", "+08:00", "-0500"]))
        between = draw(st.sampled_from([" ", "T"]))
        return f"{y}{sep}{_pad(draw, m)}{sep}{_pad(draw, d)}{between}{clock}{zone}", day, "day"
    if shape == "ym_sep":
        sep = draw(st.sampled_from("-/."))
        return f"{y}{sep}{_pad(draw, m)}", day.replace(day=1), "month"
    if shape == "ym_cn":
        return f"{y}年{_pad(draw, m)}月", day.replace(day=1), "month"
    if shape == "ym_compact":
        return f"{y}{m:02d}", day.replace(day=1), "month"
    if shape == "y":
        return f"{y}{draw(st.sampled_from(['', '年']))}", date(y, 1, 1), "year"
    epoch = date(1899, 12, 30) if shape == "excel_1900" else date(1904, 1, 1)
    serial = str((day - epoch).days)
    suffix = draw(st.sampled_from(["", ".0", ".5", ".25"]))
    return serial + suffix, day, "day"


def _days(shape: str):
    low = {"excel_1900": date(1900, 3, 1), "excel_1904": date(1904, 1, 1)}.get(
        shape, date(1000, 1, 1)
    )
    return st.dates(min_value=low, max_value=date(9999, 12, 31))


@settings(max_examples=60, deadline=None)
@given(data=st.data(), shape=st.sampled_from(sorted(DATE_SHAPES)))
def test_every_shape_round_trips_to_the_same_date(data, shape):
    text, expected, precision = data.draw(written(shape, data.draw(_days(shape))))
    assert parse_one(text, [shape]) == (expected, precision, "")


@settings(max_examples=150, deadline=None)
@given(
    data=st.data(),
    shape=st.sampled_from(sorted(DATE_SHAPES)),
    others=st.sets(st.sampled_from(sorted(DATE_SHAPES))),
)
def test_an_ambiguous_string_never_parses_to_a_different_date(data, shape, others):
    accepted = sorted({shape, *others})
    if {"excel_1900", "excel_1904"} <= set(accepted):
        accepted.remove("excel_1904" if shape == "excel_1900" else "excel_1900")
    text, expected, precision = data.draw(written(shape, data.draw(_days(shape))))
    got, got_precision, problem = parse_one(text, accepted)
    if problem:
        assert problem == "ambiguous_date" and got is None
    else:
        assert (got, got_precision) == (expected, precision)


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet="0123456789-/.年月日 :T", max_size=14))
def test_any_string_is_read_once_or_refused(text):
    shapes = [s for s in DATE_SHAPES if s != "excel_1904"]
    parsed = parse_dates(pd.Series([text], dtype="string"), shapes)
    stamp, problem = parsed.dates.iloc[0], parsed.problem.iloc[0]
    assert pd.isna(stamp) == bool(problem) or not text.strip()
    if not pd.isna(stamp):  # exactly one shape read it: no other enabled shape disagrees
        readings = {parse_one(text, [s])[:2] for s in shapes} - {(None, None)}
        assert len(readings) == 1


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2023-05-01", date(2023, 5, 1)),
        ("2023/5/1", date(2023, 5, 1)),
        ("2023.05.01", date(2023, 5, 1)),
        ("2023年5月1日", date(2023, 5, 1)),
        ("２０２３年５月１日", date(2023, 5, 1)),
        ("20230501", date(2023, 5, 1)),
        ("2026-03-15T08:30:00+08:00", date(2026, 3, 15)),
        ("2020-01-01 00:00:00", date(2020, 1, 1)),
        ("\ufeff2023-05-01\u200b", date(2023, 5, 1)),
    ],
)
def test_default_shapes_read_the_common_chinese_spellings(text, expected):
    assert parse_one(text, DEFAULT_DATE_SHAPES) == (expected, "day", "")


@pytest.mark.parametrize(
    ("text", "shapes", "problem"),
    [
        # the silent misread of issue 15: month dates are not day dates with an optional separator
        ("2022.12", DEFAULT_DATE_SHAPES, "unparseable_date"),
        ("2017.11", DEFAULT_DATE_SHAPES, "unparseable_date"),
        ("2023-05/01", ["ymd_sep"], "unparseable_date"),  # separators must agree
        ("2023.0501", ["ymd_sep", "ymd_compact"], "unparseable_date"),
        ("2023-5-1-", ["ymd_sep"], "unparseable_date"),
        ("2023-13-01", ["ymd_sep"], "impossible_date"),
        ("2023-02-29", ["ymd_sep"], "impossible_date"),
        ("2023年5月32日", ["ymd_cn"], "impossible_date"),
        ("2023年5月", ["ymd_cn"], "unparseable_date"),
        ("20231301", ["ymd_compact"], "impossible_date"),
        ("2023051", ["ymd_compact"], "unparseable_date"),
        ("2023-05-01 24:00", ["datetime"], "impossible_date"),
        ("2023-05-01 08:61", ["datetime"], "impossible_date"),
        ("2023-05-01 8", ["datetime"], "unparseable_date"),
        ("2021.13", ["ym_sep"], "impossible_date"),
        ("2021.9.", ["ym_sep"], "unparseable_date"),
        ("2021年13月", ["ym_cn"], "impossible_date"),
        ("202113", ["ym_compact"], "impossible_date"),
        ("0000", ["y"], "impossible_date"),
        ("21年", ["y"], "unparseable_date"),
        ("60", ["excel_1900"], "impossible_date"),  # 1900-02-29 never was
        ("0", ["excel_1900"], "impossible_date"),
        ("2958466", ["excel_1900"], "impossible_date"),
        ("-5", ["excel_1904"], "unparseable_date"),
        ("45356", DEFAULT_DATE_SHAPES, "unparseable_date"),  # serials only when configured
        ("1.5e4", ["excel_1900"], "unparseable_date"),
        ("May 1st", DEFAULT_DATE_SHAPES, "unparseable_date"),
        ("2023-05-01", ["ym_sep", "y"], "unparseable_date"),
        ("2021.09", DEFAULT_DATE_SHAPES, "unparseable_date"),
        # collisions are reported, never resolved by the order of the shapes
        ("2021", ["y", "excel_1900"], "ambiguous_date"),
        ("2021", ["excel_1900", "y"], "ambiguous_date"),
        ("202109", ["ym_compact", "excel_1900"], "ambiguous_date"),
    ],
)
def test_refuses_with_a_reason(text, shapes, problem):
    assert parse_one(text, shapes) == (None, None, problem)


def test_a_second_reading_that_is_no_real_date_is_no_ambiguity():
    # 202113 is no month, so only the serial number reads it
    got, _, problem = parse_one("202113", ["ym_compact", "excel_1900"])
    assert problem == "" and got == date(1899, 12, 30) + timedelta(days=202113)


def test_month_and_year_precision_are_kept():
    parsed = parse_dates(
        pd.Series(["2021.09", "2021年9月", "2021-09-15", None, "2020年"]),
        [*DEFAULT_STEP_DATE_SHAPES, "y"],
    )
    assert [None if pd.isna(d) else d.date().isoformat() for d in parsed.dates] == [
        "2021-09-01",
        "2021-09-01",
        "2021-09-15",
        None,
        "2020-01-01",
    ]
    assert list(parsed.precision.fillna("-")) == ["month", "month", "day", "-", "year"]
    assert not parsed.all_day
    assert parse_dates(pd.Series(["2021-09-15", None])).all_day


def test_excel_serials_in_both_date_systems():
    assert parse_one("45356", ["excel_1900"])[0] == date(2024, 3, 5)
    assert parse_one("43894", ["excel_1904"])[0] == date(2024, 3, 5)
    assert parse_one("59", ["excel_1900"])[0] == date(1900, 2, 28)
    assert parse_one("61", ["excel_1900"])[0] == date(1900, 3, 1)


def test_period_end_is_the_last_day_of_the_period():
    dates = pd.Series(pd.to_datetime(["2024-02-01", "2021-01-01", "2021-09-15", None]))
    precision = pd.Series(["month", "year", "day", None], dtype="string")
    ends = period_end(dates, precision)
    assert [None if pd.isna(d) else d.date().isoformat() for d in ends] == [
        "2024-02-29",
        "2021-12-31",
        "2021-09-15",
        None,
    ]


@pytest.mark.parametrize(
    ("names", "message"),
    [
        (["ymd_sep", "ymd_slash"], "unknown date shapes \\['ymd_slash'\\]; known: .*ymd_sep"),
        (["excel_1900", "excel_1904"], "cannot both be accepted"),
        ([], "at least one"),
        (["y", "y"], "named twice"),
    ],
)
def test_shape_lists_are_checked(names, message):
    with pytest.raises(ValueError, match=message):
        check_date_shapes(names)


def test_scalar_date_names_the_problem_without_the_value():
    with pytest.raises(ValueError, match="ambiguous date") as err:
        normalise_date("2021", ("y", "excel_1900"))
    assert "2021" not in str(err.value)
