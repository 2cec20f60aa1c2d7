from __future__ import annotations

import uuid

import pandas as pd
import pytest
import sqlalchemy as sa

from connectors import SourceError, connector_for


def _source(make_source, url: str, **sql):
    return make_source(
        connector="sql",
        file=None,
        sql={"url": url, "key_column": "id", **sql},
        entity="member",
        columns={"xh": "student_no", "xm": "name"},
        ignore_columns=["id"],
    )


def _load(url: str, table: str, rows: int = 5) -> None:
    frame = pd.DataFrame(
        {
            "id": range(1, rows + 1),
            "xh": [f"2022{i:04d}" for i in range(rows)],
            "xm": ["张三"] * rows,
        }
    )
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        frame.to_sql(table, conn, if_exists="replace", index=False)
    engine.dispose()


def _drop(url: str, table: str) -> None:
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text(f"DROP TABLE IF EXISTS {table}"))
    engine.dispose()


def _read(source, ctx) -> pd.DataFrame:
    return pd.concat([c.frame for c in connector_for(source, ctx).read()], ignore_index=True)


def test_reads_sqlite_table_in_chunks(make_source, ctx, tmp_path):
    url = f"sqlite:///{tmp_path}/dept.sqlite"
    _load(url, "xs_jbxx", rows=7)
    chunks = list(
        connector_for(_source(make_source, url, table="xs_jbxx", chunk_rows=3), ctx).read()
    )
    assert [len(c.frame) for c in chunks] == [3, 3, 1]
    assert chunks[-1].input.rows == 7
    assert chunks[0].frame["record_key"].iloc[0] == "xs_jbxx:1"


def test_reads_a_query_with_prefix(make_source, ctx, tmp_path):
    url = f"sqlite:///{tmp_path}/dept.sqlite"
    _load(url, "xs_jbxx")
    source = _source(make_source, url, query="SELECT * FROM xs_jbxx WHERE id > 3", key_prefix="xs")
    assert list(_read(source, ctx)["record_key"]) == ["xs:4", "xs:5"]


def test_sql_source_needs_exactly_one_of_table_or_query(make_source):
    with pytest.raises(ValueError, match="exactly one"):
        _source(make_source, "sqlite://", table="a", query="SELECT 1")


def test_database_down_is_a_clear_error(make_source, ctx):
    url = "postgresql+psycopg://nobody:secret@127.0.0.1:1/none"
    with pytest.raises(SourceError, match="database error") as err:
        _read(_source(make_source, url, table="t"), ctx)
    assert "secret" not in str(err.value)


def test_url_from_named_environment_variable_fails_closed(make_source, ctx):
    source = make_source(
        connector="sql",
        file=None,
        entity="member",
        columns={"xm": "name"},
        sql={"url_env": "DEPT_DB_URL", "table": "t", "key_column": "id"},
    )
    with pytest.raises(SourceError, match=r"DEPT_DB_URL.*is not set"):
        _read(source, ctx)


@pytest.mark.services
@pytest.mark.parametrize("server", ["pg_url", "mysql_url"])
def test_reads_real_servers(server, request, make_source, ctx):
    url = request.getfixturevalue(server)
    table = f"conn_test_{uuid.uuid4().hex[:8]}"
    _load(url, table, rows=4)
    try:
        frame = _read(_source(make_source, url, table=table), ctx)
    finally:
        _drop(url, table)
    assert len(frame) == 4
    assert list(frame["xm"].unique()) == ["张三"]


def test_integer_ids_next_to_nulls_keep_every_digit(make_source, tmp_path, ctx):
    import sqlite3

    db = tmp_path / "ids.sqlite"
    con = sqlite3.connect(db)
    con.execute("CREATE TABLE t (id INTEGER, xh BIGINT, xm TEXT)")
    con.executemany(
        "INSERT INTO t VALUES (?, ?, ?)", [(1, 110105199005151237, "a"), (2, None, "b")]
    )
    con.commit()
    con.close()
    source = _source(make_source, f"sqlite:///{db}", table="t")
    frame = next(connector_for(source, ctx).read()).frame
    assert frame["xh"].astype("string").iloc[0] == "110105199005151237"
