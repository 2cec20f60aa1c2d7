"""Retention: destroy restricted data older than each zone's configured number of days.

Zones are the restricted folders of each run (``runs/<run>/landing``, ``quarantine``,
``work`` + ``tokens`` + ``linked``) and processed department drops
(``intake/<source>/processed/<drop>``). A zone folder is destroyed whole once its
newest file is older than the zone's retention — except the zones of the run behind
the current publication: later runs carry its sources over from there (a source's
newer data replaces it, and then it ages out like any other). Before anything is deleted, a
record of what will be destroyed — per folder: file names, sizes, row counts and
SHA-256 checksums, never contents — is written and chained into a signed ledger
(the same hash-chained format as the publication ledger) under
``retention.ledger``. Published versions, the vault and the secrets are never
touched: they are outside the zones and every target is checked against them.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

from islandbridge.context import RunContext, context_from
from islandbridge.run_layout import RUN_ZONES

__all__ = [
    "RUN_ZONES",
    "RetentionError",
    "apply_retention",
    "apply_retention_from_params",
    "plan_destruction",
    "record_of",
]

log = logging.getLogger(__name__)

RECORDS_DIR = "records"


class RetentionError(RuntimeError):
    """A destruction target lies in a protected place (published data, vault, secrets)."""


def _files(folder: Path) -> list[Path]:
    out = []
    for base, dirs, names in os.walk(folder, followlinks=False):
        dirs.sort()
        out += [Path(base) / n for n in sorted(names)]
    return out


def _newest(folder: Path, files: list[Path]) -> datetime:
    stamps = [p.lstat().st_mtime for p in files] or [folder.lstat().st_mtime]
    return datetime.fromtimestamp(max(stamps), tz=UTC)


def _rows(path: Path) -> int | None:
    if path.suffix != ".parquet":
        return None
    import pyarrow.parquet as pq

    try:
        return pq.ParquetFile(path).metadata.num_rows  # metadata only, never the rows
    except Exception:  # a damaged file is still destroyed and counted
        return None


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _live_run(ctx: RunContext) -> str | None:
    """The run folder the current publication's sources are carried from."""
    from islandbridge.stages.plan import previous_publication

    record = previous_publication(ctx)
    return ctx.data.run(record.run_id).run_name if record else None


def _candidates(ctx: RunContext) -> list[tuple[str, Path]]:
    out = []
    live = _live_run(ctx)
    for run in ctx.data.run_folders():
        if run.run_name == live:
            log.info("retention keeps run %s: the current publication is carried from it", live)
            continue
        for sub, zone in RUN_ZONES.items():
            if run.zone(sub).is_dir():
                out.append((zone, run.zone(sub)))
    out += [("intake", drop) for drop in ctx.data.processed_drops() if not drop.is_symlink()]
    return out


def _protected(ctx: RunContext) -> list[Path]:
    from islandbridge.secrets import vault_location

    places = [
        ctx.expand(ctx.config.publish.root),
        ctx.expand(ctx.config.publish.signing_key).parent,
        ctx.expand(ctx.config.retention.ledger),
    ]
    if ctx.config.keys.file:
        places.append(ctx.expand(ctx.config.keys.file).parent)
    vault = vault_location(ctx)
    if "://" not in vault:
        places.append(Path(vault).parent)
    return [p.resolve() for p in places]


def _check_not_protected(folder: Path, protected: list[Path]) -> None:
    real = folder.resolve()
    for place in protected:
        if real == place or place in real.parents or real in place.parents:
            raise RetentionError(f"{folder}: overlaps protected {place}; nothing destroyed")


def plan_destruction(ctx: RunContext, now: datetime) -> list[dict]:
    """What retention would destroy now: per zone folder, its files' names, sizes, rows, SHA-256."""
    policy = ctx.config.retention
    protected = _protected(ctx)
    plan = []
    for zone, folder in _candidates(ctx):
        files = _files(folder)
        if now - _newest(folder, files) <= timedelta(days=policy.days(zone)):
            continue
        _check_not_protected(folder, protected)
        entries = [
            {
                "file": str(p.relative_to(folder)),
                "bytes": p.lstat().st_size,
                "rows": _rows(p),
                "sha256": _sha256(p),
            }
            for p in files
            if p.is_file() and not p.is_symlink()
        ]
        plan.append(
            {
                "zone": zone,
                "folder": str(folder.relative_to(ctx.data_dir)),
                "files": len(entries),
                "bytes": sum(e["bytes"] for e in entries),
                "rows": sum(e["rows"] or 0 for e in entries),
                "checksums": entries,
            }
        )
    return plan


def apply_retention(
    data_dir: Path, config_path: Path | None, *, now: datetime | None = None, dry_run: bool = False
) -> dict:
    """Destroy what is past retention; record it in the signed destruction ledger first."""
    from integrate.canonical_json import canonical_json_bytes
    from integrate.ledger import append_entry, ledger_lock
    from islandbridge.secrets import load_signing_key

    now = now or datetime.now(UTC)
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    ctx = RunContext(Path(data_dir).resolve(), config_path, "retention", now.date())
    plan = plan_destruction(ctx, now)
    policy = ctx.config.retention
    summary = {
        "destroyed": [{k: v for k, v in p.items() if k != "checksums"} for p in plan],
        "policy_days": {z: policy.days(z) for z in sorted(set(RUN_ZONES.values()) | {"intake"})},
        "dry_run": dry_run,
        "ledger_seq": None,
    }
    if dry_run or not plan:
        return summary
    record = {"at": now.isoformat(timespec="seconds"), **summary, "destroyed": plan}
    record.pop("dry_run")
    record.pop("ledger_seq")
    data = canonical_json_bytes(record)
    digest = hashlib.sha256(data).hexdigest()
    root = ctx.expand(policy.ledger)
    with ledger_lock(root):
        records = root / RECORDS_DIR
        records.mkdir(parents=True, exist_ok=True, mode=0o700)
        (records / f"{digest}.json").write_bytes(data)
        line = append_entry(
            root,
            action="destroy",
            version=digest[:20],
            manifest_sha256=digest,
            signing_key=load_signing_key(ctx),
            recorded_at=now,
        )
        for item in plan:  # recorded first: a crash here leaves a record and less to destroy
            shutil.rmtree(ctx.data_dir / item["folder"])
    summary["ledger_seq"] = line["seq"]
    log.info(
        "retention destroyed %d folders (%d files) — ledger entry %d",
        len(plan),
        sum(p["files"] for p in plan),
        line["seq"],
    )
    return summary


def record_of(ledger_root: Path, entry: dict) -> dict:
    """The destruction record a ledger entry names (checked against its checksum)."""
    data = (ledger_root / RECORDS_DIR / f"{entry['manifest_sha256']}.json").read_bytes()
    if hashlib.sha256(data).hexdigest() != entry["manifest_sha256"]:
        raise RetentionError(f"destruction record of ledger entry {entry['seq']} was altered")
    return json.loads(data)


def apply_retention_from_params(params: dict) -> dict:
    """The retention DAG's task: data folder and configuration from DAG params or env."""
    ctx = context_from(params, "retention", datetime.now(UTC).date())
    return apply_retention(ctx.data_dir, ctx.config_path, dry_run=bool(params.get("dry_run")))
