"""``islandbridge portal``: serve the department portal; ``portal add-account``,
``disable-account``, ``enable-account`` and ``accounts`` for the steward.

Register with ``app.add_typer(portal.app, name="portal")``. Passwords are asked for at
the prompt (hidden) or read from the environment variable ``--password-env`` names;
never an option value that would land in the shell history.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from islandbridge.commands.options import ConfigOpt, DataDir

__all__ = ["app"]

app = typer.Typer(help="The department portal (web).", invoke_without_command=True)


def _settings(data_dir: Path, config: Path | None):
    from islandbridge.portal import PortalSettings

    return PortalSettings.from_env(data_dir.resolve(), config.resolve() if config else None)


def _accounts(data_dir: Path, config: Path | None):
    from islandbridge.portal.accounts import AccountService
    from islandbridge.portal.store import PortalStore

    settings = _settings(data_dir, config)
    settings.portal_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    return AccountService(PortalStore(settings.accounts_url), settings)


@app.callback()
def serve(
    ctx: typer.Context,
    host: Annotated[
        str, typer.Option(help="address to listen on (behind the proxy)")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port")] = 8600,
    data_dir: DataDir = Path("data"),
    config: ConfigOpt = None,
) -> None:
    """Serve the portal with uvicorn (settings: ISLANDBRIDGE_PORTAL_* variables,
    docs/deployment.md)."""
    if ctx.invoked_subcommand is not None:
        return
    import uvicorn

    from islandbridge.portal import create_app

    settings = _settings(data_dir, config)
    typer.echo(
        f"portal on http://{host}:{port} (accounts: {settings.accounts_url.split('://')[0]})"
    )
    uvicorn.run(
        create_app(settings),
        host=host,
        port=port,
        proxy_headers=False,  # the portal reads X-Forwarded-For from trusted proxies itself
        server_header=False,
        log_level="info",
    )


@app.command("add-account")
def add_account(
    username: Annotated[str, typer.Argument(help="the account's user name")],
    role: Annotated[str, typer.Option(help="department | branch_secretary | steward")],
    department: Annotated[str | None, typer.Option(help="its department")] = None,
    branch: Annotated[str | None, typer.Option(help="a branch secretary's branch")] = None,
    password_env: Annotated[
        str | None,
        typer.Option("--password-env", help="variable holding the password (else prompted)"),
    ] = None,
    sso: Annotated[
        bool, typer.Option("--sso", help="single sign-on only: no local password")
    ] = False,
    data_dir: DataDir = Path("data"),
    config: ConfigOpt = None,
) -> None:
    """Create a portal account (a steward's act)."""
    from islandbridge.commands.options import installation
    from islandbridge.identity import current_user
    from islandbridge.portal.accounts import AccountError

    password = None
    if not sso:
        password = os.environ.get(password_env, "") if password_env else None
        if password is None:
            password = typer.prompt("password", hide_input=True, confirmation_prompt=True)
    departments = {s.department for s in installation(data_dir, config).config.sources}
    try:
        account = _accounts(data_dir, config).create(
            username,
            role,
            password=password,
            department=department,
            branch=branch,
            created_by=f"cli:{current_user()}",
            departments=departments,
        )
    except AccountError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    typer.echo(f"account {account.username} ({account.role}) created")


def _set_disabled(username: str, disabled: bool, data_dir: Path, config: Path | None) -> None:
    from islandbridge.portal.accounts import AccountError

    try:
        _accounts(data_dir, config).set_disabled(username, disabled)
    except AccountError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    typer.echo(f"account {username} {'disabled' if disabled else 'enabled'}")


@app.command("disable-account")
def disable_account(
    username: str, data_dir: DataDir = Path("data"), config: ConfigOpt = None
) -> None:
    """Disable an account (its sessions end at once)."""
    _set_disabled(username, True, data_dir, config)


@app.command("enable-account")
def enable_account(
    username: str, data_dir: DataDir = Path("data"), config: ConfigOpt = None
) -> None:
    """Enable a disabled account again."""
    _set_disabled(username, False, data_dir, config)


@app.command("accounts")
def list_accounts(data_dir: DataDir = Path("data"), config: ConfigOpt = None) -> None:
    """List the portal's accounts."""
    for a in _accounts(data_dir, config).all():
        scope = "/".join(p for p in (a.department, a.branch) if p)
        typer.echo(f"{a.username}\t{a.role}\t{scope}\t{'disabled' if a.disabled else 'active'}")
