"""The re-identification vault: token → identity, encrypted, with an audited door.

Each identity is encrypted with AES-GCM under the keyring's *vault* key (separate
from the token keys); the token, field, domain and vault key id are bound as
associated data, so an edited or swapped row fails to decrypt
(:class:`VaultTamperedError`). Retired vault keys stay in the keyring, so rows
written before a rotation stay readable; tokens of retired token keys stay in the
vault, so they stay resolvable.

Only a *steward* may re-identify, and only with a reason that matches the configured
pattern (a case or ticket number, then an explanation). Every attempt, granted or
refused, is appended to an audit log whose entries are chained by HMAC-SHA256 (under
a subkey of the vault key): editing, deleting or reordering an entry breaks the chain,
and the chain's head is anchored (:mod:`anonymize.anchor`; by default in this
database's ``chain_anchors`` table, or in a store of its own), so cutting entries off
its end is detected too (:meth:`Vault.check`).

Roles are granted rows sealed with an HMAC under the vault key and bound to the audit
entry that granted them: a row inserted, altered or replayed by someone without the
key grants nothing. The first steward is named once, on an empty vault
(:meth:`Vault.initialise`); after that only a steward grants.

The store is SQLite by default (a file created owner-only, refused if others can
read it) or any SQLAlchemy URL, e.g. PostgreSQL.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import re
import stat
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path

import pandas as pd
import sqlalchemy as sa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from anonymize.anchor import (
    AnchorCheck,
    AnchorError,
    AnchorState,
    ChainAnchor,
    ChainHead,
    HmacSeal,
    SqlAnchor,
    check_chain,
)
from anonymize.errors import ReidentificationRefused, VaultError, VaultTamperedError
from anonymize.keys import Keyring

__all__ = [
    "DEFAULT_REASON_PATTERN",
    "VAULT_AUDIT_CHAIN",
    "AuditEntry",
    "Identity",
    "Role",
    "Vault",
    "VaultCheck",
    "vault_database_url",
]

log = logging.getLogger(__name__)

_GENESIS = "0" * 64
#: a case or ticket number (``ZZB-2026-0042``), then ``:`` or a space, then at least ten
#: characters saying why; matched against the whole reason
DEFAULT_REASON_PATTERN = r"[A-Z][A-Z0-9]{1,9}-\d{1,10}(?:-\d{1,10})?(?:[:：]\s*|\s+)\S.{9,}"
#: whatever the pattern, a reason holds at least this many distinct non-space characters
_MIN_DISTINCT = 10
VAULT_AUDIT_CHAIN = "vault_audit"
_GRANT_ACTIONS = ("init", "grant")

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
    sa.Column("audit_seq", sa.Integer, nullable=True),
    sa.Column("key_id", sa.String(16), nullable=True),
    sa.Column("mac", sa.String(64), nullable=True),
)
_GRANT_SEALED = ("audit_seq", "key_id", "mac")
#: published person_key → the person's ID-number token, sealed like an identity (the
#: person_key is bound as associated data): how a steward goes from an analyst's
#: question ("who is P1a2b…?") to the identity, through the same audited door
_person_keys = sa.Table(
    "vault_person_keys",
    _meta,
    sa.Column("person_key", sa.String(64), primary_key=True),
    sa.Column("vault_key_id", sa.String(16), nullable=False),
    sa.Column("nonce", sa.LargeBinary, nullable=False),
    sa.Column("ciphertext", sa.LargeBinary, nullable=False),
    sa.Column("created_at", sa.String(32), nullable=False),
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


@dataclass(slots=True)
class VaultCheck:
    """What :meth:`Vault.check` found; ``ok`` only if every part is intact."""

    identities: int = 0
    corrupt_identities: dict[str, int] = field(default_factory=dict)  # field → bad rows
    audit_entries: int = 0
    audit_problems: list[str] = field(default_factory=list)
    grants: int = 0
    grant_problems: list[str] = field(default_factory=list)
    anchor: AnchorCheck | None = None

    @property
    def ok(self) -> bool:
        return not (
            self.corrupt_identities
            or self.audit_problems
            or self.grant_problems
            or (self.anchor is not None and not self.anchor.ok)
        )

    def problems(self) -> list[str]:
        """Every finding, one line each (no token, value or user name)."""
        out = [
            f"vault_identities: {n} {f} rows fail their integrity check (altered or corrupt)"
            for f, n in sorted(self.corrupt_identities.items())
        ]
        out += self.audit_problems + self.grant_problems
        if self.anchor is not None and not self.anchor.ok:
            out.append(
                f"{self.anchor.state.value.upper()}: {self.anchor.describe('the vault audit')}"
            )
        return out


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


def vault_database_url(location: Path | str) -> str:
    """The SQLAlchemy URL of a vault location (a URL, or a SQLite path that is created
    owner-only first, and refused if others may read it)."""
    text = str(location)
    if "://" in text:
        return text
    path = Path(location)
    _prepare_sqlite(path)
    return f"sqlite:///{path}"


class Vault:
    """Token → identity store with role-checked, audited, anchored re-identification.

    ``anchor`` is where the audit chain's head is recorded (default: the
    ``chain_anchors`` table of this same database); ``reason_pattern`` is what a
    re-identification reason must match, whole (default :data:`DEFAULT_REASON_PATTERN`).
    """

    def __init__(
        self,
        location: Path | str,
        keyring: Keyring,
        *,
        anchor: ChainAnchor | None = None,
        reason_pattern: str | None = None,
    ) -> None:
        if not keyring.has_vault_key:
            raise VaultError("the keyring has no vault key; the vault cannot be opened")
        try:
            self._reason = re.compile(reason_pattern or DEFAULT_REASON_PATTERN)
        except re.error:
            raise VaultError("the re-identification reason pattern is not a valid regex") from None
        self._keyring = keyring
        url = vault_database_url(location)
        if "://" in str(location):
            self.location = sa.engine.make_url(url).render_as_string(hide_password=True)
        else:
            self.location = str(location)
        self._engine = sa.create_engine(url)
        _meta.create_all(self._engine)
        self._migrate_grants()
        self._anchor = anchor if anchor is not None else SqlAnchor(self._engine)
        self._seal = HmacSeal(lambda kid: self._keyring.vault_key(kid, purpose="anchor"))

    def _migrate_grants(self) -> None:
        """Add the seal columns to a grants table made by an earlier version (its rows,
        unsealed, grant nothing until a steward grants them again)."""
        present = {c["name"] for c in sa.inspect(self._engine).get_columns("vault_grants")}
        with self._engine.begin() as conn:
            for name in _GRANT_SEALED:
                if name not in present:
                    column = _grants.c[name]
                    kind = column.type.compile(dialect=self._engine.dialect)
                    conn.execute(sa.text(f"ALTER TABLE vault_grants ADD COLUMN {name} {kind}"))

    def close(self) -> None:
        self._anchor.close()
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

        Tokens already in the vault are filtered out before anything is encrypted; the rest
        are inserted as tuples, in one transaction. Returns the number of distinct tokens
        offered.
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
        # the associated data is json.dumps([token, field, domain, kid]): its tail is shared
        tail = (", " + json.dumps([field, domain, kid])[1:]).encode()
        offered = pairs["t"].tolist()
        with self._engine.begin() as conn:
            stored = self._stored(conn, offered)
            rows = [
                (
                    token,
                    field,
                    domain,
                    kid,
                    nonce := os.urandom(12),
                    gcm.encrypt(
                        nonce, str(value).encode(), b"[" + json.dumps(token).encode() + tail
                    ),
                    now,
                )
                for token, value in zip(offered, pairs["v"].tolist(), strict=True)
                if token not in stored
            ]
            self._insert_identities(conn, rows)
        log.info(
            "vault: %d distinct %s tokens offered, %d new (domain %s)",
            len(offered),
            field,
            len(rows),
            domain,
        )
        return len(offered)

    _CHUNK = 5000

    _LOOKUP = 500  # tokens per look-up query

    def _stored(self, conn: sa.Connection, tokens: list[str]) -> set[str]:
        """Those of ``tokens`` already in the vault."""
        found: set[str] = set()
        style = self._engine.dialect.paramstyle
        if style in ("qmark", "format", "pyformat"):  # plain SQL: no statement compiled per query
            mark = "?" if style == "qmark" else "%s"
            cursor = conn.connection.cursor()  # the DB-API cursor, in this transaction
            try:
                for start in range(0, len(tokens), self._LOOKUP):
                    chunk = tuple(tokens[start : start + self._LOOKUP])
                    marks = ", ".join([mark] * len(chunk))
                    cursor.execute(
                        f"SELECT token FROM {_identities.name} WHERE token IN ({marks})", chunk
                    )
                    found.update(row[0] for row in cursor.fetchall())
            finally:
                cursor.close()
            return found
        column = _identities.c.token
        for start in range(0, len(tokens), self._CHUNK):
            chunk = tokens[start : start + self._CHUNK]
            found.update(conn.execute(sa.select(column).where(column.in_(chunk))).scalars())
        return found

    def _insert_identities(self, conn: sa.Connection, rows: list[tuple]) -> None:
        """Insert-or-ignore identity tuples (column order of ``vault_identities``)."""
        if not rows:
            return
        style = self._engine.dialect.paramstyle
        if style in ("qmark", "format", "pyformat"):
            mark = "?" if style == "qmark" else "%s"
            names = ", ".join(c.name for c in _identities.columns)
            marks = ", ".join([mark] * len(_identities.columns))
            self._insert_ignore(_identities, ["token"])  # refuses an unsupported store
            sql = (
                f"INSERT INTO {_identities.name} ({names}) VALUES ({marks}) "
                "ON CONFLICT (token) DO NOTHING"
            )
            for start in range(0, len(rows), self._CHUNK):
                conn.exec_driver_sql(sql, rows[start : start + self._CHUNK])
            return
        insert = self._insert_ignore(_identities, ["token"])
        keys = [c.name for c in _identities.columns]
        for start in range(0, len(rows), self._CHUNK):
            conn.execute(
                insert, [dict(zip(keys, r, strict=True)) for r in rows[start : start + self._CHUNK]]
            )

    def store_person_keys(
        self, person_keys: pd.Series, tokens: pd.Series, contacts: pd.DataFrame | None = None
    ) -> int:
        """Seal each distinct ``person_key →`` the person's tokens: the ID-number token and,
        from ``contacts`` (same index; columns ``<field>_token``, e.g. name and mobile), the
        tokens a reminder needs. Keys already stored are replaced (a person's mobile may
        change); the number of distinct person keys offered."""
        record = pd.DataFrame({"id_number": tokens.to_numpy(dtype=object)}, index=tokens.index)
        for column in contacts.columns if contacts is not None else []:
            if column.endswith("_token"):
                record[column.removesuffix("_token")] = contacts[column].to_numpy(dtype=object)
        sealed = [
            json.dumps({k: v for k, v in row.items() if isinstance(v, str) and v})
            for row in record.to_dict("records")
        ]
        pairs = (
            pd.DataFrame({"k": person_keys.to_numpy(dtype=object), "t": sealed})
            .dropna()
            .drop_duplicates("k")
        )
        if pairs.empty:
            return 0
        kid, key = self._keyring.vault_key()
        gcm = AESGCM(key)
        now = _now()
        rows = []
        for person_key, token in zip(pairs["k"].tolist(), pairs["t"].tolist(), strict=True):
            nonce = os.urandom(12)
            aad = self._aad(str(person_key), "person_key", "person_key", kid)
            rows.append(
                {
                    "person_key": str(person_key),
                    "vault_key_id": kid,
                    "nonce": nonce,
                    "ciphertext": gcm.encrypt(nonce, str(token).encode(), aad),
                    "created_at": now,
                }
            )
        keys = [r["person_key"] for r in rows]
        with self._engine.begin() as conn:
            for chunk in range(0, len(rows), 5000):
                part = keys[chunk : chunk + 5000]
                conn.execute(sa.delete(_person_keys).where(_person_keys.c.person_key.in_(part)))
                conn.execute(sa.insert(_person_keys), rows[chunk : chunk + 5000])
        log.info("vault: %d person keys offered", len(rows))
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
    def _grant_mac(self, values: dict[str, object], key_id: str) -> str:
        _, key = self._keyring.vault_key(key_id, purpose="grant")
        body = json.dumps(
            [values[f] for f in ("user_name", "role", "granted_by", "granted_at", "audit_seq")],
            ensure_ascii=False,
        ).encode()
        return hmac.new(key, body, hashlib.sha256).hexdigest()

    def _grant_problem(self, conn: sa.Connection, row: sa.Row) -> str | None:
        """Why a grant row grants nothing (None if it is sound).

        Sound: its MAC verifies, the audit entry it names is an intact record of this very
        grant, and no later audit entry granted the user another role (no replayed row).
        """
        values = dict(row._mapping)
        try:
            good = hmac.compare_digest(self._grant_mac(values, str(row.key_id)), str(row.mac))
        except Exception:
            good = False
        if not good:
            return "fails its MAC (inserted or altered without the vault key)"
        details = [f"grant {r.value} to {row.user_name}" for r in Role]
        entry = conn.execute(sa.select(_audit).where(_audit.c.seq == row.audit_seq)).one_or_none()
        if (
            entry is None
            or entry.action not in _GRANT_ACTIONS
            or entry.decision != "granted"
            or entry.detail != f"grant {row.role} to {row.user_name}"
            or not self._audit_row_intact(entry)
        ):
            return "is not backed by its audit entry"
        later = conn.execute(
            sa.select(sa.func.count())
            .select_from(_audit)
            .where(
                _audit.c.seq > row.audit_seq,
                _audit.c.action.in_(_GRANT_ACTIONS),
                _audit.c.decision == "granted",
                _audit.c.detail.in_(details),
            )
        ).scalar_one()
        if later:
            return "was superseded by a later grant (a replayed row)"
        return None

    def role_of(self, user: str) -> Role | None:
        """The user's role, if a sound grant row gives one; a tampered row gives none."""
        with self._engine.connect() as conn:
            row = conn.execute(sa.select(_grants).where(_grants.c.user_name == user)).one_or_none()
            if row is None:
                return None
            problem = self._grant_problem(conn, row)
        if problem:
            log.warning("vault: a grant row %s; it grants nothing", problem)
            return None
        try:
            return Role(row.role)
        except ValueError:
            return None

    def initialise(self, steward: str, *, by: str) -> None:
        """Name the first steward. Only on a vault with no grant, no audit entry and no
        anchored audit history; afterwards only a steward grants (:meth:`grant`)."""
        if not steward or not steward.strip():
            raise VaultError("name the first steward")
        with self._engine.connect() as conn:
            grants = conn.execute(sa.select(sa.func.count()).select_from(_grants)).scalar_one()
            audits = conn.execute(sa.select(sa.func.count()).select_from(_audit)).scalar_one()
        if grants or audits or self._anchor.read(VAULT_AUDIT_CHAIN) is not None:
            raise ReidentificationRefused(
                "the vault already has roles or an audit history: its first steward was "
                "named; only a steward may grant roles now"
            )
        self._record_grant(steward, Role.STEWARD, by=by, by_role="operator", action="init")
        log.info("vault: first steward named")

    def grant(self, user: str, role: Role | str, *, by: str) -> None:
        """Give ``user`` a role. Only a steward may (the first is named by :meth:`initialise`)."""
        role = Role(role)
        granter_role = self.role_of(by)
        if granter_role != Role.STEWARD:
            self._append_audit(
                by, granter_role, "grant", None, None, "refused", f"grant {role.value} to {user}"
            )
            raise ReidentificationRefused("the caller is not a steward and may not grant roles")
        self._require_intact_audit(by, granter_role, "grant", None, None)
        self._record_grant(user, role, by=by, by_role=granter_role.value, action="grant")

    def _record_grant(self, user: str, role: Role, *, by: str, by_role: str, action: str) -> None:
        detail = f"grant {role.value} to {user}"
        kid = self._keyring.vault_active_id
        assert kid is not None
        for _attempt in range(5):
            try:
                with self._engine.begin() as conn:
                    entry = self._insert_audit(
                        conn, by, by_role, action, None, None, "granted", detail
                    )
                    values: dict[str, object] = {
                        "user_name": user,
                        "role": role.value,
                        "granted_by": by,
                        "granted_at": entry["at"],
                        "audit_seq": entry["seq"],
                        "key_id": kid,
                    }
                    values["mac"] = self._grant_mac(values, kid)
                    conn.execute(sa.delete(_grants).where(_grants.c.user_name == user))
                    conn.execute(sa.insert(_grants).values(**values))
                break
            except sa.exc.IntegrityError:  # a concurrent append took the sequence number
                continue
        else:
            raise VaultError("could not append to the audit log")
        self._advance_anchor()

    # -- re-identification -------------------------------------------------------------
    def reason_problem(self, reason: str) -> str | None:
        """Why ``reason`` is not acceptable (None if it is)."""
        text = (reason or "").strip()
        if not self._reason.fullmatch(text):
            return (
                "the reason must match the configured pattern (a case or ticket number such "
                "as ZZB-2026-0042, then what the re-identification is for)"
            )
        if len({ch for ch in text if not ch.isspace()}) < _MIN_DISTINCT:
            return "the reason says too little (too few distinct characters)"
        return None

    def _admit(self, user: str, subject: str, reason: str) -> Role:
        """The steward-and-reason gate of every re-identification (refusals audited)."""
        role = self.role_of(user)
        if role != Role.STEWARD:
            self._append_audit(
                user, role, "reidentify", subject, reason, "refused", "role is not steward"
            )
            raise ReidentificationRefused(
                f"the caller (role {role.value if role else 'none'}) may not re-identify: "
                "only a steward may (a steward grants it: `islandbridge keys grant "
                f"{user} --role steward`)"
            )
        problem = self.reason_problem(reason)
        if problem:
            self._append_audit(user, role, "reidentify", subject, reason, "refused", "bad reason")
            raise ReidentificationRefused(f"re-identification refused: {problem}")
        self._require_intact_audit(user, role, "reidentify", subject, reason)
        return role

    def _identity_row(self, token: str) -> sa.Row | None:
        with self._engine.connect() as conn:
            return conn.execute(
                sa.select(_identities).where(_identities.c.token == token)
            ).one_or_none()

    def _open(self, user: str, role: Role, subject: str, reason: str, row: sa.Row) -> Identity:
        try:
            identity = self._decrypt(row)
        except VaultTamperedError:
            self._append_audit(user, role, "reidentify", subject, reason, "refused", "tampered row")
            raise
        detail = None if subject == identity.token else f"person_key:{identity.field}"
        self._append_audit(user, role, "reidentify", subject, reason, "granted", detail)
        log.info("vault: a token was re-identified (field %s)", identity.field)
        return identity

    def reidentify(self, token: str, *, reason: str, user: str) -> Identity:
        """The identity behind ``token``: only for a steward, only with a reason that matches
        the configured pattern, only while the audit chain is intact; always audited."""
        reason = (reason or "").strip()
        role = self._admit(user, token, reason)
        row = self._identity_row(token)
        if row is None:
            self._append_audit(user, role, "reidentify", token, reason, "refused", "unknown token")
            raise ReidentificationRefused(
                "the vault holds no identity for that token (for a published person_key "
                "such as P1a2b…, give the person_key itself)"
            )
        return self._open(user, role, token, reason, row)

    def reidentify_person(
        self, person_key: str, *, reason: str, user: str, field: str = "id_number"
    ) -> Identity:
        """The identity behind a published ``person_key`` (its ``field``: ``id_number``,
        or ``name`` / ``mobile`` where sealed), through the sealed person-key table; the
        same gate and audit as :meth:`reidentify` (the audit entry names the person_key
        and the field)."""
        reason = (reason or "").strip()
        role = self._admit(user, person_key, reason)
        with self._engine.connect() as conn:
            sealed = conn.execute(
                sa.select(_person_keys).where(_person_keys.c.person_key == person_key)
            ).one_or_none()
        if sealed is None:
            self._append_audit(
                user, role, "reidentify", person_key, reason, "refused", "unknown person_key"
            )
            raise ReidentificationRefused(
                "the vault holds no person with that person_key (published by a run of "
                "this installation? check the person_key as the dataset spells it)"
            )
        try:
            _, key = self._keyring.vault_key(sealed.vault_key_id)
            aad = self._aad(person_key, "person_key", "person_key", sealed.vault_key_id)
            plain = AESGCM(key).decrypt(sealed.nonce, sealed.ciphertext, aad).decode()
            tokens = json.loads(plain) if plain.startswith("{") else {"id_number": plain}
        except Exception:
            self._append_audit(
                user, role, "reidentify", person_key, reason, "refused", "tampered row"
            )
            raise VaultTamperedError(
                "a vault row fails its integrity check (tampered, or the wrong vault key)"
            ) from None
        token = tokens.get(field)
        row = self._identity_row(token) if token else None
        if row is None:
            self._append_audit(
                user, role, "reidentify", person_key, reason, "refused", f"no {field}"
            )
            raise ReidentificationRefused(f"the vault holds no {field} for that person")
        return self._open(user, role, person_key, reason, row)

    def _decrypt(self, row: sa.Row) -> Identity:
        try:
            _, key = self._keyring.vault_key(row.vault_key_id)
            aad = self._aad(row.token, row.field, row.domain, row.vault_key_id)
            value = AESGCM(key).decrypt(row.nonce, row.ciphertext, aad).decode()
        except Exception:  # any corruption: wrong tag, types, lengths, unknown key id
            raise VaultTamperedError(
                "a vault row fails its integrity check (tampered, or the wrong vault key)"
            ) from None
        return Identity(token=row.token, field=row.field, domain=row.domain, value=value)

    def verify_rows(self) -> int:
        """Decrypt every row; raises :class:`VaultTamperedError` if any is bad."""
        checked, corrupt = self._check_rows()
        if corrupt:
            raise VaultTamperedError(
                f"{sum(corrupt.values())} vault rows fail their integrity check"
            )
        return checked

    def _check_rows(self) -> tuple[int, dict[str, int]]:
        n = 0
        corrupt: dict[str, int] = {}
        with self._engine.connect() as conn:
            for row in conn.execute(sa.select(_identities)):
                n += 1
                try:
                    self._decrypt(row)
                except VaultTamperedError:
                    name = row.field if isinstance(row.field, str) else "?"
                    corrupt[name] = corrupt.get(name, 0) + 1
        return n, corrupt

    # -- audit -------------------------------------------------------------------------
    def _entry_hash(self, entry: dict[str, object], key_id: str) -> str:
        _, key = self._keyring.vault_key(key_id, purpose="audit")
        body = json.dumps([entry[f] for f in _AUDIT_FIELDS], ensure_ascii=False).encode()
        return hmac.new(key, body, hashlib.sha256).hexdigest()

    def _audit_row_intact(self, r: sa.Row) -> bool:
        try:
            entry = {f: getattr(r, f) for f in _AUDIT_FIELDS}
            return hmac.compare_digest(self._entry_hash(entry, str(r.audit_key_id)), str(r.hash))
        except Exception:
            return False

    def _insert_audit(
        self,
        conn: sa.Connection,
        user: str,
        role: str,
        action: str,
        token: str | None,
        reason: str | None,
        decision: str,
        detail: str | None,
    ) -> dict[str, object]:
        kid = self._keyring.vault_active_id
        assert kid is not None
        last = conn.execute(
            sa.select(_audit.c.seq, _audit.c.hash).order_by(_audit.c.seq.desc()).limit(1)
        ).one_or_none()
        entry: dict[str, object] = {
            "seq": (int(last.seq) + 1) if last else 1,
            "at": _now(),
            "user_name": user,
            "role": role,
            "action": action,
            "token": token,
            "reason": reason,
            "decision": decision,
            "detail": detail,
            "audit_key_id": kid,
            "prev_hash": str(last.hash) if last else _GENESIS,
        }
        entry["hash"] = self._entry_hash(entry, kid)
        conn.execute(sa.insert(_audit).values(**entry))
        return entry

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
        for _attempt in range(5):
            try:
                with self._engine.begin() as conn:
                    self._insert_audit(
                        conn,
                        user,
                        role.value if role else "none",
                        action,
                        token,
                        reason,
                        decision,
                        detail,
                    )
                break
            except sa.exc.IntegrityError:  # a concurrent append took the sequence number
                continue
        else:
            raise VaultError("could not append to the audit log")
        self._advance_anchor()

    def _head(self, conn: sa.Connection) -> ChainHead | None:
        last = conn.execute(
            sa.select(_audit.c.seq, _audit.c.hash).order_by(_audit.c.seq.desc()).limit(1)
        ).one_or_none()
        if last is None:
            return None
        try:
            return ChainHead(int(last.seq), str(last.hash))
        except (TypeError, ValueError):
            return ChainHead(-1, str(last.hash))

    def check_anchor(self) -> AnchorCheck:
        """Compare the audit chain's last entry with its anchored head."""
        with self._engine.connect() as conn:
            head = self._head(conn)

            def hash_at(seq: int) -> str | None:
                value = conn.execute(
                    sa.select(_audit.c.hash).where(_audit.c.seq == seq)
                ).scalar_one_or_none()
                return None if value is None else str(value)

            return check_chain(
                self._anchor, VAULT_AUDIT_CHAIN, self._seal, head=head, hash_at=hash_at
            )

    def _advance_anchor(self) -> None:
        """Move the anchor to the chain's new head if the chain extends the anchored head,
        or if this is the chain's first entry; otherwise the anchor stays where it is and
        :meth:`check` reports why."""
        check = self.check_anchor()
        if check.head is None:
            return
        first = check.state == AnchorState.UNANCHORED and check.head.seq == 1
        if not (check.ok or first):
            log.warning("vault: audit anchor not moved (%s)", check.state.value)
            return
        try:
            self._anchor.advance(VAULT_AUDIT_CHAIN, check.head, self._seal)
        except AnchorError as exc:
            log.warning("vault: audit anchor not moved (%s)", type(exc).__name__)

    def _require_intact_audit(
        self,
        user: str,
        role: Role | None,
        action: str,
        token: str | None,
        reason: str | None,
    ) -> None:
        check = self.check_anchor()
        if check.ok:
            return
        self._append_audit(user, role, action, token, reason, "refused", "audit not intact")
        raise VaultTamperedError(
            f"{check.describe('the vault audit')}; refused until `keys verify-vault` passes"
        )

    def adopt_anchor(self) -> AnchorCheck:
        """Anchor the audit chain at its head (an operator's decision, for a vault made
        before anchoring or whose anchor record fails its seal): only if every entry checks
        out; never over a truncated or diverged chain. Returns the check made first."""
        check = self.check()
        if check.audit_problems or check.grant_problems:
            raise VaultTamperedError("the audit chain or the grants are not intact; not anchored")
        assert check.anchor is not None
        state = check.anchor.state
        if state in (AnchorState.TRUNCATED, AnchorState.DIVERGED, AnchorState.UNREADABLE):
            raise VaultTamperedError(check.anchor.describe("the vault audit"))
        if check.anchor.head is not None and state != AnchorState.MATCHES:
            self._anchor.advance(
                VAULT_AUDIT_CHAIN, check.anchor.head, self._seal, replace_invalid=True
            )
        return check.anchor

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

    def _check_audit(self) -> tuple[int, list[str]]:
        prev: str | None = _GENESIS
        expected_seq = 1
        n = 0
        problems: list[str] = []
        with self._engine.connect() as conn:
            rows = list(conn.execute(sa.select(_audit).order_by(_audit.c.seq)))
        for r in rows:
            n += 1
            if r.seq != expected_seq or (prev is not None and r.prev_hash != prev):
                problems.append(
                    f"audit entry {r.seq}: chain broken (entry {expected_seq} expected before "
                    "it: an entry was removed, reordered or inserted)"
                )
            elif not self._audit_row_intact(r):
                problems.append(f"audit entry {r.seq}: altered (its MAC does not match)")
            prev = r.hash if isinstance(r.hash, str) else None
            expected_seq = (r.seq + 1) if isinstance(r.seq, int) else expected_seq + 1
        return n, problems

    def _check_grants(self) -> tuple[int, list[str]]:
        problems: list[str] = []
        with self._engine.connect() as conn:
            rows = list(conn.execute(sa.select(_grants).order_by(_grants.c.granted_at)))
            for n, row in enumerate(rows, start=1):
                problem = self._grant_problem(conn, row)
                if problem:
                    problems.append(
                        f"vault_grants: a {row.role!s:.16} grant (row {n}) {problem}; refused"
                    )
        return len(rows), problems

    def check(self) -> VaultCheck:
        """Every identity row, the audit chain, its anchor and every grant; never raises for
        what it finds (a corrupt row is reported, not thrown)."""
        result = VaultCheck()
        result.identities, result.corrupt_identities = self._check_rows()
        result.audit_entries, result.audit_problems = self._check_audit()
        result.grants, result.grant_problems = self._check_grants()
        result.anchor = self.check_anchor()
        return result

    def verify_audit(self) -> int:
        """Check the audit chain and its anchor; returns its length, raises
        :class:`VaultTamperedError` naming the first problem."""
        n, problems = self._check_audit()
        if problems:
            raise VaultTamperedError(problems[0])
        anchor = self.check_anchor()
        if not anchor.ok:
            raise VaultTamperedError(anchor.describe("the vault audit"))
        return n
