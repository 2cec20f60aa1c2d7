"""Each custom GX expectation, run through GX itself, with known-good and known-bad values."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from domain import resident_id_problems
from quality.expectations import (
    ExpectApplicantToBeOfMinimumAge,
    ExpectApplicantToBeOfMinimumAgeAtPrecision,
    ExpectApplicantToBeOfMinimumAgeOnId,
    ExpectColumnValuesToBeCnMobile,
    ExpectColumnValuesToBeHoursWithinADay,
    ExpectColumnValuesToBeValidResidentId,
    ExpectColumnValuesToNotBeAfterDate,
    ExpectDuesAmountWithinRule,
    ExpectProbationToLastAboutOneYear,
    ExpectProbationToLastAboutOneYearAtPrecision,
    ExpectResidentIdToMatchBirthDate,
    ExpectResidentIdToMatchBirthDateAtPrecision,
    ExpectResidentIdToMatchGender,
    ExpectStatusDatesInLadderOrder,
)
from quality.expectations._conditions import resident_id_ok
from quality.gx_context import dataframe_batch
from tests.quality.conftest import make_id, wrong_check_digit

GOOD_ID = make_id()  # born 1990-05-15, male


def _unexpected(frame: pd.DataFrame, expectation: object) -> list[int]:
    result = dataframe_batch(frame).validate(
        expectation, result_format={"result_format": "COMPLETE", "exclude_unexpected_values": True}
    )
    assert not result.exception_info.get("raised_exception"), result.exception_info
    indices = result.result.get("unexpected_index_list") or []
    assert result.success == (not indices)
    return list(indices)


def _ids(*values: str | None) -> pd.DataFrame:
    return pd.DataFrame({"id_number": pd.array(list(values), dtype="string")})


@pytest.mark.parametrize(
    ("check", "bad"),
    [
        ("format", GOOD_ID[:17]),
        ("format", GOOD_ID[:17] + "Y"),
        ("format", "１" + GOOD_ID[1:]),
        ("region", make_id(region="000000")),
        ("birth_date", make_id(born="19900230")),
        ("birth_date", make_id(born="18991231")),
        ("birth_date", make_id(born="20260701")),
        ("check_digit", wrong_check_digit(GOOD_ID)),
    ],
)
def test_resident_id_expectation_finds_each_defect(check: str, bad: str) -> None:
    frame = _ids(GOOD_ID, bad, None)
    expectation = ExpectColumnValuesToBeValidResidentId(
        column="id_number", checks=[check], as_of="2026-06-30"
    )
    assert _unexpected(frame, expectation) == [1]


def test_resident_id_expectation_reports_malformed_numbers_only_under_format() -> None:
    frame = _ids("12345", GOOD_ID)
    for check in ("region", "birth_date", "check_digit"):
        expectation = ExpectColumnValuesToBeValidResidentId(column="id_number", checks=[check])
        assert _unexpected(frame, expectation) == []


def test_resident_id_expectation_accepts_valid_numbers_including_x() -> None:
    with_x = next(make_id(seq=f"{i:03d}") for i in range(999) if make_id(seq=f"{i:03d}")[-1] == "X")
    frame = _ids(GOOD_ID, with_x, with_x.lower())
    assert _unexpected(frame, ExpectColumnValuesToBeValidResidentId(column="id_number")) == []


def test_vectorised_resident_id_checks_agree_with_domain_rules() -> None:
    rng = np.random.default_rng(11)
    values = [
        make_id(born=f"{y}{m:02d}{d:02d}", seq=f"{s:03d}")
        for y, m, d, s in zip(
            rng.integers(1890, 2030, 300),
            rng.integers(0, 14, 300),
            rng.integers(0, 33, 300),
            rng.integers(0, 1000, 300),
            strict=True,
        )
        if len(f"{y}{m:02d}{d:02d}") == 8
    ]
    values += [wrong_check_digit(v) for v in values[:100]] + [make_id(region="991234")]
    series = pd.Series(values, dtype="string")
    as_of = date(2026, 6, 30)
    domain_codes = [set(resident_id_problems(v, today=as_of)) for v in values]
    for check, code in [
        ("region", "id_region"),
        ("birth_date", "id_birth_date"),
        ("check_digit", "id_check_digit"),
    ]:
        ours = resident_id_ok(series, [check], as_of)
        assert list(~ours) == [code in codes for codes in domain_codes], check


def test_id_birth_date_expectation() -> None:
    frame = pd.DataFrame(
        {
            "id_number": pd.array([GOOD_ID, GOOD_ID, GOOD_ID, "bad", None], dtype="string"),
            "birth_date": pd.to_datetime(
                ["1990-05-15", "1990-05-16", None, "1990-01-01", "1990-01-01"]
            ),
        }
    )
    expectation = ExpectResidentIdToMatchBirthDate(column_A="id_number", column_B="birth_date")
    assert _unexpected(frame, expectation) == [1]


def test_id_gender_expectation() -> None:
    female = make_id(seq="124")
    frame = pd.DataFrame(
        {
            "id_number": pd.array([GOOD_ID, female, GOOD_ID, female, GOOD_ID], dtype="string"),
            "gender": pd.array(["M", "F", "F", "M", None], dtype="string"),
        }
    )
    expectation = ExpectResidentIdToMatchGender(column_A="id_number", column_B="gender")
    assert _unexpected(frame, expectation) == [2, 3]


def test_cn_mobile_expectation() -> None:
    frame = pd.DataFrame(
        {
            "mobile": pd.array(
                [
                    "13800001111",
                    "19912345678",
                    "12800001111",
                    "1380000111",
                    "138000011112",
                    "1380000111a",
                    "１3800001111",
                    None,
                ],
                dtype="string",
            )
        }
    )
    assert _unexpected(frame, ExpectColumnValuesToBeCnMobile(column="mobile")) == [2, 3, 4, 5, 6]


def test_not_after_date_expectation() -> None:
    frame = pd.DataFrame({"d": pd.to_datetime(["2026-06-29", "2026-06-30", "2026-07-01", None])})
    expectation = ExpectColumnValuesToNotBeAfterDate(column="d", as_of="2026-06-30")
    assert _unexpected(frame, expectation) == [2]


def test_ladder_order_expectation() -> None:
    frame = pd.DataFrame(
        {
            "a": pd.to_datetime(["2020-01-01", "2020-01-01", "2020-01-01", None, "2020-05-01"]),
            "b": pd.to_datetime(["2020-06-01", None, "2019-12-31", "2021-01-01", None]),
            "c": pd.to_datetime(
                ["2021-06-01", "2021-01-01", "2021-01-01", "2020-01-01", "2020-04-30"]
            ),
        }
    )
    expectation = ExpectStatusDatesInLadderOrder(column_list=["a", "b", "c"])
    assert _unexpected(frame, expectation) == [2, 3, 4]


def test_minimum_age_expectation() -> None:
    frame = pd.DataFrame(
        {
            "born": pd.to_datetime(["2000-03-01", "2000-03-01", "2000-02-29", "2000-02-29"]),
            "applied": pd.to_datetime(["2018-03-01", "2018-02-28", "2018-03-01", "2018-02-28"]),
        }
    )
    expectation = ExpectApplicantToBeOfMinimumAge(column_A="born", column_B="applied", min_age=18)
    assert _unexpected(frame, expectation) == [1, 3]


def test_minimum_age_is_judged_on_the_birth_date_in_the_id_number() -> None:
    # born 2000-03-01 per the ID; the birth-date column is wrong in rows 0 and 1
    frame = pd.DataFrame(
        {
            "id": [make_id(born="20000301")] * 3 + ["not an id"],
            "born": pd.to_datetime(["2001-06-01", "1990-01-01", "2000-03-01", "2000-03-01"]),
            "applied": pd.to_datetime(["2018-05-01", "2018-02-28", "2018-03-01", "2018-02-28"]),
        }
    )
    on_id = ExpectApplicantToBeOfMinimumAgeOnId(column_list=["id", "born", "applied"], min_age=18)
    # row 0: 18 by the ID (the column would say 16); row 1: 17 by the ID (the column, 28);
    # row 3: no usable ID, so the birth-date column decides
    assert _unexpected(frame, on_id) == [1, 3]
    on_column = ExpectApplicantToBeOfMinimumAge(column_A="born", column_B="applied", min_age=18)
    assert _unexpected(frame, on_column) == [0, 3]


def test_probation_length_expectation() -> None:
    frame = pd.DataFrame(
        {
            "start": pd.to_datetime(["2020-01-01"] * 4),
            "end": pd.to_datetime(["2021-01-01", "2020-06-01", "2023-01-01", "2021-12-31"]),
        }
    )
    expectation = ExpectProbationToLastAboutOneYear(
        column_A="start", column_B="end", min_days=360, max_days=731
    )
    assert _unexpected(frame, expectation) == [1, 2]


def test_hours_within_a_day_expectation() -> None:
    frame = pd.DataFrame({"h": pd.array([0.5, 24.0, 24.5, 0.0, -1.0, None], dtype="Float64")})
    assert _unexpected(frame, ExpectColumnValuesToBeHoursWithinADay(column="h")) == [2, 3, 4]


def test_dues_amount_expectation_uses_the_person_type_range() -> None:
    frame = pd.DataFrame(
        {
            "amount": pd.array([20, 2000, 2000, 20, 20, None], dtype="Int64"),
            "kind": pd.array(
                ["student", "student", "faculty", "faculty", None, "student"], dtype="string"
            ),
        }
    )
    expectation = ExpectDuesAmountWithinRule(
        column_list=["amount", "kind"], ranges={"student": [20, 240], "faculty": [500, 300000]}
    )
    assert _unexpected(frame, expectation) == [1, 3]


def test_cn_mobile_allocated_expectation_refuses_unallocated_ranges() -> None:
    frame = pd.DataFrame(
        {
            "mobile": pd.array(
                ["13800001111", "14012345678", "16312345678", "19412345678", "1280000", None],
                dtype="string",
            )
        }
    )
    expectation = ExpectColumnValuesToBeCnMobile(column="mobile", check="allocated")
    assert _unexpected(frame, expectation) == [1, 2, 3]  # the malformed one is format's


def test_resident_id_region_is_checked_against_the_division_table() -> None:
    frame = _ids(GOOD_ID, make_id(region="999999"), make_id(region="110199"), None)
    expectation = ExpectColumnValuesToBeValidResidentId(
        column="id_number", checks=["region"], as_of="2026-06-30"
    )
    assert _unexpected(frame, expectation) == [1, 2]


# ---------------------------------------------------------------- dates with a precision


def _dated(**columns: list) -> pd.DataFrame:
    frame = pd.DataFrame()
    for name, values in columns.items():
        if name.endswith("_precision"):
            frame[name] = pd.array(values, dtype="string")
        else:
            frame[name] = pd.to_datetime(values)
    return frame


def test_ladder_order_compares_at_the_coarser_precision() -> None:
    frame = _dated(
        a=["2021-09-15", "2021-09-01", "2021-10-01", "2021-09-01"],
        b=["2021-09-01", "2021-09-15", "2021-09-01", "2020-01-01"],
        a_precision=["day", "month", "day", "month"],
        b_precision=["month", "day", "month", "year"],
    )
    # row 0/1: 2021-09 vs 2021-09-15 either way round is no violation; row 2: the whole of
    # September is before 1 October; row 3: the year 2020 ends before September 2021
    expectation = ExpectStatusDatesInLadderOrder(
        column_list=["a", "b", "a_precision", "b_precision"]
    )
    assert _unexpected(frame, expectation) == [2, 3]
    # without the precision the first-day dates would have made row 0 a violation
    assert _unexpected(
        frame[["a", "b"]], ExpectStatusDatesInLadderOrder(column_list=["a", "b"])
    ) == [
        0,
        2,
        3,
    ]


def test_minimum_age_at_precision_judges_only_certain_violations() -> None:
    frame = _dated(
        born=["1990-05-15", "1990-05-15", "1990-05-15", "1990-05-15"],
        applied=["2008-05-01", "2008-04-01", "2008-01-01", "2007-01-01"],
        applied_precision=["month", "month", "year", "year"],
    )
    expectation = ExpectApplicantToBeOfMinimumAgeAtPrecision(
        column_list=["born", "applied", "applied_precision"], min_age=18
    )
    # May 2008 may be after the 18th birthday; April 2008 is wholly before it; so is 2007
    assert _unexpected(frame, expectation) == [1, 3]


def test_minimum_age_on_id_uses_the_event_precision() -> None:
    frame = pd.DataFrame(
        {
            "id": [make_id(born="19900515")] * 2,
            "born": pd.to_datetime([None, None]),
            "applied": pd.to_datetime(["2008-05-01", "2008-04-01"]),
            "applied_precision": pd.array(["month", "month"], dtype="string"),
        }
    )
    expectation = ExpectApplicantToBeOfMinimumAgeOnId(
        column_list=["id", "born", "applied", "applied_precision"], min_age=18
    )
    assert _unexpected(frame, expectation) == [1]


def test_probation_span_at_precision() -> None:
    frame = _dated(
        start=["2020-06-01", "2020-06-01", "2020-06-01", "2020-06-01"],
        end=["2021-06-01", "2021-05-20", "2022-07-01", "2021-05-01"],
        start_precision=["month", "month", "month", "month"],
        end_precision=["month", "day", "month", "month"],
    )
    expectation = ExpectProbationToLastAboutOneYearAtPrecision(
        column_list=["start", "end", "start_precision", "end_precision"],
        min_days=360,
        max_days=731,
    )
    # row 1: at most 353 days (2020-06-01 → 2021-05-20), certainly short; row 2: from
    # 2020-06-30 to 2022-07-01 is 731 days, so it may be in range; row 3: June 2020 to
    # May 2021 may be 360 days (2020-06-01 → 2021-05-31 is 364)
    assert _unexpected(frame, expectation) == [1]


def test_probation_span_at_precision_finds_a_certainly_long_probation() -> None:
    frame = _dated(
        start=["2020-06-01"], end=["2022-08-01"], start_precision=["month"], end_precision=["month"]
    )
    expectation = ExpectProbationToLastAboutOneYearAtPrecision(
        column_list=["start", "end", "start_precision", "end_precision"],
        min_days=360,
        max_days=731,
    )
    assert _unexpected(frame, expectation) == [0]


def test_id_birth_date_at_precision() -> None:
    frame = pd.DataFrame(
        {
            "id_number": pd.array([GOOD_ID, GOOD_ID, GOOD_ID], dtype="string"),
            "birth_date": pd.to_datetime(["1990-05-01", "1990-06-01", "1990-05-15"]),
            "birth_date_precision": pd.array(["month", "month", "day"], dtype="string"),
        }
    )
    expectation = ExpectResidentIdToMatchBirthDateAtPrecision(
        column_list=["id_number", "birth_date", "birth_date_precision"]
    )
    assert _unexpected(frame, expectation) == [1]


def test_a_month_in_the_reference_month_is_not_future() -> None:
    frame = _dated(d=["2026-06-01", "2026-07-01"], d_precision=["month", "month"])
    expectation = ExpectColumnValuesToNotBeAfterDate(column="d", as_of="2026-06-30")
    assert _unexpected(frame, expectation) == [1]
