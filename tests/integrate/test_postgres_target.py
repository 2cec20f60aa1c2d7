from __future__ import annotations

import uuid

import pandas as pd
import pytest
import sqlalchemy as sa

from integrate.postgres_target import PostgresTargetError, publish_to_postgres

pytestmark = pytest.mark.services


@pytest.fixture
def target(pg_url):
    suffix = uuid.uuid4().hex[:8]
    schema, role = f"ib_pub_{suffix}", f"ib_analyst_{suffix}"
    yield pg_url, schema, role
    engine = sa.create_engine(pg_url)
    with engine.begin() as conn:
        for s in (schema, f"{schema}__staging"):
            conn.execute(sa.text(f"DROP SCHEMA IF EXISTS {s} CASCADE"))
        if conn.execute(sa.text("SELECT 1 FROM pg_roles WHERE rolname=:r"), {"r": role}).first():
            conn.execute(sa.text(f"DROP OWNED BY {role}"))
            conn.execute(sa.text(f"DROP ROLE {role}"))
    engine.dispose()


def _tables(n: int) -> dict[str, pd.DataFrame]:
    return {
        "dim_person": pd.DataFrame({"person_key": [f"P{i:03d}" for i in range(n)], "gender": "F"}),
        "fact_dues": pd.DataFrame({"person_key": ["P000"] * n, "amount_cents": range(n)}),
    }


def _as_analyst(url, role, sql):
    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(sa.text(f"SET LOCAL ROLE {role}"))
            return conn.execute(sa.text(sql)).fetchall()
    finally:
        engine.dispose()


def test_analyst_reads_the_schema_and_can_write_nothing(target):
    url, schema, role = target
    assert publish_to_postgres(_tables(3), url, schema=schema, analyst_role=role, version="v1") == {
        "dim_person": 3,
        "fact_dues": 3,
    }
    assert _as_analyst(url, role, f"SELECT count(*) FROM {schema}.dim_person") == [(3,)]
    with pytest.raises(sa.exc.ProgrammingError, match="permission denied"):
        _as_analyst(url, role, f"INSERT INTO {schema}.dim_person VALUES ('X', 'M')")
    with pytest.raises(sa.exc.ProgrammingError, match="permission denied"):
        _as_analyst(url, role, f"CREATE TABLE {schema}.mine (x int)")


def test_republish_replaces_the_schema_whole(target):
    url, schema, role = target
    publish_to_postgres(_tables(3), url, schema=schema, analyst_role=role, version="v1")
    publish_to_postgres(
        {"dim_person": _tables(5)["dim_person"]},
        url,
        schema=schema,
        analyst_role=role,
        version="v2",
    )
    assert _as_analyst(url, role, f"SELECT count(*) FROM {schema}.dim_person") == [(5,)]
    with pytest.raises(sa.exc.ProgrammingError, match="does not exist"):
        _as_analyst(url, role, f"SELECT * FROM {schema}.fact_dues")


def test_failed_load_leaves_the_previous_version(target):
    url, schema, role = target
    publish_to_postgres(_tables(3), url, schema=schema, analyst_role=role, version="v1")
    bad = {"dim_person": _tables(4)["dim_person"], "fact_dues": pd.DataFrame({"x": [object()]})}
    with pytest.raises(PostgresTargetError):
        publish_to_postgres(bad, url, schema=schema, analyst_role=role, version="v2")
    assert _as_analyst(url, role, f"SELECT count(*) FROM {schema}.dim_person") == [(3,)]


def test_refuses_identifiers_that_are_not_plain_names(target):
    url, _, role = target
    with pytest.raises(PostgresTargetError, match="schema"):
        publish_to_postgres(
            _tables(1), url, schema="x; DROP TABLE y", analyst_role=role, version="v"
        )
