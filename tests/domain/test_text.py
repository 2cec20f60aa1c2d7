"""clean_text: the white space it collapses is exactly Python's, run in pyarrow."""

import re
import sys

import pandas as pd

from domain.text import WHITESPACE, clean_text


def test_whitespace_class_is_every_character_python_counts_as_space():
    python = "".join(chr(c) for c in range(sys.maxunicode + 1) if chr(c).isspace())
    assert python == WHITESPACE


def test_clean_text_collapses_every_white_space_character_like_backslash_s():
    values = [f"a{c}{c}b{c}" for c in WHITESPACE] + [" a \x0b\x1c b ", "\u3000", None]
    expected = [None if v is None else re.sub(r"\s+", " ", v).strip() or None for v in values]
    got = clean_text(pd.Series(values, dtype="string")).tolist()
    assert got == [e if e is not None else pd.NA for e in expected]


def test_clean_text_keeps_characters_that_are_not_white_space():
    # NUL and the zero-width space are not white space: NUL stays, the invisible one goes
    got = clean_text(pd.Series(["a\x00b", "a\u200bb", "a_b"], dtype="string")).tolist()
    assert got == ["a\x00b", "ab", "a_b"]


def test_nfkc_is_unicodedata_nfkc_on_every_value():
    import unicodedata

    from domain.text import nfkc

    values = ["ＡＢＣ１２３", "ﬁ", "Ⅻ", "abc", "张伟", "㍿", "e\u0301", None, "", "①"] * 3
    got = nfkc(pd.Series(values, dtype="string")).tolist()
    assert got == [pd.NA if v is None else unicodedata.normalize("NFKC", v) for v in values]
