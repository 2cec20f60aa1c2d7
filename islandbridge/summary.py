"""The run summary a steward reads at the end of a run: row accounting and where things are."""

from __future__ import annotations

import sys
from pathlib import Path

from rich.console import Console
from rich.table import Table

__all__ = ["print_summary"]

_COLUMNS = ("in", "accepted", "quarantined", "suppressed", "published")


def _data_status(row: dict) -> str:
    status = row.get("status", "")
    if status == "fresh":
        return "fresh"
    if status == "carried":
        return f"[yellow]carried[/] ({row.get('origin_run', '')})"
    return "[red]failed[/]" + (" (carried)" if row.get("carried") else "")


def print_summary(summary: dict, console: Console | None = None) -> None:
    """Render the summary written by the ``report`` stage."""
    console = console or Console(width=None if sys.stdout.isatty() else 120)
    table = Table(title=f"islandbridge run {summary['run_id']} — {summary.get('university', '')}")
    table.add_column("source")
    table.add_column("department")
    table.add_column("data")
    for col in _COLUMNS:
        table.add_column(col, justify="right")
    for row in summary["sources"]:
        table.add_row(
            row["source"],
            row["department"],
            _data_status(row),
            *(f"{row.get(c, 0):,}" for c in _COLUMNS),
        )
    totals = summary["totals"]
    table.add_row("total", "", "", *(f"{totals.get(c, 0):,}" for c in _COLUMNS), style="bold")
    console.print(table)
    for row in summary["sources"]:
        if row.get("status") == "failed":
            kept = "carried over from run " + row["origin_run"] if row.get("carried") else "no data"
            console.print(f"[red]source failed[/] {row['source']}: {row['problem']} ({kept})")
    for note in summary.get("notes", []):
        console.print(f"note: {note}")
    pub = summary.get("published", {})
    if pub.get("status") != "published":
        console.print(f"[red]NOT PUBLISHED[/] ({pub.get('status')}): {pub.get('message', '')}")
    elif pub.get("shrink_overridden"):
        console.print("[yellow]published with the shrink guard overridden[/] (see the manifest)")
    for row in summary["sources"]:
        for rejected in row.get("rejected_inputs", []):
            rows = "rows uncounted" if rejected.get("rows_unknown") else f"{rejected['rows']} rows"
            console.print(
                f"[yellow]rejected file[/] {row['source']}: {rejected['location']} "
                f"({rejected['reason']}, {rows} quarantined)"
            )
    rejects = summary.get("rejects", {})
    if rejects:
        top = sorted(rejects.items(), key=lambda kv: -kv[1])
        console.print("quarantined by reason: " + ", ".join(f"{r} {n:,}" for r, n in top))
    balanced = "yes" if summary.get("balanced") else "[red]NO[/]"
    console.print(f"every input row accounted for: {balanced}")
    for label, key in (
        ("dataset (DuckDB)", "duckdb"),
        ("dataset (Parquet)", "path"),
        ("manifest", "manifest"),
        ("report", "report"),
        ("quarantine", "quarantine"),
        ("Airflow log", "log"),
    ):
        value = pub.get(key) or summary.get(key)
        if value:
            console.print(f"{label:>18}: {value}", soft_wrap=True)
    if summary.get("feedback"):
        folder = Path(next(iter(summary["feedback"].values()))).parent.parent
        console.print(f"{'department feedback':>18}: {folder}/<department>/", soft_wrap=True)
    if summary.get("data_docs"):
        first = next(iter(summary["data_docs"].values()))
        console.print(f"{'GX Data Docs':>18}: {first} (one per source)", soft_wrap=True)
    if "seconds" in summary:
        console.print(f"{'run time':>18}: {summary['seconds']} s through Airflow (dag.test)")
