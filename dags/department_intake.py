"""department_intake: a department dropped a new signed export → verify, land, republish.

Triggered by the source's intake Asset (its watcher fires on ``intake/<source>.ready``;
an Asset event posted through the API works too) or run by hand with ``sources``.
Only the dropped department's sources are extracted again; every other source is
carried over from the current publication, then everything is linked and published.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import AssetAny, Param, dag, task

from islandbridge.assets import intake_assets
from islandbridge.pipeline_tasks import process_sources, retry_defaults

INTAKE = intake_assets()


@dag(
    dag_id="department_intake",
    schedule=AssetAny(*INTAKE) if INTAKE else None,
    start_date=pendulum.datetime(2026, 1, 1, tz="Asia/Shanghai"),
    catchup=False,
    max_active_runs=1,
    tags=["islandbridge", "party-building", "intake"],
    default_args=retry_defaults(),
    params={
        "sources": Param([], type="array", description="dropped sources (default: the trigger's)"),
        "allow_shrink": Param(
            False, type="boolean", description="publish even if a table shrinks or a source is gone"
        ),
        "data_dir": Param("", type="string", description="data folder (default: env or ./data)"),
        "config": Param("", type="string", description="configuration YAML (default: the demo)"),
    },
    doc_md=__doc__,
)
def department_intake() -> None:
    @task
    def receive(params: dict, run_id: str, triggering_asset_events=None) -> dict:
        from islandbridge.pipeline_tasks import intake_run

        return intake_run(params, run_id, triggering_asset_events)

    process_sources(receive())


department_intake()
