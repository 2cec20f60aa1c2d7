"""Airflow Connections as URLs for SQL and HTTP sources, without importing Airflow eagerly.

A source names a connection id; :func:`connection_url` asks the run's injected
resolver (``ExtractContext.resolve_connection``) or, by default,
:func:`airflow_connection_url`: an ``AIRFLOW_CONN_<ID>`` variable in the run's
environment (URI or JSON, Airflow's own formats), else Airflow's lookup
(``airflow.sdk.Connection.get``, falling back to ``BaseHook.get_connection``), which
covers secrets backends and the metadata database. Error messages name the
connection id, never its URL or password.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import httpx
import sqlalchemy as sa

from connectors.base import SourceError

if TYPE_CHECKING:
    from connectors.base import ExtractContext

__all__ = ["airflow_connection_url", "connection_to_url", "connection_url"]

log = logging.getLogger(__name__)

_SQL_DRIVERS = {
    "postgres": "postgresql+psycopg",
    "postgresql": "postgresql+psycopg",
    "mysql": "mysql+pymysql",
    "mariadb": "mysql+pymysql",
}


def connection_url(context: ExtractContext, conn_id: str, source: str) -> str:
    """The URL of Airflow connection ``conn_id`` for ``source``; fails closed, names no secret."""
    resolve = context.resolve_connection or (lambda cid: airflow_connection_url(cid, context.env))
    try:
        url = resolve(conn_id)
    except SourceError:
        raise
    except Exception as exc:  # the resolver's message may carry the URI: keep only its type
        raise SourceError(
            source, f"Airflow connection {conn_id!r}", f"cannot be resolved ({type(exc).__name__})"
        ) from None
    if not url:
        raise SourceError(source, f"Airflow connection {conn_id!r}", "is not defined")
    return url


def airflow_connection_url(conn_id: str, env: dict[str, str] | None = None) -> str:
    """Default resolver: ``AIRFLOW_CONN_<ID>`` in ``env``, else Airflow's connection lookup."""
    variable = f"AIRFLOW_CONN_{conn_id.upper()}"
    value = (env or {}).get(variable)
    if value:
        from airflow.sdk import Connection

        text = value.strip()
        if text.startswith("{"):
            conn = Connection.from_json(text, conn_id=conn_id)
        else:
            conn = Connection.from_uri(text, conn_id=conn_id)
        return connection_to_url(conn)
    try:
        from airflow.sdk import Connection

        conn = Connection.get(conn_id)
    except ImportError:  # pragma: no cover - Airflow 2 layout
        from airflow.hooks.base import BaseHook

        conn = BaseHook.get_connection(conn_id)
    return connection_to_url(conn)


def connection_to_url(conn: Any) -> str:
    """A URL for an Airflow ``Connection``: SQLAlchemy for databases, plain for HTTP.

    SQL: ``postgres``/``mysql``/``mariadb``/``sqlite`` connection types map to the
    psycopg 3 / PyMySQL / sqlite drivers (an ``extra`` ``sqlalchemy_scheme`` overrides
    the driver). HTTP: ``http``/``https``; the host may carry the scheme, ``schema`` is
    the path, and the password (the bearer token) travels as the URL's password.
    """
    conn_type = (conn.conn_type or "").lower()
    extra = conn.extra_dejson if getattr(conn, "extra", None) else {}
    if conn_type == "sqlite":
        return f"sqlite:///{conn.host or conn.schema or ''}"
    if conn_type in _SQL_DRIVERS or extra.get("sqlalchemy_scheme"):
        url = sa.URL.create(
            extra.get("sqlalchemy_scheme") or _SQL_DRIVERS[conn_type],
            username=conn.login or None,
            password=conn.password or None,
            host=conn.host or None,
            port=conn.port or None,
            database=conn.schema or None,
        )
        return url.render_as_string(hide_password=False)
    if conn_type in ("http", "https"):
        host = conn.host or ""
        if "://" not in host:
            host = f"{conn_type}://{host}"
        base = httpx.URL(host)
        if conn.port:
            base = base.copy_with(port=conn.port)
        path = "/".join(p.strip("/") for p in (base.path, conn.schema or "") if p.strip("/"))
        base = base.copy_with(path="/" + path)
        if conn.password:
            base = base.copy_with(username=conn.login or "", password=conn.password)
        return str(base)
    raise ValueError(f"unsupported connection type {conn_type!r}")
