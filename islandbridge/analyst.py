"""An analyst's refresh on each new publication: reads only the shared, pseudonymised zone."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from pathlib import Path

__all__ = ["refresh_branch_participation"]

log = logging.getLogger(__name__)


def refresh_branch_participation(params: dict) -> dict:
    """Mean org-life participation per branch over the published months, from DuckDB.

    Writes ``<data_dir>/analyst/branch_participation.csv`` (aggregates only) and
    returns the published version it was computed from.
    """
    import duckdb

    from islandbridge.context import context_from

    ctx = context_from(params, "analyst", datetime.now(UTC).date())
    current = ctx.publish_root / "current"
    version = json.loads((current / "manifest.json").read_text("utf-8"))["version"]
    out = ctx.data.analyst
    out.mkdir(parents=True, exist_ok=True)
    target = out / "branch_participation.csv"
    with duckdb.connect(str(current / "dataset.duckdb"), read_only=True) as con:
        frame = con.execute(
            "SELECT branch_id, avg(org_life_participation_rate) AS participation,"
            " count(*) AS months FROM indicator_branch_month GROUP BY branch_id ORDER BY branch_id"
        ).df()
    tmp = Path(str(target) + ".tmp")
    frame.to_csv(tmp, index=False)
    tmp.replace(target)
    log.info("analyst refresh: %d branches from version %s", len(frame), version)
    return {"version": version, "branches": len(frame), "path": str(target)}
