"""The publish stage: assemble, account, guard and publish one signed version.

Reads the run's plan, link result, per-source results and linked rows once each;
assembles the tables (:func:`integrate.assembly.assemble_dataset`); counts every
source's published rows in the tables as they will be written and checks the row
accounting (:mod:`integrate.accounting`); refuses a version that drops a source or a
table, or shrinks a table beyond ``publish.max_shrink``, unless the plan carries the
steward's override (recorded in the manifest); publishes atomically on top of the
version the run started from; records which run holds the version's sources; and
only then advances the watermarks of the sources extracted in this run.
"""

from __future__ import annotations

import logging
import shutil
from importlib.metadata import version as package_version
from pathlib import Path

import pyarrow.parquet as pq

from islandbridge.errors import PublishRefused
from islandbridge.io import read_parquet
from islandbridge.run_layout import (
    ExtractResult,
    LinkResult,
    PublicationRecord,
    PublishOutcome,
    RunLayout,
    ValidateResult,
    read_result,
    write_result,
)
from islandbridge.stages.plan import run_context

__all__ = ["publish"]

log = logging.getLogger(__name__)


def _footer_rows(path: Path) -> int:
    """Rows of a Parquet file from its footer (no data read); 0 when there is none."""
    return pq.ParquetFile(path).metadata.num_rows if path.is_file() else 0


def _file_counts(
    layout: RunLayout, source: str, extracted: ExtractResult, validated: ValidateResult
):
    from integrate.accounting import SourceFileCounts

    return SourceFileCounts(
        landed=extracted.rows,
        carried_rows=validated.carried_rows,
        refused_input_rows=sum(r.rows for r in extracted.refused),
        refused_quarantined=_footer_rows(layout.refused_quarantine(source)),
        quality_quarantined=_footer_rows(layout.quality_quarantine(source)),
        link_quarantined=_footer_rows(layout.link_quarantine(source)),
        linked=_footer_rows(layout.linked(source)),
    )


def _linked_source(layout: RunLayout, spec):
    """A source's linked rows for assembly: a roster's read (it makes the persons), a
    fact source's file (streamed by assembly, only the columns it reads)."""
    from domain import EntityRole, entity
    from integrate.assembly import LinkedSource

    path = layout.linked(spec.name)
    if entity(spec.entity).role == EntityRole.ROSTER:
        return LinkedSource(spec.entity, spec.department, frame=read_parquet(path))
    return LinkedSource(spec.entity, spec.department, path=path)


def _rejects(extracted: ExtractResult, validated: ValidateResult, linked: dict) -> dict[str, int]:
    counts: dict[str, int] = {}
    for part in (validated.reasons, linked.get("reasons", {})):
        for reason, n in part.items():
            counts[reason] = counts.get(reason, 0) + int(n)
    for refused in extracted.refused:
        counts[refused.reason] = counts.get(refused.reason, 0) + refused.rows
    return dict(sorted(counts.items()))


def _refuse(layout: RunLayout, message: str, **facts: object) -> None:
    write_result(
        PublishOutcome(status="refused", message=message, **facts),  # type: ignore[arg-type]
        layout.result("publish"),
    )
    raise PublishRefused(message)


def publish(run: dict) -> dict:
    """Build, check and publish the run's dataset; the publication's outcome. The fact
    tables are written into the run's ``work/publishing`` folder, removed afterwards."""
    plan, ctx = run_context(run)
    linked = read_result(LinkResult, ctx.layout.result("link"))
    present = [s for s in plan.sources if s in linked.sources]
    missing = [s for s in plan.sources if s not in present]
    workdir = ctx.layout.zone("work") / "publishing"
    shutil.rmtree(workdir, ignore_errors=True)
    try:
        return _publish(plan, ctx, linked, present, missing, workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _publish(plan, ctx, linked, present, missing, workdir: Path) -> dict:
    from connectors import commit_watermarks
    from integrate.accounting import published_rows, row_accounting
    from integrate.assembly import assemble_dataset
    from integrate.fact_files import PublishedFile
    from integrate.manifest import publication_facts
    from integrate.postgres_target import publish_to_postgres
    from integrate.publish import prepare_tables, publish_dataset, read_current_manifest
    from integrate.shrink_guard import shrinkage
    from islandbridge.anchors import publication_anchor
    from islandbridge.io import BATCH_ROWS
    from islandbridge.secrets import load_signing_key
    from islandbridge.settings import privacy_policy, quality_config

    layout, config = ctx.layout, ctx.config
    extracted = {s: read_result(ExtractResult, layout.result("extract", s)) for s in present}
    validated = {s: read_result(ValidateResult, layout.result("validate", s)) for s in present}
    specs = {s: config.source(s) for s in present}
    policy = privacy_policy(ctx)
    member_gate = policy.gate("member")
    assembled = assemble_dataset(
        {s: _linked_source(layout, specs[s]) for s in present},
        gate=member_gate.kwargs(),
        source_priority=quality_config(ctx).source_priority,
        as_of=ctx.as_of,
        attack=member_gate.attack,
        statistics=policy.statistics,
        inactive_months=ctx.config.report.inactive_months,
        workdir=workdir,
        batch_rows=min(BATCH_ROWS, 100_000),
    )
    prepared = prepare_tables(assembled.tables)
    accounting = row_accounting(
        {s: _file_counts(layout, s, extracted[s], validated[s]) for s in present},
        assembled.suppressed,
        published_rows(prepared.arrow, assembled.lineage),
    )
    rejects = {s: _rejects(extracted[s], validated[s], linked.sources[s]) for s in present}
    root = ctx.publish_root
    current = read_current_manifest(root) or {}
    shrunk = shrinkage(
        {t: int(e["rows"]) for t, e in current.get("tables", {}).items()},
        {t: int(e["rows"]) for t, e in prepared.entries.items()},
        max_loss=config.publish.max_shrink,
    )
    problems = [f"source {s} has no data in this run or an earlier publication" for s in missing]
    problems += [str(found) for found in shrunk]
    facts = {"row_accounting": accounting, "shrink": [f.as_dict() for f in shrunk]}
    if problems and not plan.allow_shrink:
        _refuse(
            layout,
            "publication refused: "
            + "; ".join(problems)
            + " — if this is intended, run again with the override "
            "(islandbridge run --allow-shrink, or DAG param allow_shrink)",
            **facts,
        )
    override = (
        {"tables": [f.as_dict() for f in shrunk], "missing_sources": missing} if problems else None
    )
    privacy_facts = {
        "dim_person": assembled.privacy.as_dict(),
        **({"attack": assembled.attack} if assembled.attack else {}),
        **({"statistics": assembled.statistics} if assembled.statistics else {}),
    }
    manifest = publication_facts(
        university=config.university,
        as_of=ctx.as_of.isoformat(),
        sources={
            s: {"origin": extracted[s].origin.to_json(), "inputs": extracted[s].inputs}
            for s in present
        },
        row_accounting=accounting,
        rejects=rejects,
        birth_date_conflicts=assembled.birth_date_conflicts,
        linkage=linked.index,
        privacy=privacy_facts,
        key_id=plan.key_id,
        code_version=package_version("islandbridge"),
        shrink_override=override,
    )
    anchor = publication_anchor(ctx)
    try:
        result = publish_dataset(
            prepared,
            root=root,
            manifest=manifest,
            signing_key=load_signing_key(ctx),
            expect_current=plan.previous.version if plan.previous else None,
            anchor=anchor,
        )
    finally:
        anchor.close()
    target = config.publish.postgres
    if target is not None:
        publish_to_postgres(
            {
                n: t.frame() if isinstance(t, PublishedFile) else t
                for n, t in assembled.tables.items()
            },
            _target_url(target.url_env),
            schema=target.schema_name,
            analyst_role=target.analyst_role,
            version=result.version,
        )
    record = PublicationRecord(
        version=result.version,
        run_id=plan.run_id,
        key_id=plan.key_id,
        sources={s: extracted[s].origin for s in present},
    )
    write_result(record, ctx.data.publication_record(result.version))
    # only now, with the version published, may incremental sources move on
    commit_watermarks(ctx.watermark_store, [extracted[s] for s in present if s in plan.fresh])
    outcome = PublishOutcome(
        status="published",
        version=result.version,
        path=str(root / "current"),
        tables={n: e["rows"] for n, e in prepared.entries.items()},
        row_accounting=accounting,
        rejects=rejects,
        privacy=privacy_facts,
        shrink=facts["shrink"],
        shrink_overridden=bool(override),
        key_id=plan.key_id,
    )
    log.info("published version %s (%d tables)", result.version, len(prepared.entries))
    return write_result(outcome, layout.result("publish"))


def _target_url(env_name: str) -> str:
    import os

    from islandbridge.secrets import SecretError

    url = os.environ.get(env_name)
    if not url:
        raise SecretError(f"PostgreSQL target: environment variable {env_name} is not set")
    return url
