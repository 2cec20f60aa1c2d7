"""The report stage (the run summary, the HTML report, department feedback) and the
run's outcome check.

The report runs whatever link and publish did: the summary says per source whether
its data is fresh, carried over (stale) or failed, whether the publication was made
or refused and why. ``outcome`` then fails the DAG run when anything was degraded,
so a run that published around a failed source is never silently green.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pandas as pd

from islandbridge.errors import StageRefused
from islandbridge.io import iter_parquet, read_parquet, write_json
from islandbridge.run_layout import (
    ExtractResult,
    LinkResult,
    PublishOutcome,
    RunPlan,
    SourceStatus,
    read_result,
)
from islandbridge.stages.plan import run_context

__all__ = ["outcome", "report", "write_feedback"]

log = logging.getLogger(__name__)

_FIELDS = ("in", "accepted", "quarantined", "suppressed", "published")


def _optional(cls, path: Path):
    return read_result(cls, path) if path.is_file() else None


def _landing_rows(path: Path, keys: pd.Series) -> pd.DataFrame:
    """The landed rows whose ``record_key`` is among ``keys`` (the rejected rows), read
    in batches: a source's whole landing file is never held for its few rejected rows."""
    wanted = set(keys.dropna())
    parts = [batch[batch["record_key"].isin(wanted)] for batch in iter_parquet(path)]
    return parts[0] if len(parts) == 1 else pd.concat(parts)


def write_feedback(run: dict | RunPlan) -> dict[str, str]:
    """Each department's own rejected rows of this run, in its own column names and
    encoding, with bilingual reasons — one folder per recipient where the source scopes
    its feedback (each branch secretary gets only their branch) — and a notice for every
    file refused whole. Owner-only (it holds their data). Only sources extracted in this
    run: a carried source got its feedback when it was read."""
    from islandbridge.settings import quality_config
    from quality import write_department_feedback, write_refusal_notice, write_scoped_feedback

    plan, ctx = run_context(run)
    layout = ctx.layout
    catalogue = quality_config(ctx).catalogue
    written: dict[str, str] = {}
    for name in plan.fresh:
        spec = ctx.config.source(name)
        out_dir = ctx.data.department_feedback(spec.department)
        extracted = _optional(ExtractResult, layout.result("extract", name))
        if extracted and extracted.refused:
            refused = {r.location: r.reason for r in extracted.refused}
            notice = write_refusal_notice(
                out_dir, department=name, refused=refused, run_id=layout.run_name
            )
            written[name] = str(notice)
        parts = [read_parquet(p) for p in layout.quarantine_files(name) if p.is_file()]
        rejected = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
        if rejected.empty or not layout.landing(name).is_file():
            continue
        raw = _landing_rows(layout.landing(name), rejected["record_key"])
        keep = [c for c in ("record_key", "reasons", "duplicate_of") if c in rejected.columns]
        own = rejected[keep].merge(raw, on="record_key", how="left").assign(source=name)
        options = {
            "department": name,
            "column_names": {column: column for column in spec.columns},
            "encoding": spec.encoding_for_feedback,
            "run_id": layout.run_name,
            "field_labels": spec.field_labels(),
            "reasons": catalogue,
        }
        scope = spec.feedback_scope_column()
        if scope is not None:
            write_scoped_feedback(own, out_dir, scope_column=scope, **options)
            written[name] = str(out_dir)
        else:
            written[name] = str(write_department_feedback(own, out_dir, **options)["csv"])
    return written


def _source_rows(
    plan: RunPlan,
    ctx,
    statuses: dict[str, SourceStatus],
    accounting: dict[str, dict[str, int]],
) -> list[dict]:
    rows = []
    for name in plan.sources:
        spec = ctx.config.source(name)
        status = statuses.get(name)
        extracted = _optional(ExtractResult, ctx.layout.result("extract", name))
        origin = status.origin if status else (extracted.origin if extracted else None)
        rows.append(
            {
                "source": name,
                "department": spec.department,
                "status": status.status if status else "failed",
                "carried": bool(status and status.carried),
                "origin_run": origin.run_id if origin else "",
                "run_at": origin.run_at if origin else "",
                "problem": status.problem if status else "not linked in this run",
                **{f: accounting.get(name, {}).get(f, 0) for f in _FIELDS},
                "rejected_inputs": [
                    {
                        "location": r.location,
                        "reason": r.reason,
                        "rows": r.rows,
                        "rows_unknown": r.rows_unknown,
                    }
                    for r in (extracted.refused if extracted else [])
                ],
            }
        )
    return rows


def _relative_links(paths: dict[str, str], base: Path) -> dict[str, str]:
    """name → link relative to ``base`` (the report's folder), for the paths that exist."""
    return {
        name: Path(os.path.relpath(path, base)).as_posix()
        for name, path in paths.items()
        if path and Path(path).exists()
    }


def _report_sections(plan: RunPlan, ctx, rows, published, linked, rejects) -> dict:
    """The report's data: accounting, rejects, linkage, privacy, indicators and branches
    (from the publication when there is one), the publication's state."""
    is_published = bool(published and published.status == "published")
    folder = Path(published.path) if is_published else None

    def table(name: str) -> pd.DataFrame | None:
        path = folder / f"{name}.parquet" if folder else None
        return read_parquet(path) if path and path.is_file() else None

    return {
        "run_id": plan.run_id,
        "university": ctx.config.university,
        "language": ctx.config.report.language,
        "sources": rows,
        "row_accounting": published.row_accounting if published else {},
        "rejects": rejects,
        "linkage": {n: {"in": s["in"], "linked": s["linked"]} for n, s in linked.sources.items()}
        if linked
        else {},
        "privacy": published.privacy if published else {},
        "indicators": table("indicator_branch_month"),
        "branches": table("dim_branch"),
        "publication": {
            "status": published.status if published else "not reached",
            "version": published.version if published else "",
            "message": published.message if published else "",
            "tables": published.tables if published else {},
        },
    }


def report(run: dict) -> str:
    """Write the run summary (JSON) and the self-contained HTML report; the summary's path."""
    from integrate import render_run_report

    plan, ctx = run_context(run)
    layout = ctx.layout
    linked = _optional(LinkResult, layout.result("link"))
    published = _optional(PublishOutcome, layout.result("publish"))
    statuses = linked.status if linked else {}
    accounting = published.row_accounting if published else {}
    rows = _source_rows(plan, ctx, statuses, accounting)
    rejects: dict[str, int] = {}
    for counts in (published.rejects if published else {}).values():
        for reason, n in counts.items():
            rejects[reason] = rejects.get(reason, 0) + n
    is_published = bool(published and published.status == "published")
    docs = ctx.data.data_docs(layout)
    data_docs = {
        name: str(next(iter(sorted((docs / name).rglob("index.html"))), ""))
        for name in plan.fresh
        if (docs / name).is_dir()
    }
    feedback = write_feedback(plan)
    report_file = ctx.data.report(layout)
    report_path = render_run_report(
        report_file,
        **_report_sections(plan, ctx, rows, published, linked, rejects),
        data_docs=_relative_links(data_docs, report_file.parent),
        feedback=_relative_links(
            {ctx.config.source(n).department + " · " + n: p for n, p in feedback.items()},
            report_file.parent,
        ),
    )
    totals = {f: sum(r[f] for r in rows) for f in _FIELDS}
    failed = [r["source"] for r in rows if r["status"] == "failed"]
    summary = {
        "run_id": plan.run_id,
        "university": ctx.config.university,
        "kind": plan.kind,
        "sources": rows,
        "totals": totals,
        "rejects": rejects,
        "balanced": is_published
        and totals["in"] == totals["quarantined"] + totals["suppressed"] + totals["published"],
        "failed_sources": failed,
        "carried_sources": [r["source"] for r in rows if r["carried"]],
        "degraded": bool(failed) or not is_published,
        "notes": plan.notes,
        "published": {
            "status": published.status if published else "not reached",
            "message": published.message if published else "",
            "version": published.version if published else None,
            "path": published.path if published else "",
            "duckdb": str(Path(published.path) / "dataset.duckdb") if is_published else "",
            "manifest": str(Path(published.path) / "manifest.json") if is_published else "",
            "tables": published.tables if published else {},
            "privacy": published.privacy if published else {},
            "shrink": published.shrink if published else [],
            "shrink_overridden": published.shrink_overridden if published else False,
            "report": str(report_path),
            "quarantine": str(layout.zone("quarantine")),
        },
        "feedback": feedback,
        "data_docs": data_docs,
    }
    return str(write_json(summary, layout.summary))


def outcome(run: dict) -> dict:
    """Fail (without retry) when the run was degraded: a source failed, or nothing was
    published. The summary has been written by then and says what happened."""
    from islandbridge.io import read_json

    _, ctx = run_context(run)
    summary = read_json(ctx.layout.summary) if ctx.layout.summary.is_file() else None
    if summary is None:
        raise StageRefused("the run wrote no summary: see the failed tasks before it")
    problems = []
    if summary["failed_sources"]:
        problems.append(f"sources failed: {', '.join(summary['failed_sources'])}")
    if summary["published"]["status"] != "published":
        problems.append(
            f"not published ({summary['published']['status']}): "
            f"{summary['published']['message'] or 'see the failed tasks'}"
        )
    if problems:
        raise StageRefused("run degraded — " + "; ".join(problems))
    return {"version": summary["published"]["version"]}
