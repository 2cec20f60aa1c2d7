"""The TaskFlow tasks the DAGs share, each calling one stage of :mod:`islandbridge.stages`.

``process_sources`` wires the per-source chain (extract → validate → pseudonymise, in
a task group mapped over the sources, so one source's failure stops only its own
chain; a source the plan split runs one chain per partition, ``source#index``, and a
``combine`` task per split source then makes its files) and the run-wide tail
(link → publish → report → outcome). Link and report run whatever the sources did;
outcome fails the DAG run when it was degraded. A failure a retry cannot fix
(configuration, keys, a broken contract, a refused publication) fails at once,
without retries.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from airflow.sdk import TriggerRule, XComArg, task, task_group

from islandbridge.assets import LANDING, PUBLISHED

__all__ = ["intake_run", "plan", "plan_run", "process_sources", "retry_defaults"]


def retry_defaults() -> dict[str, Any]:
    """Retries for transient failures (``ISLANDBRIDGE_TASK_RETRIES``, default 2, and
    ``ISLANDBRIDGE_RETRY_DELAY_S``, default 30, doubling)."""
    return {
        "retries": int(os.environ.get("ISLANDBRIDGE_TASK_RETRIES", "2")),
        "retry_delay": timedelta(seconds=float(os.environ.get("ISLANDBRIDGE_RETRY_DELAY_S", "30"))),
        "retry_exponential_backoff": True,
    }


def _call(stage: Callable[..., Any], *args: Any) -> Any:
    """Run a stage; a permanent failure becomes AirflowFailException (no retries)."""
    from airflow.sdk.exceptions import AirflowFailException

    from islandbridge.errors import is_permanent

    try:
        return stage(*args)
    except AirflowFailException:
        raise
    except Exception as exc:
        if is_permanent(exc):
            raise AirflowFailException(str(exc)) from exc
        raise


def _source_stage(name: str, run: dict, label: str) -> dict:
    """One per-source stage of a source or of one of its partitions (``source#index``),
    its task labelled so; failures are noted against the source."""
    from airflow.sdk import get_current_context

    from islandbridge import stages

    get_current_context()["source"] = label  # type: ignore[index] - map_index_template
    try:
        return _call(stages.source_stage, name, run, label)
    except Exception as exc:
        source = stages.label_source(run, label)
        stage = name if source == label else f"{name} {label}"
        stages.record_failure(run, source, stage, exc.__cause__ or exc)
        raise


@task(outlets=[LANDING], map_index_template="{{ source }}")
def extract(run: dict, source: str, outlet_events: Any = None) -> dict:
    from islandbridge.assets import landing_event

    return landing_event(outlet_events, _source_stage("extract", run, source), run["run_id"])


@task(map_index_template="{{ source }}")
def validate(run: dict, source: str) -> dict:
    return _source_stage("validate", run, source)


@task(map_index_template="{{ source }}")
def pseudonymise(run: dict, source: str) -> dict:
    return _source_stage("pseudonymise", run, source)


@task_group
def one_source(run: dict, source: str) -> XComArg:
    """A source's chain; tasks of one source depend only on that source's tasks."""
    extracted = extract(run=run, source=source)
    validated = validate(run=run, source=source)
    tokenised = pseudonymise(run=run, source=source)
    extracted >> validated >> tokenised
    return tokenised


@task
def chains(run: dict) -> list[str]:
    """The chains' labels: a source, or ``source#index`` for each partition of a split one."""
    from islandbridge.run_layout import RunPlan

    return RunPlan.model_validate(run).labels


@task
def split_sources(run: dict) -> list[str]:
    """The sources the plan split into partitions (each then combined)."""
    return list(run.get("partitions", {}))


@task(outlets=[LANDING], trigger_rule=TriggerRule.ALL_DONE, map_index_template="{{ source }}")
def combine(run: dict, source: str, outlet_events: Any = None) -> dict:
    """A split source's partitions combined (a missing one fails the source)."""
    from islandbridge.assets import landing_event

    return landing_event(outlet_events, _source_stage("combine", run, source), run["run_id"])


@task(trigger_rule=TriggerRule.ALL_DONE)
def combined() -> None:
    """Every combine done, or none to do: link's trigger rule skips link when an upstream
    task is skipped, and ``combine`` mapped over no split source is skipped."""


@task(trigger_rule=TriggerRule.ALL_DONE_MIN_ONE_SUCCESS)
def link(run: dict) -> dict:
    from islandbridge import stages

    return _call(stages.link, run)


@task(outlets=[PUBLISHED])
def publish(run: dict) -> dict:
    from islandbridge import stages

    return _call(stages.publish, run)


@task(trigger_rule=TriggerRule.ALL_DONE_MIN_ONE_SUCCESS)
def report(run: dict) -> str:
    from islandbridge import stages

    return _call(stages.report, run)


@task(trigger_rule=TriggerRule.ALL_DONE)
def outcome(run: dict) -> dict:
    from islandbridge import stages

    return _call(stages.outcome, run)


def plan_run(params: dict, run_id: str, logical: datetime | None) -> dict:
    """The plan task: configuration, secrets and fresh/carried sources; no retries."""
    from functools import partial

    from islandbridge import stages

    plan = partial(stages.plan, logical=logical)
    return _call(plan, params, run_id, logical.date() if logical else None)


def intake_run(params: dict, run_id: str, events: object) -> dict:
    """The intake task: install the dropped exports and plan the run; no retries."""
    from islandbridge.intake import prepare_intake_run, triggered_sources

    return _call(prepare_intake_run, params, run_id, None, triggered_sources(events))


@task
def plan(params: dict, run_id: str, logical_date: datetime | None = None) -> dict:
    """A scheduled or triggered run's plan (see :func:`plan_run`)."""
    return plan_run(params, run_id, logical_date)


@task
def sources(run: dict) -> list[str]:
    """The sources the run extracts afresh or carries, as the run's own list."""
    return run["sources"]


def process_sources(run: XComArg) -> XComArg:
    """Wire the stages of ``run``: its source list, the chains mapped over its sources
    and the partitions of split ones (the plan's labels), which are then combined;
    returns the outcome task."""
    sources(run)
    chain = one_source.partial(run=run).expand(source=chains(run))
    combining = combine.partial(run=run).expand(source=split_sources(run))
    linked = link(run)
    published = publish(run)
    reported = report(run)
    done = outcome(run)
    chain >> [combining, linked]
    combining >> combined() >> linked >> published >> reported >> done
    return done
