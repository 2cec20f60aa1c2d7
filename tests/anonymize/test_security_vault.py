"""Security: the vault's audit cannot be cut, its grants cannot be forged, and its check
reports corrupt rows instead of dying (issue 17). Each case is a known-bad vault."""

from __future__ import annotations

import shutil
import sqlite3

import pytest
import sqlalchemy as sa
import typer
from typer.testing import CliRunner

from anonymize import (
    ReidentificationRefused,
    Role,
    Vault,
    VaultTamperedError,
    pseudonymise_frame,
)
from anonymize.anchor import AnchorState, FileAnchor

REASON = "ZZB-2026-0042 member has not attended for six months: reminder"


@pytest.fixture
def path(tmp_path):
    return tmp_path / "vault" / "vault.sqlite"


@pytest.fixture
def vault(path, keyring):
    v = Vault(path, keyring)
    v.initialise("alice", by="operator")
    v.grant("bob", Role.ANALYST, by="alice")
    yield v
    v.close()


@pytest.fixture
def token(vault, members, policy, keyring):
    out, _ = pseudonymise_frame(members.head(20), "member", policy, keyring, vault=vault)
    for _ in range(3):
        vault.reidentify(out["id_number_token"].iloc[0], reason=REASON, user="alice")
    return out["id_number_token"].iloc[1]


def _sql(path, *statements, params=()):
    db = sqlite3.connect(path)
    for statement in statements:
        db.execute(statement, params)
    db.commit()
    db.close()


def _audit_len(path) -> int:
    db = sqlite3.connect(path)
    (n,) = db.execute("select count(*) from vault_audit").fetchone()
    db.close()
    return n


@pytest.fixture
def cli() -> typer.Typer:
    from islandbridge.commands import keys

    root = typer.Typer()

    @root.callback()
    def _root() -> None: ...

    root.add_typer(keys.app, name="keys")
    return root


def _verify_cli(cli, path, keyring_file):
    return CliRunner().invoke(
        cli, ["keys", "verify-vault", "--vault", str(path), "--file", str(keyring_file)]
    )


# -- the audit chain cannot be cut ------------------------------------------------------
def test_deleting_the_last_audit_rows_is_detected(vault, token, path):
    n = _audit_len(path)
    _sql(path, f"delete from vault_audit where seq > {n - 2}")
    report = vault.check()
    assert not report.ok and report.anchor.state == AnchorState.TRUNCATED
    assert any(f"records seq {n}" in p for p in report.problems())
    with pytest.raises(VaultTamperedError, match="removed"):
        vault.verify_audit()


def test_deleting_every_audit_row_is_detected_not_reported_intact(vault, token, path):
    _sql(path, "delete from vault_audit")
    report = vault.check()
    assert report.audit_entries == 0 and not report.ok
    assert report.anchor.state == AnchorState.TRUNCATED
    assert report.grant_problems  # the grants lost the audit entries that back them


def test_deleting_audit_rows_and_the_anchor_row_still_fails(vault, token, path):
    _sql(path, "delete from vault_audit where seq > 3", "delete from chain_anchors")
    report = vault.check()
    assert not report.ok and report.anchor.state == AnchorState.UNANCHORED


def test_anchor_row_rewound_without_the_key_fails_its_seal(vault, token, path):
    _sql(path, "delete from vault_audit where seq > 2", "update chain_anchors set seq = 2")
    assert vault.check().anchor.state == AnchorState.INVALID


def test_reidentification_is_refused_while_the_audit_is_cut(vault, token, path):
    _sql(path, "delete from vault_audit where seq > 3")
    before = _audit_len(path)
    with pytest.raises(VaultTamperedError, match="refused until"):
        vault.reidentify(token, reason=REASON, user="alice")
    assert _audit_len(path) == before + 1  # the refusal itself is recorded
    assert list(vault.audit_entries())[-1].detail == "audit not intact"


def test_restoring_an_old_copy_of_the_whole_vault_is_caught_by_an_external_anchor(
    tmp_path, keyring, members, policy
):
    path = tmp_path / "vault.sqlite"
    outside = FileAnchor(tmp_path / "anchors")
    with Vault(path, keyring, anchor=outside) as v:
        v.initialise("alice", by="operator")
        out, _ = pseudonymise_frame(members.head(5), "member", policy, keyring, vault=v)
        backup = tmp_path / "backup.sqlite"
        shutil.copy(path, backup)
        v.reidentify(out["id_number_token"].iloc[0], reason=REASON, user="alice")
    shutil.copy(backup, path)  # the trail of that re-identification is gone
    with Vault(path, keyring, anchor=outside) as v:
        assert v.check().anchor.state == AnchorState.TRUNCATED


def test_cli_verify_vault_names_a_cut_audit(vault, token, path, cli, keyring_file):
    _sql(path, "delete from vault_audit where seq > 2")
    result = _verify_cli(cli, path, keyring_file)
    assert result.exit_code == 1, result.output
    assert "TRUNCATED" in result.output and "intact" not in result.output.split("FAILED")[-1]


def test_adoption_anchors_a_legacy_chain_but_never_a_cut_one(vault, token, path):
    _sql(path, "delete from chain_anchors")  # a vault made before anchoring
    assert vault.check().anchor.state == AnchorState.UNANCHORED
    vault.adopt_anchor()
    assert vault.check().ok
    _sql(path, "delete from vault_audit where seq > 3")
    with pytest.raises(VaultTamperedError, match="removed"):
        vault.adopt_anchor()


# -- grants are sealed ------------------------------------------------------------------
def test_an_inserted_grant_row_makes_nobody_a_steward(vault, token, path):
    _sql(
        path,
        "insert into vault_grants (user_name, role, granted_by, granted_at) "
        "values ('mallory', 'steward', 'alice', '2026-01-01')",
    )
    assert vault.role_of("mallory") is None
    with pytest.raises(ReidentificationRefused, match="none"):
        vault.reidentify(token, reason=REASON, user="mallory")
    assert any("fails its MAC" in p for p in vault.check().grant_problems)


def test_a_grant_row_with_a_copied_mac_is_refused(vault, token, path):
    _sql(
        path,
        "insert into vault_grants select 'mallory', role, granted_by, granted_at, audit_seq, "
        "key_id, mac from vault_grants where user_name = 'alice'",
    )
    assert vault.role_of("mallory") is None
    assert vault.role_of("alice") == Role.STEWARD


def test_an_analyst_promoted_by_editing_the_row_is_refused(vault, token, path):
    _sql(path, "update vault_grants set role = 'steward' where user_name = 'bob'")
    assert vault.role_of("bob") is None
    with pytest.raises(ReidentificationRefused):
        vault.reidentify(token, reason=REASON, user="bob")
    with pytest.raises(ReidentificationRefused, match="not a steward"):
        vault.grant("mallory", Role.STEWARD, by="bob")


def test_a_replayed_grant_row_is_refused(vault, token, path):
    vault.grant("carol", Role.STEWARD, by="alice")
    db = sqlite3.connect(path)
    old = db.execute("select * from vault_grants where user_name = 'carol'").fetchone()
    db.close()
    vault.grant("carol", Role.ANALYST, by="alice")  # demoted
    _sql(path, "delete from vault_grants where user_name = 'carol'")
    _sql(path, "insert into vault_grants values (?, ?, ?, ?, ?, ?, ?)", params=old)
    assert vault.role_of("carol") is None
    assert any("superseded" in p for p in vault.check().grant_problems)


def test_an_unsealed_grant_of_an_older_vault_grants_nothing(tmp_path, keyring):
    path = tmp_path / "old.sqlite"
    _sql(
        path,
        "create table vault_grants (user_name varchar(128) primary key, role varchar(16) "
        "not null, granted_by varchar(128) not null, granted_at varchar(32) not null)",
        "insert into vault_grants values ('alice', 'steward', 'alice', '2025-01-01')",
    )
    path.chmod(0o600)
    with Vault(path, keyring) as v:
        assert v.role_of("alice") is None


# -- corrupt rows are reported, never a traceback -----------------------------------------
@pytest.mark.parametrize(
    "statement",
    [
        "update vault_identities set ciphertext = 'not bytes' where token = ?",
        "update vault_identities set ciphertext = x'00' where token = ?",
        "update vault_identities set nonce = x'0102' where token = ?",
        "update vault_identities set vault_key_id = 'v9' where token = ?",
        "update vault_identities set ciphertext = zeroblob(0) where token = ?",
    ],
    ids=["text_ciphertext", "short_ciphertext", "short_nonce", "unknown_key", "empty_ciphertext"],
)
def test_corrupt_identity_rows_are_reported_by_verify_vault(
    vault, token, path, cli, keyring_file, statement
):
    _sql(path, statement, params=(token,))
    report = vault.check()
    assert report.corrupt_identities == {"id_number": 1}
    with pytest.raises(VaultTamperedError):
        vault.verify_rows()
    result = _verify_cli(cli, path, keyring_file)
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit), result.output
    assert "1 id_number rows fail their integrity check" in result.output
    assert token not in result.output


def test_corrupt_audit_rows_are_reported_not_thrown(vault, token, path):
    _sql(path, "update vault_audit set hash = x'00ff' where seq = 2")
    _sql(path, "update vault_audit set audit_key_id = 'v9', at = x'ff' where seq = 4")
    report = vault.check()
    assert not report.ok and report.audit_problems
    with pytest.raises(VaultTamperedError):
        vault.verify_audit()


def test_an_intact_vault_passes_the_cli_check(vault, token, path, cli, keyring_file):
    result = _verify_cli(cli, path, keyring_file)
    assert result.exit_code == 0, result.output
    assert "intact and anchored" in result.output


@pytest.mark.services
def test_cut_audit_is_detected_on_postgresql(pg_url, keyring, members, policy):
    import uuid

    schema = f"vault_sec_{uuid.uuid4().hex[:8]}"
    engine = sa.create_engine(pg_url)
    with engine.begin() as conn:
        conn.execute(sa.text(f"create schema {schema}"))
    sep = "&" if "?" in pg_url else "?"
    try:
        with Vault(f"{pg_url}{sep}options=-csearch_path%3D{schema}", keyring) as v:
            v.initialise("alice", by="operator")
            out, _ = pseudonymise_frame(members.head(5), "member", policy, keyring, vault=v)
            v.reidentify(out["id_number_token"].iloc[0], reason=REASON, user="alice")
            assert v.check().ok
            with engine.begin() as conn:
                conn.execute(sa.text(f"delete from {schema}.vault_audit where seq > 1"))
                conn.execute(
                    sa.text(
                        f"insert into {schema}.vault_grants (user_name, role, granted_by, "
                        "granted_at) values ('mallory', 'steward', 'x', 'y')"
                    )
                )
            report = v.check()
            assert report.anchor.state == AnchorState.TRUNCATED
            assert v.role_of("mallory") is None
    finally:
        with engine.begin() as conn:
            conn.execute(sa.text(f"drop schema {schema} cascade"))
        engine.dispose()
