"""Operators: hmac_token and the registry first, then every other operator."""

from __future__ import annotations

import hmac
import re

import numpy as np
import pandas as pd
import pytest

from anonymize import (
    OPERATORS,
    Keyring,
    PolicyError,
    UnknownOperatorError,
    build_operator,
    deterministic_decrypt,
    fpe_decrypt,
    generate_keyring,
    get_operator,
    hmac_tokens,
    token_for,
)
from anonymize.errors import AnonymizeError
from anonymize.operators import OperatorContext
from domain import FieldKind, gb11643_check_digit, resident_id_problems

TOKEN = re.compile(r"^k1:[a-z2-7]{32}$")


def _ctx(keyring: Keyring | None, field: str = "id_number", frame=None) -> OperatorContext:
    return OperatorContext(
        field=field, kind=FieldKind.DIRECT_IDENTIFIER, keyring=keyring, frame=frame
    )


def _s(*values) -> pd.Series:
    return pd.Series(list(values), dtype="string")


# -- registry ------------------------------------------------------------------------------
def test_registry_has_every_operator_of_the_issue():
    assert set(OPERATORS) == {
        "hmac_token",
        "clk_bloom",
        "deterministic_encrypt",
        "fpe",
        "surrogate",
        "mask",
        "generalise",
        "date_shift",
        "suppress",
        "keep",
    }


def test_unknown_operator_lists_the_known_ones():
    with pytest.raises(UnknownOperatorError) as info:
        get_operator("hmac_tokn")
    message = str(info.value)
    assert "hmac_tokn" in message
    for name in OPERATORS:
        assert name in message


def test_rejects_unknown_operator_parameter():
    with pytest.raises(PolicyError, match="domian"):
        build_operator("hmac_token", {"domian": "x"})


# -- hmac_token ----------------------------------------------------------------------------
def test_hmac_token_shape_determinism_and_nulls(keyring):
    values = _s("110101199001011234", None, "110101199001011234", "110101199001011235")
    tokens = hmac_tokens(values, keyring, "id_number")
    assert tokens.dtype == "string"
    assert tokens.isna().tolist() == [False, True, False, False]
    assert all(TOKEN.match(t) for t in tokens.dropna())
    assert tokens[0] == tokens[2] != tokens[3]
    assert hmac_tokens(values, keyring, "id_number").equals(tokens)  # every run


def test_hmac_token_matches_a_plain_hmac(keyring):
    value = "110101199001011234"
    key = keyring.derive("hmac_token", "id_number")
    import base64

    digest = hmac.new(key, value.encode(), "sha256").digest()[:20]
    expected = "k1:" + base64.b32encode(digest).decode().lower()
    assert token_for(value, keyring, "id_number") == expected


def test_tokens_of_different_domains_never_correlate(keyring):
    values = _s("20190001", "20190002")
    a = hmac_tokens(values, keyring, "student_no")
    b = hmac_tokens(values, keyring, "mobile")
    assert not set(a) & set(b)


def test_same_value_same_token_across_keyring_loads(keyring_doc):
    a = token_for("13812345678", Keyring(keyring_doc), "mobile")
    b = token_for("13812345678", Keyring(keyring_doc), "mobile")
    assert a == b
    assert token_for("13812345678", Keyring(generate_keyring()), "mobile") != a


def test_token_normalises_width_case_and_spaces(keyring):
    values = _s("11010119900101123X", " 11010119900101123x ", "１１０１０１１９９００１０１１２３X")
    assert hmac_tokens(values, keyring, "id_number").nunique() == 1


def test_token_embeds_key_version_and_old_version_stays_computable(keyring_doc):
    keyring_doc["keys"]["k1"]["retired_at"] = "2026-01-01T00:00:00+00:00"
    keyring_doc["keys"]["k2"] = generate_keyring()["keys"]["k1"]
    keyring_doc["active"] = "k2"
    keyring = Keyring(keyring_doc)
    new = token_for("x1234567", keyring, "person_no")
    old = token_for("x1234567", keyring, "person_no", key_id="k1")
    assert new.startswith("k2:") and old.startswith("k1:") and new[3:] != old[3:]


def test_hmac_token_needs_a_keyring():
    with pytest.raises(PolicyError, match="needs a keyring"):
        build_operator("hmac_token").apply(_s("a"), _ctx(None))


def test_hmac_token_computes_each_distinct_value_once(keyring, monkeypatch):
    """Speed is measured in bench/ (hmac_token_x_bare); here: the work is per distinct value,
    and the tokens are the ones each value gets alone."""
    from anonymize.operators import hmac_token as module

    seen: list[int] = []
    real = module._tokens

    def counting(uniq, *args):
        seen.append(len(uniq))
        return real(uniq, *args)

    monkeypatch.setattr(module, "_tokens", counting)
    values = pd.Series([f"{i % 1_000:018d}" for i in range(20_000)], dtype="string")
    tokens = hmac_tokens(values, keyring, "id_number")
    assert sum(seen) == 1_000 and tokens.nunique() == 1_000
    assert tokens.iloc[1_001] == token_for(f"{1:018d}", keyring, "id_number")


# -- the other operators -------------------------------------------------------------------
def test_deterministic_encrypt_round_trips_and_is_deterministic(keyring):
    values = _s("张伟", None, "张伟", "李娜")
    ct = build_operator("deterministic_encrypt").apply(values, _ctx(keyring, "name"))
    assert ct[0] == ct[2] != ct[3] and pd.isna(ct[1])
    assert ct[0].startswith("k1:") and "张伟" not in ct[0]
    back = deterministic_decrypt(ct, keyring, "name")
    assert back.tolist()[0] == "张伟" and back.tolist()[3] == "李娜"


def test_deterministic_encrypt_refuses_a_tampered_value(keyring):
    ct = build_operator("deterministic_encrypt").apply(_s("张伟"), _ctx(keyring, "name"))
    with pytest.raises(AnonymizeError, match="does not decrypt"):
        deterministic_decrypt(ct, keyring, "mobile")  # another domain


def test_fpe_mobile_stays_a_mobile_and_round_trips(keyring):
    values = _s("13812345678", "19900001111", None, "12345")
    out = build_operator("fpe", {"format": "mobile"}).apply(values, _ctx(keyring, "mobile"))
    assert re.fullmatch(r"1[3-9]\d{9}", out[0]) and out[0] != values[0]
    assert out[0][:3] == "138"
    assert pd.isna(out[2]) and pd.isna(out[3])  # not a mobile: not published
    assert fpe_decrypt(out, keyring, "mobile", "mobile").tolist()[:2] == [
        "13812345678",
        "19900001111",
    ]


def test_fpe_id_number_keeps_a_valid_check_digit(keyring, members):
    ids = members["id_number"].head(50)
    out = build_operator("fpe", {"format": "id_number"}).apply(ids, _ctx(keyring))
    assert (out != ids).all()
    for v in out:
        assert len(v) == 18 and gb11643_check_digit(v[:17]) == v[17]
        assert "id_check_digit" not in resident_id_problems(v)
    assert fpe_decrypt(out, keyring, "id_number", "id_number").tolist() == ids.tolist()


def test_fpe_matches_the_ff3_reference(keyring):
    from ff3 import FF3Cipher

    key = keyring.derive("ff3", "student_no", length=32)
    tweak = keyring.derive("ff3_tweak", "student_no", length=7)
    expected = FF3Cipher(key.hex(), tweak.hex()).encrypt("201900012345")
    out = build_operator("fpe", {"format": "digits"}).apply(
        _s("201900012345"), _ctx(keyring, "student_no")
    )
    assert out[0] == expected


def test_surrogate_is_consistent_and_looks_real(keyring):
    values = _s("张伟", "李娜", "张伟", None)
    names = build_operator("surrogate", {"kind": "name"}).apply(values, _ctx(keyring, "name"))
    assert names[0] == names[2] and pd.isna(names[3])
    assert re.fullmatch(r"[\u4e00-\u9fff]{2,4}", names[0])
    again = build_operator("surrogate", {"kind": "name"}).apply(values, _ctx(keyring, "name"))
    assert again.equals(names)
    phones = build_operator("surrogate", {"kind": "phone"}).apply(values, _ctx(keyring, "mobile"))
    assert re.fullmatch(r"1[3-9]\d{9}", phones[0])
    addr = build_operator("surrogate", {"kind": "address"}).apply(values, _ctx(keyring, "name"))
    assert "市" in addr[0] and "号" in addr[0]


def test_mask_keeps_ends():
    out = build_operator("mask").apply(_s("13812341234", None, "abc"), _ctx(None, "mobile"))
    assert out.tolist()[0] == "138****1234" and pd.isna(out[1]) and out[2] == "***"


def test_generalise_dates_and_chained_steps():
    dates = pd.Series(pd.to_datetime(["1999-05-17", None, "2001-12-31"]))
    month = build_operator("generalise", {"to": "month"}).apply(dates, _ctx(None))
    assert month.tolist()[0] == "1999-05" and pd.isna(month[1])
    year = build_operator("generalise", {"to": "year"}).apply(month, _ctx(None))
    assert year.tolist()[0] == "1999"
    band = build_operator("generalise", {"to": "band", "width": 5}).apply(year, _ctx(None))
    assert band.tolist()[0] == "1995-1999" and band.tolist()[2] == "2000-2004"
    wider = build_operator("generalise", {"to": "band", "width": 10}).apply(band, _ctx(None))
    assert wider.tolist()[0] == "1990-1999"
    top = build_operator("generalise", {"to": "top"}).apply(wider, _ctx(None))
    assert top.tolist()[0] == "*" and pd.isna(top[1])


def test_generalise_age_band_hierarchy_and_numbers():
    dates = pd.Series(pd.to_datetime(["2000-07-01", "2000-06-30"]))
    op = build_operator("generalise", {"to": "age_band", "as_of": "2026-06-30", "width": 5})
    assert op.apply(dates, _ctx(None)).tolist() == ["25-29", "25-29"]
    op = build_operator("generalise", {"to": "age_band", "as_of": "2025-06-30", "width": 5})
    assert op.apply(dates, _ctx(None)).tolist() == ["20-24", "25-29"]
    colleges = _s("计算机学院", "数学学院", "外星学院")
    op = build_operator(
        "generalise",
        {"to": "hierarchy", "hierarchy": {"计算机学院": "工学部", "数学学院": "理学部"}},
    )
    assert op.apply(colleges, _ctx(None)).tolist() == ["工学部", "理学部", "*"]
    hours = pd.Series([3.5, 12.0, None], dtype="Float64")
    out = build_operator("generalise", {"to": "band", "width": 10}).apply(hours, _ctx(None))
    assert out.tolist()[:2] == ["0-9", "10-19"] and pd.isna(out[2])


def test_generalise_rejects_missing_parameters():
    with pytest.raises(PolicyError, match="hierarchy"):
        build_operator("generalise", {"to": "hierarchy"})
    with pytest.raises(PolicyError, match="as_of"):
        build_operator("generalise", {"to": "age_band"})


def test_date_shift_is_consistent_per_person(keyring):
    frame = pd.DataFrame(
        {
            "id_number": _s("A", "A", "B", None),
            "paid_on": pd.to_datetime(["2026-01-01", "2026-02-01", "2026-01-01", "2026-01-01"]),
        }
    )
    op = build_operator("date_shift", {"by": "id_number", "max_days": 10})
    out = op.apply(frame["paid_on"], _ctx(keyring, "paid_on", frame))
    delta = (out - frame["paid_on"]).dt.days
    assert delta[0] == delta[1] and 1 <= abs(delta[0]) <= 10
    assert pd.isna(out[3])
    other_table = frame.iloc[[2, 0]]  # another table, other rows and order: same offsets
    again = op.apply(other_table["paid_on"], _ctx(keyring, "paid_on", other_table))
    assert again.equals(out.loc[[2, 0]])


def test_date_shift_refuses_missing_by_column(keyring):
    op = build_operator("date_shift", {"by": "id_number"})
    with pytest.raises(PolicyError, match="no column"):
        op.apply(
            pd.Series(pd.to_datetime(["2026-01-01"])), _ctx(keyring, "paid_on", pd.DataFrame())
        )


def test_suppress_and_keep():
    values = _s("a", None)
    assert build_operator("suppress").apply(values, _ctx(None)) is None
    star = build_operator("suppress", {"replacement": "*"}).apply(values, _ctx(None))
    assert star[0] == "*" and pd.isna(star[1])
    assert build_operator("keep").apply(values, _ctx(None)).equals(values)


def test_operators_are_vectorised_over_distinct_values(keyring):
    values = pd.Series(np.repeat(np.array([f"{i:011d}" for i in range(100)]), 50), dtype="string")
    for name, params in [("hmac_token", {}), ("mask", {}), ("surrogate", {"kind": "phone"})]:
        out = build_operator(name, params).apply(values, _ctx(keyring))
        assert len(out) == 5000 and out.nunique() == 100
        assert (out.groupby(values).nunique() == 1).all()  # one output per distinct input


@pytest.mark.parametrize("width", [6, 8, 9, 11, 17, 18])
def test_vectorised_ff3_matches_the_ff3_package_and_reverses(width):
    import os

    from ff3 import FF3Cipher

    from anonymize.operators._ff3 import ff3_decrypt_digits, ff3_encrypt_digits

    rng = np.random.default_rng(width)
    key, tweak = os.urandom(32), os.urandom(7)
    digits = rng.integers(0, 10, (100, width)).astype(np.uint8)
    encrypted = ff3_encrypt_digits(digits, key, tweak)
    reference = FF3Cipher(key.hex(), tweak.hex())
    for row, enc in zip(digits, encrypted, strict=True):
        assert "".join(map(str, enc)) == reference.encrypt("".join(map(str, row)))
    assert (ff3_decrypt_digits(encrypted, key, tweak) == digits).all()


def test_fpe_rejects_digit_strings_it_cannot_encrypt(keyring):
    out = build_operator("fpe", {"format": "digits"}).apply(_s("12345", "1" * 19), _ctx(keyring))
    assert out.isna().all()


def test_fast_hmac_equals_the_standard_library():
    from anonymize.operators._hmac import hmac_sha256_many

    messages = [b"", b"a", "张伟".encode(), b"x" * 200]
    for key in (b"k" * 32, b"long" * 40):
        expected = b"".join(hmac.new(key, m, "sha256").digest() for m in messages)
        assert hmac_sha256_many(key, messages) == expected
        assert hmac_sha256_many(key, messages, 8) == b"".join(
            hmac.new(key, m, "sha256").digest()[:8] for m in messages
        )
