"""`islandbridge remind BRANCH --reason "…"`: the contact list of one branch's inactive
party members, for its secretary (the seeds' reminders for members who have long not
taken part). Steward-only; every identity revealed is audited in the vault; the list is
written to an owner-only file and never printed."""

from __future__ import annotations

import csv
import io
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from islandbridge.commands.options import ConfigOpt, DataDir, installation

__all__ = ["remind_command"]

_FIELDS = ("name", "mobile")


def remind_command(
    branch: Annotated[str, typer.Argument(help="the branch code, as in dim_branch.branch_id")],
    reason: Annotated[
        str,
        typer.Option(
            "--reason",
            help="case or ticket number, then why, e.g. 'ZZB-2026-0042 quarterly reminder "
            "for members inactive three months' (audited for every member)",
        ),
    ],
    out: Annotated[Path | None, typer.Option(help="CSV to write (owner-only)")] = None,
    vault: Annotated[
        str | None, typer.Option("--vault", envvar="ISLANDBRIDGE_VAULT", help="vault path or URL")
    ] = None,
    file: Annotated[
        Path | None, typer.Option("--file", envvar="ISLANDBRIDGE_KEYRING_FILE", help="keyring file")
    ] = None,
    data_dir: DataDir = Path("data"),
    config: ConfigOpt = None,
) -> None:
    """Write the name and mobile of BRANCH's inactive party members (the published
    inactive_members table) to an owner-only CSV for the branch secretary; stewards only,
    each identity audited. Exit 3 when refused, 2 on an error."""
    import pandas as pd

    from anonymize import AnonymizeError, ReidentificationRefused, load_keyring
    from islandbridge.commands.keys import key_source, open_vault
    from islandbridge.identity import IdentityError, current_user

    ctx = installation(data_dir, config)
    table = ctx.publish_root / "current" / "inactive_members.parquet"
    if not table.is_file():
        typer.echo(
            f"error: no publication with inactive_members under {ctx.publish_root}", err=True
        )
        raise typer.Exit(2)
    inactive = pd.read_parquet(table)
    members = inactive[inactive["branch_id"].astype("string") == branch]
    if members.empty:
        typer.echo(f"branch {branch}: no inactive party members in the current publication")
        return
    rows = []
    try:
        user = current_user()
        keyring = load_keyring(key_source(file, None, None, data_dir, config))
        with open_vault(vault, keyring, data_dir, config) as v:
            for person_key, last in zip(
                members["person_key"], members["last_active_month"], strict=True
            ):
                row = {"person_key": person_key, "last_active_month": last or ""}
                for field in _FIELDS:
                    try:
                        found = v.reidentify_person(
                            person_key, reason=reason, user=user, field=field
                        )
                        row[field] = found.value
                    except ReidentificationRefused as exc:
                        if "holds no" not in str(exc):
                            raise
                        row[field] = ""
                rows.append(row)
    except ReidentificationRefused as exc:
        typer.echo(f"refused: {exc}", err=True)
        raise typer.Exit(3) from None
    except (AnonymizeError, IdentityError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    target = out or ctx.data.reminders / f"{branch}_{stamp}.csv"
    buffer = io.StringIO()
    writer = csv.DictWriter(
        buffer, fieldnames=["person_key", "name", "mobile", "last_active_month"]
    )
    writer.writeheader()
    writer.writerows(rows)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8-sig", newline="") as sink:
        sink.write(buffer.getvalue())
    typer.echo(f"branch {branch}: {len(rows)} inactive party members → {target} (owner-only)")
