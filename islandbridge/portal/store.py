"""The portal's own records: accounts, sessions, login attempts, uploads and downloads.

SQLAlchemy Core on SQLite by default (an owner-only file in the portal folder) or
PostgreSQL in production (``ISLANDBRIDGE_PORTAL_DB_URL``). Session tokens are stored
only as their SHA-256, passwords only as argon2 hashes. No row holds a value of an
export: uploads are described by their source, file name, checksum, counts and verdicts.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa

__all__ = ["PortalStore", "now"]

metadata = sa.MetaData()

accounts = sa.Table(
    "portal_accounts",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("username", sa.String(64), nullable=False, unique=True),
    sa.Column("role", sa.String(20), nullable=False),
    sa.Column("department", sa.String(64)),
    sa.Column("branch", sa.String(64)),
    sa.Column("password_hash", sa.String(200)),
    sa.Column("disabled", sa.Boolean, nullable=False, default=False),
    sa.Column("failed_logins", sa.Integer, nullable=False, default=0),
    sa.Column("locked_until", sa.DateTime(timezone=True)),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("created_by", sa.String(64), nullable=False),
)

sessions = sa.Table(
    "portal_sessions",
    metadata,
    sa.Column("token_hash", sa.String(64), primary_key=True),
    sa.Column("account_id", sa.Integer, sa.ForeignKey("portal_accounts.id")),
    sa.Column("csrf", sa.String(64), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
)

login_attempts = sa.Table(
    "portal_login_attempts",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("client", sa.String(64), nullable=False),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("ok", sa.Boolean, nullable=False),
)

uploads = sa.Table(
    "portal_uploads",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("account_id", sa.Integer, sa.ForeignKey("portal_accounts.id"), nullable=False),
    sa.Column("department", sa.String(64), nullable=False),
    sa.Column("source", sa.String(64), nullable=False),
    sa.Column("branch", sa.String(64)),
    sa.Column("file_name", sa.String(300), nullable=False),
    sa.Column("sha256", sa.String(64)),
    sa.Column("bytes", sa.BigInteger),
    sa.Column("rows", sa.Integer),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("verdict", sa.String(40)),
    sa.Column("reason", sa.String(60)),
    sa.Column("checks", sa.JSON, nullable=False),
    sa.Column("queued", sa.Boolean, nullable=False, default=False),
    sa.Column("trigger", sa.String(200)),
    sa.Column("manifest_digest", sa.String(64), unique=True),
    sa.Column("key_id", sa.String(40)),
    sa.Column("run_id", sa.String(200)),
    sa.Column("rows_in", sa.Integer),
    sa.Column("rejected_rows", sa.Integer),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
)

downloads = sa.Table(
    "portal_downloads",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("account_id", sa.Integer, sa.ForeignKey("portal_accounts.id"), nullable=False),
    sa.Column("upload_id", sa.String(32), sa.ForeignKey("portal_uploads.id"), nullable=False),
    sa.Column("format", sa.String(8), nullable=False),
    sa.Column("client", sa.String(64), nullable=False),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
)


def now() -> datetime:
    return datetime.now(UTC)


def aware(value: datetime | None) -> datetime | None:
    """A stored time as UTC-aware (SQLite hands them back naive)."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)


class PortalStore:
    """The portal's database; tables are created on first use."""

    def __init__(self, url: str) -> None:
        if url.startswith("sqlite:///"):
            path = Path(url.removeprefix("sqlite:///"))
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            if not path.exists():
                os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
        self.engine = sa.create_engine(url, future=True, pool_pre_ping=True)
        metadata.create_all(self.engine)

    def close(self) -> None:
        self.engine.dispose()

    # -- generic helpers ------------------------------------------------------------------

    def one(self, statement: Any) -> dict[str, Any] | None:
        with self.engine.connect() as conn:
            row = conn.execute(statement).mappings().first()
        return _aware(dict(row)) if row is not None else None

    def all(self, statement: Any) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            return [_aware(dict(r)) for r in conn.execute(statement).mappings()]

    def run(self, statement: Any) -> Any:
        with self.engine.begin() as conn:
            return conn.execute(statement)


def _aware(row: dict[str, Any]) -> dict[str, Any]:
    return {k: aware(v) if isinstance(v, datetime) else v for k, v in row.items()}
