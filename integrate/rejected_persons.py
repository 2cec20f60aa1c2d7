"""Activity records of persons whose roster row the quality gate rejected.

Without this, a correct sign-in of a member whose roster row was quarantined (a wrong
ID check digit, say) is quarantined as ``unknown_person`` — "absent from every roster",
which tells the branch secretary the wrong story. The pseudonymise stage tokenises the
*key fields* of a roster's rejected rows under the run's key (the same keyed HMAC and
token domains as the accepted rows: :func:`rejected_key_tokens`), without vaulting
them; linkage then relabels an ``unknown_person`` record whose key token is among them
as ``person_rejected_in_roster`` (:func:`relabel_rejected_persons`).

Why tokens: linkage works on tokens only and must never read the raw quarantine (it
holds ID numbers, names and phones in clear). The tokens of rejected rows are as
opaque as those of accepted rows, are not stored in the vault (nobody can resolve them
back through the service), live in the run's restricted ``tokens`` zone, are destroyed
with it by retention, and never reach the published zone. Only the key fields are
tokenised — no name encoding, no attribute — so the file says no more than "someone
with this key token was rejected".
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

import pandas as pd

from integrate.person_index import KEY_DOMAINS
from integrate.record_linkage import UNKNOWN_PERSON

__all__ = [
    "PERSON_REJECTED_IN_ROSTER",
    "REJECTED_KEY_FIELDS",
    "rejected_key_tokens",
    "relabel_rejected_persons",
]

log = logging.getLogger(__name__)

PERSON_REJECTED_IN_ROSTER = "person_rejected_in_roster"
#: Canonical key fields whose tokens identify a rejected roster row.
REJECTED_KEY_FIELDS = tuple(column.removesuffix("_token") for column in KEY_DOMAINS)
_COLUMNS = {"domain": "string", "token": "string"}


def rejected_key_tokens(tokens: pd.DataFrame) -> pd.DataFrame:
    """``(domain, token)`` pairs of the key token columns of ``tokens`` (the tokenised
    key fields of a roster's rejected rows), distinct; nothing else is kept."""
    parts = [
        pd.DataFrame({"domain": KEY_DOMAINS[column], "token": tokens[column].dropna()})
        for column in KEY_DOMAINS
        if column in tokens.columns
    ]
    if not parts:
        return pd.DataFrame({c: pd.Series(dtype=t) for c, t in _COLUMNS.items()})
    out = pd.concat(parts, ignore_index=True).astype(_COLUMNS)
    return out.drop_duplicates(ignore_index=True)


def relabel_rejected_persons(
    quarantined: pd.DataFrame, rejected: Iterable[pd.DataFrame]
) -> tuple[pd.DataFrame, int]:
    """``quarantined`` (an activity source's link quarantine) with every row quarantined
    only as ``unknown_person`` whose key token is among the ``rejected`` roster keys
    relabelled ``person_rejected_in_roster``; also how many were relabelled."""
    pairs = [r for r in rejected if not r.empty]
    if quarantined.empty or not pairs or "reasons" not in quarantined.columns:
        return quarantined, 0
    known = pd.concat(pairs, ignore_index=True)
    by_domain = {d: set(g["token"].dropna()) for d, g in known.groupby("domain")}
    unknown = (quarantined["reasons"].astype("string") == UNKNOWN_PERSON).fillna(False)
    hit = pd.Series(False, index=quarantined.index)
    for column, domain in KEY_DOMAINS.items():
        if column in quarantined.columns and by_domain.get(domain):
            hit |= quarantined[column].isin(by_domain[domain]).fillna(False).astype(bool)
    relabel = (unknown & hit).to_numpy(dtype=bool)
    if not relabel.any():
        return quarantined, 0
    out = quarantined.copy()
    out["reasons"] = out["reasons"].astype("string")
    out.loc[relabel, "reasons"] = PERSON_REJECTED_IN_ROSTER
    if "link_detail" in out.columns:
        out["link_detail"] = out["link_detail"].astype("string")
        out.loc[relabel, "link_detail"] = "a key token is that of a roster row the gate rejected"
    count = int(relabel.sum())
    log.info("linkage: %d records of persons whose roster row was rejected", count)
    return out, count
