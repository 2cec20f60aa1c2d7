"""SQL databases through SQLAlchemy 2: PostgreSQL (psycopg 3), MySQL/MariaDB (PyMySQL), SQLite.

Reads a table or a query in chunks. Record keys are ``<prefix>:<key column>``.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterator

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.exc import SQLAlchemyError

from connectors.base import Connector, InputFile, RawChunk, SourceError

__all__ = ["SqlConnector", "resolve_url"]

log = logging.getLogger(__name__)


def resolve_url(url: str | None, url_env: str | None, env: dict[str, str], sources_dir: str) -> str:
    """The URL from the config or the named environment variable; fails closed when unset."""
    if url_env:
        value = env.get(url_env)
        if not value:
            raise SourceError("sql", f"environment variable {url_env}", "is not set")
        return value
    assert url is not None
    return url.replace("{sources_dir}", sources_dir)


def _redacted(url: str) -> str:
    return sa.engine.make_url(url).render_as_string(hide_password=True)


class SqlConnector(Connector):
    name = "sql"

    def read(self) -> Iterator[RawChunk]:
        spec = self.source.sql
        assert spec is not None
        url = resolve_url(spec.url, spec.url_env, self.context.env, str(self.context.sources_dir))
        if spec.table:
            statement = sa.text(f"SELECT * FROM {_quoted_table(url, spec.table)}")
            where = f"table {spec.table}"
        else:
            statement = sa.text(spec.query or "")
            where = "query"
        prefix = spec.key_prefix or spec.table or self.source.name
        shown = spec.url or _redacted(url)  # the configured template: stable across data folders
        info = InputFile(location=f"{shown} {where}", encoding="sql")
        digest = hashlib.sha256()
        engine = sa.create_engine(url)
        try:
            with engine.connect() as conn:
                for chunk in pd.read_sql(statement, conn, chunksize=spec.chunk_rows):
                    if spec.key_column not in chunk.columns:
                        raise SourceError(
                            self.source.name, where, "key column missing", column=spec.key_column
                        )
                    keys = chunk[spec.key_column].astype("string")
                    chunk.insert(0, "record_key", (prefix + ":" + keys).to_numpy())
                    digest.update(
                        pd.util.hash_pandas_object(chunk, index=False).to_numpy().tobytes()
                    )
                    info.rows += len(chunk)
                    info.sha256 = digest.hexdigest()
                    yield RawChunk(chunk, info)
        except SQLAlchemyError as exc:
            problem = type(exc.orig).__name__ if getattr(exc, "orig", None) else type(exc).__name__
            raise SourceError(
                self.source.name, f"{_redacted(url)} {where}", f"database error ({problem})"
            ) from None
        finally:
            engine.dispose()
        if info.rows == 0:
            yield RawChunk(pd.DataFrame({"record_key": pd.Series([], dtype="string")}), info)


def _quoted_table(url: str, table: str) -> str:
    dialect = sa.create_engine(url).dialect
    preparer = dialect.identifier_preparer
    return ".".join(preparer.quote(part) for part in table.split("."))
