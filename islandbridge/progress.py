"""Progress on a terminal, silence elsewhere (CI, Airflow logs, pipes)."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

__all__ = ["interactive", "run_progress_line"]


def interactive() -> bool:
    """True when a person watches a terminal: stdout is a TTY and we are not in CI."""
    return (
        sys.stdout.isatty()
        and not os.environ.get("CI")
        and not os.environ.get("AIRFLOW_CTX_DAG_ID")
    )


#: stage → the files a finished stage leaves in the run folder
_STAGE_FILES = (
    ("extracted", "landing/*.provenance.json"),
    ("validated", "work/*.accepted.parquet"),
    ("pseudonymised", "tokens/*.parquet"),
    ("linked", "link.json"),
    ("published", "publish.json"),
    ("reported", "summary.json"),
)


def run_progress_line(runs_dir: Path, since: float) -> str:
    """One line on the newest run started after ``since``: how far each stage has come."""
    runs = [p for p in runs_dir.glob("*") if p.is_dir() and p.stat().st_mtime >= since]
    if not runs:
        return "starting Airflow…"
    run = max(runs, key=lambda p: p.stat().st_mtime)
    planned = len(_planned_sources(run))
    parts = []
    for label, pattern in _STAGE_FILES:
        done = len(list(run.glob(pattern)))
        parts.append(
            f"{label} {done}/{planned}" if "*" in pattern else f"{label} {'✓' if done else '…'}"
        )
    return " · ".join(parts)


def _planned_sources(run: Path) -> list[str]:
    try:
        return json.loads((run / "plan.json").read_text(encoding="utf-8"))["sources"]
    except (OSError, ValueError, KeyError):
        return []
