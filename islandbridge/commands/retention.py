"""``islandbridge verify-retention``: check the destruction ledger and its anchor.

Register with ``app.command("verify-retention")(retention.verify_retention_command)``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from islandbridge.commands.options import ConfigOpt, DataDir, installation

__all__ = ["verify_retention_command"]


def verify_retention_command(
    adopt_anchor: Annotated[
        bool,
        typer.Option(
            "--adopt-anchor",
            help="anchor an intact ledger that has no (valid) anchor yet; never a cut one",
        ),
    ] = False,
    data_dir: DataDir = Path("data"),
    config: ConfigOpt = None,
) -> None:
    """Check the retention (destruction) ledger: every line's hash, signature and link, every
    destruction record's checksum, and the ledger's head against its anchor. Exit 1 when
    anything was altered or cut, 2 when the check could not run."""
    from anonymize.anchor import AnchorError
    from integrate.ledger import LedgerError
    from islandbridge.anchors import AnchorConfigError
    from islandbridge.retention import verify_retention
    from islandbridge.secrets import SecretError

    ctx = installation(data_dir, config)
    try:
        report = verify_retention(ctx, adopt_anchor=adopt_anchor)
    except LedgerError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    except (AnchorConfigError, AnchorError, SecretError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    for problem in report.problems:
        typer.echo(f"ALTERED: {problem}", err=True)
    for note in report.pending:
        typer.echo(f"PENDING: {note}", err=True)
    typer.echo(
        f"{'ok' if report.ok else 'FAILED'}: {report.entries} destruction entries checked, "
        f"anchor {report.anchor}"
    )
    if not report.ok:
        raise typer.Exit(1)
