"""Publish the unified dataset into a PostgreSQL schema, with a read-only analyst role.

The tables are loaded into a staging schema, then swapped in with transactional
DDL (drop the old schema, rename the staging one, grant) in one transaction, so
a reader sees the previous version or the new one, never a half-loaded one. The
analyst role (``NOLOGIN``; grant it to analysts' login roles) may read the schema
and nothing else.

The publisher only ever replaces a schema it made: each one carries the marker
comment ``islandbridge:managed …`` and is owned by the publishing role. A reserved
schema (``public``, ``pg_*``, ``information_schema``) is refused before any
connection is made; an existing schema (or ``<schema>__staging``) without the
marker, or owned by another role, is refused before any statement changes anything.
The old schema's tables are dropped ``RESTRICT``, never ``CASCADE``: an object
someone else made on them (a view in their own schema) stops the swap instead of
silently disappearing.
"""

from __future__ import annotations

import logging
import re

import pandas as pd
import sqlalchemy as sa

__all__ = ["MARKER", "PostgresTargetError", "publish_to_postgres"]

log = logging.getLogger(__name__)

_IDENT = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
#: the comment that marks a schema as made by this publisher
MARKER = "islandbridge:managed"
_LEGACY_MARKER = "islandbridge published version "
_RESERVED = re.compile(r"^(public|information_schema|pg_.*)$")
_RESERVED_ROLE = re.compile(r"^(public|pg_.*|current_user|session_user|current_role)$")


class PostgresTargetError(RuntimeError):
    """The target could not be written; the previous version stays in place."""


def _ident(value: str, what: str) -> str:
    if not _IDENT.match(value):
        raise PostgresTargetError(f"{what} must be a lower-case SQL identifier, got {value!r}")
    return value


def _schema_state(conn: sa.Connection, schema: str) -> str:
    """``absent``, ``ours`` (marked and owned by the current role) or ``foreign``."""
    row = conn.execute(
        sa.text(
            "SELECT pg_get_userbyid(n.nspowner) = current_user AS owned, "
            "obj_description(n.oid, 'pg_namespace') AS note "
            "FROM pg_namespace n WHERE n.nspname = :s"
        ),
        {"s": schema},
    ).first()
    if row is None:
        return "absent"
    note = row.note or ""
    marked = note.startswith(MARKER) or note.startswith(_LEGACY_MARKER)
    return "ours" if (row.owned and marked) else "foreign"


def _refuse_foreign(conn: sa.Connection, *schemas: str) -> None:
    for name in schemas:
        if _schema_state(conn, name) == "foreign":
            raise PostgresTargetError(
                f"schema {name} exists but was not made by islandbridge (no marker, or "
                "another owner): refusing to replace it"
            )


def _drop_ours(conn: sa.Connection, schema: str) -> None:
    """Drop a schema of ours: its tables RESTRICT (a dependent object stops it), then it."""
    tables = conn.execute(
        sa.text("SELECT tablename FROM pg_tables WHERE schemaname = :s ORDER BY tablename"),
        {"s": schema},
    ).scalars()
    for table in list(tables):
        conn.execute(sa.text(f'DROP TABLE {schema}."{table}" RESTRICT'))
    conn.execute(sa.text(f"DROP SCHEMA {schema} RESTRICT"))


def publish_to_postgres(
    tables: dict[str, pd.DataFrame],
    url: str,
    *,
    schema: str,
    analyst_role: str,
    version: str,
    chunk_rows: int = 10_000,
) -> dict[str, int]:
    """Replace ``schema`` (one this publisher made, or none) with ``tables`` atomically;
    returns rows written per table. A reserved or foreign schema is refused."""
    schema, role = _ident(schema, "schema"), _ident(analyst_role, "analyst role")
    if _RESERVED.match(schema):
        raise PostgresTargetError(f"schema {schema} is reserved: publish into a schema of its own")
    if _RESERVED_ROLE.match(role):
        raise PostgresTargetError(f"role {role} is reserved: name an analyst role of its own")
    if not re.fullmatch(r"[A-Za-z0-9_.-]{1,64}", version):
        raise PostgresTargetError("version must be a short plain identifier")
    staging = _ident(f"{schema}__staging", "staging schema")
    engine = sa.create_engine(url)
    written: dict[str, int] = {}
    try:
        with engine.begin() as conn:
            _refuse_foreign(conn, schema, staging)
            if _schema_state(conn, staging) == "ours":
                _drop_ours(conn, staging)
            conn.execute(sa.text(f"CREATE SCHEMA {staging}"))
            for name, frame in sorted(tables.items()):
                table = _ident(name, "table name")
                frame.to_sql(
                    table, conn, schema=staging, index=False, chunksize=chunk_rows, method="multi"
                )
                written[table] = len(frame)
            # utility statements take no bind parameters: the version is checked instead
            conn.execute(sa.text(f"COMMENT ON SCHEMA {staging} IS '{MARKER} version {version}'"))
        with engine.begin() as conn:
            _refuse_foreign(conn, schema)  # checked again: it may have appeared meanwhile
            exists = conn.execute(
                sa.text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": role}
            ).first()
            if not exists:
                conn.execute(sa.text(f"CREATE ROLE {role} NOLOGIN"))
            if _schema_state(conn, schema) == "ours":
                _drop_ours(conn, schema)
            conn.execute(sa.text(f"ALTER SCHEMA {staging} RENAME TO {schema}"))
            conn.execute(sa.text(f"REVOKE ALL ON SCHEMA {schema} FROM PUBLIC"))
            conn.execute(sa.text(f"GRANT USAGE ON SCHEMA {schema} TO {role}"))
            conn.execute(sa.text(f"GRANT SELECT ON ALL TABLES IN SCHEMA {schema} TO {role}"))
    except (sa.exc.SQLAlchemyError, pd.errors.DatabaseError, ValueError, TypeError) as exc:
        # the message names the kind of failure only: driver messages can quote row values
        orig = getattr(exc, "orig", None) or exc.__cause__
        problem = type(orig).__name__ if orig else type(exc).__name__
        raise PostgresTargetError(f"PostgreSQL target: {problem}") from None
    finally:
        engine.dispose()
    log.info(
        "published version %s to PostgreSQL schema %s (%d tables)", version, schema, len(written)
    )
    return written
