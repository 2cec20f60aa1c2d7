"""Text as spreadsheets and exports deliver it: widths, invisible characters, spaces.

One cleaning step shared by every normaliser: NFKC (full-width ``１２３``, ``Ａ`` and the
ideographic space become ASCII), invisible format characters removed (zero-width
space and joiners, BOM, soft hyphen, bidi marks), non-breaking and other spaces
made plain, runs of white space collapsed, ends trimmed; an empty result is null.
"""

from __future__ import annotations

import unicodedata

import pandas as pd

__all__ = ["INVISIBLE_CHARACTERS", "WHITESPACE", "WHITESPACE_RUN", "clean_text", "nfkc"]

#: Unicode format characters (category Cf) that exports leave inside values.
INVISIBLE_CHARACTERS = (
    "\u00ad\u180e\u200b\u200c\u200d\u200e\u200f\u202a\u202b\u202c\u202d\u202e"
    "\u2060\u2061\u2062\u2063\u2064\ufeff"
)
_INVISIBLE_CLASS = "[" + INVISIBLE_CHARACTERS + "]"
#: Every character ``str.isspace`` (and Python ``re``'s ``\s``) counts as white space,
#: spelled out: pandas hands ``\s`` to Python's ``re`` value by value (RE2's ``\s`` misses
#: some of these), but runs a class of literal characters in pyarrow (RE2), vectorised.
WHITESPACE = (
    "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005"
    "\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)
#: a run of white space (the same matches as ``\s+``)
WHITESPACE_RUN = "[" + WHITESPACE + "]+"


def nfkc(values: pd.Series) -> pd.Series:
    """NFKC of a column as Python's ``unicodedata`` gives it, once per distinct value that
    is not plain ASCII (NFKC leaves ASCII as it is); a ``string`` Series."""
    text = values.astype("string")
    ascii_only = text.str.isascii().fillna(True).to_numpy(dtype=bool)
    if ascii_only.all():
        return text
    rest = text[~ascii_only]
    codes, uniques = pd.factorize(rest)
    normal = pd.array([unicodedata.normalize("NFKC", u) for u in uniques], dtype="string")
    out = text.copy()
    out[~ascii_only] = normal.take(codes)
    return out


def clean_text(values: pd.Series) -> pd.Series:
    """Vectorised cleaning (see the module text); returns a ``string`` Series."""
    text = nfkc(values)
    text = text.str.replace(_INVISIBLE_CLASS, "", regex=True)
    text = text.str.replace(WHITESPACE_RUN, " ", regex=True).str.strip(" ")
    return text.mask(text == "")
