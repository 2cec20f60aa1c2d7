"""Progress on a terminal, silence elsewhere (CI, Airflow logs, pipes)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from islandbridge.run_layout import DataLayout, RunLayout, RunPlan, read_result

__all__ = ["interactive", "run_progress_line"]


def interactive() -> bool:
    """True when a person watches a terminal: stdout is a TTY and we are not in CI."""
    return (
        sys.stdout.isatty()
        and not os.environ.get("CI")
        and not os.environ.get("AIRFLOW_CTX_DAG_ID")
    )


_SOURCE_STAGES = (
    ("extracted", "extract"),
    ("validated", "validate"),
    ("tokenised", "pseudonymise"),
)
_RUN_STAGES = (("linked", "link"), ("published", "publish"))


def run_progress_line(data_dir: Path, since: float) -> str:
    """One line on the newest run started after ``since``: how far each stage has come."""
    runs = [r for r in DataLayout(data_dir).run_folders() if r.root.stat().st_mtime >= since]
    if not runs:
        return "starting Airflow…"
    run = max(runs, key=lambda r: r.root.stat().st_mtime)
    sources = _planned_sources(run)
    parts = [
        f"{label} {sum(run.result(stage, s).is_file() for s in sources)}/{len(sources)}"
        for label, stage in _SOURCE_STAGES
    ]
    parts += [
        f"{label} {'✓' if run.result(stage).is_file() else '…'}" for label, stage in _RUN_STAGES
    ]
    parts.append(f"reported {'✓' if run.summary.is_file() else '…'}")
    return " · ".join(parts)


def _planned_sources(run: RunLayout) -> list[str]:
    try:
        return read_result(RunPlan, run.plan).sources
    except (OSError, ValueError):
        return []
