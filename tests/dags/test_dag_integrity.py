"""DAG integrity: every DAG file imports cleanly, fast, and is configured as stewards expect."""

from __future__ import annotations

import time

import pytest

from islandbridge.airflow_local import DAGS_FOLDER


@pytest.fixture(scope="module")
def dagbag():
    from airflow.dag_processing.dagbag import DagBag

    started = time.perf_counter()
    bag = DagBag(dag_folder=str(DAGS_FOLDER))
    bag.parse_seconds = time.perf_counter() - started
    return bag


def test_no_import_errors(dagbag):
    assert dagbag.import_errors == {}
    assert "campus_integration" in dagbag.dags


def test_parsing_the_folder_is_fast(dagbag):
    # no top-level I/O or heavy imports in DAG files
    assert dagbag.parse_seconds < 2.0


@pytest.mark.parametrize("attribute", ["tags", "catchup", "retries"])
def test_every_dag_is_configured(dagbag, attribute):
    for dag_id, dag in dagbag.dags.items():
        if attribute == "tags":
            assert dag.tags, dag_id
        elif attribute == "catchup":
            assert dag.catchup is False, dag_id
        else:
            assert all(t.retries >= 1 for t in dag.tasks), dag_id


def test_campus_integration_maps_stages_per_source(dagbag):
    dag = dagbag.dags["campus_integration"]
    mapped = {
        t.task_id
        for t in dag.tasks
        if getattr(t, "_is_mapped", False) or type(t).__name__ == "MappedOperator"
    }
    assert {"extract", "validate", "pseudonymise"} <= mapped
    assert {"plan", "sources", "link", "publish", "report"} <= set(dag.task_ids)


def test_dag_files_only_wire():
    for path in DAGS_FOLDER.glob("*.py"):
        assert len(path.read_text(encoding="utf-8").splitlines()) <= 100, path.name
