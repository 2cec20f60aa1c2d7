"""Security: the PostgreSQL publisher only replaces a schema it made (issue 17).

Each case is a target the publisher must refuse, and what must survive the refusal.
"""

from __future__ import annotations

import uuid

import pandas as pd
import pytest
import sqlalchemy as sa

from integrate.postgres_target import MARKER, PostgresTargetError, publish_to_postgres

UNREACHABLE = "postgresql+psycopg://nobody@127.0.0.1:1/none"


def _tables() -> dict[str, pd.DataFrame]:
    return {"dim_person": pd.DataFrame({"person_key": ["P1", "P2"], "gender": ["F", "M"]})}


@pytest.mark.parametrize(
    "schema", ["public", "pg_catalog", "information_schema", "pg_temp_1", "pg_toast"]
)
def test_reserved_schema_is_refused_before_any_connection(schema):
    with pytest.raises(PostgresTargetError, match="reserved"):
        publish_to_postgres(
            _tables(), UNREACHABLE, schema=schema, analyst_role="ib_analyst", version="v1"
        )


@pytest.mark.parametrize("role", ["public", "pg_read_all_data", "current_user"])
def test_reserved_analyst_role_is_refused_before_any_connection(role):
    with pytest.raises(PostgresTargetError, match="reserved"):
        publish_to_postgres(_tables(), UNREACHABLE, schema="ib_x", analyst_role=role, version="v")


@pytest.fixture
def pg(pg_url):
    suffix = uuid.uuid4().hex[:8]
    names = {
        "schema": f"ib_sec_{suffix}",
        "role": f"ib_sec_analyst_{suffix}",
        "other": f"ib_sec_other_{suffix}",
        "mine": f"ib_sec_mine_{suffix}",
        "keep": f"ib_sec_keep_{suffix}",
    }
    engine = sa.create_engine(pg_url)
    yield engine, names
    with engine.begin() as conn:
        conn.execute(sa.text(f"DROP TABLE IF EXISTS public.{names['keep']}"))
        for s in (names["schema"], f"{names['schema']}__staging", names["mine"]):
            conn.execute(sa.text(f"DROP SCHEMA IF EXISTS {s} CASCADE"))
        for role in (names["role"], names["other"]):
            found = sa.text("SELECT 1 FROM pg_roles WHERE rolname=:r")
            if conn.execute(found, {"r": role}).first():
                conn.execute(sa.text(f"DROP OWNED BY {role}"))
                conn.execute(sa.text(f"DROP ROLE {role}"))
    engine.dispose()


def _publish(pg_url, names, schema=None):
    return publish_to_postgres(
        _tables(),
        pg_url,
        schema=schema or names["schema"],
        analyst_role=names["role"],
        version="v1",
    )


def _count(engine, relation) -> int:
    with engine.connect() as conn:
        return conn.execute(sa.text(f"SELECT count(*) FROM {relation}")).scalar_one()


@pytest.mark.services
def test_a_table_in_public_survives_a_public_target(pg_url, pg):
    engine, names = pg
    with engine.begin() as conn:
        conn.execute(sa.text(f"CREATE TABLE public.{names['keep']} AS SELECT 1 AS x"))
    with pytest.raises(PostgresTargetError, match="reserved"):
        _publish(pg_url, names, schema="public")
    assert _count(engine, f"public.{names['keep']}") == 1


@pytest.mark.services
def test_a_foreign_schema_is_refused_and_kept(pg_url, pg):
    engine, names = pg
    with engine.begin() as conn:
        conn.execute(sa.text(f"CREATE SCHEMA {names['schema']}"))
        conn.execute(sa.text(f"CREATE TABLE {names['schema']}.ledger AS SELECT 42 AS amount"))
    with pytest.raises(PostgresTargetError, match="not made by islandbridge"):
        _publish(pg_url, names)
    assert _count(engine, f"{names['schema']}.ledger") == 1


@pytest.mark.services
def test_a_marked_schema_owned_by_another_role_is_refused(pg_url, pg):
    engine, names = pg
    with engine.begin() as conn:
        conn.execute(sa.text(f"CREATE ROLE {names['other']} NOLOGIN"))
        conn.execute(sa.text(f"CREATE SCHEMA {names['schema']} AUTHORIZATION {names['other']}"))
        conn.execute(sa.text(f"COMMENT ON SCHEMA {names['schema']} IS '{MARKER} version x'"))
        conn.execute(sa.text(f"CREATE TABLE {names['schema']}.theirs AS SELECT 1 AS x"))
    with pytest.raises(PostgresTargetError, match="another owner"):
        _publish(pg_url, names)
    assert _count(engine, f"{names['schema']}.theirs") == 1


@pytest.mark.services
def test_a_foreign_staging_schema_is_refused_and_kept(pg_url, pg):
    engine, names = pg
    staging = f"{names['schema']}__staging"
    with engine.begin() as conn:
        conn.execute(sa.text(f"CREATE SCHEMA {staging}"))
        conn.execute(sa.text(f"CREATE TABLE {staging}.work AS SELECT 7 AS x"))
    with pytest.raises(PostgresTargetError, match=staging):
        _publish(pg_url, names)
    assert _count(engine, f"{staging}.work") == 1


@pytest.mark.services
def test_someone_elses_view_on_a_published_table_stops_the_swap(pg_url, pg):
    engine, names = pg
    _publish(pg_url, names)
    with engine.begin() as conn:
        conn.execute(sa.text(f"CREATE SCHEMA {names['mine']}"))
        conn.execute(
            sa.text(
                f"CREATE VIEW {names['mine']}.people AS SELECT * FROM {names['schema']}.dim_person"
            )
        )
    with pytest.raises(PostgresTargetError, match="DependentObjectsStillExist"):
        _publish(pg_url, names)
    assert _count(engine, f"{names['mine']}.people") == 2  # their view, and our table, intact


@pytest.mark.services
def test_a_schema_it_made_is_replaced(pg_url, pg):
    engine, names = pg
    _publish(pg_url, names)
    assert _publish(pg_url, names) == {"dim_person": 2}
    with engine.connect() as conn:
        note = conn.execute(
            sa.text(
                "SELECT obj_description(oid, 'pg_namespace') FROM pg_namespace WHERE nspname=:s"
            ),
            {"s": names["schema"]},
        ).scalar_one()
    assert note.startswith(MARKER)
