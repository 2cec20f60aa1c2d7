"""probe_source: a source reached as extraction would, on a sample, writing nothing."""

from __future__ import annotations

import sqlite3

from connectors import ExtractContext, SourceConfig
from connectors.probe import probe_source


def _sql_source(**sql) -> SourceConfig:
    return SourceConfig.model_validate(
        {
            "name": "meetings",
            "department": "org",
            "entity": "meeting",
            "connector": "sql",
            "sql": {"table": "meetings", "key_column": "id", **sql},
            "columns": {"branch": "branch_id", "held_on": "meeting_date"},
            "ignore_columns": ["id"],
        }
    )


def test_a_missing_sqlite_file_is_reported_and_not_created(tmp_path):
    db = tmp_path / "nowhere.sqlite"
    probe = probe_source(_sql_source(url=f"sqlite:///{db}"), ExtractContext(sources_dir=tmp_path))
    assert not probe.ok and "database file not found" in probe.problems[0]
    assert not db.exists()


def test_a_database_table_is_sampled_and_its_columns_compared(tmp_path):
    db = tmp_path / "org.sqlite"
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE meetings (id INTEGER, branch TEXT, held TEXT, extra TEXT)")
    probe = probe_source(_sql_source(url=f"sqlite:///{db}"), ExtractContext(sources_dir=tmp_path))
    assert sorted(probe.problems) == [
        "table meetings: mapped column 'held_on' is missing (the input has 'held': a renamed "
        "column?)",
        "table meetings: unexpected column 'extra' (map it, or list it under ignore_columns)",
        "table meetings: unexpected column 'held' (map it, or list it under ignore_columns)",
    ]


def test_an_unset_url_variable_is_a_problem_not_an_outage(tmp_path):
    probe = probe_source(
        _sql_source(url_env="NOT_SET_ANYWHERE"), ExtractContext(sources_dir=tmp_path)
    )
    assert probe.problems == ["environment variable NOT_SET_ANYWHERE: is not set"]
    assert probe.unreachable == []


def test_a_server_that_refuses_connections_is_unreachable_now(tmp_path):
    source = _sql_source(url_env="DB")
    context = ExtractContext(
        sources_dir=tmp_path, env={"DB": "postgresql+psycopg://u:pw@127.0.0.1:1/x"}
    )
    probe = probe_source(source, context)
    assert probe.problems == [] and len(probe.unreachable) == 1
    assert "cannot connect" in probe.unreachable[0] and "pw" not in probe.unreachable[0]
