"""The re-identification vault: encryption, tamper detection, roles, audit chain, rotation."""

from __future__ import annotations

import sqlite3

import pandas as pd
import pytest

from anonymize import (
    Keyring,
    ReidentificationRefused,
    Role,
    Vault,
    VaultError,
    VaultTamperedError,
    generate_keyring,
    pseudonymise_frame,
)

REASON = "ZZB-2026-0042 member has not attended for six months: reminder"


@pytest.fixture
def vault(tmp_path, keyring) -> Vault:
    v = Vault(tmp_path / "vault" / "vault.sqlite", keyring)
    v.initialise("alice", by="operator")  # the first steward, named once
    v.grant("bob", Role.ANALYST, by="alice")
    yield v
    v.close()


@pytest.fixture
def stored(vault, members, policy, keyring):
    out, report = pseudonymise_frame(members, "member", policy, keyring, vault=vault)
    assert report.vaulted["id_number_token"] == members["id_number"].nunique()
    return out


def test_vault_file_is_owner_only(vault, tmp_path):
    path = tmp_path / "vault" / "vault.sqlite"
    assert (path.stat().st_mode & 0o777) == 0o600
    assert (path.parent.stat().st_mode & 0o777) == 0o700


def test_refuses_world_readable_vault(tmp_path, keyring):
    path = tmp_path / "vault.sqlite"
    Vault(path, keyring).close()
    path.chmod(0o644)
    with pytest.raises(VaultError, match="readable by group or others"):
        Vault(path, keyring)


def test_vault_stores_no_plaintext(stored, members, tmp_path):
    blob = (tmp_path / "vault" / "vault.sqlite").read_bytes()
    for value in members["id_number"].head(20):
        assert value.encode() not in blob
    for value in members["name"].head(20):
        assert value.encode() not in blob


def test_steward_reidentifies_with_reason(vault, stored, members):
    token = stored["id_number_token"].iloc[3]
    identity = vault.reidentify(token, reason=REASON, user="alice")
    assert identity.value == members["id_number"].iloc[3] and identity.field == "id_number"
    assert members["id_number"].iloc[3] not in repr(identity)
    entries = list(vault.audit_entries())
    assert entries[-1].decision == "granted" and entries[-1].reason == REASON
    assert vault.verify_audit() == len(entries)


def test_analyst_reidentify_is_refused_and_audited(vault, stored):
    token = stored["id_number_token"].iloc[0]
    with pytest.raises(ReidentificationRefused, match="analyst"):
        vault.reidentify(token, reason=REASON, user="bob")
    with pytest.raises(ReidentificationRefused, match="none"):
        vault.reidentify(token, reason=REASON, user="mallory")
    last = list(vault.audit_entries())[-2:]
    assert [e.decision for e in last] == ["refused", "refused"]
    assert [e.user_name for e in last] == ["bob", "mallory"]


def test_reidentify_needs_a_reason(vault, stored):
    with pytest.raises(ReidentificationRefused, match="reason"):
        vault.reidentify(stored["name_token"].iloc[0], reason="  ", user="alice")


def test_unknown_token_is_refused(vault, stored):
    with pytest.raises(ReidentificationRefused, match="no identity"):
        vault.reidentify("k1:" + "a" * 32, reason=REASON, user="alice")


def test_analyst_cannot_grant(vault):
    with pytest.raises(ReidentificationRefused, match="not a steward"):
        vault.grant("bob", Role.STEWARD, by="bob")
    assert vault.role_of("bob") == Role.ANALYST


def test_tampered_vault_row_is_detected(vault, stored, tmp_path):
    token = stored["id_number_token"].iloc[1]
    other = stored["id_number_token"].iloc[2]
    db = sqlite3.connect(tmp_path / "vault" / "vault.sqlite")
    # swap the ciphertext of two rows: each still decrypts with its own nonce? no, AAD binds it
    ((ct, nonce),) = db.execute(
        "select ciphertext, nonce from vault_identities where token=?", (other,)
    )
    db.execute(
        "update vault_identities set ciphertext=?, nonce=? where token=?", (ct, nonce, token)
    )
    db.commit()
    db.close()
    with pytest.raises(VaultTamperedError):
        vault.reidentify(token, reason=REASON, user="alice")
    with pytest.raises(VaultTamperedError):
        vault.verify_rows()
    assert list(vault.audit_entries())[-1].detail == "tampered row"


def test_flipped_ciphertext_byte_is_detected(vault, stored, tmp_path):
    token = stored["mobile_token"].iloc[0]
    db = sqlite3.connect(tmp_path / "vault" / "vault.sqlite")
    ((ct,),) = db.execute("select ciphertext from vault_identities where token=?", (token,))
    db.execute(
        "update vault_identities set ciphertext=? where token=?",
        (bytes([ct[0] ^ 1]) + ct[1:], token),
    )
    db.commit()
    db.close()
    with pytest.raises(VaultTamperedError):
        vault.reidentify(token, reason=REASON, user="alice")


def test_tampered_audit_log_is_detected(vault, stored, tmp_path):
    vault.reidentify(stored["name_token"].iloc[0], reason=REASON, user="alice")
    with pytest.raises(ReidentificationRefused):
        vault.reidentify(stored["name_token"].iloc[0], reason=REASON, user="bob")
    assert vault.verify_audit() >= 4
    db = sqlite3.connect(tmp_path / "vault" / "vault.sqlite")
    db.execute("update vault_audit set decision='granted' where user_name='bob'")
    db.commit()
    with pytest.raises(VaultTamperedError, match="altered"):
        vault.verify_audit()
    db.execute("update vault_audit set decision='refused' where user_name='bob'")
    db.execute("delete from vault_audit where seq = 2")
    db.commit()
    db.close()
    with pytest.raises(VaultTamperedError, match="broken"):
        vault.verify_audit()


def test_rotation_keeps_old_tokens_resolvable(tmp_path, keyring_doc, members, policy):
    path = tmp_path / "v.sqlite"
    old = Keyring(keyring_doc)
    with Vault(path, old) as v:
        v.initialise("alice", by="operator")
        out_old, _ = pseudonymise_frame(members.head(20), "member", policy, old, vault=v)
    fresh = generate_keyring()
    for section, new_id in ((keyring_doc, "k2"), (keyring_doc["vault"], "v2")):
        active = section["active"]
        section["keys"][active]["retired_at"] = "2026-06-01T00:00:00+00:00"
        section["keys"][new_id] = (fresh if new_id == "k2" else fresh["vault"])["keys"][
            "k1" if new_id == "k2" else "v1"
        ]
        section["active"] = new_id
    rotated = Keyring(keyring_doc)
    with Vault(path, rotated) as v:
        out_new, _ = pseudonymise_frame(members.head(20), "member", policy, rotated, vault=v)
        old_token = out_old["id_number_token"].iloc[0]
        new_token = out_new["id_number_token"].iloc[0]
        assert old_token.startswith("k1:") and new_token.startswith("k2:")
        assert (
            v.reidentify(old_token, reason=REASON, user="alice").value
            == members["id_number"].iloc[0]
        )
        assert (
            v.reidentify(new_token, reason=REASON, user="alice").value
            == members["id_number"].iloc[0]
        )
        assert v.verify_audit() > 0  # entries under v1 and v2 both verify


def test_vault_needs_a_vault_key(tmp_path):
    doc = generate_keyring(with_vault=False)
    with pytest.raises(VaultError, match="no vault key"):
        Vault(tmp_path / "v.sqlite", Keyring(doc))


def test_store_ignores_nulls_and_duplicates(vault, keyring):
    tokens = pd.Series(["k1:a", "k1:a", None], dtype="string")
    values = pd.Series(["x", "x", "y"], dtype="string")
    assert vault.store(tokens, values, field="name", domain="name") == 1
    assert vault.store(tokens, values, field="name", domain="name") == 1
    assert vault.count() == 1


def test_stored_token_keeps_its_first_identity_and_new_ones_are_added(vault, tmp_path):
    vault.store(pd.Series(["k1:a"]), pd.Series(["first"]), field="name", domain="name")
    with sqlite3.connect(tmp_path / "vault" / "vault.sqlite") as db:
        before = db.execute("select nonce, ciphertext from vault_identities").fetchall()
    offered = vault.store(
        pd.Series(["k1:a", "k1:b"]), pd.Series(["second", "other"]), field="name", domain="name"
    )
    assert offered == 2
    assert vault.count() == 2
    with sqlite3.connect(tmp_path / "vault" / "vault.sqlite") as db:
        row = db.execute(
            "select nonce, ciphertext from vault_identities where token = 'k1:a'"
        ).fetchall()
    assert row == before  # not re-encrypted, not replaced
    assert vault.reidentify("k1:a", reason=REASON, user="alice").value == "first"
    assert vault.reidentify("k1:b", reason=REASON, user="alice").value == "other"


@pytest.mark.services
def test_vault_on_postgresql(pg_url, keyring, members, policy):
    import uuid

    import sqlalchemy as sa

    schema = f"vault_test_{uuid.uuid4().hex[:8]}"
    engine = sa.create_engine(pg_url)
    with engine.begin() as conn:
        conn.execute(sa.text(f"create schema {schema}"))
    sep = "&" if "?" in pg_url else "?"
    try:
        with Vault(f"{pg_url}{sep}options=-csearch_path%3D{schema}", keyring) as v:
            v.initialise("alice", by="operator")
            out, _ = pseudonymise_frame(members.head(10), "member", policy, keyring, vault=v)
            token = out["id_number_token"].iloc[0]
            assert (
                v.reidentify(token, reason=REASON, user="alice").value
                == members["id_number"].iloc[0]
            )
            assert v.verify_audit() >= 2
            assert "password" not in v.location
    finally:
        with engine.begin() as conn:
            conn.execute(sa.text(f"drop schema {schema} cascade"))
        engine.dispose()
