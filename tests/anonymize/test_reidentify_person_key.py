"""`islandbridge reidentify <person_key>`: a published person_key resolved through the
vault's sealed person-key table — for a steward, audited; refused for an analyst."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa
import typer

from anonymize import KeySource, Vault, VaultTamperedError, load_keyring, pseudonymise_frame
from integrate.person_index import person_key_for
from tests.anonymize.key_cli import key_cli, pretend_accounts
from tests.anonymize.key_cli import run_as as _run

REASON = "ZZB-2026-0042 member unreachable for six months"


@pytest.fixture
def cli() -> typer.Typer:
    return key_cli()


@pytest.fixture(autouse=True)
def _os_accounts(monkeypatch):
    pretend_accounts(monkeypatch)


@pytest.fixture
def sealed(cli, tmp_path, members, policy):
    """A vault with a steward (alice), an analyst (bob), five members' identities and
    their person keys sealed as the link stage seals them."""
    keyfile, vault = tmp_path / "keyring.json", tmp_path / "vault.sqlite"
    common = ["--vault", str(vault), "--file", str(keyfile)]
    assert _run(cli, ["keys", "init", "--steward", "alice", *common], "op").exit_code == 0
    assert _run(cli, ["keys", "grant", "bob", "--role", "analyst", *common]).exit_code == 0
    keyring = load_keyring(KeySource(file=keyfile))
    with Vault(vault, keyring) as v:
        out, _ = pseudonymise_frame(members.head(5), "member", policy, keyring, vault=v)
        person_keys = out["id_number_token"].map(person_key_for)
        assert v.store_person_keys(person_keys, out["id_number_token"]) == 5
    return common, person_keys.iloc[0], keyring, vault


def test_steward_reidentifies_a_person_key_and_it_is_audited(cli, sealed, members):
    common, person_key, keyring, vault = sealed
    result = _run(cli, ["reidentify", person_key, "--reason", REASON, *common])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["value"] == members["id_number"].iloc[0]
    with Vault(vault, keyring) as v:
        last = list(v.audit_entries())[-1]
    assert (last.user_name, last.token, last.decision) == ("alice", person_key, "granted")
    assert last.detail == "person_key:id_number" and last.reason == REASON


def test_analyst_is_refused_a_person_key_with_what_to_do(cli, sealed, members):
    common, person_key, keyring, vault = sealed
    result = _run(cli, ["reidentify", person_key, "--reason", REASON, *common], user="bob")
    assert result.exit_code == 3
    assert "keys grant bob --role steward" in result.output
    assert members["id_number"].iloc[0] not in result.output
    with Vault(vault, keyring) as v:
        last = list(v.audit_entries())[-1]
    assert (last.user_name, last.token, last.decision) == ("bob", person_key, "refused")


def test_unknown_person_key_is_refused_and_audited(cli, sealed):
    common, _, keyring, vault = sealed
    unknown = "P" + "0" * 20
    result = _run(cli, ["reidentify", unknown, "--reason", REASON, *common])
    assert result.exit_code == 3 and "no person with that person_key" in result.output
    with Vault(vault, keyring) as v:
        last = list(v.audit_entries())[-1]
    assert (last.token, last.decision, last.detail) == (unknown, "refused", "unknown person_key")


def test_a_swapped_person_key_row_fails_its_seal(sealed, members):
    _, person_key, keyring, vault = sealed
    engine = sa.create_engine(f"sqlite:///{vault}")
    with engine.begin() as conn:
        other = conn.execute(
            sa.text("SELECT nonce, ciphertext FROM vault_person_keys WHERE person_key != :k"),
            {"k": person_key},
        ).first()
        conn.execute(
            sa.text("UPDATE vault_person_keys SET nonce=:n, ciphertext=:c WHERE person_key=:k"),
            {"n": other.nonce, "c": other.ciphertext, "k": person_key},
        )
    engine.dispose()
    with Vault(vault, keyring) as v, pytest.raises(VaultTamperedError):
        v.reidentify_person(person_key, reason=REASON, user="alice")
