"""Check a publication: the ledger chain, every signature, every file checksum.

Every problem names what is wrong and where (``ledger.jsonl line 3: …``,
``versions/<v>/attendance.parquet: checksum mismatch``), so a steward knows
which file or ledger line was altered.
"""

from __future__ import annotations

import base64
import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from integrate.ledger import LEDGER_FILE, LedgerEntry, key_id, verify_ledger
from integrate.parquet_bytes import sha256_hex
from integrate.publish import (
    ACTIVATING_FILE,
    CURRENT_LINK,
    DUCKDB_FILE,
    MANIFEST_FILE,
    VERSIONS_DIR,
)

__all__ = ["VerifyReport", "verify_publication"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class VerifyReport:
    ok: bool
    problems: list[str]
    versions_checked: list[str] = field(default_factory=list)
    ledger_entries: int = 0
    files_checked: int = 0
    #: traces of an interrupted publication (not alterations); the next publish completes it
    pending: list[str] = field(default_factory=list)


def _check_manifest_signature(
    public_key: Ed25519PublicKey, manifest_bytes: bytes, sig_path: Path, where: str
) -> list[str]:
    if not sig_path.is_file():
        return [f"{where}.sig: missing"]
    try:
        signature = base64.b64decode(sig_path.read_bytes().strip(), validate=True)
        public_key.verify(signature, manifest_bytes)
    except (InvalidSignature, ValueError):
        return [f"{where}: signature invalid (manifest or its .sig altered, or another key)"]
    return []


def _check_duckdb(version_dir: Path, tables: dict[str, Any], where: str) -> list[str]:
    path = version_dir / DUCKDB_FILE
    if not path.is_file():
        return [f"{where}/{DUCKDB_FILE}: missing"]
    problems: list[str] = []
    try:
        con = duckdb.connect(str(path), read_only=True)
    except duckdb.Error as exc:
        return [f"{where}/{DUCKDB_FILE}: cannot be opened ({type(exc).__name__})"]
    try:
        present = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
        for name in sorted(tables):
            if name not in present:
                problems.append(f"{where}/{DUCKDB_FILE}: table {name} missing")
                continue
            parquet = (version_dir / f"{name}.parquet").as_posix().replace("'", "''")
            differing = con.execute(
                f"""SELECT
                      (SELECT count(*) FROM (SELECT * FROM "{name}"
                         EXCEPT ALL SELECT * FROM read_parquet('{parquet}'))),
                      (SELECT count(*) FROM (SELECT * FROM read_parquet('{parquet}')
                         EXCEPT ALL SELECT * FROM "{name}"))"""
            ).fetchone()
            if differing is None or any(differing):
                problems.append(f"{where}/{DUCKDB_FILE}: table {name} differs from {name}.parquet")
        extra = sorted(present - set(tables))
        if extra:
            problems.append(f"{where}/{DUCKDB_FILE}: unexpected tables {extra}")
    except duckdb.Error as exc:
        problems.append(f"{where}/{DUCKDB_FILE}: cannot be read ({type(exc).__name__})")
    finally:
        con.close()
    return problems


def _check_version(
    root: Path, version: str, ledger_entries: list[LedgerEntry], public_key: Ed25519PublicKey
) -> tuple[list[str], int]:
    where = f"{VERSIONS_DIR}/{version}"
    version_dir = root / VERSIONS_DIR / version
    if not version_dir.is_dir():
        return [f"{where}: missing (recorded in {LEDGER_FILE})"], 0
    manifest_path = version_dir / MANIFEST_FILE
    if not manifest_path.is_file():
        return [f"{where}/{MANIFEST_FILE}: missing"], 0
    manifest_bytes = manifest_path.read_bytes()
    problems: list[str] = []
    digest = sha256_hex(manifest_bytes)
    for entry in ledger_entries:
        if entry.manifest_sha256 != digest:
            problems.append(
                f"{where}/{MANIFEST_FILE}: checksum differs from {LEDGER_FILE} line "
                f"{entry.line_no} (manifest altered)"
            )
    problems += _check_manifest_signature(
        public_key, manifest_bytes, version_dir / f"{MANIFEST_FILE}.sig", f"{where}/{MANIFEST_FILE}"
    )
    try:
        manifest = json.loads(manifest_bytes)
        tables: dict[str, Any] = manifest["tables"]
    except (ValueError, KeyError, TypeError):
        return [*problems, f"{where}/{MANIFEST_FILE}: unreadable"], 0
    if manifest.get("version") != version:
        problems.append(f"{where}/{MANIFEST_FILE}: names version {manifest.get('version')!r}")
    if manifest.get("signing_key_id") not in (None, key_id(public_key)):
        problems.append(f"{where}/{MANIFEST_FILE}: signed with key {manifest['signing_key_id']}")
    checked = 0
    tables_ok = True
    for _, entry in sorted(tables.items()):
        path = version_dir / entry["file"]
        checked += 1
        if not path.is_file():
            problems.append(f"{where}/{entry['file']}: missing")
            tables_ok = False
            continue
        data = path.read_bytes()
        if sha256_hex(data) != entry["sha256"] or len(data) != entry["bytes"]:
            problems.append(f"{where}/{entry['file']}: checksum mismatch (file altered)")
            tables_ok = False
    expected = {MANIFEST_FILE, f"{MANIFEST_FILE}.sig", *(e["file"] for e in tables.values())}
    expected |= set(manifest.get("derived", {}))
    for path in sorted(version_dir.iterdir()):
        if path.name not in expected and not path.name.endswith(".wal"):
            problems.append(f"{where}/{path.name}: unexpected file (not in the manifest)")
    if DUCKDB_FILE in manifest.get("derived", {}):
        if tables_ok:
            problems += _check_duckdb(version_dir, tables, where)
        else:
            problems.append(f"{where}/{DUCKDB_FILE}: not checked (Parquet files altered)")
    return problems, checked


def verify_publication(root: Path, public_key: Ed25519PublicKey) -> VerifyReport:
    """Check ``root``'s ledger, manifests, signatures and files; name whatever was altered."""
    root = Path(root)
    entries, problems = verify_ledger(root, public_key)
    by_version: dict[str, list[LedgerEntry]] = {}
    for entry in entries:
        by_version.setdefault(entry.version, []).append(entry)
    files_checked = 0
    pending: list[str] = []
    current = root / CURRENT_LINK
    current_name = current.readlink().name if current.is_symlink() else None
    for version in sorted(by_version):
        version_problems, checked = _check_version(root, version, by_version[version], public_key)
        problems += version_problems
        files_checked += checked
    versions_dir = root / VERSIONS_DIR
    if versions_dir.is_dir():
        for path in sorted(versions_dir.iterdir()):
            if path.name not in by_version and path.name != current_name:
                pending.append(f"{VERSIONS_DIR}/{path.name}: staged, not recorded nor current")
            elif path.name not in by_version:
                problems.append(f"{VERSIONS_DIR}/{path.name}: not recorded in {LEDGER_FILE}")
    link = root / CURRENT_LINK
    if not link.is_symlink():
        problems.append(f"{CURRENT_LINK}: missing or not a symlink")
    else:
        target = link.readlink()
        if target.parent != Path(VERSIONS_DIR) or target.name not in by_version:
            problems.append(f"{CURRENT_LINK}: points at {target}, not a recorded version")
        elif entries and target.name != entries[-1].version and _activating(root, entries):
            pending.append(
                f"{CURRENT_LINK}: still {target.name}; activation of {entries[-1].version} "
                "was interrupted (rerun publish)"
            )
        elif entries and target.name != entries[-1].version:
            problems.append(
                f"{CURRENT_LINK}: points at {target.name}, but the last {LEDGER_FILE} entry "
                f"is {entries[-1].version}"
            )
    for problem in problems:
        log.warning("verify: %s", problem)
    for note in pending:
        log.warning("verify: pending: %s", note)
    return VerifyReport(
        ok=not problems,
        problems=problems,
        versions_checked=sorted(by_version),
        ledger_entries=len(entries),
        files_checked=files_checked,
        pending=pending,
    )


def _activating(root: Path, entries: list[LedgerEntry]) -> bool:
    """The publisher recorded the last version but was killed before switching ``current``."""
    marker = root / ACTIVATING_FILE
    return marker.is_file() and marker.read_text("ascii").strip() == entries[-1].version
