import contextlib
from datetime import date

import pandas as pd
import pytest

from domain import (
    cn_mobile_allocated,
    gb11643_check_digit,
    identifier_text,
    is_cn_mobile,
    mask_mobile,
    mobile_problems,
    parse_resident_id,
    recover_identifiers,
    region_codes_ok,
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
    "bad", ["12812341234", "1381234123", "138123412345", "138-1234-1234", None, "14012341234"]
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


# ---------------------------------------------------------------- region codes (GB/T 2260)


@pytest.mark.parametrize("region", ["999999", "000000", "110199", "119999", "710000"[:2] + "9999"])
def test_rejects_a_region_that_is_no_division_even_with_a_right_check_digit(region):
    from stdnum.cn import ric

    fabricated = make_id(region=region, born="19900515", seq="123")
    assert resident_id_problems(fabricated) == ["id_region"]
    assert "id_region" in resident_id_problems_series(pd.Series([fabricated])).iloc[0]
    with contextlib.suppress(KeyError):  # stdnum 2.2 trips over an unknown county
        assert not ric.is_valid(fabricated)  # python-stdnum refuses it too


def test_accepts_current_and_historical_division_codes():
    assert resident_id_problems(make_id(region="110105")) == []  # 朝阳区, current
    assert resident_id_problems(make_id(region="110103", born="19800101")) == []  # 崇文区 ≤2010
    assert resident_id_problems(make_id(region="110000")) == []  # province-level code


def test_a_code_abolished_before_the_birth_cannot_be_on_the_number():
    # 崇文区 (110103) was merged away in 2010: nobody born in 2015 was issued it
    assert resident_id_problems(make_id(region="110103", born="20150101")) == ["id_region"]


def test_a_code_created_after_the_birth_is_valid_where_stdnum_would_refuse_it():
    # 通州区 (110112) exists since 1997; someone born there in 1990 got their number later
    from stdnum.cn import ric

    later = make_id(region="110112", born="19900101")
    assert resident_id_problems(later) == []
    assert not ric.is_valid(later)  # the deliberate difference (see region_codes_ok)


def test_region_table_covers_the_synthetic_university():
    from islandbridge.synth.vocab import REGION_CODES

    assert region_codes_ok(pd.Series(list(REGION_CODES))).all()


# ---------------------------------------------------------------- mobiles (libphonenumber)


@pytest.mark.parametrize(
    "unallocated",
    ["14012345678", "14112345678", "14412345678", "14612345678", "14912345678", "15412345678",
     "16312345678", "16412345678", "16812345678", "16912345678", "19412345678"],
)  # fmt: skip
def test_rejects_unallocated_mobile_ranges(unallocated):
    import phonenumbers

    assert mobile_problems(unallocated) == ["mobile_unallocated"]
    assert not is_cn_mobile(unallocated)
    number = phonenumbers.parse("+86" + unallocated)
    assert not phonenumbers.is_valid_number(number)


def test_mobile_metadata_agrees_with_phonenumbers_on_every_prefix():
    import phonenumbers
    from phonenumbers import PhoneNumberType

    samples = [f"1{p:03d}{s}" for p in range(300, 1000) for s in ("0000000", "5678901")]
    ours = cn_mobile_allocated(pd.Series(samples, dtype="string"))
    for value, ok in zip(samples, ours, strict=True):
        number = phonenumbers.parse("+86" + value)
        theirs = phonenumbers.is_valid_number(number) and phonenumbers.number_type(number) in (
            PhoneNumberType.MOBILE,
            PhoneNumberType.FIXED_LINE_OR_MOBILE,
        )
        assert ok == theirs, value[:4]


def test_mobile_codes_are_distinct():
    assert mobile_problems("13812341234") == []
    assert mobile_problems("12812341234") == ["mobile_format"]
    assert mobile_problems("") == ["mobile_missing"]


def test_synthetic_mobile_prefixes_are_allocated():
    from islandbridge.synth.vocab import MOBILE_PREFIXES

    values = pd.Series([f"{p}12345678" for p in MOBILE_PREFIXES], dtype="string")
    assert cn_mobile_allocated(values).all()


# ---------------------------------------------------------------- identifiers from spreadsheets


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("15639811899.0", "15639811899"),
        ("15639811899.00", "15639811899"),
        ("1.5639811899e+10", "15639811899"),
        ("1.5639811899E10", "15639811899"),
        ("１５６３９８１１８９９", "15639811899"),
        ("\ufeff156 3981 1899\u200b", "15639811899"),
        ("\u00a015639811899\u2060", "15639811899"),
        ("'11010519491231002X", "11010519491231002X"),
        ('="11010519491231002X"', "11010519491231002X"),
        ("11010519491231002x", "11010519491231002X"),
        ("110105-19491231-002X", "11010519491231002X"),
        ("2022010001.0", "2022010001"),
        ("T1001", "T1001"),
    ],
)
def test_recovers_identifiers_exactly_when_every_digit_is_there(raw, expected):
    text, lost = recover_identifiers(identifier_text(pd.Series([raw])))
    assert (text.iloc[0], bool(lost.iloc[0])) == (expected, False)


@pytest.mark.parametrize(
    "raw",
    [
        "3.205081956081715e+17",  # what a float of an ID number prints
        "3.20508E+17",  # Excel's General format
        "320508195608171520.0",  # 18 digits through a float: the last ones are the float's
        "1.56398119e+10",  # a mobile shown with fewer digits than it has
        "1.5639811899E+11",  # the exponent pads a zero the text never showed
    ],
)
def test_flags_identifiers_whose_digits_a_float_lost(raw):
    text, lost = recover_identifiers(identifier_text(pd.Series([raw])))
    assert bool(lost.iloc[0]) and pd.isna(text.iloc[0])


def test_a_float_that_is_no_whole_number_is_left_to_the_format_rules():
    text, lost = recover_identifiers(identifier_text(pd.Series(["12.5", "abc", None])))
    assert list(text.fillna("NA")) == ["12.5", "ABC", "NA"] and not lost.any()
