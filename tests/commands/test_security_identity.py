"""Security: who the caller is comes from the OS (or Airflow), the first steward is named
at init, only stewards grant, and a reason must carry a case number (issue 17)."""

from __future__ import annotations

import json
import os
import pwd
import sys
import types

import pandas as pd
import pytest
import typer
from typer.testing import CliRunner

from anonymize import (
    Keyring,
    KeySource,
    ReidentificationRefused,
    Role,
    Vault,
    generate_keyring,
    load_keyring,
)
from anonymize.vault import DEFAULT_REASON_PATTERN
from islandbridge import identity
from islandbridge.commands import keys, reidentify

REASON = "ZZB-2026-0042 member unreachable for six months: send a reminder"
_CALLER = {"name": "alice"}


@pytest.fixture(autouse=True)
def _os_account(monkeypatch):
    _CALLER["name"] = "alice"
    monkeypatch.setattr(identity, "os_account", lambda: _CALLER["name"])


@pytest.fixture
def cli() -> typer.Typer:
    root = typer.Typer()

    @root.callback()
    def _root() -> None: ...

    root.add_typer(keys.app, name="keys")
    root.add_typer(reidentify.app, name="reidentify")
    return root


def _run(cli, args, *, user, env=None):
    _CALLER["name"] = user
    return CliRunner().invoke(cli, args, env=env)


@pytest.fixture
def setup(cli, tmp_path):
    keyfile, vault = tmp_path / "keyring.json", tmp_path / "vault.sqlite"
    common = ["--vault", str(vault), "--file", str(keyfile)]
    named = _run(cli, ["keys", "init", "--steward", "alice", *common], user="ops")
    assert named.exit_code == 0, named.output
    granted = _run(cli, ["keys", "grant", "bob", "--role", "analyst", *common], user="alice")
    assert granted.exit_code == 0, granted.output
    keyring = load_keyring(KeySource(file=keyfile))
    with Vault(vault, keyring) as v:
        v.store(
            pd.Series(["k1:tok"]), pd.Series(["110101199003077777"]), field="id_number", domain="p"
        )
    return keyfile, vault, common


def _last_audit(keyfile, vault):
    with Vault(vault, load_keyring(KeySource(file=keyfile))) as v:
        return list(v.audit_entries())[-1]


# -- identity ---------------------------------------------------------------------------
def test_identity_is_the_effective_uid_account_not_an_environment_variable(monkeypatch):
    monkeypatch.undo()  # the real lookup
    for name in ("LOGNAME", "USER", "USERNAME", "LNAME"):
        monkeypatch.setenv(name, "bob")
    assert identity.current_user() == pwd.getpwuid(os.geteuid()).pw_name


def test_logname_bob_does_not_reidentify_as_bob(cli, setup):
    keyfile, vault, common = setup
    with Vault(vault, load_keyring(KeySource(file=keyfile))) as v:
        v.grant("bob", Role.STEWARD, by="alice")
    spoof = {"LOGNAME": "bob", "USER": "bob", "USERNAME": "bob"}
    result = _run(
        cli, ["reidentify", "k1:tok", "--reason", REASON, *common], user="mallory", env=spoof
    )
    assert result.exit_code == 3 and "110101199003077777" not in result.output
    assert _last_audit(keyfile, vault).user_name == "mallory"


def test_inside_airflow_the_triggering_user_is_the_caller(monkeypatch):
    sdk = types.ModuleType("airflow.sdk")
    run = types.SimpleNamespace(triggering_user_name="alice")
    sdk.get_current_context = lambda: {"dag_run": run}
    monkeypatch.setitem(sys.modules, "airflow.sdk", sdk)
    monkeypatch.setenv("LOGNAME", "root")
    assert identity.current_user() == "airflow:alice"
    run.triggering_user_name = None
    assert identity.current_user() == "airflow:(scheduled)"  # a scheduled run is no steward


def test_outside_a_task_airflow_is_not_consulted(monkeypatch):
    sdk = types.ModuleType("airflow.sdk")

    def no_context():
        raise RuntimeError("Current context was requested but no context was found!")

    sdk.get_current_context = no_context
    monkeypatch.setitem(sys.modules, "airflow.sdk", sdk)
    assert identity.current_user() == "alice"  # the (patched) OS account


# -- the first steward, and who grants ---------------------------------------------------
def test_whoever_runs_grant_first_does_not_become_steward(cli, tmp_path):
    keyfile, vault = tmp_path / "keyring.json", tmp_path / "vault.sqlite"
    assert _run(cli, ["keys", "init", "--file", str(keyfile)], user="ops").exit_code == 0
    common = ["--vault", str(vault), "--file", str(keyfile)]
    result = _run(cli, ["keys", "grant", "mallory", "--role", "steward", *common], user="mallory")
    assert result.exit_code == 2 and "not a steward" in result.output
    with Vault(vault, load_keyring(KeySource(file=keyfile))) as v:
        assert v.role_of("mallory") is None


def test_the_first_steward_is_named_once(cli, setup):
    _, _, common = setup
    again = _run(cli, ["keys", "init", "--steward", "mallory", *common], user="mallory")
    assert again.exit_code == 2 and "first steward was named" in again.output


def test_init_is_refused_on_a_vault_whose_grants_were_wiped(cli, setup):
    import sqlite3

    _, vault, common = setup
    db = sqlite3.connect(vault)
    db.execute("delete from vault_grants")
    db.commit()
    db.close()
    again = _run(cli, ["keys", "init", "--steward", "mallory", *common], user="mallory")
    assert again.exit_code == 2


def test_an_analyst_cannot_grant_and_the_attempt_is_audited(cli, setup):
    keyfile, vault, common = setup
    result = _run(cli, ["keys", "grant", "bob", "--role", "steward", *common], user="bob")
    assert result.exit_code == 2 and "not a steward" in result.output
    last = _last_audit(keyfile, vault)
    assert (last.user_name, last.action, last.decision) == ("bob", "grant", "refused")


def test_the_init_records_who_named_the_steward(cli, setup):
    keyfile, vault, _ = setup
    with Vault(vault, load_keyring(KeySource(file=keyfile))) as v:
        first = next(iter(v.audit_entries()))
    assert (first.user_name, first.action) == ("ops", "init")
    assert first.detail == "grant steward to alice"


# -- reasons ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "reason",
    [
        "a" * 20,
        "",
        "   ",
        "need to contact this member urgently",  # no case number
        "ZZB-2026-0042",  # a case number, no explanation
        "ZZB-1 aaaaaaaaaaaaaaaa",  # too few distinct characters
        "zzb-2026-0042 member unreachable for months",  # not a case number's form
        "ZZB-2026-0042 short",
    ],
    ids=["twenty_a", "empty", "spaces", "no_case", "case_only", "repetitive", "lowercase", "short"],
)
def test_reasons_without_a_case_number_and_explanation_are_refused(cli, setup, reason):
    keyfile, vault, common = setup
    result = _run(cli, ["reidentify", "k1:tok", "--reason", reason, *common], user="alice")
    assert result.exit_code == 3 and "reason" in result.output
    assert "110101199003077777" not in result.output
    last = _last_audit(keyfile, vault)
    assert (last.decision, last.detail) == ("refused", "bad reason")


@pytest.mark.parametrize(
    "reason",
    [REASON, "ZZB-2026-0042：核实该党员的联系方式以发送提醒", "CASE-17: dues unpaid for a year"],
)
def test_a_reason_with_a_case_number_is_accepted_and_stored_in_the_audit(cli, setup, reason):
    keyfile, vault, common = setup
    result = _run(cli, ["reidentify", "k1:tok", "--reason", reason, *common], user="alice")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["value"] == "110101199003077777"
    last = _last_audit(keyfile, vault)
    assert (last.decision, last.reason, last.user_name) == ("granted", reason, "alice")


def test_the_configured_reason_pattern_is_followed(tmp_path):
    keyring = Keyring(generate_keyring())
    with Vault(tmp_path / "v.sqlite", keyring, reason_pattern=r"INC\d{6} .{10,}") as v:
        v.initialise("alice", by="ops")
        assert v.reason_problem("INC004217 member asked for a correction") is None
        assert v.reason_problem(REASON) is not None
        with pytest.raises(ReidentificationRefused, match="reason"):
            v.reidentify("k1:x", reason=REASON, user="alice")
    assert DEFAULT_REASON_PATTERN.startswith("[A-Z]")


def test_a_broken_reason_pattern_fails_when_the_configuration_loads(tmp_path):
    import yaml

    from islandbridge.config import ConfigError, default_config_path, load_config

    raw = yaml.safe_load(default_config_path().read_text(encoding="utf-8"))
    raw["reidentification"] = {"reason_pattern": "([A-Z"}
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    with pytest.raises(ConfigError, match="reason_pattern"):
        load_config(bad)
