"""The re-identification vault: token → identity, encrypted, with an audited door.

Each identity is encrypted with AES-GCM under the keyring's *vault* key (separate
from the token keys); the token, field, domain and vault key id are bound as
associated data, so an edited or swapped row fails to decrypt
(:class:`VaultTamperedError`). Retired vault keys stay in the keyring, so rows
written before a rotation stay readable; tokens of retired token keys stay in the
vault, so they stay resolvable.

Only a *steward* may re-identify, and only with a reason. Every attempt, granted or
refused, is appended to an audit log whose entries are chained by HMAC-SHA256 (under
a subkey of the vault key): editing, deleting or reordering an entry breaks the chain
(:meth:`Vault.verify_audit`).

The store is SQLite by default (a file created owner-only, refused if others can
read it) or any SQLAlchemy URL, e.g. PostgreSQL.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path

import pandas as pd
import sqlalchemy as sa
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from anonymize.errors import ReidentificationRefused, VaultError, VaultTamperedError
from anonymize.keys import Keyring

__all__ = ["AuditEntry", "Identity", "Role", "Vault"]

log = logging.getLogger(__name__)

_GENESIS = "0" * 64
_MIN_REASON = 10

_meta = sa.MetaData()
_identities = sa.Table(
    "vault_identities",
    _meta,
    sa.Column("token", sa.String(128), primary_key=True),
    sa.Column("field", sa.String(64), nullable=False),
    sa.Column("domain", sa.String(64), nullable=False),
    sa.Column("vault_key_id", sa.String(16), nullable=False),
    sa.Column("nonce", sa.LargeBinary, nullable=False),
    sa.Column("ciphertext", sa.LargeBinary, nullable=False),
    sa.Column("created_at", sa.String(32), nullable=False),
)
_grants = sa.Table(
    "vault_grants",
    _meta,
    sa.Column("user_name", sa.String(128), primary_key=True),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("granted_by", sa.String(128), nullable=False),
    sa.Column("granted_at", sa.String(32), nullable=False),
)
_audit = sa.Table(
    "vault_audit",
    _meta,
    sa.Column("seq", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("at", sa.String(32), nullable=False),
    sa.Column("user_name", sa.String(128), nullable=False),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("action", sa.String(32), nullable=False),
    sa.Column("token", sa.String(128), nullable=True),
    sa.Column("reason", sa.Text, nullable=True),
    sa.Column("decision", sa.String(16), nullable=False),
    sa.Column("detail", sa.Text, nullable=True),
    sa.Column("audit_key_id", sa.String(16), nullable=False),
    sa.Column("prev_hash", sa.String(64), nullable=False),
    sa.Column("hash", sa.String(64), nullable=False),
)
_AUDIT_FIELDS = (
    "seq",
    "at",
    "user_name",
    "role",
    "action",
    "token",
    "reason",
    "decision",
    "detail",
    "audit_key_id",
    "prev_hash",
)


class Role(StrEnum):
    STEWARD = "steward"  # may re-identify and grant roles
    ANALYST = "analyst"  # reads pseudonymised data only


@dataclass(frozen=True, slots=True)
class Identity:
    token: str
    field: str
    domain: str
    value: str

    def __repr__(self) -> str:  # the value is a raw identifier: keep it out of logs
        return f"Identity(token={self.token!r}, field={self.field!r}, value=<redacted>)"


@dataclass(frozen=True, slots=True)
class AuditEntry:
    seq: int
    at: str
    user_name: str
    role: str
    action: str
    token: str | None
    reason: str | None
    decision: str
    detail: str | None
    hash: str


def _now() -> str:
    return datetime.now(UTC).isoformat()


def _prepare_sqlite(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    if path.exists():
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o077:
            raise VaultError(
                f"vault {path} is readable by group or others (mode {mode:o}); it must be "
                f"owner-only: chmod 600 {path}"
            )
        return
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    os.close(fd)


class Vault:
    """Token → identity store with role-checked, audited re-identification."""

    def __init__(self, location: Path | str, keyring: Keyring) -> None:
        if not keyring.has_vault_key:
            raise VaultError("the keyring has no vault key; the vault cannot be opened")
        self._keyring = keyring
        text = str(location)
        if "://" in text:
            self.location = sa.engine.make_url(text).render_as_string(hide_password=True)
            self._engine = sa.create_engine(text)
        else:
            path = Path(location)
            _prepare_sqlite(path)
            self.location = str(path)
            self._engine = sa.create_engine(f"sqlite:///{path}")
        _meta.create_all(self._engine)

    def close(self) -> None:
        self._engine.dispose()

    def __enter__(self) -> Vault:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Vault({self.location!r})"

    # -- writing -----------------------------------------------------------------------
    @staticmethod
    def _aad(token: str, field: str, domain: str, key_id: str) -> bytes:
        return json.dumps([token, field, domain, key_id]).encode()

    def store(self, tokens: pd.Series, values: pd.Series, *, field: str, domain: str) -> int:
        """Store each distinct (token, value) pair; tokens already stored are left as they are.

        Returns the number of distinct tokens offered.
        """
        pairs = (
            pd.DataFrame({"t": tokens.to_numpy(dtype=object), "v": values.to_numpy(dtype=object)})
            .dropna()
            .drop_duplicates("t")
        )
        if pairs.empty:
            return 0
        kid, key = self._keyring.vault_key()
        gcm = AESGCM(key)
        now = _now()
        rows = []
        for token, value in zip(pairs["t"].tolist(), pairs["v"].tolist(), strict=True):
            nonce = os.urandom(12)
            ct = gcm.encrypt(nonce, str(value).encode(), self._aad(token, field, domain, kid))
            rows.append(
                {
                    "token": token,
                    "field": field,
                    "domain": domain,
                    "vault_key_id": kid,
                    "nonce": nonce,
                    "ciphertext": ct,
                    "created_at": now,
                }
            )
        insert = self._insert_ignore(_identities, ["token"])
        with self._engine.begin() as conn:
            for chunk in range(0, len(rows), 5000):
                conn.execute(insert, rows[chunk : chunk + 5000])
        log.info("vault: %d distinct %s tokens offered (domain %s)", len(rows), field, domain)
        return len(rows)

    def _insert_ignore(self, table: sa.Table, keys: list[str]) -> sa.Insert:
        name = self._engine.dialect.name
        if name == "sqlite":
            from sqlalchemy.dialects.sqlite import insert as sqlite_insert

            return sqlite_insert(table).on_conflict_do_nothing(index_elements=keys)
        if name == "postgresql":
            from sqlalchemy.dialects.postgresql import insert as pg_insert

            return pg_insert(table).on_conflict_do_nothing(index_elements=keys)
        raise VaultError(f"vault store {name} is not supported (SQLite or PostgreSQL)")

    def count(self) -> int:
        with self._engine.connect() as conn:
            return int(
                conn.execute(sa.select(sa.func.count()).select_from(_identities)).scalar_one()
            )

    # -- roles -------------------------------------------------------------------------
    def role_of(self, user: str) -> Role | None:
        with self._engine.connect() as conn:
            role = conn.execute(
                sa.select(_grants.c.role).where(_grants.c.user_name == user)
            ).scalar_one_or_none()
        return Role(role) if role else None

    def grant(self, user: str, role: Role | str, *, by: str) -> None:
        """Give ``user`` a role. Only a steward may grant, except the very first steward."""
        role = Role(role)
        with self._engine.connect() as conn:
            stewards = conn.execute(
                sa.select(sa.func.count())
                .select_from(_grants)
                .where(_grants.c.role == Role.STEWARD.value)
            ).scalar_one()
        granter_role = self.role_of(by)
        bootstrap = stewards == 0 and role == Role.STEWARD and by == user
        if granter_role != Role.STEWARD and not bootstrap:
            self._append_audit(
                by, granter_role, "grant", None, None, "refused", f"grant {role.value} to {user}"
            )
            raise ReidentificationRefused(f"{by} is not a steward and may not grant roles")
        with self._engine.begin() as conn:
            conn.execute(sa.delete(_grants).where(_grants.c.user_name == user))
            conn.execute(
                sa.insert(_grants).values(
                    user_name=user, role=role.value, granted_by=by, granted_at=_now()
                )
            )
        self._append_audit(
            by,
            granter_role or Role.STEWARD,
            "grant",
            None,
            None,
            "granted",
            f"grant {role.value} to {user}",
        )

    # -- re-identification -------------------------------------------------------------
    def reidentify(self, token: str, *, reason: str, user: str) -> Identity:
        """The identity behind ``token``: only for a steward, only with a reason; audited."""
        role = self.role_of(user)
        reason = (reason or "").strip()
        if role != Role.STEWARD:
            self._append_audit(
                user, role, "reidentify", token, reason, "refused", "role is not steward"
            )
            raise ReidentificationRefused(
                f"{user} (role {role.value if role else 'none'}) may not re-identify: "
                "only a steward may"
            )
        if len(reason) < _MIN_REASON:
            self._append_audit(user, role, "reidentify", token, reason, "refused", "no reason")
            raise ReidentificationRefused(
                f"re-identification needs a reason of at least {_MIN_REASON} characters"
            )
        with self._engine.connect() as conn:
            row = conn.execute(
                sa.select(_identities).where(_identities.c.token == token)
            ).one_or_none()
        if row is None:
            self._append_audit(user, role, "reidentify", token, reason, "refused", "unknown token")
            raise ReidentificationRefused("the vault holds no identity for that token")
        try:
            identity = self._decrypt(row)
        except VaultTamperedError:
            self._append_audit(user, role, "reidentify", token, reason, "refused", "tampered row")
            raise
        self._append_audit(user, role, "reidentify", token, reason, "granted", None)
        log.info("vault: token re-identified by %s (field %s)", user, identity.field)
        return identity

    def _decrypt(self, row: sa.Row) -> Identity:
        try:
            _, key = self._keyring.vault_key(row.vault_key_id)
            aad = self._aad(row.token, row.field, row.domain, row.vault_key_id)
            value = AESGCM(key).decrypt(row.nonce, row.ciphertext, aad).decode()
        except (InvalidTag, ValueError, UnicodeDecodeError):
            raise VaultTamperedError(
                "a vault row fails its integrity check (tampered, or the wrong vault key)"
            ) from None
        return Identity(token=row.token, field=row.field, domain=row.domain, value=value)

    def verify_rows(self) -> int:
        """Decrypt every row; raises :class:`VaultTamperedError` at the first bad one."""
        n = 0
        with self._engine.connect() as conn:
            for row in conn.execute(sa.select(_identities)):
                self._decrypt(row)
                n += 1
        return n

    # -- audit -------------------------------------------------------------------------
    def _entry_hash(self, entry: dict[str, object], key_id: str) -> str:
        _, key = self._keyring.vault_key(key_id, purpose="audit")
        body = json.dumps([entry[f] for f in _AUDIT_FIELDS], ensure_ascii=False).encode()
        return hmac.new(key, body, hashlib.sha256).hexdigest()

    def _append_audit(
        self,
        user: str,
        role: Role | None,
        action: str,
        token: str | None,
        reason: str | None,
        decision: str,
        detail: str | None,
    ) -> None:
        kid = self._keyring.vault_active_id
        assert kid is not None
        for _attempt in range(5):
            try:
                with self._engine.begin() as conn:
                    last = conn.execute(
                        sa.select(_audit.c.seq, _audit.c.hash)
                        .order_by(_audit.c.seq.desc())
                        .limit(1)
                    ).one_or_none()
                    entry: dict[str, object] = {
                        "seq": (last.seq + 1) if last else 1,
                        "at": _now(),
                        "user_name": user,
                        "role": role.value if role else "none",
                        "action": action,
                        "token": token,
                        "reason": reason,
                        "decision": decision,
                        "detail": detail,
                        "audit_key_id": kid,
                        "prev_hash": last.hash if last else _GENESIS,
                    }
                    entry["hash"] = self._entry_hash(entry, kid)
                    conn.execute(sa.insert(_audit).values(**entry))
                return
            except sa.exc.IntegrityError:  # a concurrent append took the sequence number
                continue
        raise VaultError("could not append to the audit log")

    def audit_entries(self) -> Iterator[AuditEntry]:
        with self._engine.connect() as conn:
            for r in conn.execute(sa.select(_audit).order_by(_audit.c.seq)):
                yield AuditEntry(
                    r.seq,
                    r.at,
                    r.user_name,
                    r.role,
                    r.action,
                    r.token,
                    r.reason,
                    r.decision,
                    r.detail,
                    r.hash,
                )

    def verify_audit(self) -> int:
        """Check the audit chain; returns its length, raises :class:`VaultTamperedError`."""
        prev = _GENESIS
        expected_seq = 1
        n = 0
        with self._engine.connect() as conn:
            for r in conn.execute(sa.select(_audit).order_by(_audit.c.seq)):
                entry = {f: getattr(r, f) for f in _AUDIT_FIELDS}
                if r.seq != expected_seq or r.prev_hash != prev:
                    raise VaultTamperedError(f"audit chain broken at entry {r.seq}")
                try:
                    good = hmac.compare_digest(self._entry_hash(entry, r.audit_key_id), r.hash)
                except Exception:
                    good = False
                if not good:
                    raise VaultTamperedError(f"audit entry {r.seq} was altered")
                prev, expected_seq, n = r.hash, expected_seq + 1, n + 1
        return n
