"""The trust store: which Ed25519 public key may sign exports for which source.

The departments' public keys are the trust anchors of every signed export, so they are
kept apart from the data they vouch for — never beside the exports, where whoever can
swap an export could swap its key too. Each entry binds one key to one department, the
sources it may sign for, and optionally one branch (each branch secretary has a key of
their own, and the branch is in what they sign)::

    {"format": "islandbridge-trust-store/1",
     "keys": [{"name": "finance_dues", "department": "finance",
               "sources": ["finance_dues"], "branch": null,
               "public_key": "-----BEGIN PUBLIC KEY-----\\n…", "added_at": "…"}]}

Stores: :class:`FileTrustStore` — one owner-only JSON file (mode 0600, owned by the
service account, in an owner-only folder; a symlink, a loose mode or another owner is
refused) — and :class:`AirflowConnectionTrustStore` — one Airflow Connection per
source (``<prefix><source>``), whose ``extra`` holds ``{"keys": [...]}`` (an
``AIRFLOW_CONN_<ID>`` variable in JSON form, a secrets backend, or the metadata
database). Keys are added and removed by an operator only (``islandbridge keys
trust`` / ``untrust``); nothing here prints key material.
"""

from __future__ import annotations

import json
import os
import re
import stat
from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from connectors.signatures import public_key_id, public_key_pem

__all__ = [
    "TRUST_STORE_FORMAT",
    "AirflowConnectionTrustStore",
    "FileTrustStore",
    "MappingTrustStore",
    "TrustStore",
    "TrustStoreError",
    "TrustedKey",
    "check_owner_only",
    "remove_trusted_key",
    "replace_trusted_keys",
    "trust_entry",
    "write_trusted_key",
]

TRUST_STORE_FORMAT = "islandbridge-trust-store/1"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$")
#: a store larger than this is refused before it is read (a crafted file must not fill the
#: memory): ~400 bytes a key, so room for ~160,000 keys; a 1M-member university's
#: one key per branch (~33,000) is ~13 MB, which the 8 MiB cap of before refused
_MAX_BYTES = 64 << 20


class TrustStoreError(RuntimeError):
    """The trust store is missing, loosely protected or malformed (the message names where
    and what, never key material)."""


@dataclass(frozen=True, slots=True)
class TrustedKey:
    """One public key and what it may sign."""

    name: str
    department: str
    sources: tuple[str, ...]
    branch: str | None
    public_key: Ed25519PublicKey
    key_id: str

    def to_json(self, added_at: str | None = None) -> dict[str, Any]:
        return {
            "name": self.name,
            "department": self.department,
            "sources": list(self.sources),
            "branch": self.branch,
            "public_key": public_key_pem(self.public_key).decode("ascii"),
            "key_id": self.key_id,
            "added_at": added_at or datetime.now(UTC).isoformat(timespec="seconds"),
        }


def trust_entry(
    name: str,
    public_key: Ed25519PublicKey,
    *,
    department: str,
    sources: Iterable[str],
    branch: str | None = None,
) -> TrustedKey:
    """A trusted key, its names checked (letters, digits, ``_.:-``)."""
    sources = tuple(sources)
    named = [("name", name), ("department", department), *(("source", s) for s in sources)]
    for label, value in named:
        if not isinstance(value, str) or not _NAME.fullmatch(value):
            raise TrustStoreError(
                f"trusted key {label} must be a plain name (letters, digits, _.:-)"
            )
    if not sources:
        raise TrustStoreError(f"trusted key {name}: names no source it may sign for")
    if branch is not None and (not isinstance(branch, str) or not _NAME.fullmatch(branch)):
        raise TrustStoreError(f"trusted key {name}: branch must be a plain name")
    return TrustedKey(name, department, sources, branch, public_key, public_key_id(public_key))


def _parse_entry(raw: Any, where: str, default_sources: tuple[str, ...] = ()) -> TrustedKey:
    if not isinstance(raw, Mapping):
        raise TrustStoreError(f"{where}: an entry is not an object")
    try:
        name = raw["name"]
        pem = raw["public_key"]
        department = raw["department"]
    except KeyError as exc:
        raise TrustStoreError(f"{where}: an entry lacks {exc.args[0]!r}") from None
    sources = raw.get("sources", list(default_sources))
    if not isinstance(sources, list):
        raise TrustStoreError(f"{where}: entry {name!r}: sources must be a list")
    try:
        key = serialization.load_pem_public_key(str(pem).encode("ascii"))
    except (ValueError, TypeError, UnicodeEncodeError):
        key = None
    if not isinstance(key, Ed25519PublicKey):
        raise TrustStoreError(f"{where}: entry {name!r}: not an Ed25519 public key")
    entry = trust_entry(
        str(name), key, department=department, sources=sources, branch=raw.get("branch")
    )
    if raw.get("key_id") not in (None, entry.key_id):
        raise TrustStoreError(f"{where}: entry {name!r}: key_id does not match its public key")
    return entry


def _parse_keys(
    entries: Any, where: str, default_sources: tuple[str, ...] = ()
) -> list[TrustedKey]:
    if not isinstance(entries, list):
        raise TrustStoreError(f"{where}: 'keys' must be a list")
    keys = [_parse_entry(e, where, default_sources) for e in entries]
    for attr in ("name", "key_id"):
        counts = Counter(getattr(k, attr) for k in keys)  # one key per branch: thousands
        dupes = sorted(v for v, n in counts.items() if n > 1)
        if dupes:
            raise TrustStoreError(f"{where}: {attr} listed twice: {dupes}")
    return keys


class TrustStore(ABC):
    """Which keys may sign for a source."""

    @abstractmethod
    def keys_for(self, source: str) -> list[TrustedKey]:
        """Every key that may sign exports of ``source``."""

    @abstractmethod
    def describe(self) -> str:
        """Where the store is (for messages)."""

    def key(self, source: str, key_id: str) -> TrustedKey | None:
        """The key with fingerprint ``key_id`` if it may sign for ``source``."""
        return next((k for k in self.keys_for(source) if k.key_id == key_id), None)

    def branches(self, source: str) -> set[str]:
        """The branches whose own key may sign for ``source`` (the known branch codes)."""
        return {k.branch for k in self.keys_for(source) if k.branch}


class MappingTrustStore(TrustStore):
    """Keys held in memory (parsed from a file or a connection)."""

    def __init__(self, keys: Iterable[TrustedKey], where: str = "trust store") -> None:
        self._keys = list(keys)
        self._where = where
        self._by_source: dict[str, list[TrustedKey]] = {}
        self._by_id: dict[tuple[str, str], TrustedKey] = {}
        for key in self._keys:
            for source in key.sources:
                self._by_source.setdefault(source, []).append(key)
                self._by_id.setdefault((source, key.key_id), key)

    def keys_for(self, source: str) -> list[TrustedKey]:
        return list(self._by_source.get(source, []))

    def key(self, source: str, key_id: str) -> TrustedKey | None:
        """The key with fingerprint ``key_id`` if it may sign for ``source`` (looked up,
        not searched: a source signed per branch has a key per branch)."""
        return self._by_id.get((source, key_id))

    def describe(self) -> str:
        return self._where

    @property
    def keys(self) -> list[TrustedKey]:
        return list(self._keys)


def check_owner_only(path: Path, what: str, *, folder: bool = False) -> os.stat_result:
    """Refuse ``path`` unless it is a regular file (or a folder) — never a symlink — owned
    by this process's user and closed to group and others; returns its ``lstat``."""
    try:
        info = path.lstat()
    except FileNotFoundError:
        raise TrustStoreError(f"{what} {path} not found") from None
    except OSError as exc:
        raise TrustStoreError(f"{what} {path}: cannot be read ({exc.strerror})") from None
    kind_ok = stat.S_ISDIR(info.st_mode) if folder else stat.S_ISREG(info.st_mode)
    if stat.S_ISLNK(info.st_mode) or not kind_ok:
        kind = "a folder" if folder else "a regular file"
        raise TrustStoreError(f"{what} {path} must be {kind}, not a link or anything else")
    if info.st_uid != os.geteuid():
        raise TrustStoreError(f"{what} {path} is owned by another user (uid {info.st_uid})")
    if info.st_mode & 0o077:
        mode = stat.S_IMODE(info.st_mode)
        fix = "700" if folder else "600"
        raise TrustStoreError(
            f"{what} {path} is open to group or others (mode {mode:o}); chmod {fix} it"
        )
    return info


class FileTrustStore(MappingTrustStore):
    """The trust store in one owner-only JSON file (see the module docstring)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        check_owner_only(self.path.parent, "trust store folder", folder=True)
        info = check_owner_only(self.path, "trust store")
        if info.st_size > _MAX_BYTES:
            raise TrustStoreError(f"trust store {self.path} is larger than {_MAX_BYTES} bytes")
        document = _read_document(self.path)
        super().__init__(_parse_keys(document.get("keys"), str(self.path)), str(self.path))


def _read_document(path: Path) -> dict[str, Any]:
    try:
        document = json.loads(path.read_bytes())
    except (ValueError, UnicodeDecodeError) as exc:
        raise TrustStoreError(f"trust store {path}: not JSON ({type(exc).__name__})") from None
    if not isinstance(document, dict) or document.get("format") != TRUST_STORE_FORMAT:
        raise TrustStoreError(f"trust store {path}: not a {TRUST_STORE_FORMAT} document")
    return document


class AirflowConnectionTrustStore(TrustStore):
    """One Airflow Connection per source, ``<prefix><source>``, whose ``extra`` is
    ``{"keys": [...]}`` (entries as in the file store; ``sources`` defaults to the one
    source). ``env`` is searched for ``AIRFLOW_CONN_<ID>`` (JSON form) first."""

    def __init__(self, prefix: str, env: Mapping[str, str] | None = None) -> None:
        self.prefix = prefix
        self._env = dict(env or {})
        self._cache: dict[str, list[TrustedKey]] = {}

    def describe(self) -> str:
        return f"Airflow Connections {self.prefix}<source>"

    def keys_for(self, source: str) -> list[TrustedKey]:
        if source not in self._cache:
            conn_id = f"{self.prefix}{source}"
            extra = _connection_extra(conn_id, self._env)
            where = f"Airflow connection {conn_id!r}"
            keys = _parse_keys(extra.get("keys"), where, (source,))
            self._cache[source] = [k for k in keys if source in k.sources]
        return list(self._cache[source])


def _connection_extra(conn_id: str, env: Mapping[str, str]) -> dict[str, Any]:
    """The ``extra`` of an Airflow connection as a dict; errors name the id and a type only."""
    where = f"Airflow connection {conn_id!r}"
    value = env.get(f"AIRFLOW_CONN_{conn_id.upper()}")
    try:
        from airflow.sdk import Connection

        if value:
            conn = Connection.from_json(value.strip(), conn_id=conn_id)
        else:
            conn = Connection.get(conn_id)
        extra = conn.extra_dejson
    except Exception as exc:  # its text may quote the connection: keep the type
        raise TrustStoreError(f"{where}: cannot be read ({type(exc).__name__})") from None
    if not isinstance(extra, dict):
        raise TrustStoreError(f"{where}: its extra is not a JSON object")
    return extra


def _write_document(path: Path, keys: list[dict[str, Any]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    path.parent.chmod(0o700)
    document = {"format": TRUST_STORE_FORMAT, "keys": keys}
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.unlink(missing_ok=True)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(document, handle, ensure_ascii=False, indent=2)
        handle.write("\n")
    tmp.replace(path)


def _existing(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    FileTrustStore(path)  # refuses a loose, linked or malformed store before it is changed
    return list(_read_document(path)["keys"])


def write_trusted_key(path: Path, key: TrustedKey, *, replace: bool = False) -> None:
    """Add ``key`` to the file store at ``path`` (created owner-only); an entry of the same
    name is replaced only with ``replace``."""
    entries = _existing(path)
    if any(e.get("name") == key.name for e in entries) and not replace:
        raise TrustStoreError(f"trust store {path}: a key named {key.name!r} is already trusted")
    entries = [e for e in entries if e.get("name") != key.name] + [key.to_json()]
    _parse_keys(entries, str(path))  # the result must load
    _write_document(path, entries)


def remove_trusted_key(path: Path, name: str) -> bool:
    """Remove the entry named ``name``; False when there was none."""
    entries = _existing(path)
    kept = [e for e in entries if e.get("name") != name]
    if len(kept) == len(entries):
        return False
    _write_document(path, kept)
    return True


def replace_trusted_keys(path: Path, keys: Iterable[TrustedKey]) -> None:
    """Write exactly ``keys`` to the file store at ``path`` (the demo's set-up)."""
    entries = [k.to_json() for k in keys]
    _parse_keys(entries, str(path))
    _write_document(path, entries)
