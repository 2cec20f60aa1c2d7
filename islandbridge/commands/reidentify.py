"""`islandbridge reidentify TOKEN --reason "…"`: steward-only, audited re-identification.

Register with ``app.add_typer(reidentify.app, name="reidentify")`` (the sub-app takes the
token itself), or ``app.command("reidentify")(reidentify.reidentify)``.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Annotated

import typer

from anonymize import AnonymizeError, ReidentificationRefused, load_keyring
from islandbridge.commands.keys import key_source, open_vault
from islandbridge.commands.options import ConfigOpt, DataDir
from islandbridge.identity import IdentityError, current_user

__all__ = ["PERSON_KEY", "app", "reidentify"]

#: the shape of a published person_key (integrate.person_index.person_key_for)
PERSON_KEY = re.compile(r"P[0-9a-f]{20}")

app = typer.Typer(
    help="Resolve a token to the identity behind it (stewards only; every call is audited).",
    context_settings={"allow_interspersed_args": True},
)


def reidentify(
    token: Annotated[
        str,
        typer.Argument(help="a vault token (k1:abcd…) or a published person_key (P1a2b…)"),
    ],
    reason: Annotated[
        str,
        typer.Option(
            "--reason",
            help="case or ticket number, then the lawful reason, e.g. "
            "'ZZB-2026-0042 member unreachable for six months' (audited)",
        ),
    ],
    vault: Annotated[
        str | None, typer.Option("--vault", envvar="ISLANDBRIDGE_VAULT", help="vault path or URL")
    ] = None,
    file: Annotated[
        Path | None, typer.Option("--file", envvar="ISLANDBRIDGE_KEYRING_FILE", help="keyring file")
    ] = None,
    env: Annotated[str | None, typer.Option("--env", help="keyring environment variable")] = None,
    airflow_variable: Annotated[str | None, typer.Option("--airflow-variable")] = None,
    data_dir: DataDir = Path("data"),
    config: ConfigOpt = None,
) -> None:
    """Print the identity behind TOKEN (or a published person_key) as JSON; refused
    (exit 3) unless you are a steward (by your operating-system account) and give a
    reason that matches the configured pattern."""
    try:
        user = current_user()
        keyring = load_keyring(key_source(file, env, airflow_variable, data_dir, config))
        with open_vault(vault, keyring, data_dir, config) as v:
            if PERSON_KEY.fullmatch(token.strip()):
                identity = v.reidentify_person(token.strip(), reason=reason, user=user)
            else:
                identity = v.reidentify(token, reason=reason, user=user)
    except ReidentificationRefused as exc:
        typer.echo(f"refused: {exc}", err=True)
        raise typer.Exit(code=3) from None
    except (AnonymizeError, IdentityError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(code=2) from None
    typer.echo(
        json.dumps(
            {"token": identity.token, "field": identity.field, "value": identity.value},
            ensure_ascii=False,
        )
    )


app.callback(invoke_without_command=True)(reidentify)
