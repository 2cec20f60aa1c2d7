"""`islandbridge init DIR` and `islandbridge check`.

Register with::

    app.command("init")(setup.init_command)
    app.command("check")(setup.check_command)

Both print a short list; a user's error is never a traceback.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from islandbridge.commands.options import ConfigOpt, DataDir

__all__ = ["check_command", "init_command"]


def init_command(
    folder: Annotated[Path, typer.Argument(help="the new installation's folder")],
    university: Annotated[
        str, typer.Option("--university", help="the university's name")
    ] = "新大学",
    department: Annotated[
        list[str] | None,
        typer.Option(
            "--department",
            help="NAME=SOURCE[,SOURCE]: issue the department's signing pair and trust it for "
            "those sources (repeatable)",
        ),
    ] = None,
    steward: Annotated[
        str | None, typer.Option("--steward", help="name the vault's first steward")
    ] = None,
) -> None:
    """Scaffold a new university: commented configuration templates, keyring and vault
    key and the service signing key, owner-only; department key pairs trusted for their
    sources and the vault's first steward on request."""
    from islandbridge.scaffold import InitError, init_installation

    departments: dict[str, list[str]] = {}
    for given in department or []:
        name, _, sources = given.partition("=")
        departments[name.strip()] = [s.strip() for s in sources.split(",") if s.strip()]
    try:
        made = init_installation(
            folder, university=university, departments=departments, steward=steward
        )
    except InitError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    typer.echo(
        f"configuration templates: {made.config.parent}/{{islandbridge,quality,privacy}}.yaml"
    )
    typer.echo(f"data folder (owner-only): {made.data_dir}")
    typer.echo(f"keyring (token key k1, vault key v1, mode 600): {made.keyring}")
    typer.echo(f"service signing key (mode 600): {made.signing_key}")
    for name, (private, store) in made.department_keys.items():
        typer.echo(f"department {name}: private key {private} (hand it over), trusted in {store}")
    if made.steward:
        typer.echo(f"vault: {made.steward} is the first steward")
    else:
        typer.echo("vault: name its first steward with `islandbridge keys init --steward NAME`")
    options = f"--config {made.config} --data-dir {made.data_dir}"
    typer.echo(f"next: edit the templates, then `islandbridge check {options}`")
    typer.echo(
        "more signed exports: `islandbridge keys new-department NAME --source SOURCE "
        f"{options}` issues a department's key and trusts it for its sources"
    )


def check_command(
    sources: Annotated[
        list[str] | None,
        typer.Option("--source", help="reach only these sources (default: all)"),
    ] = None,
    no_reach: Annotated[
        bool, typer.Option("--no-reach", help="configuration and secrets only")
    ] = False,
    data_dir: DataDir = Path("data"),
    config: ConfigOpt = None,
) -> None:
    """Validate before anything is written: the YAML (file:line:column, the source, a
    did-you-mean), every secret (present, strong, owner-only), every source (reachable,
    columns as mapped on a sample). Exit 1 on any problem."""
    from islandbridge.checks import run_checks

    report = run_checks(data_dir, config, sources=sources or None, reach=not no_reach)
    typer.echo(report.render(), err=not report.ok)
    if not report.ok:
        raise typer.Exit(1)
