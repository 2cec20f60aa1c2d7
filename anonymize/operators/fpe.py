"""``fpe``: format-preserving encryption (NIST SP 800-38G Rev.1 FF3-1).

FF3-1 runs vectorised (:mod:`anonymize.operators._ff3`); it gives exactly the ``ff3``
package's results (``FF3Cipher(key.hex(), tweak.hex())``), which the tests check.

- ``format: mobile`` — the first 3 digits (``1[3-9]x``) stay, the last 8 are encrypted:
  the result is again an 11-digit ``1[3-9]…`` number.
- ``format: id_number`` — the 17 leading digits are encrypted and the GB 11643 check
  character is recomputed, so the result has a valid check digit (its region and birth
  date are not meaningful).
- ``format: digits`` — a whole digit string (6 to 18 digits).

Reversible with the key (:func:`fpe_decrypt`). A value that does not have the format
is published as null (counted in the log, never echoed).
"""

from __future__ import annotations

import logging
import re
from typing import Literal

import numpy as np
import pandas as pd
from pydantic import Field

from anonymize.keys import Keyring
from anonymize.operators._ff3 import ff3_decrypt_digits, ff3_encrypt_digits
from anonymize.operators.base import Operator, OperatorContext, OperatorParams, map_uniques
from anonymize.operators.registry import register_operator
from domain.identifiers import ID_WEIGHTS

__all__ = ["FpeOperator", "fpe_decrypt", "fpe_encrypt"]

log = logging.getLogger(__name__)

Format = Literal["mobile", "id_number", "digits"]
_SHAPES = {
    "mobile": re.compile(r"^1[3-9]\d{9}$"),
    "id_number": re.compile(r"^\d{17}[\dX]$"),
    "digits": re.compile(r"^\d{6,18}$"),
}
_CHECK_CHARS = np.array(list("10X98765432"))


class FpeParams(OperatorParams):
    format: Format
    domain: str | None = Field(default=None, description="key domain; default the field name")
    key_id: str | None = Field(default=None, description="key version; default the active one")


def _key_tweak(keyring: Keyring, domain: str, key_id: str | None) -> tuple[bytes, bytes]:
    key = keyring.derive("ff3", domain, key_id, length=32)
    tweak = keyring.derive("ff3_tweak", domain, key_id, length=7)  # 56-bit FF3-1 tweak
    return key, tweak


def _check_chars(first17: np.ndarray) -> np.ndarray:
    totals = first17.astype(np.int64) @ np.array(ID_WEIGHTS, dtype=np.int64)
    return _CHECK_CHARS[totals % 11]


def _digits_to_str(mat: np.ndarray) -> list[str]:
    width = mat.shape[1]
    raw = (mat.astype(np.uint8) + 48).tobytes()
    return [raw[i : i + width].decode() for i in range(0, len(raw), width)]


def _crypt_bodies(bodies: pd.Series, key: bytes, tweak: bytes, decrypt: bool) -> pd.Series:
    """FF3-1 over digit strings of possibly different lengths (grouped by length)."""
    run = ff3_decrypt_digits if decrypt else ff3_encrypt_digits
    out = pd.Series(index=bodies.index, dtype=object)
    for width, group in bodies.groupby(bodies.str.len()):
        mat = np.frombuffer("".join(group.tolist()).encode(), dtype=np.uint8).reshape(-1, width)
        out[group.index] = _digits_to_str(run(mat - 48, key, tweak))
    return out


def _transform(
    values: pd.Series, key: bytes, tweak: bytes, fmt: Format, decrypt: bool
) -> pd.Series:
    shape = _SHAPES[fmt]
    bad = 0

    def crypt(uniq: list[object]) -> list[str | None]:
        nonlocal bad
        text = pd.Series([str(v) for v in uniq], dtype=object).str.strip().str.upper()
        ok = text.str.fullmatch(shape.pattern).astype(bool)
        bad += int((~ok).sum())
        good = text[ok]
        result = pd.Series([None] * len(text), dtype=object)
        if good.empty:
            return result.tolist()
        if fmt == "mobile":
            result[good.index] = good.str[:3] + _crypt_bodies(good.str[3:], key, tweak, decrypt)
        elif fmt == "id_number":
            body = _crypt_bodies(good.str[:17], key, tweak, decrypt)
            first17 = np.frombuffer("".join(body.tolist()).encode(), np.uint8).reshape(-1, 17) - 48
            result[good.index] = body + pd.Series(_check_chars(first17), index=body.index)
        else:
            result[good.index] = _crypt_bodies(good, key, tweak, decrypt)
        return result.tolist()

    out = map_uniques(values, crypt)
    if bad:
        log.warning("fpe (%s): %d distinct values without the format published as null", fmt, bad)
    return out


def fpe_encrypt(
    values: pd.Series, keyring: Keyring, domain: str, fmt: Format, key_id: str | None = None
) -> pd.Series:
    return _transform(values, *_key_tweak(keyring, domain, key_id), fmt, decrypt=False)


def fpe_decrypt(
    values: pd.Series, keyring: Keyring, domain: str, fmt: Format, key_id: str | None = None
) -> pd.Series:
    """Reverse :func:`fpe_encrypt` (an ID number gets its original check character back)."""
    return _transform(values, *_key_tweak(keyring, domain, key_id), fmt, decrypt=True)


@register_operator
class FpeOperator(Operator):
    name = "fpe"
    Params = FpeParams

    def apply(self, values: pd.Series, ctx: OperatorContext) -> pd.Series:
        p = self.params
        assert isinstance(p, FpeParams)
        keyring = ctx.require_keyring(self.name)
        return fpe_encrypt(values, keyring, p.domain or ctx.field, p.format, p.key_id)
