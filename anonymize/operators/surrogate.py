"""``surrogate``: realistic fake values (Faker ``zh_CN`` data) chosen by a keyed hash.

The choice is seeded from an HMAC of the value, so the same person gets the same
surrogate name, phone or address in every table and every run (under one key
version). Names follow Faker's zh_CN surname frequencies; phones use its
``1[3-9]x`` prefixes; addresses its provinces, cities and districts.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Literal

import numpy as np
import pandas as pd
from pydantic import Field

from anonymize.operators._hmac import hmac_sha256_many
from anonymize.operators.base import Operator, OperatorContext, OperatorParams, map_uniques
from anonymize.operators.registry import register_operator

__all__ = ["SurrogateOperator", "surrogate_values"]

Kind = Literal["name", "phone", "address"]


@dataclass(frozen=True)
class _Vocabulary:
    last: list[str]
    last_cum: np.ndarray
    first: list[str]
    prefixes: list[str]
    provinces: list[str]
    cities: list[str]
    districts: list[str]
    street_suffixes: list[str]


@cache
def _vocabulary() -> _Vocabulary:
    """Faker's zh_CN word lists, loaded on first use (Faker takes a second to import)."""
    from faker.providers.address.zh_CN import Provider as Address
    from faker.providers.person.zh_CN import Provider as Person
    from faker.providers.phone_number.zh_CN import Provider as Phone

    cum = np.cumsum(np.array(list(Person.last_names.values()), dtype=float))
    return _Vocabulary(
        last=list(Person.last_names),
        last_cum=cum / cum[-1],
        first=list(Person.first_names),
        prefixes=[str(p) for p in Phone.phonenumber_prefixes],
        provinces=list(Address.provinces),
        cities=list(Address.cities),
        districts=list(Address.districts),
        street_suffixes=list(Address.street_suffixes),
    )


class SurrogateParams(OperatorParams):
    kind: Kind
    domain: str | None = Field(default=None, description="key domain; default the field name")


def _pick(words: list[str], r: int) -> str:
    return words[r % len(words)]


def _one(kind: Kind, h: bytes) -> str:
    a, b, c, d = (int.from_bytes(h[i : i + 8], "big") for i in (0, 8, 16, 24))
    words = _vocabulary()
    if kind == "name":
        rank = int(np.searchsorted(words.last_cum, (a >> 11) / float(1 << 53), side="right"))
        return words.last[rank] + _pick(words.first, b)
    if kind == "phone":
        return _pick(words.prefixes, a) + f"{b % 100_000_000:08d}"
    city = _pick(words.cities, b)
    return (
        f"{_pick(words.provinces, a)}{city}市{_pick(words.districts, c)}区"
        f"{_pick(words.last, d)}{_pick(words.street_suffixes, d >> 8)}{(d >> 16) % 999 + 1}号"
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
