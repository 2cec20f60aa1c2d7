"""The person index: who exists, and which tokens lead to whom.

Built from roster frames (组织部 members, 学工部 students, 人事处 staff) that carry
a resident-ID token, it is the crosswalk the link stage uses: every student /
staff number token and mobile token on a roster row leads to that row's person.
Only tokens and encodings are read — never a raw identifier.

**person_key.** A person is identified by the ``id_number_token``; the key
published in the shared zone is derived from it:
``"P" + sha256("islandbridge.person_key/v1\\0" + id_number_token)[:20 hex]``
(:func:`person_key_for`). It is stable for as long as the pseudonymisation key
is, and it is not the token itself, so the published dataset cannot be joined
directly on the tokens found in the restricted zones. Re-identification goes
person_key → ``PersonIndex.persons.id_number_token`` → the vault.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import pandas as pd

__all__ = [
    "KEY_DOMAINS",
    "PersonIndex",
    "build_person_index",
    "person_key_for",
    "person_keys_for",
]

log = logging.getLogger(__name__)

#: Token column → token domain. Student, staff and generic person numbers share one
#: domain (a sign-in sheet's 学号/工号 equals the roster's student or staff number).
KEY_DOMAINS: dict[str, str] = {
    "id_number_token": "id_number",
    "student_no_token": "person_no",
    "staff_no_token": "person_no",
    "person_no_token": "person_no",
    "mobile_token": "mobile",
}
_PERSON_KEY_DOMAIN = b"islandbridge.person_key/v1\x00"


def person_key_for(id_number_token: str) -> str:
    """The published person key derived from an ID-number token."""
    digest = hashlib.sha256(_PERSON_KEY_DOMAIN + id_number_token.encode("utf-8")).hexdigest()
    return "P" + digest[:20]


def person_keys_for(tokens: Iterable[str]) -> list[str]:
    return [person_key_for(t) for t in tokens]


@dataclass(frozen=True)
class PersonIndex:
    """Persons and token crosswalks; restricted-zone data (holds tokens)."""

    #: one row per person: person_key, id_number_token, attributes, ``*_bloom`` encodings
    persons: pd.DataFrame
    #: domain → Series token → person_key, for tokens that lead to exactly one person
    lookups: dict[str, pd.Series]
    #: domain → tokens that lead to two or more persons (a lookup there is ambiguous)
    ambiguous: dict[str, frozenset[str]]
    stats: dict[str, int] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.persons)

    def resolve(self, tokens: pd.Series, domain: str) -> tuple[pd.Series, pd.Series]:
        """Person keys for ``tokens`` (NA where unknown or ambiguous) and an ambiguity mask."""
        if domain not in self.lookups:
            raise KeyError(f"unknown token domain {domain!r}; known: {sorted(self.lookups)}")
        keys = tokens.map(self.lookups[domain])
        ambiguous = (
            tokens.isin(self.ambiguous[domain])
            if self.ambiguous[domain]
            else (pd.Series(False, index=tokens.index))
        )
        return keys.where(~ambiguous), ambiguous


def _first_non_null(frame: pd.DataFrame, column: str) -> pd.Series:
    sub = frame[["person_key", column]]
    sub = sub[sub[column].notna()]
    return sub.drop_duplicates("person_key", keep="first").set_index("person_key")[column]


def build_person_index(
    rosters: list[pd.DataFrame], *, attributes: Sequence[str] = ("branch_id",)
) -> PersonIndex:
    """Build the index from roster frames (each with ``id_number_token``).

    Every roster row with an ID token is a person (the same token on several
    rosters is one person). Its other key tokens (``student_no_token``,
    ``staff_no_token``, ``person_no_token``, ``mobile_token``) become crosswalk
    entries; a token that leads to two persons is kept as ambiguous. For each
    person the first non-null value (roster order) of every ``*_bloom`` column and
    of ``attributes`` is kept, for name checks and probabilistic fallback.
    """
    if not rosters:
        raise ValueError("build_person_index needs at least one roster frame")
    frames = []
    for number, roster in enumerate(rosters):
        if "id_number_token" not in roster.columns:
            raise ValueError(
                f"roster {number} has no id_number_token column; it has {sorted(roster.columns)}"
            )
        keep = [
            c for c in roster.columns if c in KEY_DOMAINS or c.endswith("_bloom") or c in attributes
        ]
        frames.append(roster[keep].assign(_roster=number))
    combined = pd.concat(frames, ignore_index=True, sort=False)
    has_id = combined["id_number_token"].notna() & (combined["id_number_token"] != "")
    without_id = int((~has_id).sum())
    combined = combined[has_id].copy()
    combined["person_key"] = person_keys_for(combined["id_number_token"].astype(str))

    persons = (
        combined[["person_key", "id_number_token"]]
        .drop_duplicates("person_key")
        .sort_values("person_key", kind="stable")
        .reset_index(drop=True)
    )
    extra = [c for c in combined.columns if c.endswith("_bloom") or c in attributes]
    for column in extra:
        persons[column] = persons["person_key"].map(_first_non_null(combined, column))

    lookups: dict[str, pd.Series] = {}
    ambiguous: dict[str, frozenset[str]] = {}
    stats = {"persons": len(persons), "roster_rows_without_id_token": without_id}
    for domain in sorted(set(KEY_DOMAINS.values())):
        columns = [c for c, d in KEY_DOMAINS.items() if d == domain and c in combined.columns]
        pairs = pd.concat(
            [combined[[c, "person_key"]].rename(columns={c: "token"}) for c in columns]
            or [pd.DataFrame({"token": [], "person_key": []})],
            ignore_index=True,
        )
        pairs = pairs[pairs["token"].notna() & (pairs["token"] != "")].drop_duplicates()
        per_token = pairs.groupby("token", sort=False)["person_key"].nunique()
        clashing = frozenset(per_token.index[per_token > 1])
        unique = pairs[~pairs["token"].isin(clashing)].drop_duplicates("token")
        lookups[domain] = pd.Series(
            unique["person_key"].to_numpy(), index=pd.Index(unique["token"].to_numpy())
        )
        ambiguous[domain] = clashing
        stats[f"{domain}_tokens"] = len(unique)
        stats[f"{domain}_ambiguous_tokens"] = len(clashing)
    log.info("person index: %d persons, %d roster rows without ID token", len(persons), without_id)
    return PersonIndex(persons=persons, lookups=lookups, ambiguous=ambiguous, stats=stats)
