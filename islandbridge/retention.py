"""Retention: destroy restricted data older than each zone's configured number of days.

Zones — every place raw values rest:

- the restricted folders of each run (``runs/<run>/landing``, ``quarantine``, ``work`` +
  ``tokens`` + ``linked``), destroyed whole once their newest file is older than the
  zone's days — except the zones of the run behind the current publication: later runs
  carry its sources over from there (a source's newer data replaces it, and then it ages
  out like any other);
- processed department drops (``intake/<source>/processed/<drop>``, zone ``intake``) and
  refused ones (``intake/<source>/rejected/<run>``, zone ``intake_rejected``), whole;
- department feedback (``feedback/<department>/…``: rejected rows with their raw
  identifiers, refusal notices), file by file once the department has had a file for
  ``feedback`` days;
- run logs (``logs/*.log`` and Airflow's task logs under the data folder), file by file.

Before anything is deleted, a record of what will be destroyed — per folder: file names
(escaped), sizes, row counts and SHA-256 checksums, never contents — is written and
chained into a signed ledger (the same hash-chained format as the publication ledger)
under ``retention.ledger``, whose head is anchored like the publication ledger's (chain
``retention`` in the configured anchor store), so a cut of the ledger is detected:
:func:`verify_retention` checks every line, every record's checksum and the anchor.
Published versions, the vault, the secrets and the trust store are never touched: they
are outside the zones and every target is checked against them.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from connectors.file_names import display_name
from islandbridge.context import RunContext, context_from
from islandbridge.run_layout import RUN_ZONES

__all__ = [
    "RETENTION_CHAIN",
    "RUN_ZONES",
    "ZONES",
    "RetentionError",
    "RetentionReport",
    "apply_retention",
    "apply_retention_from_params",
    "plan_destruction",
    "record_of",
    "verify_retention",
]

log = logging.getLogger(__name__)

RECORDS_DIR = "records"
#: the anchor's name for the destruction ledger
RETENTION_CHAIN = "retention"
#: every zone retention destroys (the keys of the ``retention`` configuration's days)
ZONES = (*sorted(set(RUN_ZONES.values())), "intake", "intake_rejected", "feedback", "logs")


class RetentionError(RuntimeError):
    """A destruction target lies in a protected place (published data, vault, secrets), or
    the destruction ledger cannot be extended (it is behind its anchor)."""


@dataclass(frozen=True, slots=True)
class _Target:
    """A folder to destroy whole, or (``files`` given) some of the files in it."""

    zone: str
    folder: Path
    files: tuple[Path, ...] | None = None
    #: the zone's root (files only): emptied folders below it are removed
    root: Path | None = None


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


def _whole_folders(ctx: RunContext) -> list[_Target]:
    out = []
    live = _live_run(ctx)
    for run in ctx.data.run_folders():
        if run.run_name == live:
            log.info("retention keeps run %s: the current publication is carried from it", live)
            continue
        for sub, zone in RUN_ZONES.items():
            if run.zone(sub).is_dir():
                out.append(_Target(zone, run.zone(sub)))
    out += [_Target("intake", d) for d in ctx.data.processed_drops() if not d.is_symlink()]
    out += [_Target("intake_rejected", d) for d in ctx.data.rejected_drops()]
    return out


def _old_files(ctx: RunContext, now: datetime) -> list[_Target]:
    """Feedback and log files older than their zone's days, grouped by folder."""
    policy = ctx.config.retention
    roots = [
        ("feedback", ctx.data.feedback),
        ("logs", ctx.data.logs),
        ("logs", ctx.data.airflow_logs),
    ]
    out = []
    for zone, root in roots:
        if not root.is_dir() or root.is_symlink():
            continue
        limit = timedelta(days=policy.days(zone))
        by_folder: dict[Path, list[Path]] = {}
        for path in _files(root):
            if path.is_symlink() or not path.is_file():
                continue
            if now - datetime.fromtimestamp(path.lstat().st_mtime, tz=UTC) > limit:
                by_folder.setdefault(path.parent, []).append(path)
        out += [_Target(zone, folder, tuple(files), root) for folder, files in by_folder.items()]
    return out


def _protected(ctx: RunContext) -> list[Path]:
    from islandbridge.secrets import vault_location

    places = [
        ctx.expand(ctx.config.publish.root),
        ctx.expand(ctx.config.publish.signing_key).parent,
        ctx.expand(ctx.config.retention.ledger),
    ]
    trust = ctx.config.trust_store.file
    if trust is not None:
        places.append(ctx.expand(trust).parent)
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


def _entry(path: Path, folder: Path) -> dict:
    return {
        "file": display_name(str(path.relative_to(folder)), limit=400),
        "bytes": path.lstat().st_size,
        "rows": _rows(path),
        "sha256": _sha256(path),
    }


def plan_destruction(ctx: RunContext, now: datetime) -> list[dict]:
    """What retention would destroy now: per folder (whole, or some of its files), its
    files' names, sizes, rows and SHA-256."""
    policy = ctx.config.retention
    protected = _protected(ctx)
    plan = []
    for target in [*_whole_folders(ctx), *_old_files(ctx, now)]:
        folder = target.folder
        if target.files is None:
            files = _files(folder)
            if now - _newest(folder, files) <= timedelta(days=policy.days(target.zone)):
                continue
        else:
            files = list(target.files)
        _check_not_protected(folder, protected)
        entries = [_entry(p, folder) for p in files if p.is_file() and not p.is_symlink()]
        plan.append(
            {
                "zone": target.zone,
                "folder": display_name(str(folder.relative_to(ctx.data_dir)), limit=400),
                "whole": target.files is None,
                "files": len(entries),
                "bytes": sum(e["bytes"] for e in entries),
                "rows": sum(e["rows"] or 0 for e in entries),
                "checksums": entries,
                "_paths": [str(folder)] if target.files is None else [str(p) for p in files],
                "_root": str(target.root or folder),
            }
        )
    return plan


def _destroy(item: dict) -> None:
    """Remove a planned folder whole, or its listed files and the folders they leave empty
    below the zone's root (a department's own folder is made again when needed)."""
    if item["whole"]:
        shutil.rmtree(item["_paths"][0])
        return
    root = Path(item["_root"])
    for name in item["_paths"]:
        Path(name).unlink(missing_ok=True)
    folder = Path(item["_paths"][0]).parent
    while folder != root and root in folder.parents:
        try:
            folder.rmdir()  # only if empty
        except OSError:
            break
        folder = folder.parent


def _public(item: dict) -> dict:
    return {k: v for k, v in item.items() if not k.startswith("_")}


def apply_retention(
    data_dir: Path, config_path: Path | None, *, now: datetime | None = None, dry_run: bool = False
) -> dict:
    """Destroy what is past retention; record it in the signed, anchored destruction
    ledger first."""
    from integrate.canonical_json import canonical_json_bytes
    from integrate.ledger import LedgerError, append_entry, ledger_lock
    from islandbridge.anchors import publication_anchor
    from islandbridge.secrets import load_signing_key

    now = now or datetime.now(UTC)
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    ctx = RunContext(Path(data_dir).resolve(), config_path, "retention", now.date())
    plan = plan_destruction(ctx, now)
    policy = ctx.config.retention
    summary = {
        "destroyed": [{k: v for k, v in _public(p).items() if k != "checksums"} for p in plan],
        "policy_days": {z: policy.days(z) for z in ZONES},
        "dry_run": dry_run,
        "ledger_seq": None,
    }
    if dry_run or not plan:
        return summary
    record = {"at": now.isoformat(timespec="seconds"), **summary}
    record["destroyed"] = [_public(p) for p in plan]
    record.pop("dry_run")
    record.pop("ledger_seq")
    data = canonical_json_bytes(record)
    digest = hashlib.sha256(data).hexdigest()
    root = ctx.expand(policy.ledger)
    signing_key = load_signing_key(ctx)
    anchor = publication_anchor(ctx)
    try:
        with ledger_lock(root):
            records = root / RECORDS_DIR
            records.mkdir(parents=True, exist_ok=True, mode=0o700)
            (records / f"{digest}.json").write_bytes(data)
            try:
                line = append_entry(
                    root,
                    action="destroy",
                    version=digest[:20],
                    manifest_sha256=digest,
                    signing_key=signing_key,
                    recorded_at=now,
                    anchor=anchor,
                    chain=RETENTION_CHAIN,
                )
            except LedgerError as exc:
                raise RetentionError(f"destruction ledger: {exc}") from None
            for item in plan:  # recorded first: a crash here leaves a record and less to destroy
                _destroy(item)
    finally:
        anchor.close()
    summary["ledger_seq"] = line["seq"]
    log.info(
        "retention destroyed %d folders or file groups (%d files) — ledger entry %d",
        len(plan),
        sum(p["files"] for p in plan),
        line["seq"],
    )
    return summary


@dataclass(frozen=True, slots=True)
class RetentionReport:
    """What :func:`verify_retention` found: ``problems`` (each names the line or record),
    ``pending`` (an interrupted anchor update), the anchor state and the entries checked."""

    problems: list[str] = field(default_factory=list)
    pending: list[str] = field(default_factory=list)
    anchor: str = ""
    entries: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems


def verify_retention(ctx: RunContext, *, adopt_anchor: bool = False) -> RetentionReport:
    """Check the destruction ledger: every line's hash, signature and link, every record's
    checksum, and the ledger's head against its anchor (a cut ledger is ``ROLLED BACK``).
    ``adopt_anchor``: anchor an intact ledger that has none yet (an operator's decision,
    for ledgers written before anchoring)."""
    from anonymize.anchor import AnchorState
    from integrate.ledger import LEDGER_FILE, check_anchor, ledger_lock, sync_anchor, verify_ledger
    from islandbridge.anchors import publication_anchor
    from islandbridge.secrets import load_signing_key

    root = ctx.expand(ctx.config.retention.ledger)
    signing_key = load_signing_key(ctx)
    public_key = signing_key.public_key()
    anchor = publication_anchor(ctx)
    try:
        if adopt_anchor:
            with ledger_lock(root):
                sync_anchor(
                    root, anchor=anchor, signing_key=signing_key, chain=RETENTION_CHAIN, adopt=True
                )
        exists = (root / LEDGER_FILE).is_file()
        entries, problems = verify_ledger(root, public_key) if exists else ([], [])
        check = check_anchor(entries, anchor, public_key, RETENTION_CHAIN)
    finally:
        anchor.close()
    label = f"retention {LEDGER_FILE}"
    pending = []
    if check.state == AnchorState.ANCHOR_BEHIND:
        pending.append(check.describe(label))
    elif not check.ok:
        problems.append(check.describe(label))
    for entry in entries:
        try:
            record_of(root, {"seq": entry.seq, "manifest_sha256": entry.manifest_sha256})
        except OSError:
            problems.append(f"destruction record of {LEDGER_FILE} line {entry.line_no}: missing")
        except (RetentionError, ValueError) as exc:
            problems.append(str(exc))
    return RetentionReport(problems, pending, check.state.value, len(entries))


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
