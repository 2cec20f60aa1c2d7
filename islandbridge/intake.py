"""Department intake: a department drops a new signed export; it is verified, landed, republished.

A department puts its export (and ``<file>.sig``) in ``<data_dir>/intake/<source>/``
and then an empty ``<data_dir>/intake/<source>.ready`` flag. The flag fires the
source's intake Asset (see ``islandbridge.assets``), which runs ``department_intake``:
the signature is checked with the department's public key; a valid export replaces
the department's file in the sources folder (temp file + rename) and the drop moves
to ``processed/<run>`` (a restricted zone under retention); an invalid one moves to
``rejected/<run>`` and nothing else changes. The run then extracts that department's
sources and carries every other source over from the current publication (see
:mod:`islandbridge.stages.plan`), so the new version holds every source.
"""

from __future__ import annotations

import hashlib
import logging
import shutil
from datetime import date
from pathlib import Path

from islandbridge.context import RunContext, context_from

__all__ = ["IntakeError", "install_drop", "prepare_intake_run", "triggered_sources"]

log = logging.getLogger(__name__)


class IntakeError(RuntimeError):
    """A drop cannot be taken in: no export, wrong kind of source, or a bad signature."""


def _move_drop(files: list[Path], target: Path) -> None:
    from connectors import restricted_dir

    restricted_dir(target)
    for path in files:
        path.replace(target / path.name)


def install_drop(ctx: RunContext, source: str) -> list[dict]:
    """Verify and install the export dropped for ``source``; returns names and checksums."""
    from connectors.signatures import SignatureVerdict, load_public_key, verify_file

    spec = ctx.config.source(source)
    if spec.connector != "file" or spec.file is None:
        raise IntakeError(f"source {source!r} is pulled ({spec.connector}), not dropped")
    inbox = ctx.data.inbox(source)
    pattern = Path(spec.file.path)
    exports = sorted(p for p in inbox.glob(pattern.name) if p.is_file() and p.suffix != ".sig")
    if not exports:
        raise IntakeError(f"source {source!r}: no export matching {pattern.name} in the inbox")
    drop = [*exports, *(p.with_name(p.name + ".sig") for p in exports)]
    drop = [p for p in drop if p.is_file()]
    if spec.signature.required:
        key = load_public_key(ctx.sources_dir / str(spec.signature.public_key))
        verdicts = {p.name: verify_file(key, p) for p in exports}
        bad = {n: v.value for n, v in verdicts.items() if v != SignatureVerdict.VALID}
        if bad:
            _move_drop(drop, ctx.data.intake_rejected(source, ctx.layout))
            raise IntakeError(f"source {source!r}: export not accepted, signature {bad}")
    target_dir = ctx.sources_dir / pattern.parent
    target_dir.mkdir(parents=True, exist_ok=True)
    installed = []
    for path in drop:  # data files first, then signatures: a crash in between fails closed
        tmp = target_dir / f".{path.name}.intake.tmp"
        shutil.copyfile(path, tmp)
        tmp.replace(target_dir / path.name)
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        installed.append({"file": path.name, "sha256": digest})
    _move_drop(drop, ctx.data.intake_processed(source, ctx.layout))
    log.info("source %s: installed %d dropped files", source, len(installed))
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
