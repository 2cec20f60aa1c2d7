"""`islandbridge remind BRANCH`: a branch's inactive party members' contacts for its
secretary — steward-only, every identity audited, owner-only output, nothing printed.
On a real installation, so the link stage's sealing of person keys is what is used."""

from __future__ import annotations

import json
import stat

import pandas as pd
import pytest
from typer.testing import CliRunner

from anonymize import KeySource, Role, load_keyring
from islandbridge import identity
from islandbridge.cli import app
from islandbridge.commands.keys import open_vault

REASON = "ZZB-2026-0042 quarterly reminder for members inactive three months"
_CALLER = {"name": "alice"}


@pytest.fixture(autouse=True)
def _os_accounts(monkeypatch):
    monkeypatch.setattr(identity, "os_account", lambda: _CALLER["name"])


@pytest.fixture
def stewarded(installation):
    data, config = installation["data"], installation["config"]
    keyring = load_keyring(KeySource(file=data / "secrets" / "keyring.json"))
    with open_vault(None, keyring, data, config) as vault:
        vault.initialise("alice", by="ops")
        vault.grant("bob", Role.ANALYST, by="alice")
    inactive = pd.read_parquet(data / "published" / "current" / "inactive_members.parquet")
    branch = inactive["branch_id"].dropna().value_counts().index[0]
    return {**installation, "keyring": keyring, "inactive": inactive, "branch": branch}


def _cli(args, setup, user):
    _CALLER["name"] = user
    common = ["--data-dir", str(setup["data"]), "--config", str(setup["config"])]
    return CliRunner().invoke(app, [*args, *common])


def _audit(setup):
    with open_vault(None, setup["keyring"], setup["data"], setup["config"]) as vault:
        return list(vault.audit_entries())


def test_steward_gets_the_branch_contact_list_owner_only_and_audited(stewarded):
    branch = stewarded["branch"]
    expected = stewarded["inactive"]
    expected = expected[expected["branch_id"] == branch]
    result = _cli(["remind", branch, "--reason", REASON], stewarded, "alice")
    assert result.exit_code == 0, result.output
    target = next((stewarded["data"] / "reminders").glob(f"{branch}_*.csv"))
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    rows = pd.read_csv(target, encoding="utf-8-sig", dtype=str)
    assert sorted(rows["person_key"]) == sorted(expected["person_key"])
    assert rows["name"].notna().all() and rows["mobile"].str.fullmatch(r"1[3-9]\d{9}").any()
    for value in [*rows["name"], *rows["mobile"].dropna()]:
        assert value not in result.output  # the list is written, never printed
    granted = [e for e in _audit(stewarded) if e.action == "reidentify" and e.decision == "granted"]
    assert len(granted) == 2 * len(rows)  # name and mobile, each audited
    assert {e.token for e in granted} == set(rows["person_key"])
    assert {e.detail for e in granted} == {"person_key:name", "person_key:mobile"}


def test_analyst_is_refused_and_nothing_is_written(stewarded):
    result = _cli(["remind", stewarded["branch"], "--reason", REASON], stewarded, "bob")
    assert result.exit_code == 3 and "keys grant bob --role steward" in result.output
    assert not list((stewarded["data"] / "reminders").glob("*.csv"))
    last = _audit(stewarded)[-1]
    assert (last.user_name, last.decision) == ("bob", "refused")


def test_a_published_person_key_is_reidentified_for_a_steward(stewarded):
    person_key = stewarded["inactive"]["person_key"].iloc[0]
    result = _cli(["reidentify", person_key, "--reason", REASON], stewarded, "alice")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["field"] == "id_number"
    refused = _cli(["reidentify", person_key, "--reason", REASON], stewarded, "bob")
    assert refused.exit_code == 3
