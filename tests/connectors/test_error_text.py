"""Issue 17, part 1: an ID number planted in every reader's error path never reaches an
exception message or a log line; the error names the file, row/cell, field and the
exception's type only."""

from __future__ import annotations

import json
import logging
import sqlite3
import zipfile

import openpyxl
import pytest

from connectors import SourceError, connector_for, extract_to_landing
from domain import gb11643_check_digit

BODY = "11010519491231002"
PLANTED = BODY + gb11643_check_digit(BODY)
TELLTALE = BODY  # its 17 digits: any quoting of the value, whole or cut, shows them


@pytest.fixture
def logs(caplog):
    logging.captureWarnings(True)  # as Airflow does: a library's warning becomes a log line
    caplog.set_level(logging.DEBUG)
    yield caplog
    logging.captureWarnings(False)


def _outcome(source, ctx, tmp_path) -> str:
    """Land the source; the text of the error it raised ('' if none)."""
    try:
        extract_to_landing(
            source, ctx, tmp_path / "landing" / "rows.parquet", tmp_path / "landing" / "p.json"
        )
    except SourceError as exc:
        assert exc.__cause__ is None  # the original (with its text) is not chained
        return str(exc)
    return ""


def _assert_clean(message: str, logs) -> None:
    assert TELLTALE not in message
    assert TELLTALE not in logs.text
    assert all(TELLTALE not in r.getMessage() for r in logs.records)


def _csv_source(make_source):
    return make_source(
        entity="member",
        file={"path": "roster.csv", "format": "csv"},
        columns={"身份证号": "id_number", "姓名": "name"},
    )


@pytest.mark.parametrize(
    "data",
    [
        f"身份证号,姓名\n{PLANTED},张三,多余\n".encode(),  # wrong number of fields
        f'身份证号,姓名\n"{PLANTED},张三\n'.encode(),  # unterminated quote
        f'身份证号,姓名\n"{PLANTED}"x,张三\n'.encode(),  # garbage after a quote
        f"身份证号,姓名\n{PLANTED}\x00,张三\n".encode(),  # NUL
        f"身份证号,姓名\n{PLANTED}".encode() + b"\xff\xfe,\xe5\n",  # not UTF-8
    ],
)
def test_csv_errors_do_not_quote_the_value(make_source, sources_dir, ctx, tmp_path, logs, data):
    (sources_dir / "roster.csv").write_bytes(data)
    source = _csv_source(make_source)
    if b"\xff" in data:
        source = source.model_copy(
            update={"file": source.file.model_copy(update={"encoding": "utf-8"})}
        )
    message = _outcome(source, ctx, tmp_path)
    assert message  # each of these is a refused file
    _assert_clean(message, logs)


def test_csv_over_long_field_does_not_quote_it(make_source, sources_dir, ctx, tmp_path, logs):
    (sources_dir / "roster.csv").write_text(f"身份证号,姓名\n{PLANTED * 5},张三\n", "utf-8")
    source = make_source(
        entity="member",
        file={"path": "roster.csv", "format": "csv", "max_field_chars": 20},
        columns={"身份证号": "id_number", "姓名": "name"},
    )
    _assert_clean(_outcome(source, ctx, tmp_path), logs)


@pytest.mark.parametrize("fmt", ["json", "jsonl"])
def test_json_errors_do_not_quote_the_value(make_source, sources_dir, ctx, tmp_path, logs, fmt):
    broken = '{"sfzh": ' + PLANTED + ', "xm": "张三"}'  # an unquoted ID with its X
    text = f"[{broken}]" if fmt == "json" else broken + "\n"
    (sources_dir / f"roster.{fmt}").write_text(text, encoding="utf-8")
    source = make_source(
        entity="member",
        file={"path": f"roster.{fmt}", "format": fmt},
        columns={"sfzh": "id_number", "xm": "name"},
    )
    message = _outcome(source, ctx, tmp_path)
    assert "invalid JSON (JSONDecodeError)" in message
    _assert_clean(message, logs)


def _xlsx_with(path, value: str, *, date_style: bool) -> None:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["身份证号", "姓名"])
    ws.append([12345, "张三"])
    if date_style:
        ws["A2"].number_format = "yyyy-mm-dd"
    wb.save(path)
    with zipfile.ZipFile(path) as src:
        entries = [(i, src.read(i)) for i in src.infolist()]
    with zipfile.ZipFile(path, "w") as dst:
        for info, data in entries:
            if info.filename == "xl/worksheets/sheet1.xml":
                data = data.replace(b"<v>12345</v>", f"<v>{value}</v>".encode())
            dst.writestr(info, data)


@pytest.mark.parametrize(
    ("value", "date_style"),
    [
        (PLANTED, False),  # a numeric cell whose text is no number: openpyxl's error quotes it
        (PLANTED, True),
        (BODY + "0", True),  # a date cell holding an ID's digits: openpyxl warns, quoting it
        (BODY + "0" * 300, False),  # a number too large for a float
    ],
)
def test_xlsx_cells_do_not_quote_the_value(
    make_source, sources_dir, ctx, tmp_path, logs, value, date_style
):
    _xlsx_with(sources_dir / "roster.xlsx", value, date_style=date_style)
    source = make_source(
        entity="member",
        file={"path": "roster.xlsx", "format": "xlsx"},
        columns={"身份证号": "id_number", "姓名": "name"},
    )
    with _no_warning_quoting():
        message = _outcome(source, ctx, tmp_path)
    _assert_clean(message, logs)


class _no_warning_quoting:
    def __enter__(self):
        import warnings

        self._catch = warnings.catch_warnings(record=True)
        self.records = self._catch.__enter__()
        warnings.simplefilter("always")
        return self

    def __exit__(self, *exc):
        self._catch.__exit__(*exc)
        assert all(TELLTALE not in str(w.message) for w in self.records)
        return False


def test_a_file_that_is_no_workbook_is_refused_by_type(
    make_source, sources_dir, ctx, tmp_path, logs
):
    (sources_dir / "roster.xlsx").write_text(f"身份证号\n{PLANTED}\n", encoding="utf-8")
    source = make_source(
        entity="member",
        file={"path": "roster.xlsx", "format": "xlsx"},
        columns={"身份证号": "id_number"},
    )
    message = _outcome(source, ctx, tmp_path)
    assert "cannot be read as xlsx (BadZipFile)" in message
    _assert_clean(message, logs)


def test_sql_driver_errors_do_not_quote_the_value(make_source, sources_dir, ctx, tmp_path, logs):
    db = sources_dir / "org.sqlite"
    con = sqlite3.connect(db)
    con.execute("CREATE TABLE members (id INTEGER, sfzh TEXT, xm TEXT)")
    # text that is not UTF-8: sqlite3's error quotes the column's text
    con.execute(
        "INSERT INTO members VALUES (1, CAST(? AS TEXT), '张三')", (PLANTED.encode() + b"\xff",)
    )
    con.commit()
    con.close()
    source = make_source(
        connector="sql",
        file=None,
        entity="member",
        sql={"url": f"sqlite:///{db}", "table": "members", "key_column": "id"},
        columns={"sfzh": "id_number", "xm": "name"},
        ignore_columns=["id"],
    )
    with pytest.raises(SourceError) as err:
        list(connector_for(source, ctx).read())
    _assert_clean(str(err.value), logs)


def test_sql_library_errors_are_reduced_to_their_type(
    make_source, sources_dir, ctx, tmp_path, logs, monkeypatch
):
    import connectors.sql as sql

    db = sources_dir / "org.sqlite"
    con = sqlite3.connect(db)
    con.execute("CREATE TABLE members (id INTEGER, sfzh TEXT, xm TEXT)")
    con.execute("INSERT INTO members VALUES (1, ?, '张三')", (PLANTED,))
    con.commit()
    con.close()

    def failing(*args, **kwargs):
        raise ValueError(f"could not convert {PLANTED!r}")

    monkeypatch.setattr(sql, "_chunks", failing)
    source = make_source(
        connector="sql",
        file=None,
        entity="member",
        sql={"url": f"sqlite:///{db}", "table": "members", "key_column": "id"},
        columns={"sfzh": "id_number", "xm": "name"},
        ignore_columns=["id"],
    )
    with pytest.raises(SourceError, match=r"cannot be read \(ValueError\)") as err:
        list(connector_for(source, ctx).read())
    _assert_clean(str(err.value), logs)


@pytest.fixture
def http_api():
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Api(BaseHTTPRequestHandler):
        body = b""

        def log_message(self, *args):
            pass

        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(self.server.body)))
            self.end_headers()
            self.wfile.write(self.server.body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Api)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()


@pytest.mark.parametrize(
    "body",
    [
        ('{"items": [{"record_id": 1, "sfzh": ' + PLANTED + "}]}").encode(),  # not JSON
        json.dumps({"items": [{"sfzh": PLANTED}]}).encode(),  # the key field is missing
        json.dumps({"items": [PLANTED]}).encode(),  # not objects
    ],
)
def test_http_errors_do_not_quote_the_value(make_source, ctx, tmp_path, logs, http_api, body):
    http_api.body = body
    source = make_source(
        connector="http",
        file=None,
        entity="member",
        http={
            "url": f"http://127.0.0.1:{http_api.server_port}/api",
            "key_field": "record_id",
            "key_prefix": "api",
            "retries": 0,
        },
        columns={"sfzh": "id_number"},
    )
    with pytest.raises(SourceError) as err:
        list(connector_for(source, ctx).read())
    _assert_clean(str(err.value), logs)


def test_http_library_errors_are_reduced_to_their_type(
    make_source, ctx, logs, http_api, monkeypatch
):
    import connectors.http as http

    http_api.body = json.dumps({"items": [{"record_id": 1, "sfzh": PLANTED}]}).encode()

    def failing(*args, **kwargs):
        raise ValueError(f"bad item {PLANTED}")

    monkeypatch.setattr(http.HttpConnector, "_items", failing)
    source = make_source(
        connector="http",
        file=None,
        entity="member",
        http={
            "url": f"http://127.0.0.1:{http_api.server_port}/api",
            "key_field": "record_id",
            "key_prefix": "api",
            "retries": 0,
        },
        columns={"sfzh": "id_number"},
    )
    with pytest.raises(SourceError, match=r"cannot be read \(ValueError\)") as err:
        list(connector_for(source, ctx).read())
    _assert_clean(str(err.value), logs)


def test_landing_errors_are_reduced_to_their_type(
    make_source, sources_dir, ctx, tmp_path, logs, monkeypatch
):
    import connectors.landing as landing

    (sources_dir / "roster.csv").write_text(f"身份证号,姓名\n{PLANTED},张三\n", "utf-8")

    def failing(*args, **kwargs):
        raise ValueError(f"Could not convert {PLANTED!r} with type str")

    import types

    real = landing.pa
    shim = types.SimpleNamespace(  # a frame (exact reader) or an Arrow table (fast reader)
        schema=real.schema,
        string=real.string,
        nulls=real.nulls,
        Table=types.SimpleNamespace(from_pandas=failing, from_arrays=failing),
    )
    monkeypatch.setattr(landing, "pa", shim)
    message = _outcome(_csv_source(make_source), ctx, tmp_path)
    assert "cannot be landed (ValueError)" in message
    _assert_clean(message, logs)


def test_a_bad_name_pattern_is_refused_naming_the_place_not_quoting_it():
    from pydantic import ValidationError

    from connectors.specs import FileSpec

    with pytest.raises(ValidationError) as caught:
        FileSpec(path="x/*.csv", format="csv", name_pattern=f"({PLANTED}")
    message = str(caught.value)
    assert "name_pattern is not a regular expression (error at position 0)" in message
    assert TELLTALE not in message.replace(f"input_value='({PLANTED}'", "")
