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
from typing import TYPE_CHECKING

from islandbridge.io import read_parquet, write_parquet
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


def link(run: dict) -> dict:
    """Link every source that has data; writes linked rows, link quarantine, the index and
    the LinkResult; returns a compact summary (persons, each source's status) for XCom."""
    from domain import EntityRole, entity
    from integrate.linkage_plan import SourceLinkage, link_sources
    from integrate.rejected_persons import relabel_rejected_persons

    plan, ctx = run_context(run)
    layout, config = ctx.layout, ctx.config
    statuses = source_statuses(plan)
    present = [s for s in plan.sources if statuses[s].status != "failed" or statuses[s].carried]
    frames = {s: (config.source(s).entity, read_parquet(layout.tokens(s))) for s in present}
    outcome = link_sources(frames, linkage_rules(config.linkage))
    rejected = [
        read_parquet(layout.rejected_keys(s)) for s in present if layout.rejected_keys(s).is_file()
    ]
    sources = dict(outcome.sources)
    for name, linkage in outcome.sources.items():
        if entity(config.source(name).entity).role == EntityRole.ACTIVITY:
            quarantined, _ = relabel_rejected_persons(linkage.quarantined, rejected)
            sources[name] = SourceLinkage(linkage.linked, quarantined)
    write_parquet(outcome.index.persons, layout.persons)
    _seal_person_keys(ctx, outcome.index.persons, frames)
    for name, linkage in sources.items():
        write_parquet(linkage.linked, layout.linked(name))
        write_parquet(linkage.quarantined, layout.link_quarantine(name))
    result = LinkResult(
        persons=len(outcome.index.persons),
        index=outcome.index.stats,
        sources={name: linkage.counts() for name, linkage in sources.items()},
        status=statuses,
    )
    failed = [s for s, st in statuses.items() if st.status == "failed"]
    if failed:
        log.warning("sources that failed in this run: %s", ", ".join(failed))
    write_result(result, layout.result("link"))
    return {"persons": result.persons, "status": {s: st.status for s, st in statuses.items()}}
