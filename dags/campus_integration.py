"""campus_integration: every department's data → one pseudonymised, signed dataset.

Wiring only: each task calls one function of ``islandbridge.stages`` and passes
small JSON summaries (paths and counts) through XCom, never data.
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import Param, dag, task

from islandbridge.pipeline_tasks import process_sources


@dag(
    dag_id="campus_integration",
    schedule="@daily",
    start_date=pendulum.datetime(2026, 1, 1, tz="Asia/Shanghai"),
    catchup=False,
    max_active_runs=1,
    tags=["islandbridge", "party-building", "integration"],
    default_args={
        "retries": 2,
        "retry_delay": timedelta(seconds=30),
        "retry_exponential_backoff": True,
    },
    params={
        "sources": Param([], type="array", description="run only these sources (empty: all)"),
        "data_dir": Param("", type="string", description="data folder (default: env or ./data)"),
        "config": Param("", type="string", description="configuration YAML (default: the demo)"),
    },
    doc_md=__doc__,
)
def campus_integration() -> None:
    @task
    def plan(params: dict, run_id: str, logical_date: pendulum.DateTime | None = None) -> dict:
        from islandbridge import stages

        return stages.plan(params, run_id, logical_date.date() if logical_date else None)

    @task
    def sources(run: dict) -> list[str]:
        return run["sources"]

    run = plan()
    process_sources(run, sources(run))


campus_integration()
