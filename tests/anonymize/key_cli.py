"""The ``keys`` and ``reidentify`` commands driven as one OS account or another: shared by
the tests of the key commands and of re-identification by person key."""

from __future__ import annotations

import pytest
import typer
from typer.testing import CliRunner, Result

from islandbridge import identity
from islandbridge.commands import keys, reidentify

#: the OS account the commands see (tests switch it per call)
CALLER = {"name": "alice"}


def key_cli() -> typer.Typer:
    """A root app holding ``keys`` and ``reidentify``."""
    root = typer.Typer()

    @root.callback()
    def _root() -> None: ...

    root.add_typer(keys.app, name="keys")
    root.add_typer(reidentify.app, name="reidentify")
    return root


def pretend_accounts(monkeypatch: pytest.MonkeyPatch) -> None:
    """The caller is the OS account; patched so a test can switch it with :func:`run_as`."""
    CALLER["name"] = "alice"
    monkeypatch.setattr(identity, "os_account", lambda: CALLER["name"])


def run_as(cli: typer.Typer, args: list[str], user: str = "alice") -> Result:
    """Invoke ``cli`` with ``args`` as OS account ``user``."""
    CALLER["name"] = user
    return CliRunner().invoke(cli, args)
