"""The whole pipeline without Airflow, stage by stage, on a generated university.

    python -m bench.run --only pipeline --sizes 10000,100000

Each stage's wall time is summed over sources (as a single worker would run the
mapped tasks one after another). Generation is not included in the stage times;
the harness's peak memory covers the whole child process.
"""

from __future__ import annotations

import os
import secrets
import time
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

__all__ = ["bench_pipeline", "timed_run"]


def timed_run(workdir: Path) -> tuple[dict[str, float], dict]:
    """Every stage once over the university in ``workdir`` (its volunteer API served);
    seconds per stage and the publish stage's result."""
    from islandbridge import stages
    from islandbridge.synth.volunteer_api import serve_volunteer_api

    timings: dict[str, float] = {}

    def timed(stage: str, fn: Callable[..., Any], *args: object, **kwargs: object) -> Any:
        started = time.perf_counter()
        result = fn(*args, **kwargs)
        timings[stage] = timings.get(stage, 0.0) + time.perf_counter() - started
        return result

    token = secrets.token_urlsafe(16)
    records = workdir / "university" / "sources" / "volunteer_records.json"
    with serve_volunteer_api(records, token=token) as api:
        os.environ["ISLANDBRIDGE_VOLUNTEER_API_URL"] = f"{api.url}/api/v1/records"
        os.environ["ISLANDBRIDGE_VOLUNTEER_API_TOKEN"] = token
        run = timed(
            "plan",
            stages.plan,
            {"data_dir": str(workdir)},
            "bench",
            date(2026, 7, 1),
            logical=datetime(2026, 7, 1, tzinfo=UTC),
        )
        for source in run["sources"]:
            timed("extract", stages.extract, run, source)
            timed("validate", stages.validate, run, source)
            timed("pseudonymise", stages.pseudonymise, run, source)
        timed("link", stages.link, run)
        published = timed("publish", stages.publish, run)
        timed("report", stages.report, run)
    return timings, published


def bench_pipeline(size: int, workdir: Path) -> dict[str, object]:
    from islandbridge.demo import ensure_demo_secrets, ensure_university

    ensure_university(workdir, members=size, seed=1)
    ensure_demo_secrets(workdir)
    started = time.perf_counter()
    timings, published = timed_run(workdir)
    total = time.perf_counter() - started
    rows = sum(published["tables"].values())
    return {
        **{f"{k}_s": round(v, 1) for k, v in timings.items()},
        "pipeline_s": round(total, 1),
        "published_rows": rows,
        "rows_per_s": round(rows / total),
    }
