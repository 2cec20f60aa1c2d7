"""The ID facts the resident-ID rules share: read once per column, never from another column."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from domain.identifiers import (
    check_digits_ok,
    check_digits_ok_digits,
    region_codes_ok,
    region_codes_ok_digits,
)
from quality.expectations import _conditions
from quality.expectations._conditions import (
    clear_id_memo,
    id_birth_date_matches,
    id_gender_matches,
    resident_id_ok,
)
from tests.quality.conftest import make_id, wrong_check_digit

CHECKS = ["format", "region", "birth_date", "check_digit"]


def _ids(values: list[str | None]) -> pd.Series:
    return pd.Series(values, dtype="string")


def test_a_second_column_of_the_same_length_is_judged_on_its_own_values() -> None:
    good = _ids([make_id(), make_id(born="19850101"), make_id(region="440106")])
    bad = _ids([wrong_check_digit(make_id()), make_id(region="000000"), "12345"])
    assert resident_id_ok(good, CHECKS, date(2026, 1, 1)).tolist() == [True, True, True]
    # the memo now holds ``good``: ``bad`` (same length) must not be answered from it
    assert resident_id_ok(bad, CHECKS, date(2026, 1, 1)).tolist() == [False, False, False]
    clear_id_memo()


def test_the_same_column_is_parsed_once(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    clear_id_memo()
    ids = _ids([make_id(), make_id(seq="124"), None])
    calls = []
    real = _conditions._IdFacts

    def counting(*args, **kwargs):  # type: ignore[no-untyped-def]
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(_conditions, "_IdFacts", counting)
    resident_id_ok(ids, CHECKS)
    births = pd.Series(pd.to_datetime(["1990-05-15", "1990-05-16", None]))
    assert id_birth_date_matches(ids.copy(), births).tolist() == [True, False, True]
    assert id_gender_matches(ids, _ids(["M", "M", "F"])).tolist() == [True, False, True]
    assert len(calls) == 1
    clear_id_memo()


def test_embedded_birth_dates_read_as_pandas_reads_yyyymmdd() -> None:
    days = [
        f"{y:04d}{m:02d}{d:02d}"
        for y in (0, 4, 100, 1600, 1900, 2000, 2023, 2024, 2100, 2263, 9999)
        for m in (0, 1, 2, 12, 13)
        for d in (0, 1, 28, 29, 30, 31, 32)
    ]
    ids = _ids(["110105" + day + "1234" for day in days])
    expected = pd.to_datetime(ids.str[6:14], format="%Y%m%d", errors="coerce")
    clear_id_memo()
    got = _conditions._id_facts(ids).born()
    pd.testing.assert_series_equal(got, expected)
    assert got.isna().any() and got.notna().any()  # both kinds are in the sample
    clear_id_memo()


def test_digit_array_checks_agree_with_the_text_ones() -> None:
    ids = _ids(
        [make_id(), wrong_check_digit(make_id()), make_id(region="000000")]
        + [make_id(born="18990101")]
        + [make_id(region="110105", born=f"19{y:02d}0101") for y in range(0, 100, 7)]
    )
    raw = np.array(ids.tolist(), dtype="S18").view(np.uint8).reshape(-1, 18)
    assert (check_digits_ok_digits(raw) == check_digits_ok(ids)).all()
    assert not check_digits_ok_digits(raw).all()
    by_text = region_codes_ok(ids.str[:6], ids.str[6:10]).to_numpy()
    assert (region_codes_ok_digits(raw) == by_text).all()
    assert not by_text.all()
