"""Keyring: sources, permissions, weak keys, rotation; no key material in errors or reprs."""

from __future__ import annotations

import base64
import json
import logging
import os
import pickle
from pathlib import Path

import pytest

from anonymize import (
    Keyring,
    KeyringError,
    KeySource,
    generate_keyring,
    init_keyring_file,
    keyring_status,
    load_keyring,
    rotate_keyring_file,
)


def _secrets(doc: dict) -> list[str]:
    out = [k["secret"] for k in doc["keys"].values()]
    out += [k["secret"] for k in doc.get("vault", {}).get("keys", {}).values()]
    return out


def test_loads_keyring_from_environment_variable(monkeypatch, keyring_doc):
    monkeypatch.setenv("IB_TEST_KEYRING", json.dumps(keyring_doc))
    keyring = load_keyring(KeySource(env="IB_TEST_KEYRING"))
    assert keyring.active_id == "k1"
    assert keyring.vault_active_id == "v1"


def test_refuses_missing_key(monkeypatch):
    monkeypatch.delenv("IB_TEST_KEYRING", raising=False)
    with pytest.raises(KeyringError, match="not set"):
        load_keyring(KeySource(env="IB_TEST_KEYRING"))


def test_refuses_missing_key_file(tmp_path):
    with pytest.raises(KeyringError, match="does not exist"):
        load_keyring(KeySource(file=tmp_path / "nope.json"))


def test_loads_owner_only_key_file(keyring_file):
    assert load_keyring(KeySource(file=keyring_file)).key_ids == ("k1",)


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o660])
def test_refuses_world_readable_key_file(keyring_file, mode):
    keyring_file.chmod(mode)
    with pytest.raises(KeyringError, match="readable by group or others"):
        load_keyring(KeySource(file=keyring_file))


def test_refuses_unreadable_keyring(tmp_path):
    path = tmp_path / "k.json"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    os.write(fd, b'{"active": "k1", "keys": {"k1": ')
    os.close(fd)
    with pytest.raises(KeyringError, match="not valid JSON"):
        load_keyring(KeySource(file=path))


@pytest.mark.parametrize(
    "secret, reason",
    [
        (base64.b64encode(os.urandom(16)).decode(), "weak key"),
        (base64.b64encode(b"\x00" * 32).decode(), "weak key"),
        (base64.b64encode(b"correct horse battery staple 123").decode(), "weak key"),
        ("this is not base64!!", "not valid base64"),
    ],
    # stable ids: a random value in a test id differs between pytest-xdist workers
    ids=["too-short", "all-zero", "low-entropy-text", "not-base64"],
)
def test_refuses_weak_key(monkeypatch, secret, reason):
    monkeypatch.setenv("IB_TEST_KEYRING", json.dumps({"active": "k1", "keys": {"k1": secret}}))
    with pytest.raises(KeyringError, match=reason) as info:
        load_keyring(KeySource(env="IB_TEST_KEYRING"))
    assert secret not in str(info.value)


def test_exception_from_bad_key_does_not_contain_the_key(monkeypatch, keyring_doc):
    doc = json.loads(json.dumps(keyring_doc))
    doc["active"] = "k9"  # active key missing: the error happens after every secret was read
    monkeypatch.setenv("IB_TEST_KEYRING", json.dumps(doc))
    with pytest.raises(KeyringError) as info:
        load_keyring(KeySource(env="IB_TEST_KEYRING"))
    text = (
        str(info.value)
        + repr(info.value)
        + repr(info.value.__cause__)
        + repr(info.value.__context__)
    )
    for secret in _secrets(keyring_doc):
        assert secret not in text
        assert base64.b64decode(secret).hex() not in text


def test_refuses_invalid_json_without_echoing_it(monkeypatch, keyring_doc):
    text = json.dumps(keyring_doc)[:-5]
    monkeypatch.setenv("IB_TEST_KEYRING", text)
    with pytest.raises(KeyringError) as info:
        load_keyring(KeySource(env="IB_TEST_KEYRING"))
    assert info.value.__cause__ is None and info.value.__suppress_context__
    for secret in _secrets(keyring_doc):
        assert secret not in str(info.value)


def test_refuses_same_key_for_tokens_and_vault(keyring_doc):
    doc = json.loads(json.dumps(keyring_doc))
    doc["vault"]["keys"]["v1"]["secret"] = doc["keys"]["k1"]["secret"]
    with pytest.raises(KeyringError, match="same key material"):
        Keyring(doc)


def test_refuses_retired_active_key(keyring_doc):
    keyring_doc["keys"]["k1"]["retired_at"] = "2026-01-01T00:00:00+00:00"
    with pytest.raises(KeyringError, match="retired"):
        Keyring(keyring_doc)


def test_key_source_needs_exactly_one_location():
    with pytest.raises(KeyringError):
        KeySource()
    with pytest.raises(KeyringError):
        KeySource(env="A", file=Path("b"))


def test_keyring_never_shows_or_pickles_its_keys(keyring, keyring_doc, caplog):
    text = repr(keyring) + str(keyring)
    for secret in _secrets(keyring_doc):
        assert secret not in text
    with pytest.raises(TypeError, match="cannot be serialised"):
        pickle.dumps(keyring)


def test_loading_logs_no_key_material(monkeypatch, keyring_doc, caplog):
    monkeypatch.setenv("IB_TEST_KEYRING", json.dumps(keyring_doc))
    with caplog.at_level(logging.DEBUG):
        load_keyring(KeySource(env="IB_TEST_KEYRING"))
    assert caplog.records
    for secret in _secrets(keyring_doc):
        assert secret not in caplog.text


def test_loads_keyring_from_airflow_variable(monkeypatch, keyring_doc):
    import airflow.sdk

    class FakeVariable:
        @staticmethod
        def get(name):
            if name == "islandbridge_keyring":
                return json.dumps(keyring_doc)
            raise KeyError(name)

    monkeypatch.setattr(airflow.sdk, "Variable", FakeVariable)
    assert load_keyring(KeySource(airflow_variable="islandbridge_keyring")).active_id == "k1"
    with pytest.raises(KeyringError, match="not set"):
        load_keyring(KeySource(airflow_variable="other"))


def test_init_writes_owner_only_file_and_refuses_to_overwrite(tmp_path):
    path = tmp_path / "data" / "keyring.json"
    init_keyring_file(path)
    assert (path.stat().st_mode & 0o777) == 0o600
    keyring = load_keyring(KeySource(file=path))
    assert keyring.has_vault_key
    with pytest.raises(KeyringError, match="already exists"):
        init_keyring_file(path)


def test_rotation_keeps_retired_keys(tmp_path):
    path = tmp_path / "keyring.json"
    init_keyring_file(path)
    assert rotate_keyring_file(path) == "k2"
    assert rotate_keyring_file(path, vault=True) == "v2"
    keyring = load_keyring(KeySource(file=path))
    assert keyring.active_id == "k2" and keyring.key_ids == ("k1", "k2")
    assert keyring.vault_active_id == "v2"
    status = keyring_status(keyring)
    assert [k["state"] for k in status["keys"]] == ["retired", "active"]
    assert status["keys"][0]["retired_at"]
    assert (path.stat().st_mode & 0o777) == 0o600
    text = json.dumps(status)
    for secret in _secrets(json.loads(path.read_text())):
        assert secret not in text


def test_generated_keys_are_distinct():
    a, b = generate_keyring(), generate_keyring()
    assert _secrets(a)[0] != _secrets(b)[0]
    assert _secrets(a)[0] != _secrets(a)[1]
