"""`islandbridge keys …` and `islandbridge reidentify …` through Typer."""

from __future__ import annotations

import json

import pytest
import typer

from anonymize import KeySource, Role, Vault, load_keyring, pseudonymise_frame
from tests.anonymize.key_cli import key_cli, pretend_accounts
from tests.anonymize.key_cli import run_as as _run

REASON = "DUES-2026-7 dues unpaid for a year: contact the member"


@pytest.fixture
def cli() -> typer.Typer:
    return key_cli()


@pytest.fixture(autouse=True)
def _os_accounts(monkeypatch):
    pretend_accounts(monkeypatch)


def test_keys_init_rotate_status(cli, tmp_path):
    path = tmp_path / "secrets" / "keyring.json"
    assert _run(cli, ["keys", "init", "--file", str(path)]).exit_code == 0
    assert (path.stat().st_mode & 0o777) == 0o600
    again = _run(cli, ["keys", "init", "--file", str(path)])
    assert again.exit_code == 2 and "already exists" in again.output
    assert "k2" in _run(cli, ["keys", "rotate", "--file", str(path)]).output
    result = _run(cli, ["keys", "status", "--file", str(path), "--json"])
    assert result.exit_code == 0
    status = json.loads(result.output)
    assert status["active"] == "k2" and [k["state"] for k in status["keys"]] == [
        "retired",
        "active",
    ]
    secrets = [k["secret"] for k in json.loads(path.read_text())["keys"].values()]
    plain = _run(cli, ["keys", "status", "--file", str(path)]).output
    for secret in secrets:
        assert secret not in result.output and secret not in plain


def test_keys_status_refuses_world_readable_file(cli, tmp_path):
    path = tmp_path / "keyring.json"
    _run(cli, ["keys", "init", "--file", str(path)])
    path.chmod(0o644)
    result = _run(cli, ["keys", "status", "--file", str(path)])
    assert result.exit_code == 2 and "readable by group or others" in result.output


def _setup_vault(cli, tmp_path, members, policy):
    keyfile = tmp_path / "keyring.json"
    vault = tmp_path / "vault.sqlite"
    common = ["--vault", str(vault), "--file", str(keyfile)]
    named = _run(cli, ["keys", "init", "--steward", "alice", *common], user="operator")
    assert named.exit_code == 0, named.output
    granted = _run(cli, ["keys", "grant", "bob", "--role", "analyst", *common])
    assert granted.exit_code == 0, granted.output
    keyring = load_keyring(KeySource(file=keyfile))
    with Vault(vault, keyring) as v:
        out, _ = pseudonymise_frame(members.head(5), "member", policy, keyring, vault=v)
    return keyfile, vault, out["id_number_token"].iloc[0]


def test_reidentify_command_for_steward(cli, tmp_path, members, policy):
    keyfile, vault, token = _setup_vault(cli, tmp_path, members, policy)
    result = _run(
        cli,
        ["reidentify", token, "--reason", REASON, "--vault", str(vault), "--file", str(keyfile)],
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["value"] == members["id_number"].iloc[0]


def test_analyst_reidentify_command_is_refused(cli, tmp_path, members, policy):
    keyfile, vault, token = _setup_vault(cli, tmp_path, members, policy)
    result = _run(
        cli,
        ["reidentify", token, "--reason", REASON, "--vault", str(vault), "--file", str(keyfile)],
        user="bob",
    )
    assert result.exit_code == 3 and "refused" in result.output
    assert members["id_number"].iloc[0] not in result.output
    with Vault(vault, load_keyring(KeySource(file=keyfile))) as v:
        last = list(v.audit_entries())[-1]
        assert (last.user_name, last.decision) == ("bob", "refused")
        assert v.role_of("bob") == Role.ANALYST
    verify = _run(cli, ["keys", "verify-vault", "--vault", str(vault), "--file", str(keyfile)])
    assert verify.exit_code == 0 and "intact" in verify.output


def test_analyst_cannot_grant_through_the_cli(cli, tmp_path, members, policy):
    keyfile, vault, _ = _setup_vault(cli, tmp_path, members, policy)
    result = _run(
        cli,
        [
            "keys",
            "grant",
            "bob",
            "--role",
            "steward",
            "--vault",
            str(vault),
            "--file",
            str(keyfile),
        ],
        user="bob",
    )
    assert result.exit_code == 2 and "not a steward" in result.output
