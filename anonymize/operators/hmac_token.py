"""``hmac_token``: keyed, deterministic pseudonyms (HMAC-SHA256 under a versioned key).

A token is ``<key id>:<32 base32 chars>`` (160 bits of the HMAC). The key is derived
per token *domain* (default: the field name), so tokens of different fields never
correlate, while fields given one domain (``student_no``, ``staff_no``, ``person_no``)
share tokens. The same value gives the same token in every department and every run
under the same key version.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from pydantic import Field

from anonymize.keys import Keyring
from anonymize.operators._hmac import hmac_sha256_many
from anonymize.operators.base import (
    Operator,
    OperatorContext,
    OperatorParams,
    map_uniques,
    strings_from_matrix,
)
from anonymize.operators.registry import register_operator

__all__ = ["TOKEN_BYTES", "HmacTokenOperator", "hmac_tokens", "token_for"]

TOKEN_BYTES = 20  # 160 bits, 32 base32 characters
_B32 = np.frombuffer(b"abcdefghijklmnopqrstuvwxyz234567", dtype=np.uint8)
_PURPOSE = "hmac_token"


class HmacTokenParams(OperatorParams):
    domain: str | None = Field(default=None, description="token domain; default the field name")
    normalise: bool = Field(default=True, description="NFKC, trim and upper-case before hashing")
    key_id: str | None = Field(default=None, description="key version; default the active one")


def _base32(digests: np.ndarray) -> np.ndarray:
    """(n, 20) bytes → (n, 32) ASCII base32 (lower case), vectorised."""
    groups = digests.reshape(-1, 4, 5).astype(np.uint64)
    shifts = np.array([32, 24, 16, 8, 0], dtype=np.uint64)
    forty = (groups << shifts).sum(axis=2, dtype=np.uint64)  # (n, 4) 40-bit ints
    five = np.array([35, 30, 25, 20, 15, 10, 5, 0], dtype=np.uint64)
    idx = ((forty[:, :, None] >> five) & np.uint64(31)).astype(np.intp)  # (n, 4, 8)
    return _B32[idx.reshape(len(digests), 32)]


def _message_bytes(values: list[object], normalise: bool) -> list[bytes]:
    """UTF-8 bytes of each value, NFKC-normalised, trimmed and upper-cased (vectorised)."""
    arr = pa.array([str(v) for v in values], type=pa.string())
    if normalise:
        arr = pc.utf8_upper(pc.utf8_trim_whitespace(pc.utf8_normalize(arr, "NFKC")))
    return arr.cast(pa.binary()).to_pylist()


def _tokens(values: list[object], key: bytes, key_id: str, normalise: bool) -> pa.Array:
    blob = hmac_sha256_many(key, _message_bytes(values, normalise), TOKEN_BYTES)
    digests = np.frombuffer(blob, dtype=np.uint8).reshape(-1, TOKEN_BYTES)
    prefix = np.frombuffer(f"{key_id}:".encode(), dtype=np.uint8)
    chars = np.hstack([np.broadcast_to(prefix, (len(digests), len(prefix))), _base32(digests)])
    return strings_from_matrix(chars)


def hmac_tokens(
    values: pd.Series,
    keyring: Keyring,
    domain: str,
    *,
    key_id: str | None = None,
    normalise: bool = True,
) -> pd.Series:
    """Tokens of a column (nulls stay null); vectorised over its distinct values."""
    kid = key_id or keyring.active_id
    key = keyring.derive(_PURPOSE, domain, kid)
    return map_uniques(values, lambda uniq: _tokens(uniq, key, kid, normalise))


def token_for(value: str, keyring: Keyring, domain: str, *, key_id: str | None = None) -> str:
    """The token of one value (e.g. to find a person's token under an older key version)."""
    return hmac_tokens(pd.Series([value], dtype="string"), keyring, domain, key_id=key_id).iloc[0]


@register_operator
class HmacTokenOperator(Operator):
    name = "hmac_token"
    Params = HmacTokenParams
    output_suffix = "_token"
    vaulted = True

    def vault_domain(self, field: str) -> str:
        """The token domain the vault files this field's tokens under."""
        assert isinstance(self.params, HmacTokenParams)
        return self.params.domain or field

    def apply(self, values: pd.Series, ctx: OperatorContext) -> pd.Series:
        p = self.params
        assert isinstance(p, HmacTokenParams)
        keyring = ctx.require_keyring(self.name)
        return hmac_tokens(
            values, keyring, p.domain or ctx.field, key_id=p.key_id, normalise=p.normalise
        )
