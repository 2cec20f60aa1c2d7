"""The pipeline stages the DAGs call, one function per task.

Each stage reads what an earlier stage left in the run folder (paths from the run
contract, :mod:`islandbridge.run_layout`) and returns its typed result as small JSON
for XCom. Rerunning a stage rewrites its own outputs only (temp file + rename), so a
retried task converges.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

from islandbridge.io import read_json
from islandbridge.run_layout import RunPlan
from islandbridge.stages.link import link
from islandbridge.stages.partitions import combine, label_source, source_stage
from islandbridge.stages.plan import plan
from islandbridge.stages.publish import publish
from islandbridge.stages.report import outcome, report
from islandbridge.stages.sources import extract, pseudonymise, record_failure, validate

__all__ = [
    "combine",
    "extract",
    "label_source",
    "link",
    "outcome",
    "plan",
    "pseudonymise",
    "publish",
    "record_failure",
    "report",
    "run_inline",
    "run_planned",
    "source_stage",
    "validate",
]


def run_planned(run: dict, *, isolate: bool = False) -> dict:
    """Every stage after the plan, in DAG order (a split source's partitions, then their
    combination), in this process; the run summary.

    With ``isolate``, a source whose stages fail is recorded as failed and the others go
    on, as in the DAG; without it (benchmarks, checks) the first failure is raised.
    """
    for label in RunPlan.model_validate(run).labels:
        for stage in ("extract", "validate", "pseudonymise"):
            try:
                source_stage(stage, run, label)
            except Exception as exc:
                source = label_source(run, label)
                record_failure(run, source, stage if source == label else f"{stage} {label}", exc)
                if not isolate:
                    raise
                break
    for source in run.get("partitions", {}):
        try:
            combine(run, source)
        except Exception as exc:
            record_failure(run, source, "combine", exc)
            if not isolate:
                raise
    link(run)
    try:
        publish(run)
    finally:
        summary = read_json(Path(report(run)))
    return summary


def run_inline(
    params: dict,
    run_id: str,
    run_date: date | None = None,
    *,
    isolate: bool = False,
    logical: datetime | None = None,
) -> dict:
    """All stages in this process, in DAG order, without Airflow (benchmarks, quick checks)."""
    return run_planned(plan(params, run_id, run_date, logical=logical), isolate=isolate)
