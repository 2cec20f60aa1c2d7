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


def _roster_workbook(path, rows: int) -> None:
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "名册"
    ws.append(["某某大学教职工名册"])
    ws.append(["工号", "姓名"])
    for i in range(rows):
        ws.append([f"T{i}", "王五"])
    wb.save(path)


def test_a_workbook_is_probed_on_its_first_rows_only(tmp_path, monkeypatch):
    """The plan's probe reads a sample of a workbook, not the whole sheet; extraction
    (the known-bad for the limit: no sample) reads every row."""
    import connectors.files as files
    from connectors import connector_for

    _roster_workbook(tmp_path / "hr.xlsx", 3000)
    spec = SourceConfig.model_validate(
        {
            "name": "hr_roster",
            "department": "hr",
            "entity": "member",
            "connector": "file",
            "file": {"path": "hr.xlsx", "format": "xlsx", "sheet": "名册", "header_marker": "工号"},
            "columns": {"工号": "staff_no", "姓名": "name"},
        }
    )
    parsed: list[int] = []
    real = files._XlsxSheet.read.__func__

    def counting(cls, wb, ws, max_rows=None):
        sheet = real(cls, wb, ws, max_rows)
        parsed.append(len(sheet.rows))
        return sheet

    monkeypatch.setattr(files._XlsxSheet, "read", classmethod(counting))
    context = ExtractContext(sources_dir=tmp_path)
    probe = probe_source(spec, context, rows=20)
    assert probe.ok and probe.sampled == 1
    assert parsed == [files._HEADER_SEARCH_ROWS + 20]
    frames = list(connector_for(spec, context).read())
    assert parsed[-1] == 3002 and sum(len(c.frame) for c in frames) == 3000
