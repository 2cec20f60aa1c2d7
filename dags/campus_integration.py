"""campus_integration: every department's data → one pseudonymised, signed dataset.

Wiring only: each task calls one function of ``islandbridge.stages`` and passes
small JSON summaries (paths and counts) through XCom, never data.
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import Param, dag, task

from islandbridge.assets import LANDING, PUBLISHED


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

    @task(outlets=[LANDING])
    def extract(run: dict, source: str, outlet_events=None) -> dict:
        from islandbridge import stages
        from islandbridge.assets import landing_event

        return landing_event(outlet_events, stages.extract(run, source), run["run_id"])

    @task
    def validate(run: dict, landed: dict) -> dict:
        from islandbridge import stages

        return stages.validate(run, landed["source"])

    @task
    def pseudonymise(run: dict, validated: dict) -> dict:
        from islandbridge import stages

        return stages.pseudonymise(run, validated["source"])

    @task
    def link(run: dict, tokenised: list[dict]) -> dict:
        from islandbridge import stages

        return stages.link(run, [t["source"] for t in tokenised])

    @task(outlets=[PUBLISHED])
    def publish(run: dict, linked: dict) -> dict:
        from islandbridge import stages

        return stages.publish(run)

    @task
    def report(run: dict, published: dict) -> str:
        from islandbridge import stages

        return stages.report(run)

    run = plan()
    landed = extract.partial(run=run).expand(source=sources(run))
    validated = validate.partial(run=run).expand(landed=landed)
    tokenised = pseudonymise.partial(run=run).expand(validated=validated)
    report(run, publish(run, link(run, tokenised)))


campus_integration()
