"""The link stage: who is who across departments, on tokens only.

It runs once every source's chain has finished, whatever its outcome. A source whose
chain failed in this run is carried over from the last publication (tokenised again
under the active key if needed) and marked ``failed``; one that no publication holds
is left out and marked ``failed`` without data (publish then refuses, unless the
steward overrides). The linkage itself is :func:`integrate.linkage_plan.link_sources`.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd
import pyarrow.parquet as pq

from islandbridge.io import (
    ParquetSink,
    empty_frame,
    iter_parquet,
    parquet_columns,
    read_parquet,
    write_parquet,
)
from islandbridge.run_layout import (
    ExtractResult,
    LinkResult,
    RunPlan,
    SourceStatus,
    read_result,
    write_result,
)
from islandbridge.stages.plan import run_context
from islandbridge.stages.sources import carried_tokens, carry

if TYPE_CHECKING:
    from integrate.linkage_plan import LinkageRules
    from islandbridge.config import LinkageConfig

__all__ = ["link", "linkage_rules", "source_statuses"]

log = logging.getLogger(__name__)


def _failure_of(plan: RunPlan, source: str) -> str:
    _, ctx = run_context(plan)
    path = ctx.layout.failures
    found = ""
    if path.is_file():
        for line in path.read_text(encoding="utf-8").splitlines():
            entry = json.loads(line)
            if entry.get("source") == source:
                found = f"{entry['stage']}: {entry['problem']}"
    return found or "its tasks did not finish"


def _recover(plan: RunPlan, source: str) -> SourceStatus:
    """A source whose chain failed: carried from the last publication when possible."""
    problem = _failure_of(plan, source)
    if plan.previous is None or source not in plan.previous.sources:
        return SourceStatus(source=source, status="failed", carried=False, problem=problem)
    try:
        result = carry(plan, source)
        carried_tokens(plan, source)
    except Exception as exc:  # any failure to recover leaves the source out
        log.warning("source %s: cannot be carried over (%s)", source, type(exc).__name__)
        return SourceStatus(source=source, status="failed", carried=False, problem=problem)
    return SourceStatus(
        source=source, status="failed", carried=True, origin=result.origin, problem=problem
    )


def source_statuses(plan: RunPlan) -> dict[str, SourceStatus]:
    """How each source stands after its chain: fresh, carried, or failed (± carried)."""
    _, ctx = run_context(plan)
    out = {}
    for source in plan.sources:
        if ctx.layout.result("pseudonymise", source).is_file():
            extracted = read_result(ExtractResult, ctx.layout.result("extract", source))
            out[source] = SourceStatus(
                source=source,
                status=extracted.mode,
                carried=extracted.mode == "carried",
                origin=extracted.origin,
            )
        else:
            out[source] = _recover(plan, source)
    return out


def linkage_rules(config: LinkageConfig) -> LinkageRules:
    """The configured linkage as the library's rules."""
    from integrate.linkage_plan import FallbackRule, LinkageRules

    return LinkageRules(
        name_check=config.name_check,
        name_threshold=config.name_threshold,
        fallback={
            name: FallbackRule(
                on=tuple(f.on),
                block_on=f.block_on,
                threshold=f.threshold,
                ambiguity_margin=f.ambiguity_margin,
            )
            for name, f in config.fallback.items()
        },
    )


_CONTACT_TOKENS = ("name_token", "mobile_token")


def _seal_person_keys(ctx, persons, frames) -> None:
    """person_key → the person's ID-number, name and mobile tokens into the vault, so that
    a steward can re-identify a published person_key (``islandbridge reidentify P…``) and
    reach an inactive member (``islandbridge remind``). Contacts: the first roster (in
    configuration order) that has them."""
    import pandas as pd

    from anonymize import Vault
    from domain import EntityRole, entity
    from integrate.person_index import person_keys_for
    from islandbridge.secrets import load_run_keyring, vault_location

    contacts = []
    for kind, frame in frames.values():
        columns = [c for c in _CONTACT_TOKENS if c in frame.columns]
        if entity(kind).role != EntityRole.ROSTER or not columns:
            continue
        part = frame[["id_number_token", *columns]].dropna(subset=["id_number_token"])
        contacts.append(part.assign(person_key=person_keys_for(part["id_number_token"])))
    table = persons[["person_key", "id_number_token"]]
    if contacts:
        found = pd.concat(contacts, ignore_index=True).groupby("person_key", sort=False).first()
        table = table.join(
            found[[c for c in _CONTACT_TOKENS if c in found.columns]], on="person_key"
        )
    keyring = load_run_keyring(ctx)
    with Vault(vault_location(ctx), keyring) as vault:
        vault.store_person_keys(
            table["person_key"], table["id_number_token"], table.drop(columns=["person_key"])
        )


def _roster_columns(path: Path, attributes: tuple[str, ...]) -> list[str]:
    """A roster's columns that the person index and the person keys' contacts read."""
    from integrate.person_index import KEY_DOMAINS

    return [
        c
        for c in parquet_columns(path)
        if c in KEY_DOMAINS or c.endswith("_bloom") or c in attributes or c in _CONTACT_TOKENS
    ]


def _link_activity(name: str, path: Path, index, rules, calendar, out: ParquetSink):
    """An activity source linked batch by batch, its linked rows streamed to ``out``;
    its quarantine (in the order of a whole-source run)."""
    from integrate.linkage_plan import (
        KEY_PASS_COLUMNS,
        activity_quarantine,
        empty_activity,
        key_columns,
        link_activity_part,
    )

    keys = key_columns(iter_parquet(path, KEY_PASS_COLUMNS), calendar)
    no_events, quarantined = [], []
    for batch in iter_parquet(path):
        if batch.empty:  # a source without rows (its only export refused): its one batch
            linkage = empty_activity(batch)
            out.write(linkage.linked)
            return linkage.quarantined
        part = link_activity_part(name, batch, index, rules, calendar, keys)
        out.write(part.linked)
        no_events.append(part.no_event)
        quarantined.append(part.quarantined)
        del batch, part  # a batch's rows are not held past its turn
    return activity_quarantine(empty_frame(path), no_events, quarantined)


def _link_roster(path: Path, index, out: ParquetSink):
    from integrate.linkage_plan import link_roster

    quarantined = []
    for batch in iter_parquet(path):
        linkage = link_roster(batch, index)
        out.write(linkage.linked)
        quarantined.append(linkage.quarantined)
    return pd.concat(quarantined, ignore_index=True)


def link(run: dict) -> dict:
    """Link every source that has data; writes linked rows, link quarantine, the index and
    the LinkResult; returns a compact summary (persons, each source's status) for XCom.

    Memory: rosters are read for the index only in the columns it needs; then one
    source at a time, in batches (:func:`islandbridge.io.iter_parquet`), its linked rows
    streamed to their file — never every source's tokens at once."""
    from domain import EntityRole, entity
    from integrate.linkage_plan import calendar_linkage, linkage_counts
    from integrate.person_index import build_person_index
    from integrate.rejected_persons import relabel_rejected_persons

    plan, ctx = run_context(run)
    layout, config = ctx.layout, ctx.config
    statuses = source_statuses(plan)
    present = [s for s in plan.sources if statuses[s].status != "failed" or statuses[s].carried]
    rules = linkage_rules(config.linkage)
    kinds = {s: config.source(s).entity for s in present}
    roles = {s: entity(kinds[s]).role for s in present}
    rosters = {
        s: (
            kinds[s],
            read_parquet(layout.tokens(s), _roster_columns(layout.tokens(s), rules.attributes)),
        )
        for s in present
        if roles[s] == EntityRole.ROSTER
    }
    if not rosters:
        raise ValueError("no roster source in this run: nobody to link activity records to")
    index = build_person_index([f for _, f in rosters.values()], attributes=rules.attributes)
    _seal_person_keys(ctx, index.persons, rosters)
    del rosters  # the index holds what linkage needs of them
    held = {s: read_parquet(layout.tokens(s)) for s in present if roles[s] == EntityRole.CALENDAR}
    calendars: dict[str, list[pd.DataFrame]] = {}
    for s, frame in held.items():
        calendars.setdefault(kinds[s], []).append(frame)
    rejected = [
        read_parquet(layout.rejected_keys(s)) for s in present if layout.rejected_keys(s).is_file()
    ]
    counts: dict[str, dict] = {}
    for name in present:
        path = layout.tokens(name)
        with ParquetSink(layout.linked(name), pq.read_schema(path)) as out:
            if roles[name] == EntityRole.ROSTER:
                quarantined = _link_roster(path, index, out)
            elif roles[name] == EntityRole.CALENDAR:
                linkage = calendar_linkage(held[name])
                out.write(linkage.linked)
                quarantined = linkage.quarantined
            else:
                wanted = entity(kinds[name]).calendar
                calendar = (
                    pd.concat(calendars[wanted], ignore_index=True)
                    if wanted and wanted in calendars
                    else None
                )
                quarantined = _link_activity(name, path, index, rules, calendar, out)
                quarantined, _ = relabel_rejected_persons(quarantined, rejected)
        write_parquet(quarantined, layout.link_quarantine(name))
        counts[name] = linkage_counts(out.rows, quarantined)
        log.info("linkage %s: %s", name, counts[name])
    write_parquet(index.persons, layout.persons)
    result = LinkResult(
        persons=len(index.persons),
        index=index.stats,
        sources=counts,
        status=statuses,
    )
    failed = [s for s, st in statuses.items() if st.status == "failed"]
    if failed:
        log.warning("sources that failed in this run: %s", ", ".join(failed))
    write_result(result, layout.result("link"))
    return {"persons": result.persons, "status": {s: st.status for s, st in statuses.items()}}
