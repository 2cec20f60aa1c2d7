"""Department intake: a department drops a new signed export; it is checked, landed, republished.

A department puts its export (and its signed manifest, ``<file>.manifest.json``, written
by ``islandbridge sign``) in ``<data_dir>/intake/<source>/`` and then an empty
``<data_dir>/intake/<source>.ready`` flag. The flag fires the source's intake Asset (see
``islandbridge.assets``), which runs ``department_intake``.

Every entry of the inbox is judged on its own, so one bad entry never blocks the others
(nor, once moved out, any later run):

1. **the entry and its name** (:mod:`connectors.file_names`): a regular file with one
   name — no symbolic link (above all one pointing outside the inbox), hard link,
   folder or device — whose name is printable UTF-8 without control characters,
   separators (also encoded, ``..%2f``), ``..`` or a leading dot, matches the source's
   glob and ``name_pattern``, and, for a source signed per branch, names a branch with
   a key in the trust store;
2. **its signed manifest** (:mod:`connectors.export_manifest`): signed by a key the
   trust store holds for this source (and branch), naming this file, source,
   department and branch, with the file's exact content and row count;
3. **not a replay** (:mod:`connectors.export_sequences`): newer sequence and export
   time than the last accepted export of that file.

Well-named regular files are first moved out of the inbox into the owner-only
``processed/<run>/`` and judged there, so nothing can be swapped between check and
installation. A refused entry goes to the owner-only ``rejected/<run>/`` under a
generated name (``001.rejected``; a link is recorded, not kept), with ``rejected.json``
giving each one's escaped name, reason and detail; the department gets a refusal notice
in its feedback folder; the log names reasons and counts, never a name. Accepted exports
replace the department's files in the sources folder (temp file + rename, data before
manifest, so a crash in between fails closed) and stay in ``processed/<run>``. When
nothing was accepted, the run fails and nothing changes. The run then extracts that
department's sources and carries every other source over from the current
publication (see :mod:`islandbridge.stages.plan`), so the new version holds every
source.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
from collections import Counter
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from connectors.export_manifest import (
    ManifestCheck,
    check_export,
    is_companion,
    manifest_path,
)
from connectors.file_names import display_name, entry_problem, name_problem
from connectors.signatures import SignatureVerdict
from connectors.specs import SourceConfig
from connectors.trust_store import TrustStore
from islandbridge.context import RunContext, context_from

__all__ = ["IntakeError", "install_drop", "prepare_intake_run", "triggered_sources"]

log = logging.getLogger(__name__)

#: the inbox's own sub-folders
_OWN_FOLDERS = ("processed", "rejected")


class IntakeError(RuntimeError):
    """A drop cannot be taken in: no export, wrong kind of source, or nothing acceptable."""


@dataclass(frozen=True, slots=True)
class _Refusal:
    paths: tuple[Path, ...]  # the entry and the companions that go with it
    reason: str
    detail: str = ""


def _entry_verdict(path: Path, spec: SourceConfig, trust: TrustStore | None) -> str | None:
    """Why an inbox entry cannot be an export of ``spec`` (a reason code), or None."""
    assert spec.file is not None
    problem = entry_problem(path) or name_problem(path.name)
    if problem is not None:
        return problem
    if is_companion(path.name):
        return None
    glob = Path(spec.file.path).name
    if name_problem(path.name, glob=glob, pattern=spec.file.name_pattern):
        return "name_not_matching"
    branch = spec.signed_branch(path.name)
    if branch is not None and trust is not None and branch not in trust.branches(spec.name):
        return "name_unknown_branch"
    return None


def _record_count(ctx: RunContext, spec: SourceConfig, path: Path) -> int:
    from connectors import ExtractContext, connector_for

    reader = connector_for(spec, ExtractContext(sources_dir=path.parent))
    return sum(len(frame) for frame in reader.records_of(path.name))


def _check_export(
    ctx: RunContext, spec: SourceConfig, path: Path, trust: TrustStore | None
) -> ManifestCheck:
    """The verdict on one well-named export: manifest, row count, then replay (recorded)."""
    from connectors import SourceError
    from islandbridge.trust import export_sequences

    if trust is None:
        return ManifestCheck(SignatureVerdict.NOT_REQUIRED)
    check = check_export(
        path,
        source=spec.name,
        department=spec.department,
        trust=trust,
        branch=spec.signed_branch(path.name),
    )
    if not check.ok or check.manifest is None:
        return check
    try:
        rows = _record_count(ctx, spec, path)
    except SourceError as exc:
        return ManifestCheck(SignatureVerdict.INVALID, check.manifest, exc.problem)
    if rows != check.manifest.rows:
        return ManifestCheck(
            SignatureVerdict.MISMATCH,
            check.manifest,
            f"{rows} records read, the signed manifest says {check.manifest.rows}",
        )
    replayed = export_sequences(ctx).accept(spec.name, check.manifest)
    if replayed is not None:
        return ManifestCheck(SignatureVerdict.REPLAYED, check.manifest, replayed)
    return check


def _refuse(ctx: RunContext, spec: SourceConfig, refusals: list[_Refusal]) -> Path:
    """Move refused entries into ``rejected/<run>/`` (links recorded, not kept), record
    why, and give the department a notice; returns the reject folder."""
    from connectors import restricted_dir
    from quality import write_refusal_notice

    folder = restricted_dir(ctx.data.intake_rejected(spec.name, ctx.layout))
    record_path = ctx.data.rejects_record(folder)
    record = json.loads(record_path.read_text("utf-8")) if record_path.is_file() else []
    for refusal in refusals:
        for path in refusal.paths:
            stored = None
            if not path.is_symlink() and path.exists():
                stored = f"{len(record) + 1:03d}.rejected"
                path.replace(folder / stored)
            else:
                path.unlink(missing_ok=True)  # a link: its target is never touched
            record.append(
                {
                    "name": display_name(path.name),
                    "stored_as": stored,
                    "reason": refusal.reason,
                    "detail": refusal.detail,
                }
            )
    tmp = record_path.with_name(record_path.name + ".tmp")
    tmp.write_text(json.dumps(record, ensure_ascii=False, indent=2), encoding="utf-8")
    tmp.chmod(0o600)
    tmp.replace(record_path)
    write_refusal_notice(
        ctx.data.department_feedback(spec.department),
        department=spec.name,
        refused={display_name(r.paths[0].name): r.reason for r in refusals},
        run_id=f"{ctx.layout.run_name}.intake",
    )
    reasons = Counter(r.reason for r in refusals)
    log.warning(
        "source %s: %d dropped entries refused: %s", spec.name, len(refusals), dict(reasons)
    )
    return folder


def _stage(entries: dict[Path, str | None], staging: Path) -> dict[Path, str | None]:
    """Move every well-named regular file out of the inbox into the owner-only staging
    folder before anything of it is read (a department that can write the inbox cannot
    swap a file between its check and its installation); re-judge what was moved."""
    from connectors import restricted_dir

    staged: dict[Path, str | None] = {}
    for path, verdict in entries.items():
        if verdict is not None:
            staged[path] = verdict
            continue
        restricted_dir(staging)
        target = staging / path.name
        path.replace(target)
        staged[target] = entry_problem(target)
    return staged


def install_drop(ctx: RunContext, source: str) -> list[dict]:
    """Check every entry dropped for ``source``, refuse the bad ones (each with a reason)
    and install the good exports; returns the installed files' names and checksums."""
    from islandbridge.trust import check_trust_store

    spec = ctx.config.source(source)
    if spec.connector != "file" or spec.file is None:
        raise IntakeError(f"source {source!r} is pulled ({spec.connector}), not dropped")
    trust = check_trust_store(ctx) if spec.signature.required else None
    inbox = ctx.data.inbox(source)
    entries = [
        p
        for p in sorted(inbox.iterdir())
        if not (p.name in _OWN_FOLDERS and p.is_dir() and not p.is_symlink())
    ]
    if not entries:
        raise IntakeError(
            f"source {source!r}: no export matching {Path(spec.file.path).name} in the inbox"
        )
    staging = ctx.data.intake_processed(source, ctx.layout)
    verdicts = _stage({p: _entry_verdict(p, spec, trust) for p in entries}, staging)
    exports = [p for p, v in verdicts.items() if not is_companion(p.name) or v is not None]
    companions = {p for p in verdicts if p not in exports}
    refusals: list[_Refusal] = []
    accepted: list[tuple[Path, list[Path]]] = []
    for path in exports:
        own = [c for c in companions if c.name in (path.name + ".sig", manifest_path(path).name)]
        companions -= set(own)
        group = (path, *own)
        if verdicts[path] is not None:
            refusals.append(_Refusal(group, str(verdicts[path])))
            continue
        check = _check_export(ctx, spec, path, trust)
        if check.verdict.refused:
            refusals.append(_Refusal(group, check.verdict.value, check.detail))
        else:
            accepted.append((path, own))
    refusals += [_Refusal((c,), "name_not_matching", "no export of this name") for c in companions]
    if refusals:
        _refuse(ctx, spec, refusals)
    if not accepted:
        if staging.is_dir() and not any(staging.iterdir()):
            staging.rmdir()
        reasons = sorted({r.reason for r in refusals})
        raise IntakeError(f"source {source!r}: no dropped export accepted ({', '.join(reasons)})")
    target_dir = ctx.sources_dir / Path(spec.file.path).parent
    target_dir.mkdir(parents=True, exist_ok=True)
    installed = []
    for export, own in accepted:
        manifests = [p for p in own if p == manifest_path(export)]
        for path in (export, *manifests):  # data first, then its manifest: fails closed
            tmp = target_dir / f".{path.name}.intake.tmp"
            shutil.copyfile(path, tmp)
            tmp.replace(target_dir / path.name)
        digest = hashlib.sha256(export.read_bytes()).hexdigest()
        installed.append({"file": export.name, "sha256": digest})
    log.info("source %s: installed %d dropped exports", source, len(installed))
    return installed


def prepare_intake_run(
    params: dict, run_id: str, run_date: date | None, triggered: list[str]
) -> dict:
    """The intake task: check configuration and secrets, install the drops, plan a run
    that extracts the dropped sources and carries the others over; the RunPlan."""
    from islandbridge.stages.plan import check_secrets, plan

    wanted = list(params.get("sources") or []) or triggered
    if not wanted:
        raise IntakeError("no source named: trigger an intake asset or pass params.sources")
    run_date = run_date or date.today()  # noqa: DTZ011 - asset-triggered runs have no logical date
    ctx = context_from(params, run_id, run_date)
    check_secrets(ctx)  # before a byte is written
    drops = {source: install_drop(ctx, source) for source in wanted}
    return plan({**params, "sources": wanted}, run_id, run_date, kind="intake", drops=drops)


def triggered_sources(events: object) -> list[str]:
    """Source names from the triggering intake asset events (``intake_<source>``)."""
    names = [getattr(key, "name", None) or str(key) for key in dict(events or {})]
    return sorted(n.removeprefix("intake_") for n in names if n.startswith("intake_"))
