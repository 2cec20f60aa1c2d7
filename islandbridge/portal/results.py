"""What became of a queued upload: the intake run that took it, its validation, its
publication or refusal, and where the department's rejected rows of that run are.

An upload is found in a run by its checksum among the drops the intake installed
(the run plan's ``drops``), or among the entries the intake refused (the record of
the source's reject folder). Paths of the run and data folders come from the
run contract (:mod:`islandbridge.run_layout`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from connectors.export_manifest import sha256_file
from connectors.file_names import display_name
from connectors.specs import SourceConfig
from islandbridge.run_layout import (
    DataLayout,
    RunLayout,
    RunPlan,
    ValidateResult,
    read_result,
    safe_name,
)

__all__ = ["RunOutcome", "feedback_files", "find_outcome", "read_rejects"]

#: rejected rows shown on a page (the download holds them all)
PAGE_ROWS = 500


@dataclass(frozen=True, slots=True)
class RunOutcome:
    status: str  # checked | validated | published | refused
    run_id: str = ""
    reason: str = ""
    rows_in: int | None = None
    quarantined: int | None = None


def _runs(data: DataLayout) -> list[RunLayout]:
    """Run folders with a plan, newest first (the last 200)."""
    runs = [r for r in data.run_folders() if r.plan.is_file()]
    return sorted(runs, key=lambda r: r.plan.stat().st_mtime, reverse=True)[:200]


def find_outcome(data: DataLayout, source: str, file_name: str, sha256: str) -> RunOutcome:
    """The state of a queued export: still ``checked`` (waiting), or what its run did."""
    for planned in _runs(data):
        try:
            plan = read_result(RunPlan, planned.plan)
        except (OSError, ValueError):
            continue
        if not any(d.get("sha256") == sha256 for d in plan.drops.get(source, [])):
            continue
        run = data.run(plan.run_id)
        validated = run.result("validate", source)
        if not validated.is_file():
            return RunOutcome("checked", plan.run_id)
        result = read_result(ValidateResult, validated)
        outcome = {"rows_in": result.rows_in, "quarantined": result.quarantined}
        if not run.summary.is_file():
            return RunOutcome("validated", plan.run_id, **outcome)
        summary = json.loads(run.summary.read_text(encoding="utf-8"))
        published = (summary.get("published") or {}).get("status") == "published"
        if published:
            return RunOutcome("published", plan.run_id, **outcome)
        return RunOutcome("refused", plan.run_id, "publication_refused", **outcome)
    shown = display_name(file_name)
    folders = [f for f in data.rejected_drops() if f.parent.parent.name == safe_name(source)]
    for folder in sorted(folders, key=lambda f: f.name, reverse=True):
        record_path = DataLayout.rejects_record(folder)
        if not record_path.is_file():
            continue
        try:
            record = json.loads(record_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        for entry in record:
            stored = entry.get("stored_as")
            if entry.get("name") != shown or not stored:
                continue
            path = record_path.parent / stored
            if path.is_file() and sha256_file(path)[0] == sha256:
                return RunOutcome("refused", record_path.parent.name, str(entry.get("reason")))
    return RunOutcome("checked")


def feedback_files(
    data: DataLayout, spec: SourceConfig, run_id: str, branch: str | None
) -> dict[str, Path]:
    """The department's rejected rows of ``run_id`` for this upload (its branch's, where the
    source's feedback is scoped), as the report stage wrote them: ``{"csv", "xlsx"}``."""
    folder = data.feedback / safe_name(spec.department)
    run_name = safe_name(run_id)
    if spec.feedback_scope_column() is not None:
        scope = branch or "_unassigned"
        folder = folder / scope
        stem = "_".join(p for p in (spec.name, scope.lstrip("_"), run_name, "rejected") if p)
    else:
        stem = f"{spec.name}_{run_name}_rejected"
    return {kind: folder / f"{stem}.{kind}" for kind in ("csv", "xlsx")}


def read_rejects(path: Path, encoding: str) -> pd.DataFrame | None:
    """The rejected rows of a feedback CSV as text (None when there is no such file)."""
    if not path.is_file():
        return None
    return pd.read_csv(path, dtype=str, keep_default_na=False, encoding=encoding)
