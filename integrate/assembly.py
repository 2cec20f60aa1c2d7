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

from anonymize.hierarchy import TOP as GENERALISED_AWAY
from domain import EntityRole, Status, entity
from integrate.accounting import Lineage
from integrate.data_dictionary import data_dictionary
from integrate.indicators import compute_indicators
from integrate.person_table import branch_status, build_person_table, published_person
from integrate.unified_dataset import TABLE_COLUMNS, build_unified_dataset

__all__ = ["FACT_INPUTS", "AssembledDataset", "LinkedSource", "assemble_dataset", "source_columns"]

#: what assembly reads of a fact source besides its table's columns: the person, and
#: what the statistics tier and the attack's facts are made of
FACT_INPUTS = ("person_key", "attendance", "meeting_date", "branch_id", "dues_month", "course_id")


def source_columns(entity_name: str, available: Sequence[str]) -> list[str] | None:
    """The columns of a linked source that :func:`assemble_dataset` reads (in the order
    of ``available``): a fact source's published table's columns and :data:`FACT_INPUTS`
    — never its tokens or encodings; None (all) for a roster, which makes the persons."""
    if entity(entity_name).role == EntityRole.ROSTER:
        return None
    table = entity(entity_name).table
    if table is None:
        return None
    wanted = {*TABLE_COLUMNS[table], *FACT_INPUTS}
    return [c for c in available if c in wanted]


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
    #: the re-identification attack simulated on this publication (None: not configured)
    attack: dict[str, Any] | None = None
    #: the statistics tier's protection (None: no statistics tier configured)
    statistics: dict[str, Any] | None = None


def _branches(dim_person: pd.DataFrame, persons: pd.DataFrame) -> pd.DataFrame | None:
    """dim_branch's rows: each branch's college as published in dim_person (after the
    privacy gate) and its name from the rosters (an organisational name, not personal).
    A branch generalised away (``*``) is no branch: persons published without theirs
    are not a row here."""
    if "branch_name" not in persons.columns or "branch_id" not in dim_person.columns:
        return None
    names = (
        persons.dropna(subset=["branch_id", "branch_name"])
        .drop_duplicates("branch_id")
        .set_index("branch_id")["branch_name"]
    )
    base = dim_person[["branch_id", "college"]].dropna(subset=["branch_id"])
    base = base[base["branch_id"] != GENERALISED_AWAY].drop_duplicates("branch_id")
    return base.assign(branch_name=base["branch_id"].map(names))


def assemble_dataset(
    sources: Mapping[str, LinkedSource],
    *,
    gate: Mapping[str, Any],
    source_priority: Sequence[str] = (),
    as_of: date | None = None,
    attack: Any = None,
    statistics: Any = None,
    inactive_months: int = 3,
) -> AssembledDataset:
    """Gate, conform and derive the tables of a publication from linked sources.

    ``gate``: keyword arguments of the person dimension's gate — with ``method: local``
    :func:`anonymize.recode_locally`, else :func:`anonymize.enforce_k_anonymity`.
    ``attack`` (an ``AttackConfig``) runs the re-identification attack on the result and
    refuses (``PrivacyThresholdError``) above its threshold; ``statistics`` (a
    ``StatisticsConfig``) adds the statistics tier, computed before any generalisation.
    Sources are taken in the given order (it decides attribute precedence).
    ``inactive_months``: the window of ``inactive_members`` (party members only).
    """
    from anonymize import enforce_k_anonymity
    from anonymize.local_gate import recode_locally

    roles = {name: entity(s.entity).role for name, s in sources.items()}
    rosters = {n: s.frame for n, s in sources.items() if roles[n] == EntityRole.ROSTER}
    persons, conflicts = build_person_table(
        rosters, {n: s.department for n, s in sources.items()}, source_priority
    )
    gate = dict(gate)
    local = gate.pop("method", "datafly") == "local"
    if local:
        gated, privacy = recode_locally(persons.drop(columns="status"), **gate)
    else:
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
    dim_person = published_person(
        gated, joined_gated=local and "joined_year" in gate["quasi_identifiers"]
    )
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
    stats_facts = None
    if statistics is not None:
        tier = _statistics(sources, roles, persons, statistics, as_of)
        tables.update(tier.tables)
        stats_facts = tier.protection
    attack_facts = None
    if attack is not None:
        attack_facts = _attack(sources, roles, persons, gated, tables, attack, gate)
    tables["data_dictionary"] = data_dictionary(tables)
    return AssembledDataset(
        tables=tables,
        privacy=privacy,
        suppressed=suppressed,
        lineage=lineage,
        birth_date_conflicts=conflicts,
        attack=attack_facts,
        statistics=stats_facts,
    )


def _frames_of(sources: Mapping[str, LinkedSource], roles, entity_name: str) -> pd.DataFrame:
    frames = [s.frame for n, s in sources.items() if s.entity == entity_name]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def _statistics(sources, roles, persons: pd.DataFrame, config: Any, as_of: date | None):
    from integrate.statistics import statistics_tier

    attendance = _frames_of(sources, roles, "attendance")
    if attendance.empty:
        attendance = pd.DataFrame({"person_key": [], "attendance": []})
    return statistics_tier(
        persons,
        attendance,
        as_of=as_of or date.today(),  # noqa: DTZ011 - a calendar date, as the run's as_of
        threshold=config.threshold,
        epsilon=config.epsilon,
        max_records_per_person=config.max_records_per_person,
    )


def _facts(frames: Mapping[str, pd.DataFrame], kinds: Sequence[str]) -> pd.DataFrame:
    """(person_key, fact) pairs an adversary may know, from fact frames by kind."""
    parts = []
    att = frames.get("attendance")
    if "attendance" in kinds and att is not None and not att.empty:
        att = att[att["attendance"] == "present"]
        day = pd.to_datetime(att["meeting_date"]).dt.strftime("%Y-%m-%d")
        parts.append(
            pd.DataFrame(
                {
                    "person_key": att["person_key"],
                    "fact": "attendance|" + att["branch_id"].astype("string") + "|" + day,
                }
            )
        )
    dues = frames.get("dues")
    if "dues" in kinds and dues is not None and not dues.empty:
        parts.append(
            pd.DataFrame(
                {
                    "person_key": dues["person_key"],
                    "fact": "dues|" + dues["dues_month"].astype("string"),
                }
            )
        )
    study = frames.get("course")
    if "course" in kinds and study is not None and not study.empty:
        parts.append(
            pd.DataFrame(
                {
                    "person_key": study["person_key"],
                    "fact": "course|" + study["course_id"].astype("string"),
                }
            )
        )
    if not parts:
        return pd.DataFrame(
            {"person_key": pd.Series(dtype="string"), "fact": pd.Series(dtype="string")}
        )
    return pd.concat(parts, ignore_index=True).dropna()


def _attack(sources, roles, persons, gated, tables, config: Any, gate: Mapping[str, Any]):
    from anonymize import PrivacyThresholdError
    from anonymize.attack import simulate_attack

    published = _facts(
        {
            "attendance": tables.get("fact_attendance"),
            "dues": tables.get("fact_dues"),
            "course": tables.get("fact_study"),
        },
        config.facts,
    )
    population = _facts(
        {
            "attendance": _frames_of(sources, roles, "attendance"),
            "dues": _frames_of(sources, roles, "dues"),
            "course": _frames_of(sources, roles, "study"),
        },
        config.facts,
    )
    ladders = dict(gate.get("ladders", {}))
    report = simulate_attack(
        gated,
        persons,
        known=config.known,
        published_facts=published,
        population_facts=population,
        ladders=ladders,
        max_facts=config.max_facts,
        targets=config.targets,
        seed=config.seed,
        threshold=config.max_singled_out,
        threshold_without_facts=config.max_singled_out_without_facts,
        fact_kinds=config.facts,
    )
    facts = report.as_dict()
    if report.refused:
        raise PrivacyThresholdError(
            f"publication refused by the re-identification attack: "
            f"{report.max_singled_out:.1%} of targets singled out with the facts, "
            f"{report.singled_out_without_facts:.1%} by their quasi-identifiers alone "
            f"(thresholds {config.max_singled_out:.1%} and "
            f"{config.max_singled_out_without_facts:.1%})",
            facts,
        )
    return facts
