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
    mapped = {t.task_id for t in dag.tasks if t.get_closest_mapped_task_group() is not None}
    chain = {f"one_source.{s}" for s in ("extract", "validate", "pseudonymise")}
    assert chain <= mapped
    assert {"plan", "sources", "link", "publish", "report", "outcome"} <= set(dag.task_ids)
    for task_id in chain:  # mapped tasks are labelled with the source's name
        assert dag.get_task(task_id).map_index_template == "{{ source }}"


@pytest.mark.parametrize("dag_id", ["campus_integration", "department_intake"])
def test_one_sources_failure_does_not_stop_link_report_and_outcome(dagbag, dag_id):
    dag = dagbag.dags[dag_id]
    rules = {
        t: dag.get_task(t).trigger_rule.value for t in ("link", "publish", "report", "outcome")
    }
    assert rules == {
        "link": "all_done_min_one_success",
        "publish": "all_success",
        "report": "all_done_min_one_success",
        "outcome": "all_done",
    }
    # a source's chain depends on its own tasks only, inside the mapped group
    validate = dag.get_task("one_source.validate")
    in_chain = {t for t in validate.upstream_task_ids if t.startswith("one_source.")}
    assert in_chain == {"one_source.extract"}
    assert dag.get_task("link").upstream_task_ids >= {"one_source.pseudonymise"}


def test_dag_files_only_wire():
    for path in DAGS_FOLDER.glob("*.py"):
        assert len(path.read_text(encoding="utf-8").splitlines()) <= 100, path.name


def test_expected_dags_are_present(dagbag):
    assert {"campus_integration", "department_intake", "retention", "analyst_refresh"} <= set(
        dagbag.dags
    )


def test_extract_emits_landing_assets_through_the_alias_and_publish_the_dataset(dagbag):
    from islandbridge.assets import LANDING, PUBLISHED

    for dag_id in ("campus_integration", "department_intake"):
        dag = dagbag.dags[dag_id]
        assert LANDING in dag.get_task("one_source.extract").outlets, dag_id
        assert PUBLISHED in dag.get_task("publish").outlets, dag_id
        assert LANDING not in dag.get_task("one_source.validate").outlets, dag_id


def test_analyst_dag_is_scheduled_on_the_published_dataset(dagbag):
    from islandbridge.assets import PUBLISHED

    dag = dagbag.dags["analyst_refresh"]
    assert list(dag.timetable.asset_condition.objects) == [PUBLISHED]


def test_intake_is_scheduled_on_one_asset_per_file_source(dagbag):
    from islandbridge.assets import configured_sources

    dag = dagbag.dags["department_intake"]
    condition = dag.timetable.asset_condition
    assert type(condition).__name__ == "AssetAny"  # any one department's drop, not all
    names = {a.name for a in condition.objects}
    files = {n for n, kind in configured_sources().items() if kind == "file"}
    assert names == {f"intake_{n}" for n in files}
    assert files and "org_members" not in {n.removeprefix("intake_") for n in names}


def test_intake_assets_are_watched_when_the_data_folder_is_known(monkeypatch, tmp_path):
    from islandbridge.assets import intake_assets

    monkeypatch.delenv("ISLANDBRIDGE_DATA_DIR", raising=False)
    assert all(not a.watchers for a in intake_assets())
    monkeypatch.setenv("ISLANDBRIDGE_DATA_DIR", str(tmp_path))
    watched = intake_assets()
    assert watched and all(len(a.watchers) == 1 for a in watched)
    trigger = watched[0].watchers[0].trigger
    assert trigger.directory == str(tmp_path / "intake")
    assert trigger.filename == watched[0].name.removeprefix("intake_") + ".ready"
    assert not (tmp_path / "intake").exists()  # declaring assets does no I/O in the data folder


def test_a_broken_config_does_not_break_parsing(monkeypatch, tmp_path):
    from islandbridge.assets import configured_sources, intake_assets

    bad = tmp_path / "bad.yaml"
    bad.write_text("sources: [", encoding="utf-8")
    monkeypatch.setenv("ISLANDBRIDGE_CONFIG", str(bad))
    assert configured_sources() == {} and intake_assets() == []


@pytest.mark.parametrize("dag_id", ["campus_integration", "department_intake"])
def test_split_sources_are_combined_after_all_chains_before_link(dagbag, dag_id):
    from islandbridge.assets import LANDING

    dag = dagbag.dags[dag_id]
    combine = dag.get_task("combine")
    # mapped over the split sources; runs when every chain is done, whatever they did
    assert combine.trigger_rule.value == "all_done" and combine.map_index_template
    assert "one_source.pseudonymise" in combine.upstream_task_ids
    # link's rule skips it when an upstream task is skipped, and combine mapped over no
    # split source is: a barrier that runs whatever combine did stands between them
    barrier = dag.get_task("combined")
    assert barrier.trigger_rule.value == "all_done" and "combine" in barrier.upstream_task_ids
    assert {"combined", "one_source.pseudonymise"} <= dag.get_task("link").upstream_task_ids
    assert "combine" not in dag.get_task("link").upstream_task_ids
    assert LANDING in combine.outlets  # the split source's landing event, once
    assert "chains" in dag.get_task("one_source.extract").upstream_task_ids
    assert "split_sources" in combine.upstream_task_ids
