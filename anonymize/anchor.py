"""Chain anchors: the head of a hash chain, recorded outside the chain's own store.

A hash chain (the publication ledger, the vault's audit log) detects an altered or
removed entry in its middle, but not a cut at its end: drop the last lines and the
rest still chains. An *anchor* records the chain's head — ``{chain, seq, head_hash,
version}`` — somewhere else, sealed (Ed25519-signed with the service's signing key
for the ledger, HMAC'd under a vault subkey for the audit), so that

- a chain **shorter** than its anchor was truncated or rolled back;
- a chain whose entry at the anchored ``seq`` has another hash **diverged**;
- a chain **longer** than its anchor is benign: the appender crashed between
  writing the chain and moving the anchor (entries cannot be forged without the
  key); the next append, or :func:`advance`, catches the anchor up.

An anchor only ever moves forward (:meth:`ChainAnchor.advance` refuses a lower
``seq``). It protects against whoever may write the chain's store but not the
anchor's: an attacker who can write both can replay an old sealed record.

Stores: :class:`SqlAnchor` (a table, by default in the vault database; SQLite or
PostgreSQL), :class:`FileAnchor` (an owner-only file outside the data folder) and
:class:`AirflowVariableAnchor` (an Airflow Variable).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import logging
import os
import re
import secrets
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from anonymize.errors import AnonymizeError

__all__ = [
    "AirflowVariableAnchor",
    "AnchorCheck",
    "AnchorError",
    "AnchorRecord",
    "AnchorSeal",
    "AnchorState",
    "ChainAnchor",
    "ChainHead",
    "Ed25519Seal",
    "FileAnchor",
    "HmacSeal",
    "SqlAnchor",
    "check_chain",
]

log = logging.getLogger(__name__)

_CHAIN_NAME = re.compile(r"^[a-z][a-z0-9_]{0,63}$")


class AnchorError(AnonymizeError):
    """The anchor store cannot be read or written, or an update would move it backwards."""


# -- records and seals ---------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class AnchorRecord:
    """One chain's anchored head; ``proof`` seals every other field."""

    chain: str
    seq: int
    head_hash: str
    version: str
    recorded_at: str
    key_id: str
    proof: str

    def payload(self) -> bytes:
        """The bytes the proof covers: canonical JSON of every field but ``proof``."""
        body = {k: v for k, v in asdict(self).items() if k != "proof"}
        return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_mapping(cls, raw: Any) -> AnchorRecord:
        """Parse a stored record; raises :class:`AnchorError` if it is not one."""
        try:
            record = cls(
                chain=str(raw["chain"]),
                seq=int(raw["seq"]),
                head_hash=str(raw["head_hash"]),
                version=str(raw["version"]),
                recorded_at=str(raw["recorded_at"]),
                key_id=str(raw["key_id"]),
                proof=str(raw["proof"]),
            )
        except (KeyError, TypeError, ValueError):
            raise AnchorError("the stored anchor record is unreadable") from None
        return record


class AnchorSeal(ABC):
    """Makes and checks the proof of an anchor record."""

    @abstractmethod
    def active_key_id(self) -> str: ...

    @abstractmethod
    def sign(self, payload: bytes) -> str: ...

    @abstractmethod
    def check(self, payload: bytes, key_id: str, proof: str) -> bool: ...


class Ed25519Seal(AnchorSeal):
    """Ed25519 signature with the service's signing key (checking needs only the public key)."""

    def __init__(
        self, public_key: Ed25519PublicKey, private_key: Ed25519PrivateKey | None = None
    ) -> None:
        self._public = public_key
        self._private = private_key
        raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        self._key_id = "ed25519:" + hashlib.sha256(raw).hexdigest()[:16]

    @classmethod
    def from_private(cls, private_key: Ed25519PrivateKey) -> Ed25519Seal:
        return cls(private_key.public_key(), private_key)

    def active_key_id(self) -> str:
        return self._key_id

    def sign(self, payload: bytes) -> str:
        if self._private is None:
            raise AnchorError("this seal can check anchors but not sign them (no private key)")
        return base64.b64encode(self._private.sign(payload)).decode("ascii")

    def check(self, payload: bytes, key_id: str, proof: str) -> bool:
        if key_id != self._key_id:
            return False
        try:
            self._public.verify(base64.b64decode(proof, validate=True), payload)
        except (InvalidSignature, binascii.Error, ValueError):
            return False
        return True


class HmacSeal(AnchorSeal):
    """HMAC-SHA256 under a secret chosen by key id; ``key_for(None)`` gives the active one."""

    def __init__(self, key_for: Callable[[str | None], tuple[str, bytes]]) -> None:
        self._key_for = key_for

    def active_key_id(self) -> str:
        return self._key_for(None)[0]

    def sign(self, payload: bytes) -> str:
        _, key = self._key_for(None)
        return hmac.new(key, payload, hashlib.sha256).hexdigest()

    def check(self, payload: bytes, key_id: str, proof: str) -> bool:
        try:
            _, key = self._key_for(key_id)
        except Exception:  # an unknown key id: not ours
            return False
        return hmac.compare_digest(hmac.new(key, payload, hashlib.sha256).hexdigest(), proof)


# -- comparing a chain with its anchor ------------------------------------------------------
class AnchorState(StrEnum):
    EMPTY = "empty"  # no chain, no anchor: nothing recorded yet
    MATCHES = "matches"  # the chain ends exactly at the anchored head
    ANCHOR_BEHIND = "anchor_behind"  # the chain extends the anchored head (crash; benign)
    TRUNCATED = "truncated"  # the chain ends before the anchored head: cut or rolled back
    DIVERGED = "diverged"  # the entry at the anchored seq is not the anchored one
    UNANCHORED = "unanchored"  # a chain but no anchor record (never anchored, or deleted)
    INVALID = "invalid"  # the anchor record's proof fails (forged, other key, altered)
    UNREADABLE = "unreadable"  # the anchor store could not be read


@dataclass(frozen=True, slots=True)
class ChainHead:
    """The last entry of a chain as its store holds it."""

    seq: int
    hash: str
    version: str = ""


@dataclass(frozen=True, slots=True)
class AnchorCheck:
    state: AnchorState
    head: ChainHead | None
    anchored: AnchorRecord | None
    where: str

    @property
    def ok(self) -> bool:
        """Nothing wrong (an anchor behind its chain is pending, not wrong): the chain may
        be extended and the anchor moved to its new head."""
        return self.state in (AnchorState.EMPTY, AnchorState.MATCHES, AnchorState.ANCHOR_BEHIND)

    def describe(self, chain_label: str) -> str:
        """One line naming both ends: what the chain holds and what the anchor records."""
        head = _describe_end(self.head.seq, self.head.version) if self.head else "no entry"
        anchored = (
            _describe_end(self.anchored.seq, self.anchored.version) if self.anchored else "nothing"
        )
        texts = {
            AnchorState.EMPTY: f"{chain_label} is empty and not anchored yet",
            AnchorState.MATCHES: f"{chain_label} ends at {head}, as anchored in {self.where}",
            AnchorState.ANCHOR_BEHIND: (
                f"{chain_label} ends at {head}, the anchor in {self.where} records {anchored} "
                "(an append was interrupted before the anchor moved; the next append or "
                "--adopt-anchor catches it up)"
            ),
            AnchorState.TRUNCATED: (
                f"{chain_label} ends at {head}, but the anchor in {self.where} records "
                f"{anchored}: entries after it were removed"
            ),
            AnchorState.DIVERGED: (
                f"{chain_label}'s entry at seq {self.anchored.seq if self.anchored else '?'} is "
                f"not the one anchored in {self.where} (anchor records {anchored}; the chain "
                f"ends at {head})"
            ),
            AnchorState.UNANCHORED: (
                f"{chain_label} ends at {head}, but {self.where} holds no anchor for it "
                "(never anchored, or the anchor record was deleted)"
            ),
            AnchorState.INVALID: (
                f"the anchor of {chain_label} in {self.where} fails its seal (altered, "
                "forged, or sealed with another key)"
            ),
            AnchorState.UNREADABLE: f"the anchor store {self.where} cannot be read",
        }
        return texts[self.state]


def _describe_end(seq: int, version: str) -> str:
    return f"seq {seq}" + (f" (version {version})" if version else "")


def check_chain(
    anchor: ChainAnchor,
    chain: str,
    seal: AnchorSeal,
    *,
    head: ChainHead | None,
    hash_at: Callable[[int], str | None],
) -> AnchorCheck:
    """Compare a chain's ``head`` (None: empty chain) with its anchored head.

    ``hash_at(seq)`` returns the hash of the chain's entry ``seq`` (None if absent).
    """
    where = anchor.describe()
    try:
        record = anchor.read(chain)
    except AnchorError:
        return AnchorCheck(AnchorState.UNREADABLE, head, None, where)
    if record is None:
        state = AnchorState.EMPTY if head is None else AnchorState.UNANCHORED
        return AnchorCheck(state, head, None, where)
    if record.chain != chain or not seal.check(record.payload(), record.key_id, record.proof):
        return AnchorCheck(AnchorState.INVALID, head, record, where)
    if head is None or head.seq < record.seq:
        return AnchorCheck(AnchorState.TRUNCATED, head, record, where)
    stored = hash_at(record.seq)
    if stored is None or not hmac.compare_digest(str(stored), record.head_hash):
        return AnchorCheck(AnchorState.DIVERGED, head, record, where)
    state = AnchorState.MATCHES if head.seq == record.seq else AnchorState.ANCHOR_BEHIND
    return AnchorCheck(state, head, record, where)


# -- stores ----------------------------------------------------------------------------------
class ChainAnchor(ABC):
    """A store of anchor records, one per chain name."""

    @abstractmethod
    def describe(self) -> str:
        """Where the anchor is, for messages (no password, no key)."""

    @abstractmethod
    def read(self, chain: str) -> AnchorRecord | None:
        """The stored record of ``chain``, or None; :class:`AnchorError` if unreadable."""

    @abstractmethod
    def _write(self, record: AnchorRecord, previous: AnchorRecord | None, force: bool) -> None:
        """Store ``record`` over ``previous`` (compare-and-set where the store can; ``force``
        replaces whatever is there)."""

    def close(self) -> None:  # noqa: B027 - stores without resources need nothing
        """Release the store's resources."""

    def advance(
        self, chain: str, head: ChainHead, seal: AnchorSeal, *, replace_invalid: bool = False
    ) -> AnchorRecord | None:
        """Record ``head`` as the anchored head of ``chain``; only ever forward.

        Returns the new record, or None when the store already holds this head or a
        later one (a concurrent appender got there first). Raises :class:`AnchorError`
        for a different hash at the same seq. ``replace_invalid`` (adoption by an
        operator, after a full check of the chain) overwrites a record whose seal fails.
        """
        if not _CHAIN_NAME.match(chain):
            raise AnchorError(f"chain name must match {_CHAIN_NAME.pattern}")
        previous = self.read(chain)
        force = False
        if previous is not None and replace_invalid:
            force = previous.chain != chain or not seal.check(
                previous.payload(), previous.key_id, previous.proof
            )
        if previous is not None and not force and previous.seq >= head.seq:
            if previous.seq == head.seq and previous.head_hash != head.hash:
                raise AnchorError(f"anchor of {chain} holds another head at the same seq")
            return None
        body = AnchorRecord(
            chain=chain,
            seq=head.seq,
            head_hash=head.hash,
            version=head.version,
            recorded_at=datetime.now(UTC).isoformat(timespec="seconds"),
            key_id=seal.active_key_id(),
            proof="",
        )
        record = AnchorRecord(**{**asdict(body), "proof": seal.sign(body.payload())})
        self._write(record, previous, force)
        log.info("anchor of %s moved to seq %d in %s", chain, head.seq, self.describe())
        return record


_anchor_meta = sa.MetaData()
_anchors = sa.Table(
    "chain_anchors",
    _anchor_meta,
    sa.Column("chain", sa.String(64), primary_key=True),
    sa.Column("seq", sa.Integer, nullable=False),
    sa.Column("head_hash", sa.String(128), nullable=False),
    sa.Column("version", sa.String(128), nullable=False),
    sa.Column("recorded_at", sa.String(32), nullable=False),
    sa.Column("key_id", sa.String(64), nullable=False),
    sa.Column("proof", sa.Text, nullable=False),
)


class SqlAnchor(ChainAnchor):
    """Anchor records in a ``chain_anchors`` table (SQLite or PostgreSQL)."""

    def __init__(self, target: str | sa.Engine) -> None:
        if isinstance(target, sa.Engine):
            self._engine, self._owned = target, False
        else:
            self._engine, self._owned = sa.create_engine(target), True
        self._where = "table chain_anchors in " + self._engine.url.render_as_string(
            hide_password=True
        )
        try:
            _anchor_meta.create_all(self._engine)
        except sa.exc.SQLAlchemyError as exc:
            raise AnchorError(f"{self._where}: cannot be prepared ({type(exc).__name__})") from None

    def describe(self) -> str:
        return self._where

    def close(self) -> None:
        if self._owned:
            self._engine.dispose()

    def read(self, chain: str) -> AnchorRecord | None:
        try:
            with self._engine.connect() as conn:
                row = conn.execute(
                    sa.select(_anchors).where(_anchors.c.chain == chain)
                ).one_or_none()
        except sa.exc.SQLAlchemyError as exc:
            raise AnchorError(f"{self._where}: cannot be read ({type(exc).__name__})") from None
        return None if row is None else AnchorRecord.from_mapping(row._mapping)

    def _write(self, record: AnchorRecord, previous: AnchorRecord | None, force: bool) -> None:
        values = asdict(record)
        try:
            with self._engine.begin() as conn:
                if force:
                    conn.execute(sa.delete(_anchors).where(_anchors.c.chain == record.chain))
                if previous is None or force:
                    conn.execute(sa.insert(_anchors).values(**values))
                    return
                done = conn.execute(
                    sa.update(_anchors)
                    .where(_anchors.c.chain == record.chain, _anchors.c.seq < record.seq)
                    .values(**values)
                )
                if done.rowcount == 0:
                    log.info("anchor of %s already moved on by another writer", record.chain)
        except sa.exc.IntegrityError:
            log.info("anchor of %s created by another writer first", record.chain)
        except sa.exc.SQLAlchemyError as exc:
            raise AnchorError(f"{self._where}: cannot be written ({type(exc).__name__})") from None


class FileAnchor(ChainAnchor):
    """Anchor records as owner-only JSON files ``<chain>.anchor.json`` in ``folder``."""

    def __init__(self, folder: Path) -> None:
        self._folder = Path(folder)

    def describe(self) -> str:
        return f"anchor folder {self._folder}"

    def _path(self, chain: str) -> Path:
        if not _CHAIN_NAME.match(chain):
            raise AnchorError(f"chain name must match {_CHAIN_NAME.pattern}")
        return self._folder / f"{chain}.anchor.json"

    def read(self, chain: str) -> AnchorRecord | None:
        path = self._path(chain)
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        except (OSError, UnicodeDecodeError):
            raise AnchorError(f"{path}: cannot be read") from None
        try:
            return AnchorRecord.from_mapping(json.loads(text))
        except json.JSONDecodeError:
            raise AnchorError(f"{path}: not an anchor record") from None

    def _write(self, record: AnchorRecord, previous: AnchorRecord | None, force: bool) -> None:
        path = self._path(record.chain)
        self._folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        self._folder.chmod(0o700)
        tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.write(fd, record.to_json().encode("ascii"))
            os.fsync(fd)
        finally:
            os.close(fd)
        tmp.replace(path)
        dir_fd = os.open(self._folder, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


def _in_airflow_task() -> bool:
    """Whether this process runs an Airflow task (Airflow's own test: a supervisor link)."""
    import sys

    return hasattr(sys.modules.get("airflow.sdk.execution_time.task_runner"), "SUPERVISOR_COMMS")


def _airflow_get(key: str) -> str | None:
    try:
        if _in_airflow_task():  # inside a task: the Task SDK (through the API server)
            from airflow.sdk import Variable

            value = Variable.get(key, default=None)
        else:  # outside a task (the command line): the metadata database
            from airflow.models import Variable as ModelVariable

            value = ModelVariable.get(key, default_var=None)
    except ImportError:  # pragma: no cover - Airflow missing
        raise AnchorError("Airflow is not installed: no Variable anchor") from None
    return None if value is None else str(value)


def _airflow_set(key: str, value: str) -> None:
    description = "islandbridge chain anchor (sealed)"
    if _in_airflow_task():
        from airflow.sdk import Variable

        Variable.set(key, value, description=description)
        return
    from airflow.models import Variable as ModelVariable

    ModelVariable.set(key, value, description=description)


class AirflowVariableAnchor(ChainAnchor):
    """Anchor records as Airflow Variables ``<prefix><chain>`` (JSON).

    ``getter`` / ``setter`` default to Airflow's Variable API (the Task SDK inside a
    task, the metadata database outside one); tests may pass their own.
    """

    def __init__(
        self,
        prefix: str = "islandbridge_anchor_",
        *,
        getter: Callable[[str], str | None] | None = None,
        setter: Callable[[str, str], None] | None = None,
    ) -> None:
        self._prefix = prefix
        self._get = getter or _airflow_get
        self._set = setter or _airflow_set

    def describe(self) -> str:
        return f"Airflow Variables {self._prefix}*"

    def read(self, chain: str) -> AnchorRecord | None:
        try:
            text = self._get(self._prefix + chain)
        except AnchorError:
            raise
        except Exception as exc:
            raise AnchorError(f"{self.describe()}: cannot be read ({type(exc).__name__})") from None
        if text is None:
            return None
        try:
            return AnchorRecord.from_mapping(json.loads(text))
        except json.JSONDecodeError:
            raise AnchorError(f"{self.describe()}: not an anchor record") from None

    def _write(self, record: AnchorRecord, previous: AnchorRecord | None, force: bool) -> None:
        try:
            self._set(self._prefix + record.chain, record.to_json())
        except Exception as exc:
            raise AnchorError(
                f"{self.describe()}: cannot be written ({type(exc).__name__})"
            ) from None
