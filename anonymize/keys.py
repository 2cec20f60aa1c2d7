"""The keyring: versioned secret keys for tokens and, separately, for the vault.

A keyring document is JSON::

    {
      "format": "islandbridge-keyring/1",
      "active": "k2",
      "keys": {
        "k1": {"secret": "<base64, >= 32 random bytes>", "created_at": "...", "retired_at": "..."},
        "k2": {"secret": "<base64>", "created_at": "...", "retired_at": null}
      },
      "vault": {"active": "v1", "keys": {"v1": {"secret": "<base64>", "created_at": "..."}}}
    }

A key may also be given in short form, ``"k1": "<base64>"``. The ``keys`` section
keys the pseudonymisation operators (tokens, deterministic encryption, FPE,
surrogates, date shifts); ``vault`` keys only the re-identification vault, so a
holder of the token keys cannot read the vault. Retired keys stay in the
keyring: old tokens stay verifiable and old vault rows stay readable.

Operators never see a master key: they ask for a subkey derived with HKDF for
one purpose and one token domain (:meth:`Keyring.derive`).

Key material never appears in a log line, an exception message, a ``repr`` or a
pickle: a :class:`Keyring` refuses to be pickled, so it cannot travel by XCom.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import logging
import os
import re
import secrets
import stat
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from anonymize.errors import KeyringError

__all__ = [
    "KEYRING_FORMAT",
    "MIN_KEY_BYTES",
    "KeySource",
    "Keyring",
    "generate_keyring",
    "init_keyring_file",
    "keyring_status",
    "load_keyring",
    "rotate_keyring_file",
]

log = logging.getLogger(__name__)

KEYRING_FORMAT = "islandbridge-keyring/1"
MIN_KEY_BYTES = 32
_KEY_ID = re.compile(r"^[a-z][a-z0-9]{0,15}$")
_HKDF_SALT = b"islandbridge-keyring/1"


class _Secret:
    """Key bytes that do not print."""

    __slots__ = ("_value",)

    def __init__(self, value: bytes) -> None:
        self._value = value

    def reveal(self) -> bytes:
        return self._value

    def __repr__(self) -> str:
        return "<secret>"

    __str__ = __repr__

    def __reduce__(self) -> Any:
        raise TypeError("key material cannot be serialised")


@dataclass(frozen=True, slots=True)
class KeyInfo:
    """What may be shown about one key: never its material."""

    key_id: str
    created_at: str | None
    retired_at: str | None
    fingerprint: str


@dataclass(frozen=True, slots=True)
class KeySource:
    """Where the keyring comes from: exactly one of an environment variable, a file or an
    Airflow Variable (which Airflow resolves through its secrets backends)."""

    env: str | None = None
    file: Path | None = None
    airflow_variable: str | None = None

    def __post_init__(self) -> None:
        given = [x for x in (self.env, self.file, self.airflow_variable) if x]
        if len(given) != 1:
            raise KeyringError("a KeySource needs exactly one of env=, file=, airflow_variable=")

    def describe(self) -> str:
        if self.env:
            return f"environment variable {self.env}"
        if self.file:
            return f"key file {self.file}"
        return f"Airflow Variable {self.airflow_variable}"


def _fingerprint(secret: bytes) -> str:
    return hashlib.sha256(b"islandbridge-fingerprint|" + secret).hexdigest()[:12]


def _decode_secret(raw: object, where: str) -> bytes:
    if not isinstance(raw, str):
        raise KeyringError(f"{where}: the secret must be a base64 string")
    try:
        value = base64.b64decode(raw.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise KeyringError(f"{where}: the secret is not valid base64") from None
    if len(value) < MIN_KEY_BYTES:
        raise KeyringError(
            f"{where}: weak key ({len(value)} bytes; at least {MIN_KEY_BYTES} random bytes needed)"
        )
    if len(set(value)) < 16:
        raise KeyringError(f"{where}: weak key (too few distinct bytes; not random)")
    if len(value) < 64 and all(32 <= b < 127 for b in value):
        raise KeyringError(f"{where}: weak key (printable text, looks like a password)")
    return value


def _parse_section(
    section: object, where: str
) -> tuple[str, dict[str, _Secret], dict[str, KeyInfo]]:
    if not isinstance(section, Mapping):
        raise KeyringError(f"{where}: expected an object with 'active' and 'keys'")
    active = section.get("active")
    keys = section.get("keys")
    if not isinstance(keys, Mapping) or not keys:
        raise KeyringError(f"{where}: 'keys' must be a non-empty object")
    secrets_: dict[str, _Secret] = {}
    infos: dict[str, KeyInfo] = {}
    for key_id, entry in keys.items():
        if not isinstance(key_id, str) or not _KEY_ID.match(key_id):
            raise KeyringError(f"{where}: key id must match {_KEY_ID.pattern}")
        if isinstance(entry, Mapping):
            secret = _decode_secret(entry.get("secret"), f"{where} key {key_id}")
            created, retired = entry.get("created_at"), entry.get("retired_at")
        else:
            secret = _decode_secret(entry, f"{where} key {key_id}")
            created = retired = None
        secrets_[key_id] = _Secret(secret)
        infos[key_id] = KeyInfo(key_id, created, retired, _fingerprint(secret))
    if not isinstance(active, str) or active not in secrets_:
        raise KeyringError(f"{where}: 'active' must name one of the keys {sorted(secrets_)}")
    if infos[active].retired_at:
        raise KeyringError(f"{where}: the active key {active} is marked retired")
    return active, secrets_, infos


class Keyring:
    """Versioned token keys (one active, others retired) plus separate vault keys."""

    __slots__ = (
        "_active",
        "_derived",
        "_infos",
        "_keys",
        "_vault",
        "_vault_active",
        "_vault_infos",
    )

    def __init__(self, document: Mapping[str, Any]) -> None:
        if not isinstance(document, Mapping):
            raise KeyringError("the keyring must be a JSON object")
        fmt = document.get("format", KEYRING_FORMAT)
        if fmt != KEYRING_FORMAT:
            raise KeyringError(f"unknown keyring format {fmt!r}; expected {KEYRING_FORMAT}")
        self._active, self._keys, self._infos = _parse_section(document, "keyring")
        self._vault_active: str | None = None
        self._vault: dict[str, _Secret] = {}
        self._vault_infos: dict[str, KeyInfo] = {}
        if document.get("vault") is not None:
            self._vault_active, self._vault, self._vault_infos = _parse_section(
                document["vault"], "keyring vault"
            )
        all_fps = [i.fingerprint for i in (*self._infos.values(), *self._vault_infos.values())]
        if len(set(all_fps)) != len(all_fps):
            raise KeyringError(
                "keyring: the same key material is used twice (token and vault "
                "keys, and each version, must be distinct)"
            )
        if set(self._keys) & set(self._vault):
            raise KeyringError("keyring: token and vault key ids must differ")
        self._derived: dict[tuple[str, str, str, int], bytes] = {}

    # -- what may be shown --------------------------------------------------------------
    @property
    def active_id(self) -> str:
        return self._active

    @property
    def key_ids(self) -> tuple[str, ...]:
        return tuple(self._keys)

    @property
    def has_vault_key(self) -> bool:
        return self._vault_active is not None

    @property
    def vault_active_id(self) -> str | None:
        return self._vault_active

    @property
    def vault_key_ids(self) -> tuple[str, ...]:
        return tuple(self._vault)

    def info(self) -> tuple[tuple[KeyInfo, ...], tuple[KeyInfo, ...]]:
        """(token key infos, vault key infos): ids, dates and fingerprints, never material."""
        return tuple(self._infos.values()), tuple(self._vault_infos.values())

    def __repr__(self) -> str:
        return (
            f"Keyring(active={self._active!r}, keys={list(self._keys)}, "
            f"vault_active={self._vault_active!r}, vault_keys={list(self._vault)})"
        )

    def __reduce__(self) -> Any:
        raise TypeError("a Keyring cannot be serialised (it must never travel by XCom or pickle)")

    # -- key use ------------------------------------------------------------------------
    def derive(
        self, purpose: str, domain: str, key_id: str | None = None, length: int = 32
    ) -> bytes:
        """A subkey for one purpose (``hmac_token``, ``aes_siv``…) and one token domain.

        Different purposes or domains give unrelated keys, so their outputs never correlate.
        """
        kid = key_id or self._active
        if kid not in self._keys:
            raise KeyringError(f"no token key {kid!r} in the keyring; known: {list(self._keys)}")
        cache_key = (kid, purpose, domain, length)
        derived = self._derived.get(cache_key)
        if derived is None:
            info = f"islandbridge|{purpose}|{domain}".encode()
            derived = HKDF(hashes.SHA256(), length, _HKDF_SALT, info).derive(
                self._keys[kid].reveal()
            )
            self._derived[cache_key] = derived
        return derived

    def vault_key(self, key_id: str | None = None, purpose: str = "aes-gcm") -> tuple[str, bytes]:
        """(key id, 32-byte subkey) of the vault for ``purpose`` (``aes-gcm`` for identities,
        ``audit`` for the audit chain); the active vault key unless ``key_id``."""
        if self._vault_active is None:
            raise KeyringError("the keyring has no vault key (run `islandbridge keys init`)")
        kid = key_id or self._vault_active
        if kid not in self._vault:
            raise KeyringError(f"no vault key {kid!r}; known: {list(self._vault)}")
        info = f"islandbridge|vault|{purpose}".encode()
        return kid, HKDF(hashes.SHA256(), 32, _HKDF_SALT, info).derive(self._vault[kid].reveal())


# -- loading ---------------------------------------------------------------------------
def _check_key_file(path: Path) -> None:
    try:
        st = path.stat()
    except FileNotFoundError:
        raise KeyringError(f"key file {path} does not exist") from None
    except OSError as exc:
        raise KeyringError(f"key file {path} cannot be read ({exc.strerror})") from None
    if not stat.S_ISREG(st.st_mode):
        raise KeyringError(f"key file {path} is not a regular file")
    if st.st_mode & 0o077:
        raise KeyringError(
            f"key file {path} is readable by group or others (mode {stat.S_IMODE(st.st_mode):o});"
            f" it must be owner-only: chmod 600 {path}"
        )
    if hasattr(os, "geteuid") and st.st_uid != os.geteuid():
        raise KeyringError(f"key file {path} is not owned by the user running islandbridge")


def _read_airflow_variable(name: str) -> str | None:
    try:
        from airflow.sdk import Variable
    except ImportError:  # pragma: no cover - Airflow 2 layout
        from airflow.models import Variable  # type: ignore[no-redef]
    try:
        value = Variable.get(name)
    except Exception:
        return None
    return value if isinstance(value, str) else json.dumps(value)


def _read_source(source: KeySource) -> str:
    if source.env:
        text = os.environ.get(source.env)
        if not text:
            raise KeyringError(f"no keyring: environment variable {source.env} is not set")
        return text
    if source.file:
        path = Path(source.file)
        _check_key_file(path)
        try:
            return path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            raise KeyringError(f"key file {path} cannot be read") from None
    assert source.airflow_variable
    text = _read_airflow_variable(source.airflow_variable)
    if not text:
        raise KeyringError(f"no keyring: Airflow Variable {source.airflow_variable} is not set")
    return text


def load_keyring(source: KeySource) -> Keyring:
    """Load and validate the keyring; raises :class:`KeyringError` (without key material)."""
    text = _read_source(source)
    try:
        document = json.loads(text)
    except (json.JSONDecodeError, ValueError):
        raise KeyringError(f"the keyring from {source.describe()} is not valid JSON") from None
    try:
        keyring = Keyring(document)
    except KeyringError as exc:
        raise KeyringError(f"{source.describe()}: {exc}") from None
    log.info(
        "keyring loaded from %s: active token key %s (%d versions), vault key %s",
        source.describe(),
        keyring.active_id,
        len(keyring.key_ids),
        keyring.vault_active_id,
    )
    return keyring


# -- making and rotating ---------------------------------------------------------------
def _now() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat()


def _new_key_entry() -> dict[str, Any]:
    return {
        "secret": base64.b64encode(secrets.token_bytes(MIN_KEY_BYTES)).decode(),
        "created_at": _now(),
        "retired_at": None,
    }


def generate_keyring(*, with_vault: bool = True) -> dict[str, Any]:
    """A new keyring document: token key ``k1`` and (by default) vault key ``v1``."""
    doc: dict[str, Any] = {
        "format": KEYRING_FORMAT,
        "active": "k1",
        "keys": {"k1": _new_key_entry()},
    }
    if with_vault:
        doc["vault"] = {"active": "v1", "keys": {"v1": _new_key_entry()}}
    return doc


def _write_owner_only(path: Path, document: Mapping[str, Any], *, replace: bool) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    data = json.dumps(document, indent=2).encode()
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    if not replace and path.exists():
        tmp.unlink()
        raise KeyringError(f"key file {path} already exists; refusing to overwrite it")
    tmp.replace(path)


def init_keyring_file(path: Path, *, overwrite: bool = False) -> None:
    """Write a new keyring to ``path`` with mode 0600; refuses to overwrite an existing one."""
    path = Path(path)
    if path.exists() and not overwrite:
        raise KeyringError(f"key file {path} already exists; refusing to overwrite it")
    _write_owner_only(path, generate_keyring(), replace=overwrite)
    log.info("new keyring written to %s (token key k1, vault key v1)", path)


def _next_id(prefix: str, existing: Mapping[str, Any]) -> str:
    numbers = [int(k[len(prefix) :]) for k in existing if re.fullmatch(rf"{prefix}\d+", k)]
    return f"{prefix}{max(numbers, default=0) + 1}"


def rotate_keyring_file(path: Path, *, vault: bool = False) -> str:
    """Add a new active key (token key, or vault key with ``vault=True``), retire the old one.

    Retired keys are kept, so old tokens stay verifiable and old vault rows stay readable.
    Returns the new key id.
    """
    path = Path(path)
    load_keyring(KeySource(file=path))  # validates permissions and content first
    document = json.loads(path.read_text(encoding="utf-8"))
    section = document if not vault else document.setdefault("vault", {"keys": {}})
    keys = section.setdefault("keys", {})
    old = section.get("active")
    for key_id, entry in list(keys.items()):
        if isinstance(entry, str):
            keys[key_id] = entry = {"secret": entry, "created_at": None, "retired_at": None}
        if key_id == old and not entry.get("retired_at"):
            entry["retired_at"] = _now()
    new_id = _next_id("v" if vault else "k", keys)
    keys[new_id] = _new_key_entry()
    section["active"] = new_id
    Keyring(document)  # the result must load
    _write_owner_only(path, document, replace=True)
    log.info(
        "keyring %s rotated: %s key %s active, %s retired",
        path,
        "vault" if vault else "token",
        new_id,
        old,
    )
    return new_id


def keyring_status(keyring: Keyring) -> dict[str, Any]:
    """Ids, dates and fingerprints of every key, for display: never material."""
    tokens, vault = keyring.info()

    def rows(infos: tuple[KeyInfo, ...], active: str | None) -> list[dict[str, Any]]:
        return [
            {
                "id": i.key_id,
                "state": "active" if i.key_id == active else "retired",
                "created_at": i.created_at,
                "retired_at": i.retired_at,
                "fingerprint": i.fingerprint,
            }
            for i in infos
        ]

    return {
        "active": keyring.active_id,
        "keys": rows(tokens, keyring.active_id),
        "vault_active": keyring.vault_active_id,
        "vault_keys": rows(vault, keyring.vault_active_id),
    }
