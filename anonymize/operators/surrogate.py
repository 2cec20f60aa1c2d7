"""``surrogate``: realistic fake values (Faker ``zh_CN`` data) chosen by a keyed hash.

The choice is seeded from an HMAC of the value, so the same person gets the same
surrogate name, phone or address in every table and every run (under one key
version). Names follow Faker's zh_CN surname frequencies; phones use its
``1[3-9]x`` prefixes; addresses its provinces, cities and districts.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd
from faker.providers.address.zh_CN import Provider as _Address
from faker.providers.person.zh_CN import Provider as _Person
from faker.providers.phone_number.zh_CN import Provider as _Phone
from pydantic import Field

from anonymize.operators._hmac import hmac_sha256_many
from anonymize.operators.base import Operator, OperatorContext, OperatorParams, map_uniques
from anonymize.operators.registry import register_operator

__all__ = ["SurrogateOperator", "surrogate_values"]

Kind = Literal["name", "phone", "address"]

_LAST = list(_Person.last_names)
_LAST_CUM = np.cumsum(np.array(list(_Person.last_names.values()), dtype=float))
_LAST_CUM /= _LAST_CUM[-1]
_FIRST = list(_Person.first_names)
_PREFIXES = [str(p) for p in _Phone.phonenumber_prefixes]
_PROVINCES = list(_Address.provinces)
_CITIES = list(_Address.cities)
_DISTRICTS = list(_Address.districts)
_STREET_SUFFIX = list(_Address.street_suffixes)


class SurrogateParams(OperatorParams):
    kind: Kind
    domain: str | None = Field(default=None, description="key domain; default the field name")


def _pick(words: list[str], r: int) -> str:
    return words[r % len(words)]


def _one(kind: Kind, h: bytes) -> str:
    a, b, c, d = (int.from_bytes(h[i : i + 8], "big") for i in (0, 8, 16, 24))
    if kind == "name":
        last = _LAST[int(np.searchsorted(_LAST_CUM, (a >> 11) / float(1 << 53), side="right"))]
        return last + _pick(_FIRST, b)
    if kind == "phone":
        return _pick(_PREFIXES, a) + f"{b % 100_000_000:08d}"
    city = _pick(_CITIES, b)
    return (
        f"{_pick(_PROVINCES, a)}{city}市{_pick(_DISTRICTS, c)}区"
        f"{_pick(_LAST, d)}{_pick(_STREET_SUFFIX, d >> 8)}{(d >> 16) % 999 + 1}号"
    )


def surrogate_values(values: pd.Series, key: bytes, kind: Kind) -> pd.Series:
    def make(uniq: list[object]) -> list[str]:
        blob = hmac_sha256_many(key, (str(v).encode() for v in uniq))
        return [_one(kind, blob[i : i + 32]) for i in range(0, len(blob), 32)]

    return map_uniques(values, make)


@register_operator
class SurrogateOperator(Operator):
    name = "surrogate"
    Params = SurrogateParams

    def apply(self, values: pd.Series, ctx: OperatorContext) -> pd.Series:
        p = self.params
        assert isinstance(p, SurrogateParams)
        key = ctx.require_keyring(self.name).derive("surrogate", p.domain or ctx.field)
        return surrogate_values(values, key, p.kind)
