"""SQL databases through SQLAlchemy 2: PostgreSQL (psycopg 3), MySQL/MariaDB (PyMySQL), SQLite.

Reads a table or a query in chunks. Record keys are ``<prefix>:<key column>``.
The URL comes from the config, a named environment variable or an Airflow
connection id; its password never appears in a log line, an error or provenance.

With ``watermark_column``, extraction is incremental: only rows whose column is
above the committed watermark (a bound parameter), in the column's order; the
high value reached is left on :attr:`Connector.watermark` for the landing's
provenance and committed only after the run publishes.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterator
from typing import Any

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.exc import InterfaceError, OperationalError, SQLAlchemyError

from connectors.base import Connector, InputFile, RawChunk, SourceError, reduced_error
from connectors.connections import connection_url
from connectors.watermarks import Watermark

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
    try:
        return sa.engine.make_url(url).render_as_string(hide_password=True)
    except Exception:  # a malformed URL may still hold a secret: show nothing of it
        return "<malformed database URL>"


class SqlConnector(Connector):
    name = "sql"

    def _url(self) -> tuple[str, str]:
        """The URL to connect with, and how provenance names it (never with a password)."""
        spec = self.source.sql
        assert spec is not None
        if spec.conn_id:
            return connection_url(self.context, spec.conn_id, self.source.name), (
                f"conn:{spec.conn_id}"
            )
        url = resolve_url(spec.url, spec.url_env, self.context.env, str(self.context.sources_dir))
        return url, spec.url or _redacted(url)  # the template: stable across data folders

    def read(self) -> Iterator[RawChunk]:
        spec = self.source.sql
        assert spec is not None
        url, shown = self._url()
        engine = sa.create_engine(url)
        where = f"table {spec.table}" if spec.table else "query"
        try:
            statement, params, previous = self._statement(engine.dialect)
            prefix = spec.key_prefix or spec.table or self.source.name
            info = InputFile(location=f"{shown} {where}", encoding="sql")
            digest = hashlib.sha256()
            high: Any = None
            with engine.connect() as conn:
                for chunk in _chunks(conn, statement, params, spec.chunk_rows):
                    for column in (spec.key_column, spec.watermark_column):
                        if column and column not in chunk.columns:
                            raise SourceError(
                                self.source.name, where, "column missing", column=column
                            )
                    if spec.watermark_column:
                        top = chunk[spec.watermark_column].max()  # rows come in its order
                        high = top if not _missing(top) else high
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
                self.source.name,
                f"{_redacted(url)} {where}",
                f"database error ({problem})",
                # a server that cannot be reached may come back; an embedded file will not
                transient=isinstance(exc, OperationalError | InterfaceError)
                and not url.startswith("sqlite"),
            ) from None
        except SourceError:
            raise
        except Exception as exc:  # a driver's or pandas' text may quote a row's value
            raise reduced_error(
                self.source.name, f"{_redacted(url)} {where}", "cannot be read", exc
            ) from None
        finally:
            engine.dispose()
        if spec.watermark_column:
            self.watermark = (
                Watermark.of(spec.watermark_column, high) if high is not None else (previous)
            )
            log.info(
                "source %s: incremental from %s, %d rows",
                self.source.name,
                previous.value if previous else "the start",
                info.rows,
            )

    def _statement(self, dialect: sa.Dialect) -> tuple[sa.TextClause, dict, Watermark | None]:
        """SELECT for the table or query; incremental sources filter on a bound watermark."""
        spec = self.source.sql
        assert spec is not None
        quote = dialect.identifier_preparer.quote
        if spec.table:
            base = "SELECT * FROM " + ".".join(quote(p) for p in spec.table.split("."))
        else:
            base = (spec.query or "").strip().rstrip(";")
        if self.part is not None:  # a key range of the source (never an incremental one)
            from connectors.partitions import key_range_clause

            if spec.watermark_column or self.part.kind != "keys":
                raise SourceError(self.source.name, "partition", "not a key range of a table")
            where, params = key_range_clause(f"src.{quote(spec.key_column)}", self.part)
            return sa.text(f"SELECT * FROM ({base}) src WHERE {where}"), params, None
        if not spec.watermark_column:
            return sa.text(base), {}, None
        previous = self._previous()
        column = f"src.{quote(spec.watermark_column)}"
        sql = f"SELECT * FROM ({base}) src"
        params: dict[str, Any] = {}
        if previous is not None:
            sql += f" WHERE {column} > :ib_watermark"
            params["ib_watermark"] = previous.python()
        return sa.text(sql + f" ORDER BY {column}"), params, previous

    def _previous(self) -> Watermark | None:
        spec = self.source.sql
        assert spec is not None
        store = self.context.watermarks
        stored = store.get(self.source.name) if store is not None else None
        if stored is not None and stored.column != spec.watermark_column:
            log.warning(
                "source %s: stored watermark is on another column; extracting in full",
                self.source.name,
            )
            return None
        return stored


def _chunks(
    conn: sa.Connection, statement: sa.TextClause, params: dict, size: int
) -> Iterator[pd.DataFrame]:
    """The result in frames of ``size`` rows (server-side cursor); one empty frame with the
    result's columns when there are no rows, so the schema contract still applies."""
    result = conn.execution_options(stream_results=True).execute(statement, params)
    columns = list(result.keys())
    emitted = False
    while rows := result.fetchmany(size):
        emitted = True
        # object columns: an integer ID next to a NULL never becomes a float (which would
        # lose its last digits), a DECIMAL stays exact
        yield pd.DataFrame([tuple(r) for r in rows], columns=columns, dtype=object)
    if not emitted:
        yield pd.DataFrame({c: pd.Series([], dtype="string") for c in columns})


def _missing(value: object) -> bool:
    return value is None or bool(pd.isna(value))
