"""``deterministic_encrypt``: AES-SIV (RFC 5297), deterministic and reversible with the key.

Output ``<key id>:<base64url ciphertext>``; the token domain is bound as associated
data, so a ciphertext moved to another field does not decrypt.
"""

from __future__ import annotations

import base64

import pandas as pd
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESSIV
from pydantic import Field

from anonymize.errors import AnonymizeError
from anonymize.keys import Keyring
from anonymize.operators.base import Operator, OperatorContext, OperatorParams, map_uniques
from anonymize.operators.registry import register_operator

__all__ = ["DeterministicEncryptOperator", "deterministic_decrypt", "deterministic_encrypt"]

_PURPOSE = "aes_siv"


class DeterministicEncryptParams(OperatorParams):
    domain: str | None = Field(default=None, description="key domain; default the field name")


def deterministic_encrypt(values: pd.Series, keyring: Keyring, domain: str) -> pd.Series:
    kid = keyring.active_id
    siv = AESSIV(keyring.derive(_PURPOSE, domain, kid, length=64))
    ad = [domain.encode()]
    prefix = f"{kid}:"
    b64 = base64.urlsafe_b64encode

    def enc(uniq: list[object]) -> list[str]:
        return [prefix + b64(siv.encrypt(str(v).encode(), ad)).decode().rstrip("=") for v in uniq]

    return map_uniques(values, enc)


def deterministic_decrypt(values: pd.Series, keyring: Keyring, domain: str) -> pd.Series:
    """Reverse :func:`deterministic_encrypt` with whichever key version each value names."""
    sivs: dict[str, AESSIV] = {}
    ad = [domain.encode()]

    def dec(uniq: list[object]) -> list[str]:
        out = []
        for v in uniq:
            kid, _, body = str(v).partition(":")
            if kid not in sivs:
                sivs[kid] = AESSIV(keyring.derive(_PURPOSE, domain, kid, length=64))
            try:
                raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
                out.append(sivs[kid].decrypt(raw, ad).decode())
            except (InvalidTag, ValueError):
                raise AnonymizeError(
                    f"a value of domain {domain} does not decrypt (tampered or wrong key)"
                ) from None
        return out

    return map_uniques(values, dec)


@register_operator
class DeterministicEncryptOperator(Operator):
    name = "deterministic_encrypt"
    Params = DeterministicEncryptParams

    def apply(self, values: pd.Series, ctx: OperatorContext) -> pd.Series:
        p = self.params
        assert isinstance(p, DeterministicEncryptParams)
        return deterministic_encrypt(values, ctx.require_keyring(self.name), p.domain or ctx.field)
