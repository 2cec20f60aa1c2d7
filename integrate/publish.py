"""Atomic, idempotent publication of the unified dataset.

Layout under ``root`` (the shared zone)::

    versions/<version>/<table>.parquet   byte-stable (see parquet_bytes)
    versions/<version>/dataset.duckdb    the same tables; derived, not byte-stable
    versions/<version>/manifest.json     canonical JSON (no timestamps)
    versions/<version>/manifest.json.sig Ed25519 signature (deterministic)
    current -> versions/<version>        switched with os.replace of a temp symlink
    ledger.jsonl                         append-only, hash-chained, signed

A version is staged in ``.staging/`` and renamed into ``versions/`` whole, so a
reader following ``current`` never sees a half-written version. The version id
is derived from the content (table bytes and run facts), so publishing the same
inputs again finds the version already there and changes nothing.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pyarrow as pa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from anonymize.anchor import AnchorState, ChainAnchor
from connectors.signatures import sign_bytes
from integrate.accounting import row_accounting_problems
from integrate.canonical_json import canonical_json_bytes
from integrate.fact_files import PublishedFile, file_sha256
from integrate.ledger import (
    PUBLICATION_CHAIN,
    LedgerError,
    append_entry,
    check_anchor,
    key_id,
    ledger_lock,
    read_entries,
    sync_anchor,
)
from integrate.manifest import build_manifest, file_entry, table_entry
from integrate.parquet_bytes import parquet_bytes, sha256_hex
from integrate.unified_dataset import identifying_columns

__all__ = [
    "ACTIVATING_FILE",
    "CURRENT_LINK",
    "DUCKDB_FILE",
    "MANIFEST_FILE",
    "VERSIONS_DIR",
    "PreparedTables",
    "PublishError",
    "PublishResult",
    "prepare_tables",
    "publish_dataset",
    "read_current_manifest",
    "read_current_version",
]

log = logging.getLogger(__name__)

VERSIONS_DIR = "versions"
CURRENT_LINK = "current"
MANIFEST_FILE = "manifest.json"
DUCKDB_FILE = "dataset.duckdb"
#: names the version being activated between its ledger line and the switch of ``current``
ACTIVATING_FILE = ".activating"
_TABLE_NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
#: ``expect_current`` default: publish whatever version is current now
ANY_CURRENT = object()


class PublishError(RuntimeError):
    """The publication could not be made (bad input, or an existing version was altered)."""


@dataclass(frozen=True, slots=True)
class PublishResult:
    version: str
    path: Path
    manifest_path: Path
    created: bool = True  # False when the version already existed (a rerun)
    switched: bool = True  # False when current already pointed at it


def _write_synced(path: Path, data: bytes | Path) -> None:
    """Write ``data`` (bytes, or a file's contents copied) to ``path`` and sync it."""
    with open(path, "wb") as handle:
        if isinstance(data, Path):
            with open(data, "rb") as source:
                shutil.copyfileobj(source, handle, 1 << 20)
        else:
            handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


def _sha256(data: bytes | Path) -> str:
    return file_sha256(data) if isinstance(data, Path) else sha256_hex(data)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_duckdb(path: Path, directory: Path, names: list[str]) -> None:
    con = duckdb.connect(str(path))
    try:
        for name in names:
            source = (directory / f"{name}.parquet").as_posix().replace("'", "''")
            con.execute(f"CREATE TABLE \"{name}\" AS SELECT * FROM read_parquet('{source}')")
        con.execute("CHECKPOINT")
    finally:
        con.close()


def read_current_version(root: Path) -> str | None:
    """The version ``root/current`` points at, or None."""
    link = root / CURRENT_LINK
    if not link.is_symlink():
        return None
    return link.readlink().name


def read_current_manifest(root: Path) -> dict[str, Any] | None:
    """The manifest of the version ``root/current`` points at, or None."""
    version = read_current_version(root)
    if version is None:
        return None
    path = root / VERSIONS_DIR / version / MANIFEST_FILE
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None


def _switch_current(root: Path, version: str) -> None:
    tmp = root / f".{CURRENT_LINK}.{os.getpid()}.tmp"
    if tmp.is_symlink() or tmp.exists():
        tmp.unlink()
    tmp.symlink_to(f"{VERSIONS_DIR}/{version}")
    tmp.replace(root / CURRENT_LINK)  # atomic rename over the old link
    _fsync_dir(root)


def _clear_crash_leftovers(root: Path) -> None:
    """Remove what a killed publisher left: staging folders, temp links (caller holds the lock)."""
    staging_root = root / ".staging"
    if staging_root.is_dir():
        for stale in staging_root.iterdir():
            log.warning("removing %s left by an interrupted publication", stale.name)
            shutil.rmtree(stale, ignore_errors=True)
    for tmp in root.glob(f".{CURRENT_LINK}.*.tmp"):
        tmp.unlink(missing_ok=True)


def _existing_matches(version_dir: Path, files: Mapping[str, bytes | Path]) -> list[str]:
    problems = []
    for name, data in files.items():
        path = version_dir / name
        if not path.is_file() or file_sha256(path) != _sha256(data):
            problems.append(name)
    return problems


@dataclass(frozen=True)
class PreparedTables:
    """Tables turned into the exact bytes a version will hold — in memory, or a file
    already written (a streamed fact table) — and the Arrow columns that count what is
    written (a file's: its ``source`` column only)."""

    names: list[str]
    files: dict[str, bytes | Path]
    entries: dict[str, dict[str, Any]]
    arrow: dict[str, pa.Table]


def _columns(table: pd.DataFrame | PublishedFile) -> pd.DataFrame:
    if isinstance(table, PublishedFile):
        return pd.DataFrame(columns=table.schema.names)
    return table


def prepare_tables(tables: Mapping[str, pd.DataFrame | PublishedFile]) -> PreparedTables:
    """Check table names and columns and produce each table's byte-stable Parquet (a
    :class:`~integrate.fact_files.PublishedFile` is that file already)."""
    if not tables:
        raise PublishError("nothing to publish: no tables")
    bad_names = sorted(n for n in tables if not _TABLE_NAME.match(n))
    if bad_names:
        raise PublishError(f"table names must match {_TABLE_NAME.pattern}: {bad_names}")
    leaking = {
        n: identifying_columns(_columns(t))
        for n, t in tables.items()
        if identifying_columns(_columns(t))
    }
    if leaking:
        raise PublishError(f"identifying columns may not be published (shared zone): {leaking}")
    names = sorted(tables)
    files: dict[str, bytes | Path] = {}
    entries: dict[str, dict[str, Any]] = {}
    arrow: dict[str, pa.Table] = {}
    for name in names:
        given = tables[name]
        if isinstance(given, PublishedFile):
            digest = file_sha256(given.path)
            files[f"{name}.parquet"] = given.path
            entries[name] = file_entry(name, given.path, digest)
            arrow[name] = given.counted()
            continue
        data, table = parquet_bytes(given)
        digest = sha256_hex(data)
        files[f"{name}.parquet"] = data
        entries[name] = table_entry(name, table, data, digest)
        arrow[name] = table
    return PreparedTables(names=names, files=files, entries=entries, arrow=arrow)


def publish_dataset(
    tables: Mapping[str, pd.DataFrame | PublishedFile] | PreparedTables,
    *,
    root: Path,
    manifest: dict[str, Any],
    signing_key: Ed25519PrivateKey,
    recorded_at: datetime | None = None,
    expect_current: str | object | None = ANY_CURRENT,
    anchor: ChainAnchor | None = None,
    anchor_chain: str = PUBLICATION_CHAIN,
) -> PublishResult:
    """Publish ``tables`` as a new version under ``root`` and make it current.

    ``manifest`` holds the run's facts (sources, row_accounting, quality, privacy,
    key_id, code_version, ...); a ``row_accounting`` that does not add up is refused.
    The same tables and facts give the same version id and byte-identical files;
    publishing them again is a no-op (no new ledger line unless ``current`` moved).
    ``recorded_at`` (tz-aware) only stamps the ledger line, never a published file.
    ``expect_current``: the version the caller built on (``None``: no version yet); if
    another publication became current meanwhile, nothing is published (a lost update).
    With an ``anchor`` (see :mod:`anonymize.anchor`), a ledger that was rolled back
    behind its anchored head is refused before anything is written, and the anchor
    follows each new ledger line (or catches up after an interrupted publication).
    """
    if recorded_at is not None and recorded_at.tzinfo is None:
        raise PublishError("recorded_at must be timezone-aware")
    prepared = tables if isinstance(tables, PreparedTables) else prepare_tables(tables)
    accounting = manifest.get("row_accounting")
    if accounting is None:
        log.warning("manifest has no row_accounting; publishing without it")
    else:
        problems = row_accounting_problems(accounting)
        if problems:
            raise PublishError("row accounting does not add up: " + "; ".join(problems))
    root = Path(root)
    names, files, entries = prepared.names, dict(prepared.files), prepared.entries

    public_id = key_id(signing_key.public_key())
    writer = {"pyarrow": pa.__version__, "duckdb": duckdb.__version__}
    content_digest = hashlib.sha256(
        canonical_json_bytes(
            {
                "tables": {n: e["sha256"] for n, e in entries.items()},
                "facts": manifest,
                "key": public_id,
                "writer": writer,
            },
            indent=None,
        )
    ).hexdigest()
    version = content_digest[:20]
    full_manifest = build_manifest(
        manifest,
        version=version,
        tables=entries,
        derived={
            DUCKDB_FILE: {
                "tables": names,
                "note": "same tables as the Parquet files; not byte-stable, verified by content",
            }
        },
        signing_key_id=public_id,
        writer=writer,
    )
    manifest_bytes = canonical_json_bytes(full_manifest)
    files["manifest.json"] = manifest_bytes
    files["manifest.json.sig"] = sign_bytes(signing_key, manifest_bytes)
    manifest_sha = sha256_hex(manifest_bytes)

    versions = root / VERSIONS_DIR
    version_dir = versions / version
    with ledger_lock(root):
        _clear_crash_leftovers(root)
        current = read_current_version(root)
        if expect_current is not ANY_CURRENT and current not in (expect_current, version):
            raise PublishError(
                f"another publication ({current}) became current after this run started "
                f"from {expect_current or 'no version'}; run again to build on it"
            )
        if anchor is not None:
            check = check_anchor(read_entries(root), anchor, signing_key.public_key(), anchor_chain)
            if not check.ok and check.state != AnchorState.UNANCHORED:
                raise PublishError(
                    f"{check.describe('the publication ledger')}; nothing published (run verify)"
                )
        versions.mkdir(parents=True, exist_ok=True)
        created = False
        if version_dir.exists():
            altered = _existing_matches(version_dir, files)
            if altered:
                raise PublishError(
                    f"version {version} exists but its files differ: {altered}; "
                    "run verify — the published copy may have been altered"
                )
            log.info("version %s already published; nothing rewritten", version)
        else:
            staging_root = root / ".staging"
            staging_root.mkdir(exist_ok=True)
            staging = Path(tempfile.mkdtemp(prefix=f"{version}.", dir=staging_root))
            try:
                for name, data in files.items():
                    _write_synced(staging / name, data)
                _write_duckdb(staging / DUCKDB_FILE, staging, names)
                _fsync_dir(staging)
                staging.rename(version_dir)  # atomic: whole version or nothing
                _fsync_dir(versions)
            except BaseException:
                shutil.rmtree(staging, ignore_errors=True)
                raise
            created = True
            log.info("staged and moved version %s (%d tables)", version, len(names))

        ledger = read_entries(root)
        last = ledger[-1] if ledger else None
        known = {e.get("version") for e in ledger}
        switched = read_current_version(root) != version
        if switched:  # a crash between the ledger line and the switch is told apart from a rollback
            _write_synced(root / ACTIVATING_FILE, version.encode("ascii"))
        action = None
        if version not in known:
            action = "publish"
        elif last is None or last.get("version") != version:
            action = "activate"
        try:
            if action:
                append_entry(
                    root,
                    action=action,
                    version=version,
                    manifest_sha256=manifest_sha,
                    signing_key=signing_key,
                    recorded_at=recorded_at,
                    anchor=anchor,
                    chain=anchor_chain,
                )
            elif anchor is not None:  # a rerun: catch up an anchor left behind by a crash
                sync_anchor(root, anchor=anchor, signing_key=signing_key, chain=anchor_chain)
        except LedgerError as exc:
            raise PublishError(str(exc)) from None
        if switched:
            _switch_current(root, version)
            (root / ACTIVATING_FILE).unlink()
            _fsync_dir(root)
            log.info("current -> %s", version)
    return PublishResult(
        version=version,
        path=version_dir,
        manifest_path=version_dir / "manifest.json",
        created=created,
        switched=switched,
    )
