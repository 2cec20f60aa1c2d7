from datetime import date

import pandas as pd
import pytest

from domain import (
    gb11643_check_digit,
    is_cn_mobile,
    mask_mobile,
    parse_resident_id,
    resident_id_problems,
    resident_id_problems_series,
)


def make_id(region: str = "110105", born: str = "19491231", seq: str = "002") -> str:
    body = region + born + seq
    return body + gb11643_check_digit(body)


def test_check_digit_matches_the_standard_example():
    # GB 11643-1999 appendix example
    assert gb11643_check_digit("11010519491231002") == "X"


def test_accepts_valid_id():
    assert resident_id_problems(make_id()) == []
    assert resident_id_problems(make_id().lower()) == []


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ("110105194912310021", "id_check_digit"),
        ("11010519491231002", "id_format"),
        ("1101051949123100XX", "id_format"),
        ("", "id_missing"),
        (None, "id_missing"),
    ],
)
def test_rejects_bad_ids(value, code):
    assert code in resident_id_problems(value)


def test_rejects_unknown_province_and_impossible_date():
    assert "id_region" in resident_id_problems(make_id(region="990105"))
    assert "id_birth_date" in resident_id_problems(make_id(born="20010230"))
    assert "id_birth_date" in resident_id_problems(make_id(born="20300101"), today=date(2026, 1, 1))


def test_parse_reads_birth_date_and_gender():
    rid = parse_resident_id(make_id(born="20030507", seq="123"))
    assert rid.birth_date == date(2003, 5, 7)
    assert rid.gender == "M"
    assert parse_resident_id(make_id(seq="124")).gender == "F"


def test_parse_error_does_not_echo_the_value():
    bad = "110105194912310021"
    with pytest.raises(ValueError) as err:
        parse_resident_id(bad)
    assert bad not in str(err.value)


def test_series_version_agrees_with_scalar_version():
    values = [
        make_id(),
        "110105194912310021",
        None,
        "abc",
        make_id(region="990105"),
        make_id(born="20010230"),
    ]
    series = resident_id_problems_series(pd.Series(values, dtype="string"), today=date(2026, 1, 1))
    for value, codes in zip(values, series, strict=True):
        assert sorted(filter(None, codes.split(";"))) == sorted(
            resident_id_problems(value, today=date(2026, 1, 1))
        )


@pytest.mark.parametrize("good", ["13812341234", "19912345678", " 15012345678 "])
def test_accepts_mainland_mobiles(good):
    assert is_cn_mobile(good)


@pytest.mark.parametrize(
    "bad", ["12812341234", "1381234123", "138123412345", "138-1234-1234", None]
)
def test_rejects_non_mobiles(bad):
    assert not is_cn_mobile(bad)


def test_masks_mobile_for_display():
    assert mask_mobile("13812341234") == "138****1234"
    with pytest.raises(ValueError):
        mask_mobile("12345")


def test_full_width_digits_are_not_a_valid_id_or_mobile():
    # \\d would admit them: the rules are ASCII-only (normalisation folds widths first)
    assert resident_id_problems("１１０１０５１９４９１２３１００２X") == ["id_format"]
    assert not is_cn_mobile("１３８１２３４１２３４")
