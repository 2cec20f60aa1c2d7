"""The TaskFlow tasks the DAGs share, each calling one stage of :mod:`islandbridge.stages`.

``process_sources`` wires the per-source part (extract → validate → pseudonymise,
mapped over the sources) and the run-wide tail (link → publish → report), so
campus_integration and department_intake run exactly the same stages.
"""

from __future__ import annotations

from typing import Any

from airflow.sdk import XComArg, task

from islandbridge.assets import LANDING, PUBLISHED

__all__ = ["process_sources"]


@task(outlets=[LANDING])
def extract(run: dict, source: str, outlet_events: Any = None) -> dict:
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


def process_sources(run: XComArg, sources: XComArg) -> XComArg:
    """Wire the stages for ``sources`` (mapped) of ``run``; returns the report task's output."""
    landed = extract.partial(run=run).expand(source=sources)
    validated = validate.partial(run=run).expand(landed=landed)
    tokenised = pseudonymise.partial(run=run).expand(validated=validated)
    return report(run, publish(run, link(run, tokenised)))
