"""The plan stage: check everything a run needs before a byte is written, and decide
which sources are extracted afresh and which are carried over from the last publication.

A publication always holds every configured source: a partial or intake run extracts
the named sources and carries the others from the run behind the current version
(their files are linked into this run's folder). A source that cannot be carried —
nothing published yet, or its files no longer retained — is extracted afresh.
"""

from __future__ import annotations

import logging
import os
from datetime import UTC, date, datetime
from pathlib import Path

from integrate.publish import read_current_version
from islandbridge.context import RunContext, context_from
from islandbridge.errors import StageRefused
from islandbridge.run_layout import (
    CARRIED_FILES,
    PublicationRecord,
    RunPlan,
    read_result,
    write_result,
)

__all__ = ["check_secrets", "plan", "previous_publication", "run_context"]

log = logging.getLogger(__name__)


def check_secrets(ctx: RunContext, *, sources: list[str] | None = None, reach: bool = False) -> str:
    """Run the checks (:mod:`islandbridge.checks`: the configuration at file:line, every
    secret present, strong and owner-only; with ``reach``, the ``sources`` — all when
    None — reached, their problems logged as warnings: a source's own chain fails and the
    others are published), check that secret files and folders are owner-only with no
    world-writable folder above (the trust store too), then load every secret a run uses
    (keyring, signing key, vault location, the ledger's anchor store, a PostgreSQL
    target's URL) or fail before anything is written; returns the active token key id."""
    from islandbridge.anchors import publication_anchor
    from islandbridge.checks import require_checks
    from islandbridge.secret_checks import check_secret_files
    from islandbridge.secrets import (
        SecretError,
        load_run_keyring,
        load_signing_key,
        vault_location,
    )

    check_secret_files(ctx)  # owner-only places, no world-writable folder above; trust store
    keyring = load_run_keyring(ctx)
    load_signing_key(ctx)
    vault_location(ctx)
    publication_anchor(ctx).close()  # the ledger's anchor store can be reached
    target = ctx.config.publish.postgres
    if target is not None and not os.environ.get(target.url_env):
        raise SecretError(f"PostgreSQL target: environment variable {target.url_env} is not set")
    require_checks(  # the rest: configuration at file:line, strength, sources (warnings)
        ctx.data_dir, ctx.config_path, sources=sources, reach=reach, sources_block="none"
    )
    return keyring.active_id


def previous_publication(ctx: RunContext) -> PublicationRecord | None:
    """The record of the current publication (which run holds its sources), if any."""
    version = read_current_version(ctx.publish_root)
    if version is None:
        return None
    path = ctx.data.publication_record(version)
    if not path.is_file():
        log.warning("version %s has no publication record here: nothing can be carried", version)
        return None
    return read_result(PublicationRecord, path)


def _carriable(ctx: RunContext, previous: PublicationRecord, source: str) -> bool:
    if source not in previous.sources:
        return False
    run = ctx.data.run(previous.run_id)
    return all(run.source_file(kind, source).is_file() for kind in CARRIED_FILES)


def _partitions(ctx: RunContext, fresh: list[str], notes: list[str]) -> dict[str, list]:
    """The fresh sources above their size threshold, split (:mod:`connectors.partitions`);
    a source whose size cannot be found is read whole (its extraction reports why)."""
    from connectors import SourceError, plan_partitions

    out = {}
    extract = None
    for name in fresh:
        settings = ctx.config.partition_settings(name)
        if not (settings.max_rows or settings.max_bytes):
            continue
        extract = extract or ctx.extract_context()
        try:
            parts, how = plan_partitions(ctx.config.source(name), extract, settings)
        except SourceError as exc:
            notes.append(f"{name}: not split ({exc.problem}); read whole")
            continue
        if parts:
            out[name] = [p.model_dump(mode="json") for p in parts]
            notes.append(f"{name}: split into {how}")
    return out


def _started_at(ctx: RunContext, logical: datetime | None) -> str:
    """The run's start: its logical time, else that of an earlier plan of the same run (a
    retried plan keeps it), else now."""
    if logical is not None:
        return logical.astimezone(UTC).isoformat(timespec="seconds")
    if ctx.layout.plan.is_file():
        return read_result(RunPlan, ctx.layout.plan).started_at
    return datetime.now(UTC).isoformat(timespec="seconds")


def plan(
    params: dict,
    run_id: str,
    run_date: date | None,
    *,
    kind: str | None = None,
    drops: dict[str, list[dict[str, str]]] | None = None,
    logical: datetime | None = None,
) -> dict:
    """Validate configuration and secrets, choose fresh and carried sources; the RunPlan.

    ``params``: ``data_dir``, ``config``, ``sources`` (extract only these; empty: all),
    ``allow_shrink`` (the steward's override of the shrink guard). ``logical``: the run's
    logical time (Airflow), recorded as when the run started.
    """
    ctx = context_from(params, run_id, run_date or date.today())  # noqa: DTZ011
    names = [s.name for s in ctx.config.sources]
    wanted = list(params.get("sources") or [])
    unknown = sorted(set(wanted) - set(names))
    if unknown:
        raise StageRefused(f"unknown sources {unknown}; known: {names}")
    key_id = check_secrets(ctx, sources=wanted or None, reach=True)
    fresh = [n for n in names if not wanted or n in wanted]
    previous = previous_publication(ctx)
    notes = []
    for name in names:
        if name in fresh:
            continue
        if previous is None:
            notes.append(f"{name}: nothing published yet to carry over; extracted")
            fresh.append(name)
        elif not _carriable(ctx, previous, name):
            notes.append(
                f"{name}: its data of run {previous.run_id} is no longer retained; extracted"
            )
            fresh.append(name)
    fresh = [n for n in names if n in fresh]
    partitions = _partitions(ctx, fresh, notes)
    run = RunPlan(
        run_id=run_id,
        data_dir=str(ctx.data_dir),
        config_path=str(ctx.config_path or ""),
        run_date=ctx.run_date.isoformat(),
        started_at=_started_at(ctx, logical),
        kind=kind or ("partial" if wanted else "scheduled"),  # type: ignore[arg-type]
        sources=names,
        fresh=fresh,
        previous=previous,
        key_id=key_id,
        allow_shrink=bool(params.get("allow_shrink")),
        drops=drops or {},
        notes=notes,
        partitions=partitions,
    )
    for note in notes:
        log.info("plan: %s", note)
    layout = ctx.layout.create()
    return write_result(run, layout.plan)


def run_context(run: dict | RunPlan) -> tuple[RunPlan, RunContext]:
    """The plan (from its XCom JSON) and the run's context."""
    plan_ = run if isinstance(run, RunPlan) else RunPlan.model_validate(run)
    ctx = RunContext(
        data_dir=Path(plan_.data_dir),
        config_path=Path(plan_.config_path) if plan_.config_path else None,
        run_id=plan_.run_id,
        run_date=date.fromisoformat(plan_.run_date),
    )
    return plan_, ctx
