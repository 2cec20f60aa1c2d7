"""Department intake: a department drops a new signed export; it is verified, landed, republished.

A department puts its export (and ``<file>.sig``) in ``<data_dir>/intake/<source>/``
and then an empty ``<data_dir>/intake/<source>.ready`` flag. The flag fires the
source's intake Asset (see ``islandbridge.assets``), which runs ``department_intake``:
the signature is checked with the department's public key; a valid export replaces
the department's file in the sources folder (temp file + rename) and the drop moves
to ``processed/<run>`` (a restricted zone under retention); an invalid one moves to
``rejected/<run>`` and nothing else changes. The run then extracts only that
department's sources and reuses every other source's tokens and accounting files
from the newest complete run, so the republished version is the one a full run
would publish.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
from datetime import date
from pathlib import Path

from islandbridge.context import RunContext

__all__ = [
    "IntakeError",
    "install_drop",
    "prepare_intake_run",
    "seed_from_previous",
    "triggered_sources",
]

log = logging.getLogger(__name__)

#: per source, the files of a finished stage another run can reuse (zone, name pattern)
SEEDED_FILES = (
    ("landing", "{}.provenance.json"),
    ("quarantine", "{}.quality.parquet"),
    ("tokens", "{}.parquet"),
)


class IntakeError(RuntimeError):
    """A drop cannot be taken in: no export, wrong kind of source, or a bad signature."""


def _move_drop(files: list[Path], target: Path) -> None:
    from connectors import restricted_dir

    restricted_dir(target)
    for path in files:
        path.replace(target / path.name)


def install_drop(ctx: RunContext, source: str) -> list[dict]:
    """Verify and install the export dropped for ``source``; returns names and checksums."""
    from connectors import restricted_dir
    from connectors.signatures import SignatureVerdict, load_public_key, verify_file

    spec = ctx.config.source(source)
    if spec.connector != "file" or spec.file is None:
        raise IntakeError(f"source {source!r} is pulled ({spec.connector}), not dropped")
    inbox = restricted_dir(ctx.data_dir / "intake" / source)
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
            _move_drop(drop, inbox / "rejected" / ctx.run_dir.name)
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
    _move_drop(drop, inbox / "processed" / ctx.run_dir.name)
    log.info("source %s: installed %d dropped files", source, len(installed))
    return installed


def _complete_runs(ctx: RunContext) -> list[Path]:
    done = [p.parent for p in (ctx.data_dir / "runs").glob("*/summary.json")]
    done = [p for p in done if p != ctx.run_dir]
    return sorted(done, key=lambda p: (p / "summary.json").stat().st_mtime, reverse=True)


def seed_from_previous(ctx: RunContext, sources: list[str]) -> list[str]:
    """Link each source's finished stage files from the newest complete run that has them."""
    from connectors import restricted_dir

    seeded = []
    runs = _complete_runs(ctx)
    for source in sources:
        for run in runs:
            files = [(zone, run / zone / p.format(source)) for zone, p in SEEDED_FILES]
            if all(path.is_file() for _, path in files):
                for zone, path in files:
                    target = restricted_dir(ctx.run_dir / zone) / path.name
                    target.unlink(missing_ok=True)
                    try:
                        os.link(path, target)
                    except OSError:
                        shutil.copy2(path, target)
                seeded.append(source)
                break
    return seeded


def prepare_intake_run(
    params: dict, run_id: str, run_date: date | None, triggered: list[str]
) -> dict:
    """The intake task: install the drops, plan a full run, seed what did not change."""
    from islandbridge import stages

    wanted = list(params.get("sources") or []) or triggered
    if not wanted:
        raise IntakeError("no source named: trigger an intake asset or pass params.sources")
    run_date = run_date or date.today()  # noqa: DTZ011 - asset-triggered runs have no logical date
    ctx = stages.context_from(params, run_id, run_date)
    drops = {source: install_drop(ctx, source) for source in wanted}
    run = stages.plan({**params, "sources": []}, run_id, run_date)
    seeded = seed_from_previous(ctx, [s for s in run["sources"] if s not in wanted])
    return {**run, "extract": [s for s in run["sources"] if s not in seeded], "drops": drops}


def triggered_sources(events: object) -> list[str]:
    """Source names from the triggering intake asset events (``intake_<source>``)."""
    names = [getattr(key, "name", None) or str(key) for key in dict(events or {})]
    return sorted(n.removeprefix("intake_") for n in names if n.startswith("intake_"))
