"""department_intake: a department dropped a new signed export → verify, land, republish.

Triggered by the source's intake Asset (its watcher fires on ``intake/<source>.ready``;
an Asset event posted through the API works too) or run by hand with ``sources``.
Only the dropped department's sources are extracted again; the others are reused
from the newest complete run, then everything is linked and published.
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import AssetAny, Param, dag, task

from islandbridge.assets import LANDING, PUBLISHED, intake_assets

INTAKE = intake_assets()


@dag(
    dag_id="department_intake",
    schedule=AssetAny(*INTAKE) if INTAKE else None,
    start_date=pendulum.datetime(2026, 1, 1, tz="Asia/Shanghai"),
    catchup=False,
    max_active_runs=1,
    tags=["islandbridge", "party-building", "intake"],
    default_args={
        "retries": 2,
        "retry_delay": timedelta(seconds=30),
        "retry_exponential_backoff": True,
    },
    params={
        "sources": Param([], type="array", description="dropped sources (default: the trigger's)"),
        "data_dir": Param("", type="string", description="data folder (default: env or ./data)"),
        "config": Param("", type="string", description="configuration YAML (default: the demo)"),
    },
    doc_md=__doc__,
)
def department_intake() -> None:
    @task
    def receive(params: dict, run_id: str, triggering_asset_events=None) -> dict:
        from islandbridge.intake import prepare_intake_run, triggered_sources

        return prepare_intake_run(params, run_id, None, triggered_sources(triggering_asset_events))

    @task
    def changed(run: dict) -> list[str]:
        return run["extract"]

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

        return stages.link(run, run["sources"])

    @task(outlets=[PUBLISHED])
    def publish(run: dict, linked: dict) -> dict:
        from islandbridge import stages

        return stages.publish(run)

    @task
    def report(run: dict, published: dict) -> str:
        from islandbridge import stages

        return stages.report(run)

    run = receive()
    landed = extract.partial(run=run).expand(source=changed(run))
    validated = validate.partial(run=run).expand(landed=landed)
    tokenised = pseudonymise.partial(run=run).expand(validated=validated)
    report(run, publish(run, link(run, tokenised)))


department_intake()
