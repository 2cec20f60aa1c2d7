"""Issue 17, part 6: every secret is checked by the plan before a byte of a run is written —
keyring, signing key, trust store — and each sits in an owner-only place. Each case is a
known-bad secret; the plan refuses it and the run folder is never created."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from datetime import date
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

SIGNED = ("hr_roster", "finance_dues", "learning_platform")


@pytest.fixture
def site(tmp_path: Path) -> dict:
    """The demo's secrets in a fresh data folder, and a trust store (beside it) with a key for
    every signed source of the demo configuration."""
    from connectors.trust_store import trust_entry, write_trusted_key
    from islandbridge.config import load_config
    from islandbridge.demo import ensure_demo_secrets

    data = tmp_path / "data"
    ensure_demo_secrets(data)
    store = tmp_path / "data.trust" / "trust_store.json"
    config, _ = load_config()
    for name in (*SIGNED, "branch_signins"):
        spec = config.source(name)
        branch = "01U0001" if spec.signature.branch_field else None
        key = Ed25519PrivateKey.generate().public_key()
        entry = trust_entry(name, key, department=spec.department, sources=[name], branch=branch)
        write_trusted_key(store, entry)
    return {"data": data, "store": store, "params": {"data_dir": str(data)}}


def _plan(site: dict, run_id: str):
    from islandbridge.stages.plan import plan

    return plan(site["params"], run_id, date(2026, 7, 1))


def test_the_plan_passes_with_every_secret_in_place(site):
    """The positive control: the cases below fail only for what they break."""
    _plan(site, "good")
    assert (site["data"] / "runs" / "good" / "plan.json").is_file()


def _signing_key(site: dict) -> Path:
    return site["data"] / "secrets" / "service_signing.key"


def _replace(path: Path, data: bytes) -> None:
    path.unlink()
    path.write_bytes(data)
    path.chmod(0o600)


def _chmod(mode: int, where: Callable[[dict], Path]) -> Callable[[dict], None]:
    return lambda site: where(site).chmod(mode)


CASES: dict[str, tuple[Callable[[dict], None], str]] = {
    "signing_key_missing": (lambda s: _signing_key(s).unlink(), "signing key file not found"),
    "signing_key_garbage": (
        lambda s: _replace(_signing_key(s), b"-----BEGIN PRIVATE KEY-----\ngarbage\n"),
        "not a readable Ed25519 private key",
    ),
    "signing_key_not_ed25519": (lambda s: _replace(_signing_key(s), b"\x00" * 64), "Ed25519"),
    "signing_key_0644": (_chmod(0o644, _signing_key), "open to group or others"),
    "secrets_folder_0777": (
        _chmod(0o777, lambda s: s["data"] / "secrets"),
        "secrets is open to group or others",
    ),
    "secrets_folder_0750": (_chmod(0o750, lambda s: s["data"] / "secrets"), "chmod 700"),
    "keyring_0644": (_chmod(0o644, lambda s: s["data"] / "secrets" / "keyring.json"), "keyring"),
    "keyring_missing": (lambda s: (s["data"] / "secrets" / "keyring.json").unlink(), "keyring"),
    "world_writable_folder_above": (_chmod(0o777, lambda s: s["data"]), "which everyone may write"),
    "vault_folder_0777": (
        lambda s: (s["data"] / "vault").mkdir(mode=0o777) or (s["data"] / "vault").chmod(0o777),
        "vault folder",
    ),
    "trust_store_missing": (lambda s: s["store"].unlink(), "trust store .* not found"),
    "trust_store_0644": (_chmod(0o644, lambda s: s["store"]), "trust store .* open to group"),
    "trust_store_folder_0755": (
        _chmod(0o755, lambda s: s["store"].parent),
        "trust store folder .* open to group",
    ),
    "trust_store_garbage": (
        lambda s: _replace(s["store"], b'{"format": "islandbridge-trust-store/1", "keys": 7}'),
        "'keys' must be a list",
    ),
    "trust_store_without_a_signed_sources_key": (
        lambda s: __import__("connectors.trust_store").trust_store.remove_trusted_key(
            s["store"], "finance_dues"
        ),
        r"no key for the signed sources \['finance_dues'\]",
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_bad_secret_is_refused_by_the_plan_before_anything_is_written(site, case):
    from anonymize import KeyringError
    from islandbridge.secrets import SecretError

    breaks, message = CASES[case]
    breaks(site)
    with pytest.raises((SecretError, KeyringError), match=message):
        _plan(site, f"run_{case}")
    assert not (site["data"] / "runs").exists()


def test_a_trust_store_inside_the_data_folder_is_refused(site, tmp_path):
    """The trust anchors must not sit beside the data they vouch for."""
    from islandbridge.config import default_config_path
    from islandbridge.secrets import SecretError

    config_dir = tmp_path / "config"
    shutil.copytree(default_config_path().parent, config_dir)
    config = config_dir / "islandbridge.yaml"
    text = config.read_text("utf-8")
    for inside in ("{data_dir}/secrets/trust_store.json", "{sources_dir}/department_keys/t.json"):
        config.write_text(text.replace("{data_dir}.trust/trust_store.json", inside), "utf-8")
        with pytest.raises(SecretError, match=r"lies inside the (data|sources) folder"):
            _plan({**site, "params": {**site["params"], "config": str(config)}}, "inside")
    assert not (site["data"] / "runs").exists()


def test_the_intake_checks_secrets_before_installing_a_drop(site):
    from islandbridge.intake import prepare_intake_run
    from islandbridge.secrets import SecretError

    inbox = site["data"] / "intake" / "finance_dues"
    inbox.mkdir(parents=True)
    (inbox / "finance_dues.csv").write_text("人员编号\n", encoding="utf-8")
    _signing_key(site).chmod(0o644)
    with pytest.raises(SecretError):
        prepare_intake_run(site["params"], "intake", date(2026, 7, 1), ["finance_dues"])
    assert (inbox / "finance_dues.csv").is_file()  # nothing moved, nothing installed
    assert not (site["data"] / "runs").exists()
