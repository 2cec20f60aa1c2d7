"""Loading the synthetic org_dept tables into PostgreSQL and xs_jbxx into MariaDB."""

from __future__ import annotations

import json
import sqlite3
import uuid
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from islandbridge.synth import generate_university

pytestmark = [pytest.mark.services, pytest.mark.xdist_group("synth-db")]


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory, pg_url: str, mysql_url: str):
    suffix = uuid.uuid4().hex[:10]
    schema, table = f"synth_org_{suffix}", f"xs_jbxx_{suffix}"
    out = tmp_path_factory.mktemp("synth-db") / "uni"
    # twice: the second run must replace, not append to, the first
    for _ in range(2):
        generate_university(
            out,
            members=300,
            seed=11,
            pg_url=pg_url,
            mysql_url=mysql_url,
            pg_schema=schema,
            mysql_table=table,
        )
    yield out, schema, table
    for url, ddl in (
        (pg_url, f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'),
        (mysql_url, f"DROP TABLE IF EXISTS `{table}`"),
    ):
        engine = create_engine(url)
        with engine.begin() as con:
            con.execute(text(ddl))
        engine.dispose()


def _manifest(out: Path) -> dict[str, int]:
    return json.loads((out / "manifest.json").read_text("utf-8"))["rows"]


def test_postgres_schema_holds_the_org_dept_tables(loaded, pg_url):
    out, schema, _ = loaded
    rows = _manifest(out)
    engine = create_engine(pg_url)
    try:
        with engine.connect() as con:
            for name in ("branches", "members", "status_history", "meetings"):
                count = con.execute(text(f'SELECT count(*) FROM "{schema}".{name}')).scalar_one()
                assert count == rows[f"org_dept.sqlite:{name}"] > 0
            pg_ids = con.execute(
                text(f'SELECT member_id, sfzh FROM "{schema}".members ORDER BY member_id')
            ).all()
    finally:
        engine.dispose()
    with sqlite3.connect(out / "sources" / "org_dept.sqlite") as lite:
        lite_ids = lite.execute("SELECT member_id, sfzh FROM members ORDER BY member_id").fetchall()
    assert [tuple(r) for r in pg_ids] == lite_ids


def test_mariadb_table_holds_the_student_roster(loaded, mysql_url):
    out, _, table = loaded
    engine = create_engine(mysql_url)
    try:
        with engine.connect() as con:
            count = con.execute(text(f"SELECT count(*) FROM `{table}`")).scalar_one()
            names = (
                con.execute(text(f"SELECT xm FROM `{table}` ORDER BY id LIMIT 5")).scalars().all()
            )
    finally:
        engine.dispose()
    assert count == _manifest(out)["student_affairs.sqlite:xs_jbxx"] > 0
    with sqlite3.connect(out / "sources" / "student_affairs.sqlite") as lite:
        expected = [r[0] for r in lite.execute("SELECT xm FROM xs_jbxx ORDER BY id LIMIT 5")]
    assert names == expected
