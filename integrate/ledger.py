"""The publication ledger: append-only JSON lines, hash-chained and signed.

Each line is one canonical JSON object::

    {"seq": 1, "prev_hash": "000…", "action": "publish", "version": "…",
     "manifest_sha256": "…", "signing_key_id": "…", "recorded_at": "…+00:00",
     "entry_hash": sha256(canonical JSON of the fields above),
     "signature": base64 Ed25519 signature over entry_hash}

``prev_hash`` is the previous line's ``entry_hash`` (64 zeros for the first),
so altering, removing or reordering any line breaks the chain from there on,
and rewriting a line consistently needs the service's private key.
"""

from __future__ import annotations

import base64
import fcntl
import hashlib
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from connectors.signatures import sign_bytes
from integrate.canonical_json import canonical_json_bytes

__all__ = [
    "GENESIS_HASH",
    "LEDGER_FILE",
    "LedgerEntry",
    "append_entry",
    "key_id",
    "ledger_lock",
    "read_entries",
    "verify_ledger",
]

LEDGER_FILE = "ledger.jsonl"
GENESIS_HASH = "0" * 64
_SIGNED_FIELDS = (
    "seq",
    "prev_hash",
    "action",
    "version",
    "manifest_sha256",
    "signing_key_id",
    "recorded_at",
)


def key_id(public_key: Ed25519PublicKey) -> str:
    """Short fingerprint of a public key: ``ed25519:`` + 16 hex of SHA-256 of its raw bytes."""
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return "ed25519:" + hashlib.sha256(raw).hexdigest()[:16]


@dataclass(frozen=True, slots=True)
class LedgerEntry:
    line_no: int
    seq: int
    action: str
    version: str
    manifest_sha256: str
    entry_hash: str


def _entry_hash(body: dict[str, Any]) -> str:
    return hashlib.sha256(canonical_json_bytes(body, indent=None)).hexdigest()


@contextmanager
def ledger_lock(root: Path) -> Iterator[None]:
    """Exclusive lock for one publisher at a time under ``root``."""
    root.mkdir(parents=True, exist_ok=True)
    with open(root / ".publish.lock", "a+b") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def read_entries(root: Path) -> list[dict[str, Any]]:
    """The parsed ledger lines (no checks); an absent ledger is empty."""
    path = root / LEDGER_FILE
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def append_entry(
    root: Path,
    *,
    action: str,
    version: str,
    manifest_sha256: str,
    signing_key: Ed25519PrivateKey,
    recorded_at: datetime | None = None,
) -> dict[str, Any]:
    """Append one signed, chained line; the caller holds :func:`ledger_lock`."""
    entries = read_entries(root)
    prev = entries[-1] if entries else None
    when = (recorded_at or datetime.now(UTC)).astimezone(UTC)
    body: dict[str, Any] = {
        "seq": (prev["seq"] + 1) if prev else 1,
        "prev_hash": prev["entry_hash"] if prev else GENESIS_HASH,
        "action": action,
        "version": version,
        "manifest_sha256": manifest_sha256,
        "signing_key_id": key_id(signing_key.public_key()),
        "recorded_at": when.isoformat(timespec="seconds"),
    }
    entry_hash = _entry_hash(body)
    signature = sign_bytes(signing_key, entry_hash.encode("ascii")).decode("ascii").strip()
    line = {**body, "entry_hash": entry_hash, "signature": signature}
    path = root / LEDGER_FILE
    with open(path, "ab") as handle:
        handle.write(canonical_json_bytes(line, indent=None))
        handle.flush()
        os.fsync(handle.fileno())
    return line


def verify_ledger(root: Path, public_key: Ed25519PublicKey) -> tuple[list[LedgerEntry], list[str]]:
    """Check every line's hash, signature and link; returns the good entries and problems."""
    path = root / LEDGER_FILE
    problems: list[str] = []
    entries: list[LedgerEntry] = []
    if not path.is_file():
        return entries, [f"{LEDGER_FILE}: missing"]
    prev_hash = GENESIS_HASH
    expected_seq = 1
    for line_no, raw in enumerate(path.read_bytes().split(b"\n"), start=1):
        if not raw:
            continue
        where = f"{LEDGER_FILE} line {line_no}"
        try:
            line = json.loads(raw)
            body = {name: line[name] for name in _SIGNED_FIELDS}
            stored_hash = line["entry_hash"]
            signature = base64.b64decode(line["signature"], validate=True)
        except (ValueError, KeyError, TypeError) as exc:
            problems.append(f"{where}: unreadable entry ({type(exc).__name__})")
            prev_hash = None  # type: ignore[assignment]
            expected_seq += 1
            continue
        if _entry_hash(body) != stored_hash:
            problems.append(f"{where}: entry altered (its hash does not match its content)")
        try:
            public_key.verify(signature, str(stored_hash).encode("ascii"))
        except (InvalidSignature, UnicodeEncodeError):
            problems.append(f"{where}: signature invalid")
        if prev_hash is not None and body["prev_hash"] != prev_hash:
            problems.append(f"{where}: chain broken (prev_hash is not the previous entry's hash)")
        if body["seq"] != expected_seq:
            problems.append(f"{where}: sequence number {body['seq']}, expected {expected_seq}")
        prev_hash = stored_hash
        expected_seq += 1
        entries.append(
            LedgerEntry(
                line_no=line_no,
                seq=body["seq"],
                action=body["action"],
                version=body["version"],
                manifest_sha256=body["manifest_sha256"],
                entry_hash=stored_hash,
            )
        )
    if not entries and not problems:
        problems.append(f"{LEDGER_FILE}: empty")
    return entries, problems
