"""Publish the unified dataset into a PostgreSQL schema, with a read-only analyst role.

The tables are loaded into a staging schema, then swapped in with transactional
DDL (drop the old schema, rename the staging one, grant) in one transaction, so
a reader sees the previous version or the new one, never a half-loaded one. The
analyst role (``NOLOGIN``; grant it to analysts' login roles) may read the schema
and nothing else.
"""

from __future__ import annotations

import logging
import re

import pandas as pd
import sqlalchemy as sa

__all__ = ["PostgresTargetError", "publish_to_postgres"]

log = logging.getLogger(__name__)

_IDENT = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


class PostgresTargetError(RuntimeError):
    """The target could not be written; the previous version stays in place."""


def _ident(value: str, what: str) -> str:
    if not _IDENT.match(value):
        raise PostgresTargetError(f"{what} must be a lower-case SQL identifier, got {value!r}")
    return value


def publish_to_postgres(
    tables: dict[str, pd.DataFrame],
    url: str,
    *,
    schema: str,
    analyst_role: str,
    version: str,
    chunk_rows: int = 10_000,
) -> dict[str, int]:
    """Replace ``schema`` with ``tables`` atomically; returns rows written per table."""
    schema, role = _ident(schema, "schema"), _ident(analyst_role, "analyst role")
    if not re.fullmatch(r"[A-Za-z0-9_.-]{1,64}", version):
        raise PostgresTargetError("version must be a short plain identifier")
    staging = _ident(f"{schema}__staging", "staging schema")
    engine = sa.create_engine(url)
    written: dict[str, int] = {}
    try:
        with engine.begin() as conn:
            conn.execute(sa.text(f"DROP SCHEMA IF EXISTS {staging} CASCADE"))
            conn.execute(sa.text(f"CREATE SCHEMA {staging}"))
            for name, frame in sorted(tables.items()):
                table = _ident(name, "table name")
                frame.to_sql(
                    table, conn, schema=staging, index=False, chunksize=chunk_rows, method="multi"
                )
                written[table] = len(frame)
            # utility statements take no bind parameters: the version is checked instead
            conn.execute(
                sa.text(
                    f"COMMENT ON SCHEMA {staging} IS 'islandbridge published version {version}'"
                )
            )
        with engine.begin() as conn:
            exists = conn.execute(
                sa.text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": role}
            ).first()
            if not exists:
                conn.execute(sa.text(f"CREATE ROLE {role} NOLOGIN"))
            conn.execute(sa.text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
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
