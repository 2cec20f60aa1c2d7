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

from anonymize.anchor import AnchorState, ChainAnchor
from integrate.ledger import (
    LEDGER_FILE,
    PUBLICATION_CHAIN,
    LedgerEntry,
    check_anchor,
    key_id,
    verify_ledger,
)
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
    #: how the ledger compares with its anchor (an AnchorState value), None if not checked
    anchor: str | None = None


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


def _inventory(con: duckdb.DuckDBPyConnection) -> dict[str, list[str]]:
    """Every object a user can create in the file, by kind (internal objects left out)."""
    queries = {
        "tables": "SELECT schema_name || '.' || table_name FROM duckdb_tables()",
        "views": "SELECT schema_name || '.' || view_name FROM duckdb_views() WHERE NOT internal",
        "macros": "SELECT schema_name || '.' || function_name FROM duckdb_functions() "
        "WHERE NOT internal",
        "schemas": "SELECT schema_name FROM duckdb_schemas() WHERE NOT internal",
        "sequences": "SELECT schema_name || '.' || sequence_name FROM duckdb_sequences()",
        "types": "SELECT schema_name || '.' || type_name FROM duckdb_types() WHERE NOT internal",
        "indexes": "SELECT schema_name || '.' || index_name FROM duckdb_indexes()",
    }
    return {kind: sorted({r[0] for r in con.execute(q).fetchall()}) for kind, q in queries.items()}


def _columns(con: duckdb.DuckDBPyConnection, relation: str) -> list[tuple[str, str]]:
    return [(str(r[0]), str(r[1])) for r in con.execute(f"DESCRIBE {relation}").fetchall()]


def _check_duckdb(version_dir: Path, tables: dict[str, Any], where: str) -> list[str]:
    """The DuckDB file by content: exactly the manifest's tables (no view, macro, schema,
    sequence, type or index besides), each with the manifest's columns, types and rows,
    holding the same rows as its Parquet file."""
    path = version_dir / DUCKDB_FILE
    here = f"{where}/{DUCKDB_FILE}"
    if not path.is_file():
        return [f"{here}: missing"]
    problems: list[str] = []
    try:
        con = duckdb.connect(
            str(path),
            read_only=True,
            config={"autoinstall_known_extensions": False, "autoload_known_extensions": False},
        )
    except duckdb.Error as exc:
        return [f"{here}: cannot be opened ({type(exc).__name__})"]
    try:
        found = _inventory(con)
        expected = {"tables": sorted(f"main.{n}" for n in tables), "schemas": ["main"]}
        for kind, names in found.items():
            extra = sorted(set(names) - set(expected.get(kind, [])))
            if extra:
                problems.append(f"{here}: unexpected {kind} {extra} (not in the manifest)")
        missing = sorted(set(expected["tables"]) - set(found["tables"]))
        for name in missing:
            problems.append(f"{here}: table {name.removeprefix('main.')} missing")
        if problems:  # a foreign macro could shadow what the content check calls
            return [*problems, f"{here}: content not compared (the file holds foreign objects)"]
        for name, entry in sorted(tables.items()):
            problems += _check_duckdb_table(con, version_dir, name, entry, here)
    except duckdb.Error as exc:
        problems.append(f"{here}: cannot be read ({type(exc).__name__})")
    finally:
        con.close()
    return problems


def _check_duckdb_table(
    con: duckdb.DuckDBPyConnection, version_dir: Path, name: str, entry: dict[str, Any], here: str
) -> list[str]:
    parquet = (version_dir / f"{name}.parquet").as_posix().replace("'", "''")
    source = f"read_parquet('{parquet}')"
    table_columns = _columns(con, f'main."{name}"')
    manifest_names = [c["name"] for c in entry.get("columns", [])]
    if [c for c, _ in table_columns] != manifest_names:
        return [f"{here}: table {name} columns differ from the manifest's"]
    if table_columns != _columns(con, f"SELECT * FROM {source}"):
        return [f"{here}: table {name} column types differ from {name}.parquet's (manifest)"]
    counted = con.execute(f'SELECT count(*) FROM main."{name}"').fetchone()
    if counted is None or counted[0] != entry.get("rows"):
        return [f"{here}: table {name} row count differs from the manifest's"]
    differing = con.execute(
        f"""SELECT
              (SELECT count(*) FROM (SELECT * FROM main."{name}"
                 EXCEPT ALL SELECT * FROM {source})),
              (SELECT count(*) FROM (SELECT * FROM {source}
                 EXCEPT ALL SELECT * FROM main."{name}"))"""
    ).fetchone()
    if differing is None or any(differing):
        return [f"{here}: table {name} differs from {name}.parquet"]
    return []


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
        if path.name not in expected:
            problems.append(f"{where}/{path.name}: unexpected file (not in the manifest)")
        elif path.is_symlink() or not path.is_file():
            problems.append(f"{where}/{path.name}: not a regular file")
    if DUCKDB_FILE in manifest.get("derived", {}):
        if tables_ok:
            problems += _check_duckdb(version_dir, tables, where)
        else:
            problems.append(f"{where}/{DUCKDB_FILE}: not checked (Parquet files altered)")
    return problems, checked


_ANCHOR_LABELS = {
    AnchorState.TRUNCATED: "ROLLED BACK",
    AnchorState.DIVERGED: "DIVERGED",
    AnchorState.UNANCHORED: "UNANCHORED",
    AnchorState.INVALID: "ANCHOR INVALID",
    AnchorState.UNREADABLE: "ANCHOR UNREADABLE",
}


def verify_publication(
    root: Path,
    public_key: Ed25519PublicKey,
    *,
    anchor: ChainAnchor | None = None,
    chain: str = PUBLICATION_CHAIN,
) -> VerifyReport:
    """Check ``root``'s ledger, manifests, signatures and files; name whatever was altered.

    With an ``anchor``, the ledger's last entry is compared with the anchored head: a
    ledger that ends before it was rolled back (``ROLLED BACK``, naming both ends).
    """
    root = Path(root)
    entries, problems = verify_ledger(root, public_key)
    pending: list[str] = []
    anchor_state = None
    if anchor is not None:
        check = check_anchor(entries, anchor, public_key, chain)
        anchor_state = check.state.value
        if check.state == AnchorState.ANCHOR_BEHIND:
            pending.append(check.describe(LEDGER_FILE))
        elif not check.ok:
            problems.append(f"{_ANCHOR_LABELS[check.state]}: {check.describe(LEDGER_FILE)}")
    by_version: dict[str, list[LedgerEntry]] = {}
    for entry in entries:
        by_version.setdefault(entry.version, []).append(entry)
    files_checked = 0
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
        anchor=anchor_state,
    )


def _activating(root: Path, entries: list[LedgerEntry]) -> bool:
    """The publisher recorded the last version but was killed before switching ``current``."""
    marker = root / ACTIVATING_FILE
    return marker.is_file() and marker.read_text("ascii").strip() == entries[-1].version
