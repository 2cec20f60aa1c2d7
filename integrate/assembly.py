"""From linked sources to the tables of one publication.

The rosters form the person dimension, which passes the privacy gate; the facts of
every person the gate suppressed are left out (and counted per source); each
source's rows go to the published table its entity names (``domain.Entity.table``);
indicators and the data dictionary are derived from the result. Every source keeps
a *lineage* — how its published rows are found again in the written tables — so the
row accounting counts what was written (:mod:`integrate.accounting`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import pandas as pd

from domain import EntityRole, Status, entity
from integrate.accounting import Lineage
from integrate.data_dictionary import data_dictionary
from integrate.indicators import compute_indicators
from integrate.person_table import branch_status, build_person_table, published_person
from integrate.unified_dataset import build_unified_dataset

__all__ = ["AssembledDataset", "LinkedSource", "assemble_dataset"]


#: who is a party member (listed in inactive_members): probationary and full members
PARTY_MEMBER_STATUSES = (Status.PROBATIONARY.value, Status.FULL.value)


@dataclass(frozen=True)
class LinkedSource:
    """One source's linked rows (``person_key`` set where its entity has persons)."""

    entity: str
    department: str
    frame: pd.DataFrame


@dataclass(frozen=True)
class AssembledDataset:
    tables: dict[str, pd.DataFrame]
    #: what the privacy gate did (anonymize.PrivacyReport)
    privacy: Any
    #: source → rows left out because the gate suppressed their person
    suppressed: dict[str, int]
    #: source → how its published rows are counted in the written tables
    lineage: dict[str, Lineage]
    birth_date_conflicts: int


def _branches(dim_person: pd.DataFrame, persons: pd.DataFrame) -> pd.DataFrame | None:
    """dim_branch's rows: each branch's college as published in dim_person (after the
    privacy gate) and its name from the rosters (an organisational name, not personal)."""
    if "branch_name" not in persons.columns or "branch_id" not in dim_person.columns:
        return None
    names = (
        persons.dropna(subset=["branch_id", "branch_name"])
        .drop_duplicates("branch_id")
        .set_index("branch_id")["branch_name"]
    )
    base = dim_person[["branch_id", "college"]].drop_duplicates("branch_id")
    return base.assign(branch_name=base["branch_id"].map(names))


def assemble_dataset(
    sources: Mapping[str, LinkedSource],
    *,
    gate: Mapping[str, Any],
    source_priority: Sequence[str] = (),
    as_of: date | None = None,
    inactive_months: int = 3,
) -> AssembledDataset:
    """Gate, conform and derive the tables of a publication from linked sources.

    ``gate``: keyword arguments of :func:`anonymize.enforce_k_anonymity` for the person
    dimension. Sources are taken in the given order (it decides attribute precedence).
    ``inactive_months``: the window of ``inactive_members`` (party members only).
    """
    from anonymize import enforce_k_anonymity

    roles = {name: entity(s.entity).role for name, s in sources.items()}
    rosters = {n: s.frame for n, s in sources.items() if roles[n] == EntityRole.ROSTER}
    persons, conflicts = build_person_table(
        rosters, {n: s.department for n, s in sources.items()}, source_priority
    )
    gated, privacy = enforce_k_anonymity(persons.drop(columns="status"), **gate)
    kept = set(gated["person_key"])

    suppressed: dict[str, int] = {}
    lineage: dict[str, Lineage] = {}
    facts: dict[str, list[pd.DataFrame]] = {}
    for name, source in sources.items():
        frame = source.frame
        if "person_key" in frame.columns:
            gone = ~frame["person_key"].isin(kept)
            suppressed[name] = int(gone.sum())
            frame = frame[~gone]
        else:
            suppressed[name] = 0
        if roles[name] == EntityRole.ROSTER:
            lineage[name] = Lineage.of_persons(frame["person_key"])
            continue
        table = entity(source.entity).table
        if table is None:
            raise ValueError(f"source {name}: entity {source.entity} names no published table")
        facts.setdefault(table, []).append(frame.assign(source=name))
        lineage[name] = Lineage.of_rows(table, name)
    dim_person = published_person(gated)
    tables = build_unified_dataset(
        {
            "dim_person": dim_person,
            "branch_status": branch_status(persons),
            **{t: pd.concat(f, ignore_index=True) for t, f in facts.items()},
        },
        branches=_branches(dim_person, persons),
    )
    members = persons.loc[persons["status"].isin(PARTY_MEMBER_STATUSES), "person_key"]
    tables.update(
        compute_indicators(
            tables, as_of=as_of, inactive_months=inactive_months, party_members=members
        )
    )
    tables["data_dictionary"] = data_dictionary(tables)
    return AssembledDataset(
        tables=tables,
        privacy=privacy,
        suppressed=suppressed,
        lineage=lineage,
        birth_date_conflicts=conflicts,
    )
