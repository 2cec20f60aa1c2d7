"""retention: destroy landing, quarantine, intermediate and intake data past its retention.

Days per zone come from the configuration's ``retention`` section. What is destroyed
is recorded first (counts and checksums, never contents) in a signed, hash-chained
destruction ledger. Published versions, the vault and the secrets are never touched.
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import Param, dag, task


@dag(
    dag_id="retention",
    schedule="@daily",
    start_date=pendulum.datetime(2026, 1, 1, tz="Asia/Shanghai"),
    catchup=False,
    max_active_runs=1,
    tags=["islandbridge", "retention", "privacy"],
    default_args={
        "retries": 2,
        "retry_delay": timedelta(minutes=1),
        "retry_exponential_backoff": True,
    },
    params={
        "dry_run": Param(False, type="boolean", description="only report what would be destroyed"),
        "data_dir": Param("", type="string", description="data folder (default: env or ./data)"),
        "config": Param("", type="string", description="configuration YAML (default: the demo)"),
    },
    doc_md=__doc__,
)
def retention() -> None:
    @task
    def destroy_expired(params: dict) -> dict:
        from islandbridge.retention import apply_retention_from_params

        return apply_retention_from_params(params)

    destroy_expired()


retention()
