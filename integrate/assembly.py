"""From linked sources to the tables of one publication.

The rosters form the person dimension, which passes the privacy gate; the facts of
every person the gate suppressed are left out (and counted per source); each
source's rows go to the published table its entity names (``domain.Entity.table``);
indicators and the data dictionary are derived from the result. Every source keeps
a *lineage* — how its published rows are found again in the written tables — so the
row accounting counts what was written (:mod:`integrate.accounting`).
"""

from __future__ import annotations

import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from anonymize.hierarchy import TOP as GENERALISED_AWAY
from domain import EntityRole, Status, entity
from integrate.accounting import Lineage
from integrate.data_dictionary import data_dictionary
from integrate.fact_files import (
    FactPart,
    PublishedFile,
    duckdb_connection,
    empty_frame,
    read_conformed,
    write_fact_table,
)
from integrate.fact_summaries import attendance_per_person, summarise_attendance_file
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
    """One source's linked rows (``person_key`` set where its entity has persons): a
    roster's as a frame; a fact source's as a frame or, read by streaming, its linked
    Parquet file (``path``)."""

    entity: str
    department: str
    frame: pd.DataFrame | None = None
    path: Path | None = None


@dataclass(frozen=True)
class AssembledDataset:
    #: table → frame, or the file a fact table was written to
    tables: dict[str, pd.DataFrame | PublishedFile]
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
    workdir: Path | None = None,
    batch_rows: int = 100_000,
) -> AssembledDataset:
    """Gate, conform and derive the tables of a publication from linked sources.

    ``gate``: keyword arguments of the person dimension's gate — with ``method: local``
    :func:`anonymize.recode_locally`, else :func:`anonymize.enforce_k_anonymity`.
    ``attack`` (an ``AttackConfig``) runs the re-identification attack on the result and
    refuses (``PrivacyThresholdError``) above its threshold; ``statistics`` (a
    ``StatisticsConfig``) adds the statistics tier, computed before any generalisation.
    Sources are taken in the given order (it decides attribute precedence).
    ``inactive_months``: the window of ``inactive_members`` (party members only).
    The fact tables are written by streaming (:mod:`integrate.fact_files`) into
    ``workdir`` (default: a new temporary folder), ``batch_rows`` rows at a time, and
    are :class:`~integrate.fact_files.PublishedFile` in the result.
    """
    from anonymize import enforce_k_anonymity
    from anonymize.local_gate import recode_locally

    workdir = Path(tempfile.mkdtemp(prefix="islandbridge-facts-")) if workdir is None else workdir
    workdir.mkdir(parents=True, exist_ok=True)
    roles = {name: entity(s.entity).role for name, s in sources.items()}
    rosters = {n: _frame(s) for n, s in sources.items() if roles[n] == EntityRole.ROSTER}
    persons, conflicts = build_person_table(
        rosters, {n: s.department for n, s in sources.items()}, source_priority
    )
    gate = dict(gate)
    local = gate.pop("method", "datafly") == "local"
    if local:
        gated, privacy = recode_locally(persons.drop(columns="status"), **gate)
    else:
        gated, privacy = enforce_k_anonymity(persons.drop(columns="status"), **gate)
    kept = gated["person_key"].dropna().astype(str).unique()

    con = duckdb_connection(temp_directory=workdir / ".spill")
    con.register("kept_persons", pa.table({"person_key": pa.array(kept, pa.string())}))
    suppressed: dict[str, int] = {}
    lineage: dict[str, Lineage] = {}
    parts: dict[str, list[FactPart]] = {}
    paths: dict[str, Path] = {}  # a fact source's linked file
    for name, source in sources.items():
        if roles[name] == EntityRole.ROSTER:
            frame = rosters[name]
            gone = ~frame["person_key"].isin(set(kept))
            suppressed[name] = int(gone.sum())
            lineage[name] = Lineage.of_persons(frame.loc[~gone, "person_key"])
            continue
        table = entity(source.entity).table
        if table is None:
            raise ValueError(f"source {name}: entity {source.entity} names no published table")
        path = paths[name] = _linked_file(name, source, workdir)
        suppressed[name] = _left_out(con, path)
        parts.setdefault(table, []).append(FactPart(name, path))
        lineage[name] = Lineage.of_rows(table, name)
    dim_person = published_person(
        gated, joined_gated=local and "joined_year" in gate["quasi_identifiers"]
    )
    tables: dict[str, pd.DataFrame | PublishedFile] = dict(
        build_unified_dataset(
            {"dim_person": dim_person, "branch_status": branch_status(persons)},
            branches=_branches(dim_person, persons),
        )
    )
    for table, table_parts in sorted(parts.items()):
        path = workdir / f"{table}.parquet"
        rows = write_fact_table(
            con, table, table_parts, path, kept="kept_persons", batch_rows=batch_rows
        )
        tables[table] = PublishedFile(path, rows)

    def facts(table: str, columns: Sequence[str]) -> pd.DataFrame:
        return read_conformed(con, table, parts.get(table, []), columns, "kept_persons")

    members = persons.loc[persons["status"].isin(PARTY_MEMBER_STATUSES), "person_key"]
    derived = {n: t for n, t in tables.items() if isinstance(t, pd.DataFrame)}
    derived.update({t: facts(t, _INDICATOR_INPUTS[t]) for t in parts if t in _INDICATOR_INPUTS})
    attendance = tables.get("fact_attendance")
    tables.update(
        compute_indicators(
            derived,
            as_of=as_of,
            inactive_months=inactive_months,
            party_members=members,
            attendance=summarise_attendance_file(con, attendance.path)
            if isinstance(attendance, PublishedFile)
            else None,
        )
    )
    del derived
    stats_facts = None
    if statistics is not None:
        attending = [paths[n] for n, s in sources.items() if s.entity == "attendance"]
        tier = _statistics(con, attending, persons, statistics, as_of)
        tables.update(tier.tables)
        stats_facts = tier.protection
    attack_facts = None
    if attack is not None:
        attack_facts = _attack(con, sources, paths, parts, persons, gated, attack, gate)
    con.close()
    tables["data_dictionary"] = data_dictionary(
        {n: empty_frame(n) if isinstance(t, PublishedFile) else t for n, t in tables.items()}
    )
    return AssembledDataset(
        tables=tables,
        privacy=privacy,
        suppressed=suppressed,
        lineage=lineage,
        birth_date_conflicts=conflicts,
        attack=attack_facts,
        statistics=stats_facts,
    )


#: what the indicators read of each fact table (attendance: its summary, by a query)
_INDICATOR_INPUTS = {
    "fact_study": ("person_key", "studied_on", "studied_on_precision"),
    "fact_volunteer": ("person_key", "hours", "served_on", "served_on_precision"),
    "fact_dues": ("person_key", "dues_month", "paid_on", "paid_on_precision"),
}


def _frame(source: LinkedSource) -> pd.DataFrame:
    if source.frame is not None:
        return source.frame
    if source.path is None:
        raise ValueError("a linked source needs its rows: a frame or a file")
    return pd.read_parquet(source.path)


def _linked_file(name: str, source: LinkedSource, workdir: Path) -> Path:
    """The source's linked rows as a Parquet file (a frame given is written first)."""
    if source.path is not None:
        return source.path
    if source.frame is None:
        raise ValueError(f"source {name}: no linked rows (neither a frame nor a file)")
    path = workdir / f"{name}.linked.parquet"
    source.frame.reset_index(drop=True).to_parquet(path, index=False)
    return path


def _left_out(con, path: Path) -> int:
    """Rows of a linked file whose person is not published (none without persons)."""
    if "person_key" not in pq.read_schema(path).names:
        return 0
    file = path.as_posix().replace("'", "''")
    query = (
        f"SELECT count(*) FROM read_parquet('{file}') WHERE person_key IS NULL "
        "OR person_key NOT IN (SELECT person_key FROM kept_persons)"
    )
    return int(con.execute(query).fetchall()[0][0])


def _statistics(con, paths: list[Path], persons: pd.DataFrame, config: Any, as_of: date | None):
    from integrate.statistics import statistics_tier

    return statistics_tier(
        persons,
        per_person=attendance_per_person(con, paths),
        as_of=as_of or date.today(),  # noqa: DTZ011 - a calendar date, as the run's as_of
        threshold=config.threshold,
        epsilon=config.epsilon,
        max_records_per_person=config.max_records_per_person,
    )


def _attack(con, sources, paths, parts, persons, gated, config: Any, gate: Mapping[str, Any]):
    from anonymize import PrivacyThresholdError
    from anonymize.attack import simulate_attack
    from integrate.attack_facts import DuckFacts, fact_relation

    tables = {"attendance": "fact_attendance", "dues": "fact_dues", "course": "fact_study"}
    entities = {"attendance": "attendance", "dues": "dues", "course": "study"}
    published = DuckFacts(
        con,
        fact_relation(
            {k: parts.get(t, []) for k, t in tables.items()}, config.facts, "kept_persons"
        ),
        "published_facts",
    )
    population = DuckFacts(
        con,
        fact_relation(
            {
                k: [FactPart(n, paths[n]) for n, s in sources.items() if s.entity == e]
                for k, e in entities.items()
            },
            config.facts,
            None,
        ),
        "population_facts",
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
