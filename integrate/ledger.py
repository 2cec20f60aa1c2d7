"""The publication ledger: append-only JSON lines, hash-chained and signed.

Each line is one canonical JSON object::

    {"seq": 1, "prev_hash": "000…", "action": "publish", "version": "…",
     "manifest_sha256": "…", "signing_key_id": "…", "recorded_at": "…+00:00",
     "entry_hash": sha256(canonical JSON of the fields above),
     "signature": base64 Ed25519 signature over entry_hash}

``prev_hash`` is the previous line's ``entry_hash`` (64 zeros for the first),
so altering, removing or reordering any line breaks the chain from there on,
and rewriting a line consistently needs the service's private key.

Cutting lines off the end leaves a valid chain, so the head (seq, entry hash,
version) is also recorded, signed, in a :class:`~anonymize.anchor.ChainAnchor`
outside the ledger's folder: :func:`append_entry` refuses to extend a ledger that
is behind its anchor and moves the anchor after each line; :func:`check_anchor`
tells a rollback (``TRUNCATED``/``DIVERGED``) from an interrupted append (the
ledger one or more signed lines ahead of its anchor, which cannot be forged).
"""

from __future__ import annotations

import base64
import fcntl
import hashlib
import json
import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from anonymize.anchor import (
    AnchorCheck,
    AnchorError,
    AnchorState,
    ChainAnchor,
    ChainHead,
    Ed25519Seal,
    check_chain,
)
from connectors.signatures import sign_bytes
from integrate.canonical_json import canonical_json_bytes

__all__ = [
    "GENESIS_HASH",
    "LEDGER_FILE",
    "PUBLICATION_CHAIN",
    "LedgerEntry",
    "LedgerError",
    "append_entry",
    "check_anchor",
    "key_id",
    "ledger_lock",
    "read_entries",
    "sync_anchor",
    "verify_ledger",
]

log = logging.getLogger(__name__)

LEDGER_FILE = "ledger.jsonl"
#: the anchor's name for the publication ledger
PUBLICATION_CHAIN = "publication"
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
    return Ed25519Seal(public_key).active_key_id()


class LedgerError(RuntimeError):
    """The ledger may not be extended (it is behind its anchor, or the anchor is unusable)."""


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


def _head(entries: list[dict[str, Any]]) -> ChainHead | None:
    if not entries:
        return None
    last = entries[-1]
    return ChainHead(int(last["seq"]), str(last["entry_hash"]), str(last.get("version", "")))


def check_anchor(
    entries: list[dict[str, Any]] | list[LedgerEntry],
    anchor: ChainAnchor,
    public_key: Ed25519PublicKey,
    chain: str = PUBLICATION_CHAIN,
) -> AnchorCheck:
    """Compare the ledger's last entry with its anchored head (see :func:`check_chain`)."""
    rows = [
        {"seq": e.seq, "entry_hash": e.entry_hash, "version": e.version}
        if isinstance(e, LedgerEntry)
        else e
        for e in entries
    ]
    by_seq = {int(r["seq"]): str(r["entry_hash"]) for r in rows}
    return check_chain(anchor, chain, Ed25519Seal(public_key), head=_head(rows), hash_at=by_seq.get)


def _refuse_unless_extendable(check: AnchorCheck) -> None:
    if check.ok or check.state == AnchorState.UNANCHORED:
        return
    raise LedgerError(f"{check.describe(LEDGER_FILE)}; nothing appended (run verify)")


def append_entry(
    root: Path,
    *,
    action: str,
    version: str,
    manifest_sha256: str,
    signing_key: Ed25519PrivateKey,
    recorded_at: datetime | None = None,
    anchor: ChainAnchor | None = None,
    chain: str = PUBLICATION_CHAIN,
) -> dict[str, Any]:
    """Append one signed, chained line; the caller holds :func:`ledger_lock`.

    With an ``anchor``: refuses (:class:`LedgerError`) a ledger behind or diverged from
    its anchor, then moves the anchor to the new line (ledger first: a crash between
    the two leaves the anchor behind, which :func:`sync_anchor` catches up). A ledger
    with lines but no anchor record is extended but not anchored (``verify`` reports it
    until an operator adopts it: ``islandbridge verify --adopt-anchor``).
    """
    entries = read_entries(root)
    check = None
    if anchor is not None:
        check = check_anchor(entries, anchor, signing_key.public_key(), chain)
        _refuse_unless_extendable(check)
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
    if anchor is not None and check is not None:
        if check.state == AnchorState.UNANCHORED:
            log.warning("%s: %s", LEDGER_FILE, check.describe(LEDGER_FILE))
        else:
            head = ChainHead(body["seq"], entry_hash, version)
            try:
                anchor.advance(chain, head, Ed25519Seal.from_private(signing_key))
            except AnchorError as exc:
                raise LedgerError(
                    f"{LEDGER_FILE} line {body['seq']} written but its anchor not moved ({exc});"
                    " rerun to catch the anchor up"
                ) from None
    return line


def sync_anchor(
    root: Path,
    *,
    anchor: ChainAnchor,
    signing_key: Ed25519PrivateKey,
    chain: str = PUBLICATION_CHAIN,
    adopt: bool = False,
) -> AnchorCheck:
    """Catch the anchor up with the ledger's head; the caller holds :func:`ledger_lock`.

    An anchor behind the ledger (an interrupted append) is moved forward. With
    ``adopt`` (an operator's decision), a ledger with no anchor or an anchor whose seal
    fails is anchored at its head — after every line's hash, link and signature check
    out. A ledger behind or diverged from its anchor is never adopted: a rollback must
    be investigated, not accepted (:class:`LedgerError`). Returns the check made first.
    """
    public_key = signing_key.public_key()
    entries, problems = verify_ledger(root, public_key)
    check = check_anchor(entries, anchor, public_key, chain)
    if check.state in (AnchorState.EMPTY, AnchorState.MATCHES):
        return check
    if check.state == AnchorState.ANCHOR_BEHIND or (
        adopt and check.state in (AnchorState.UNANCHORED, AnchorState.INVALID)
    ):
        if problems:
            raise LedgerError(f"{LEDGER_FILE} is not intact ({problems[0]}); not anchored")
        last = entries[-1]
        anchor.advance(
            chain,
            ChainHead(last.seq, last.entry_hash, last.version),
            Ed25519Seal.from_private(signing_key),
            replace_invalid=adopt,
        )
        return check
    raise LedgerError(check.describe(LEDGER_FILE))


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
