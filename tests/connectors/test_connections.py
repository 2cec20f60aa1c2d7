from __future__ import annotations

import json
import logging
import uuid
from types import SimpleNamespace

import pandas as pd
import pytest
import sqlalchemy as sa

from connectors import SourceError, connector_for, extract_to_landing
from connectors.connections import airflow_connection_url, connection_to_url

SECRET = "s3cret-Pa55word"


def _sql_source(make_source, **sql):
    return make_source(
        connector="sql",
        file=None,
        entity="member",
        sql={"key_column": "id", "table": "xs_jbxx", **sql},
        columns={"xh": "student_no", "xm": "name"},
        ignore_columns=["id"],
    )


def _sqlite_table(path) -> str:
    url = f"sqlite:///{path}"
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        pd.DataFrame({"id": [1, 2], "xh": ["20220001", "20220002"], "xm": ["张三", "李四"]}).to_sql(
            "xs_jbxx", conn, index=False
        )
    engine.dispose()
    return url


def _conn(**fields) -> SimpleNamespace:
    base = {"conn_type": "", "host": "", "login": "", "password": "", "schema": "", "port": None}
    return SimpleNamespace(extra="", extra_dejson={}, **{**base, **fields})


@pytest.mark.parametrize(
    "locations",
    [{}, {"url": "sqlite://", "conn_id": "dept_db"}, {"url_env": "X", "conn_id": "dept_db"}],
)
def test_sql_source_needs_exactly_one_way_to_name_the_url(make_source, locations):
    with pytest.raises(ValueError, match="exactly one of 'url', 'url_env' or 'conn_id'"):
        _sql_source(make_source, **locations)


def test_http_source_needs_exactly_one_way_to_name_the_url(make_source):
    with pytest.raises(ValueError, match="exactly one of"):
        make_source(
            connector="http", file=None, entity="volunteer", columns={"xm": "name"},
            http={"url": "http://x", "conn_id": "api", "key_field": "id", "key_prefix": "v"},
        )  # fmt: skip


def test_injected_resolver_names_the_connection_in_provenance(make_source, ctx, tmp_path):
    url = _sqlite_table(tmp_path / "dept.sqlite")
    ctx.resolve_connection = {"dept_db": url}.get
    landing = extract_to_landing(
        _sql_source(make_source, conn_id="dept_db"),
        ctx,
        tmp_path / "l" / "rows.parquet",
        tmp_path / "l" / "provenance.json",
    )
    assert landing.rows == 2
    assert landing.inputs[0].location == "conn:dept_db table xs_jbxx"


def test_unknown_connection_fails_closed_naming_the_id(make_source, ctx):
    ctx.resolve_connection = {}.get
    with pytest.raises(SourceError, match="Airflow connection 'nowhere': is not defined"):
        list(connector_for(_sql_source(make_source, conn_id="nowhere"), ctx).read())


def test_resolver_failure_never_shows_its_message(make_source, ctx):
    def leaky(conn_id: str) -> str:
        raise RuntimeError(f"cannot parse postgresql://u:{SECRET}@h/db")

    ctx.resolve_connection = leaky
    with pytest.raises(SourceError, match=r"cannot be resolved \(RuntimeError\)") as err:
        list(connector_for(_sql_source(make_source, conn_id="dept_db"), ctx).read())
    assert SECRET not in str(err.value)


def test_default_resolver_reads_airflow_conn_uri_from_the_run_environment(
    make_source, ctx, tmp_path
):
    url = _sqlite_table(tmp_path / "dept.sqlite")
    ctx.env["AIRFLOW_CONN_DEPT_DB"] = json.dumps(
        {"conn_type": "sqlite", "host": str(tmp_path / "dept.sqlite")}
    )
    assert airflow_connection_url("dept_db", ctx.env) == url
    frame = pd.concat(
        c.frame for c in connector_for(_sql_source(make_source, conn_id="dept_db"), ctx).read()
    )
    assert list(frame["record_key"]) == ["xs_jbxx:1", "xs_jbxx:2"]


def test_default_resolver_parses_airflow_uri_form():
    env = {"AIRFLOW_CONN_HR_DB": f"postgres://hr:{SECRET}@db.example:5433/hr"}
    url = sa.engine.make_url(airflow_connection_url("hr_db", env))
    assert (url.drivername, url.username, url.password, url.host, url.port, url.database) == (
        "postgresql+psycopg", "hr", SECRET, "db.example", 5433, "hr",
    )  # fmt: skip


def test_default_resolver_reports_an_undefined_connection(make_source, ctx):
    with pytest.raises(SourceError, match=r"Airflow connection 'no_such_conn_x'"):
        list(connector_for(_sql_source(make_source, conn_id="no_such_conn_x"), ctx).read())


@pytest.mark.parametrize(
    ("conn", "expected"),
    [
        (_conn(conn_type="postgres", host="h", login="u", password="p", schema="d", port=5432),
         "postgresql+psycopg://u:p@h:5432/d"),
        (_conn(conn_type="mysql", host="h", login="root", schema="test"),
         "mysql+pymysql://root@h/test"),
        (_conn(conn_type="sqlite", host="/srv/dept.sqlite"), "sqlite:////srv/dept.sqlite"),
        (_conn(conn_type="https", host="api.example", schema="api/v1/records", password="tok"),
         "https://:tok@api.example/api/v1/records"),
        (_conn(conn_type="http", host="http://127.0.0.1", port=8080, schema="r"),
         "http://127.0.0.1:8080/r"),
    ],
)  # fmt: skip
def test_connection_types_become_urls(conn, expected):
    assert connection_to_url(conn) == expected


def test_unsupported_connection_type_is_refused():
    with pytest.raises(ValueError, match="unsupported connection type 'ftp'"):
        connection_to_url(_conn(conn_type="ftp", host="h"))


def test_password_of_a_connection_never_appears_in_errors_logs_or_provenance(
    make_source, ctx, caplog
):
    ctx.env["AIRFLOW_CONN_DOWN_DB"] = json.dumps(
        {"conn_type": "postgres", "host": "127.0.0.1", "port": 1, "login": "u",
         "password": SECRET, "schema": "none"}
    )  # fmt: skip
    caplog.set_level(logging.DEBUG)
    with pytest.raises(SourceError, match="database error") as err:
        list(connector_for(_sql_source(make_source, conn_id="down_db"), ctx).read())
    assert SECRET not in str(err.value)
    assert SECRET not in caplog.text


@pytest.mark.services
@pytest.mark.parametrize(("server", "conn_type"), [("pg_url", "postgres"), ("mysql_url", "mysql")])
def test_reads_real_servers_through_an_airflow_connection(
    server, conn_type, request, make_source, ctx, tmp_path
):
    url = sa.engine.make_url(request.getfixturevalue(server))
    table = f"conn_af_{uuid.uuid4().hex[:8]}"
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        pd.DataFrame({"id": [1], "xh": ["20220001"], "xm": ["王五"]}).to_sql(
            table, conn, index=False
        )
    ctx.env["AIRFLOW_CONN_DEPT_DB"] = json.dumps(
        {"conn_type": conn_type, "host": url.host, "port": url.port, "login": url.username,
         "password": url.password, "schema": url.database}
    )  # fmt: skip
    try:
        source = _sql_source(make_source, conn_id="dept_db", table=table)
        landing = extract_to_landing(
            source, ctx, tmp_path / "l" / "rows.parquet", tmp_path / "l" / "provenance.json"
        )
    finally:
        with engine.begin() as conn:
            conn.execute(sa.text(f"DROP TABLE IF EXISTS {table}"))
        engine.dispose()
    assert landing.rows == 1
    assert landing.inputs[0].location == f"conn:dept_db table {table}"
