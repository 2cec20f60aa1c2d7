"""The DAGs of the universities folder (:mod:`islandbridge.universities`).

Per university, the same wiring as the single-installation DAG files —
``<id>.campus_integration``, ``<id>.retention`` and ``<id>.analyst_refresh`` — with its
own schedule, its configuration and data folder fixed in the params (a run cannot be
pointed at another university's), every task on its own Celery queue, and its own
published-dataset Asset (one university's publication triggers only its own analyst
DAG). Refused entries do not stop the others: they are gathered into one DAG whose
validation fails, so Airflow shows a single import error for ``dags/universities.py``
naming every refused entry and why, and bags every other DAG of the file.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

import pendulum
from airflow.sdk import DAG, Asset, Param, dag, task

from islandbridge.assets import PUBLISHED
from islandbridge.pipeline_tasks import plan, process_sources, retry_defaults
from islandbridge.universities import University, UniversityFolder, load_universities

__all__ = [
    "RefusedUniversities",
    "UniversitiesRefused",
    "analyst_dag",
    "integration_dag",
    "published_asset",
    "refused_dag",
    "retention_dag",
    "university_dags",
]

log = logging.getLogger(__name__)
START = pendulum.datetime(2026, 1, 1, tz="Asia/Shanghai")
REFUSED_DAG_ID = "universities_refused"


def published_asset(university: University) -> Asset:
    """The university's published dataset (its publish task's outlet)."""
    return Asset(
        name=f"{university.id}.published_dataset",
        uri=f"islandbridge://{university.id}/published/current",
    )


def _params(university: University, **extra: Param) -> dict[str, Param]:
    """The run's params, the university's data folder and configuration fixed."""
    data_dir, config = str(university.data_dir), str(university.config_path)
    return {
        **extra,
        "data_dir": Param(data_dir, type="string", const=data_dir, description="fixed"),
        "config": Param(config, type="string", const=config, description="fixed"),
    }


def _dag_args(university: University, kind: str, default_args: dict[str, Any]) -> dict:
    return {
        "dag_id": university.dag_id(kind),
        "start_date": START,
        "catchup": False,
        "tags": ["islandbridge", f"university:{university.id}", kind],
        "default_args": {**default_args, "queue": university.queue},
        "doc_md": f"{kind} of **{university.id}** ({university.entry.name}); "
        f"queue `{university.queue}`.",
    }


def integration_dag(university: University) -> DAG:
    """``<id>.campus_integration``: dags/campus_integration.py, for this university."""

    @dag(
        schedule=university.schedule,
        max_active_runs=1,
        params=_params(
            university,
            sources=Param([], type="array", description="extract only these (empty: all)"),
            allow_shrink=Param(False, type="boolean", description="publish even if it shrinks"),
        ),
        **_dag_args(university, "campus_integration", retry_defaults()),
    )
    def campus_integration() -> None:
        process_sources(plan())

    built = campus_integration()
    own = published_asset(university)
    for each in built.tasks:  # its publication is its own, not the installation's
        if PUBLISHED in each.outlets:
            each.outlets = [own if outlet == PUBLISHED else outlet for outlet in each.outlets]
    return built


def retention_dag(university: University) -> DAG:
    """``<id>.retention``: dags/retention.py, for this university (daily)."""
    retries = {"retries": 2, "retry_delay": timedelta(minutes=1), "retry_exponential_backoff": True}

    @dag(
        schedule="@daily",
        max_active_runs=1,
        params=_params(
            university,
            dry_run=Param(False, type="boolean", description="only report what would go"),
        ),
        **_dag_args(university, "retention", retries),
    )
    def retention() -> None:
        @task
        def destroy_expired(params: dict) -> dict:
            from islandbridge.retention import apply_retention_from_params

            return apply_retention_from_params(params)

        destroy_expired()

    return retention()


def analyst_dag(university: University) -> DAG:
    """``<id>.analyst_refresh``: dags/analyst_refresh.py, on this university's publication."""
    retries = {"retries": 2, "retry_delay": timedelta(minutes=1)}

    @dag(
        schedule=[published_asset(university)],
        params=_params(university),
        **_dag_args(university, "analyst_refresh", retries),
    )
    def analyst_refresh() -> None:
        @task
        def branch_participation(params: dict) -> dict:
            from islandbridge.analyst import refresh_branch_participation

            return refresh_branch_participation(params)

        branch_participation()

    return analyst_refresh()


class UniversitiesRefused(ValueError):
    """Entries of the universities folder were refused (the message names each, and why)."""


class RefusedUniversities(DAG):
    """A DAG that never runs: its validation raises :class:`UniversitiesRefused`, which
    Airflow records as the DAG file's import error while bagging the file's other DAGs."""

    def validate(self) -> None:
        raise UniversitiesRefused(self.description or "entries refused")


def refused_dag(folder: UniversityFolder) -> RefusedUniversities:
    """The DAG that carries every refused entry of ``folder`` into Airflow's import errors."""
    lines = folder.problems()
    message = f"{folder.folder}: {len(lines)} refused; the others run. " + " | ".join(lines)
    return RefusedUniversities(
        dag_id=REFUSED_DAG_ID,
        schedule=None,
        start_date=START,
        description=message,
        tags=["islandbridge"],
        auto_register=False,
    )


def university_dags(folder: Any = None) -> dict[str, DAG]:
    """dag_id → DAG for every university of ``folder`` (default: the universities folder
    named by the environment; none when unset), plus :func:`refused_dag` when an entry
    was refused."""
    from islandbridge.universities import universities_dir

    folder = folder or universities_dir()
    if folder is None:
        return {}
    loaded = load_universities(folder)
    dags: dict[str, DAG] = {}
    for university in loaded.universities:
        built = (integration_dag(university), retention_dag(university), analyst_dag(university))
        dags.update({d.dag_id: d for d in built})
    if loaded.refused:
        for line in loaded.problems():
            log.error("universities folder: refused %s", line)
        dags[REFUSED_DAG_ID] = refused_dag(loaded)
    return dags
