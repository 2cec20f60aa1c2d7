"""`islandbridge keys init | rotate | status | grant | verify-vault`.

Register with ``app.add_typer(keys.app, name="keys")``. Nothing here prints key material.
The caller is who the operating system says (:mod:`islandbridge.identity`), never an
environment variable.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from anonymize import (
    AnonymizeError,
    Keyring,
    KeySource,
    Role,
    Vault,
    init_keyring_file,
    keyring_status,
    load_keyring,
    rotate_keyring_file,
)
from islandbridge.commands.options import ConfigOpt, DataDir, installation
from islandbridge.identity import IdentityError, current_user

__all__ = ["app", "default_keyring_file", "default_vault", "key_source", "open_vault"]

app = typer.Typer(help="The keyring: token keys and the separate vault key.", no_args_is_help=True)

KeyFile = Annotated[
    Path | None,
    typer.Option("--file", envvar="ISLANDBRIDGE_KEYRING_FILE", help="keyring file (mode 0600)"),
]
KeyEnv = Annotated[
    str | None, typer.Option("--env", help="environment variable holding the keyring JSON")
]
KeyVariable = Annotated[
    str | None, typer.Option("--airflow-variable", help="Airflow Variable holding the keyring")
]
VaultLocation = Annotated[
    str | None,
    typer.Option("--vault", envvar="ISLANDBRIDGE_VAULT", help="vault SQLite path or database URL"),
]


def key_source(
    file: Path | None,
    env: str | None,
    airflow_variable: str | None,
    data_dir: Path = Path("data"),
    config: Path | None = None,
) -> KeySource:
    """The keyring's source from CLI options; else the one the installation's config names."""
    if file:
        return KeySource(file=file)
    if airflow_variable:
        return KeySource(airflow_variable=airflow_variable)
    if env:
        return KeySource(env=env)
    keys = installation(data_dir, config).config.keys
    if keys.file:
        return KeySource(file=default_keyring_file(data_dir, config))
    return KeySource(env=keys.env, airflow_variable=keys.airflow_variable)


def default_keyring_file(data_dir: Path, config: Path | None) -> Path:
    ctx = installation(data_dir, config)
    if not ctx.config.keys.file:
        raise typer.BadParameter("the configuration names no keyring file; give --file")
    return ctx.expand(ctx.config.keys.file)


def default_vault(data_dir: Path, config: Path | None) -> str:
    from islandbridge.secrets import vault_location

    return vault_location(installation(data_dir, config))


def open_vault(
    location: str | None, keyring: Keyring, data_dir: Path, config: Path | None
) -> Vault:
    """The vault at ``location`` (else the configured one), with the configured audit
    anchor and reason pattern."""
    from islandbridge.anchors import reason_pattern, vault_audit_anchor

    ctx = installation(data_dir, config)
    return Vault(
        location or default_vault(data_dir, config),
        keyring,
        anchor=vault_audit_anchor(ctx),
        reason_pattern=reason_pattern(ctx),
    )


def _fail(exc: Exception) -> typer.Exit:
    typer.echo(f"error: {exc}", err=True)
    return typer.Exit(code=2)


@app.command("init")
def init(
    file: KeyFile = None,
    force: Annotated[
        bool, typer.Option(help="replace an existing keyring (old tokens die)")
    ] = False,
    steward: Annotated[
        str | None,
        typer.Option(
            "--steward",
            help="name the vault's first steward (once, on a vault with no roles or audit)",
        ),
    ] = None,
    vault: VaultLocation = None,
    data_dir: DataDir = Path("data"),
    config: ConfigOpt = None,
) -> None:
    """Write a new keyring (token key k1, vault key v1) to an owner-only file; with
    --steward, also name the vault's first steward (the keyring is kept if it exists)."""
    path = file or default_keyring_file(data_dir, config)
    try:
        if steward is None or force or not path.exists():
            init_keyring_file(path, overwrite=force)
            typer.echo(f"keyring written to {path} (mode 600): token key k1, vault key v1")
        if steward is not None:
            caller = current_user()
            with open_vault(vault, load_keyring(KeySource(file=path)), data_dir, config) as v:
                v.initialise(steward, by=caller)
            typer.echo(f"{steward} is the vault's first steward (named by {caller})")
    except (AnonymizeError, IdentityError) as exc:
        raise _fail(exc) from None


@app.command("rotate")
def rotate(
    file: KeyFile = None,
    vault: Annotated[bool, typer.Option("--vault", help="rotate the vault key instead")] = False,
    data_dir: DataDir = Path("data"),
    config: ConfigOpt = None,
) -> None:
    """Add a new active key and retire the old one (kept: old tokens stay resolvable)."""
    try:
        new_id = rotate_keyring_file(file or default_keyring_file(data_dir, config), vault=vault)
    except AnonymizeError as exc:
        raise _fail(exc) from None
    typer.echo(f"{'vault' if vault else 'token'} key {new_id} is now active")


@app.command("status")
def status(
    file: KeyFile = None,
    env: KeyEnv = None,
    airflow_variable: KeyVariable = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
    data_dir: DataDir = Path("data"),
    config: ConfigOpt = None,
) -> None:
    """Key ids, states, dates and fingerprints (never key material)."""
    try:
        info = keyring_status(
            load_keyring(key_source(file, env, airflow_variable, data_dir, config))
        )
    except AnonymizeError as exc:
        raise _fail(exc) from None
    if as_json:
        typer.echo(json.dumps(info, indent=2))
        return
    for section, active in (("keys", info["active"]), ("vault_keys", info["vault_active"])):
        typer.echo(f"{'token' if section == 'keys' else 'vault'} keys (active: {active})")
        for k in info[section]:
            typer.echo(
                f"  {k['id']:<5} {k['state']:<8} fingerprint {k['fingerprint']}  "
                f"created {k['created_at'] or '-'}  retired {k['retired_at'] or '-'}"
            )


@app.command("grant")
def grant(
    user: Annotated[str, typer.Argument(help="user name to give the role to")],
    role: Annotated[Role, typer.Option("--role")],
    vault: VaultLocation = None,
    file: KeyFile = None,
    env: KeyEnv = None,
    airflow_variable: KeyVariable = None,
    data_dir: DataDir = Path("data"),
    config: ConfigOpt = None,
) -> None:
    """Give a user a vault role (steward / analyst). Only a steward may (the first steward
    is named by `keys init --steward`)."""
    try:
        caller = current_user()
        keyring = load_keyring(key_source(file, env, airflow_variable, data_dir, config))
        with open_vault(vault, keyring, data_dir, config) as v:
            v.grant(user, role, by=caller)
    except (AnonymizeError, IdentityError) as exc:
        raise _fail(exc) from None
    typer.echo(f"{user} is now {role.value}")


@app.command("verify-vault")
def verify_vault(
    vault: VaultLocation = None,
    file: KeyFile = None,
    env: KeyEnv = None,
    airflow_variable: KeyVariable = None,
    adopt_anchor: Annotated[
        bool,
        typer.Option(
            "--adopt-anchor",
            help="anchor an intact audit chain that has no (valid) anchor yet; never a cut one",
        ),
    ] = False,
    data_dir: DataDir = Path("data"),
    config: ConfigOpt = None,
) -> None:
    """Check every vault row, the audit chain and its anchor, and every grant; exit 1 and
    name each problem if anything was tampered with (2 if the check could not run)."""
    try:
        keyring = load_keyring(key_source(file, env, airflow_variable, data_dir, config))
        with open_vault(vault, keyring, data_dir, config) as v:
            if adopt_anchor:
                before = v.adopt_anchor()
                typer.echo(f"anchor adopted (was: {before.state.value})")
            report = v.check()
    except AnonymizeError as exc:
        raise _fail(exc) from None
    for problem in report.problems():
        typer.echo(f"TAMPERED: {problem}", err=True)
    if report.anchor is not None and report.anchor.state.value == "anchor_behind":
        typer.echo(f"PENDING: {report.anchor.describe('the vault audit')}", err=True)
    if not report.ok:
        typer.echo(
            f"vault FAILED: {report.identities} identities, {report.audit_entries} audit "
            f"entries, {report.grants} grants checked"
        )
        raise typer.Exit(code=1)
    typer.echo(
        f"vault ok: {report.identities} identities, audit chain of {report.audit_entries} "
        f"entries intact and anchored, {report.grants} grants sealed"
    )
