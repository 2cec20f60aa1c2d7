"""Normalisers for record-schema fields: small named steps applied in order before tokenising.

Each is ``str -> str``, registered by name in :data:`NORMALISERS`; an unknown name fails
with the list of known ones.
"""

from __future__ import annotations

import string
import unicodedata
from collections.abc import Callable

__all__ = ["NORMALISERS", "normaliser"]


_ASCII = "".join(chr(c) for c in range(128))
_NOT_LETTERS = str.maketrans("", "", "".join(c for c in _ASCII if not c.isalpha()))
_NOT_DIGITS = str.maketrans("", "", "".join(c for c in _ASCII if not c.isdigit()))
_NOT_ALNUM = str.maketrans("", "", "".join(c for c in _ASCII if not c.isalnum()))
_PUNCT_TO_SPACE = str.maketrans(string.punctuation + string.digits, " " * 42)


def _keep(table: dict[int, int | None], keep: Callable[[str], bool]) -> Callable[[str], str]:
    def step(value: str) -> str:
        if value.isascii():
            return value.translate(table)
        return "".join(c for c in value if keep(c))

    return step


def _letters_and_spaces(value: str) -> str:
    if value.isascii():
        return " ".join(value.translate(_PUNCT_TO_SPACE).split())
    return " ".join("".join(c if c.isalpha() else " " for c in value).split())


def _ascii_fold(value: str) -> str:
    if value.isascii():
        return value
    decomposed = unicodedata.normalize("NFKD", value)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


NORMALISERS: dict[str, Callable[[str], str]] = {
    "nfkc": lambda v: unicodedata.normalize("NFKC", v),
    "lower": str.lower,
    "strip": str.strip,
    "collapse_spaces": lambda v: " ".join(v.split()),
    "strip_spaces": lambda v: "".join(v.split()),
    "ascii_fold": _ascii_fold,
    "letters_only": _keep(_NOT_LETTERS, str.isalpha),
    "letters_and_spaces": _letters_and_spaces,
    "alnum_only": _keep(_NOT_ALNUM, str.isalnum),
    "digits_only": _keep(_NOT_DIGITS, str.isdigit),
}


def normaliser(name: str) -> Callable[[str], str]:
    """The normaliser called ``name``; ``ValueError`` listing the known ones otherwise."""
    try:
        return NORMALISERS[name]
    except KeyError:
        raise ValueError(f"unknown normaliser {name!r}; known: {sorted(NORMALISERS)}") from None
