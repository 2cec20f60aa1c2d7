"""analyst_refresh: an analyst's DAG, run whenever a new dataset version is published.

Scheduled on the ``published_dataset`` Asset that campus_integration and
department_intake update; reads only the shared, pseudonymised zone.
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import Param, dag, task

from islandbridge.assets import PUBLISHED


@dag(
    dag_id="analyst_refresh",
    schedule=[PUBLISHED],
    start_date=pendulum.datetime(2026, 1, 1, tz="Asia/Shanghai"),
    catchup=False,
    tags=["islandbridge", "analyst", "example"],
    default_args={"retries": 2, "retry_delay": timedelta(minutes=1)},
    params={
        "data_dir": Param("", type="string", description="data folder (default: env or ./data)"),
        "config": Param("", type="string", description="configuration YAML (default: the demo)"),
    },
    doc_md=__doc__,
)
def analyst_refresh() -> None:
    @task
    def branch_participation(params: dict) -> dict:
        from islandbridge.analyst import refresh_branch_participation

        return refresh_branch_participation(params)

    branch_participation()


analyst_refresh()
