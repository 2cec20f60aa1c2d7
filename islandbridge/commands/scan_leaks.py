"""`islandbridge scan-leaks`: look for any raw identifier of a run in what it shared.

The needles are the run's own raw direct identifiers (every canonical direct-identifier
value it read, accepted or quarantined), plus ID-number and mobile patterns; the
haystack is the published dataset, the run reports and the Airflow logs. Findings name
the file and the place, never the value. Exits 1 on a find.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import pandas as pd
import typer

from islandbridge.commands.options import ConfigOpt, DataDir, installation
from islandbridge.run_layout import RunLayout

__all__ = ["run_leak_scan", "scan_leaks_command"]


def _raw_frames(run: RunLayout, entities: dict[str, str]) -> dict[str, pd.DataFrame]:
    frames: dict[str, list[pd.DataFrame]] = {}
    for source, entity in entities.items():
        for path in (run.accepted(source), run.quality_quarantine(source)):
            if path.is_file():
                frames.setdefault(entity, []).append(pd.read_parquet(path))
    return {e: pd.concat(f, ignore_index=True) for e, f in frames.items()}


def run_leak_scan(data_dir: Path, config: Path | None, run: str | None = None):
    """Scan the shared outputs of ``run`` (default: the latest); returns the LeakReport."""
    from anonymize import RawIdentifiers, scan_leaks

    ctx = installation(data_dir, config)
    runs = ctx.data.finished_runs()
    if run:
        runs = [r for r in runs if r.run_name == run]
    if not runs:
        raise typer.BadParameter(f"no finished run{' ' + run if run else ''} in {ctx.data_dir}")
    chosen = runs[0]
    entities = {s.name: s.entity for s in ctx.config.sources}
    raw = RawIdentifiers.from_frames(_raw_frames(chosen, entities))
    shared = [ctx.publish_root / "current", ctx.data.reports, ctx.data.logs, chosen.summary]
    return scan_leaks([p for p in shared if p.exists()], raw)


def scan_leaks_command(
    run: Annotated[str | None, typer.Option(help="run folder name (default: the latest)")] = None,
    data_dir: DataDir = Path("data"),
    config: ConfigOpt = None,
) -> None:
    """Scan published files, reports and logs of a run for raw identifiers; exit 1 on a find."""
    report = run_leak_scan(data_dir, config, run)
    for finding in report.findings:
        typer.echo(f"LEAK: {finding}", err=True)
    typer.echo(
        f"{'no leaks' if report.ok else f'{len(report.findings)} leak(s)'}: "
        f"{report.files_scanned} files scanned for {report.values_known} raw values and patterns"
    )
    if not report.ok:
        raise typer.Exit(1)
