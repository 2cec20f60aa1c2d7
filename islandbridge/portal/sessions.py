"""Server-side sessions and their CSRF tokens.

The cookie holds a random 256-bit token; the store keeps only its SHA-256, the account
(None before login) and the session's CSRF token. Every visitor gets a session before
logging in (the login form has a CSRF token too); logging in always ends it and starts
a new one, so a token planted before login (session fixation) is never authenticated.
Sessions end after ``idle_minutes`` without a request and ``session_hours`` in all.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta

import sqlalchemy as sa

from islandbridge.portal.settings import PortalSettings
from islandbridge.portal.store import PortalStore, now, sessions

__all__ = ["Session", "SessionService", "cookie_name"]


def cookie_name(settings: PortalSettings) -> str:
    """``__Host-`` prefixed over HTTPS: the browser then refuses it from a sub-domain or
    without ``Secure`` and ``Path=/``."""
    return "__Host-ib_session" if settings.cookie_secure else "ib_session"


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class Session:
    token: str
    account_id: int | None
    csrf: str

    def csrf_ok(self, given: str | None) -> bool:
        return bool(given) and hmac.compare_digest(self.csrf, str(given))


class SessionService:
    def __init__(self, store: PortalStore, settings: PortalSettings) -> None:
        self.store = store
        self.settings = settings

    def start(self, account_id: int | None = None) -> Session:
        """A new session (expired ones are swept away first)."""
        idle = now() - timedelta(minutes=self.settings.idle_minutes)
        self.store.run(sessions.delete().where(sessions.c.seen_at < idle))
        token = secrets.token_urlsafe(32)
        csrf = secrets.token_urlsafe(32)
        stamp = now()
        self.store.run(
            sessions.insert().values(
                token_hash=_digest(token),
                account_id=account_id,
                csrf=csrf,
                created_at=stamp,
                seen_at=stamp,
            )
        )
        return Session(token, account_id, csrf)

    def find(self, token: str | None) -> Session | None:
        """The live session of a cookie's token (its idle time renewed), else None."""
        if not token or len(token) > 100:
            return None
        key = _digest(token)
        row = self.store.one(sa.select(sessions).where(sessions.c.token_hash == key))
        if row is None:
            return None
        stamp = now()
        expired = stamp - row["created_at"] > timedelta(hours=self.settings.session_hours) or (
            stamp - row["seen_at"] > timedelta(minutes=self.settings.idle_minutes)
        )
        if expired:
            self.end(token)
            return None
        self.store.run(sessions.update().where(sessions.c.token_hash == key).values(seen_at=stamp))
        return Session(token, row["account_id"], row["csrf"])

    def end(self, token: str | None) -> None:
        if token:
            self.store.run(sessions.delete().where(sessions.c.token_hash == _digest(token)))

    def login(self, old_token: str | None, account_id: int) -> Session:
        """End the pre-login session and start a new one for the account (never reuse a
        token the browser brought)."""
        self.end(old_token)
        return self.start(account_id)
