"""``islandbridge init DIR``: a new university's installation, ready to configure.

Writes, never over an existing file:

* ``DIR/islandbridge.yaml``, ``DIR/quality.yaml``, ``DIR/privacy.yaml`` — commented
  templates (:mod:`islandbridge.templates`) to edit into the university's own;
* ``DIR/data/`` (owner-only), the data folder: ``secrets/keyring.json`` (token key and
  vault key), ``secrets/service_signing.key`` (Ed25519, signs manifests and the ledger),
  each 0600 in a 0700 folder; ``sources/`` for department exports;
* with ``departments`` (name → its sources), each department's Ed25519 pair: the
  private key under ``data/secrets/department_keys/`` (0600, to hand to the
  department) and the public key in the trust store (outside the data folder, where
  the configuration's ``trust_store:`` says), bound to the department and its sources
  as ``islandbridge keys new-department`` does;
* with ``steward``, the vault, its first steward named (``keys init --steward``).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

__all__ = ["InitError", "Scaffold", "init_installation"]

log = logging.getLogger(__name__)

TEMPLATES = ("islandbridge.yaml", "quality.yaml", "privacy.yaml")


class InitError(RuntimeError):
    """The installation cannot be created (the message says why and what to do)."""


@dataclass
class Scaffold:
    """What :func:`init_installation` wrote."""

    config: Path
    data_dir: Path
    keyring: Path
    signing_key: Path
    #: department → (private key, trust store it is registered in)
    department_keys: dict[str, tuple[Path, Path]] = field(default_factory=dict)
    steward: str | None = None


def _restricted(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    path.chmod(0o700)
    return path


def _template(name: str, *, university: str, config: Path, data_dir: Path) -> str:
    text = resources.files("islandbridge.templates").joinpath(name).read_text(encoding="utf-8")
    return (
        text.replace("@UNIVERSITY_YAML@", json.dumps(university, ensure_ascii=False))
        .replace("@UNIVERSITY@", university)
        .replace("@CONFIG@", str(config))
        .replace("@DATA_DIR@", str(data_dir))
    )


def init_installation(
    folder: Path,
    *,
    university: str,
    departments: Mapping[str, Sequence[str]] | None = None,
    steward: str | None = None,
) -> Scaffold:
    """Create the installation in ``folder`` (see the module docstring); refuses when any
    file it would write exists already."""
    from anonymize import AnonymizeError, KeySource, init_keyring_file, load_keyring
    from islandbridge.secrets import ensure_signing_key

    unbound = [name for name, sources in (departments or {}).items() if not sources]
    if unbound:
        raise InitError(
            f"department {unbound[0]}: name the sources its key signs (NAME=SOURCE,...)"
        )
    folder = folder.resolve()
    data_dir = folder / "data"
    config = folder / "islandbridge.yaml"
    secrets = data_dir / "secrets"
    scaffold = Scaffold(
        config=config,
        data_dir=data_dir,
        keyring=secrets / "keyring.json",
        signing_key=secrets / "service_signing.key",
    )
    targets = [folder / n for n in TEMPLATES] + [scaffold.keyring, scaffold.signing_key]
    existing = [p for p in targets if p.exists()]
    if existing:
        raise InitError(f"{existing[0]} exists: {folder} is initialised already")
    folder.mkdir(parents=True, exist_ok=True)
    for name in TEMPLATES:
        text = _template(name, university=university, config=config, data_dir=data_dir)
        (folder / name).write_text(text, encoding="utf-8")
    _restricted(data_dir)
    _restricted(secrets)
    (data_dir / "sources").mkdir(exist_ok=True)
    try:
        init_keyring_file(scaffold.keyring)
    except AnonymizeError as exc:
        raise InitError(str(exc)) from None
    ensure_signing_key(scaffold.signing_key)
    for name, sources in (departments or {}).items():
        scaffold.department_keys[name] = _department_key(scaffold, name, sources)
    if steward:
        _first_steward(scaffold, steward, load_keyring(KeySource(file=scaffold.keyring)))
    log.info("installation of %s created in %s", university, folder)
    return scaffold


def _department_key(scaffold: Scaffold, name: str, sources: Sequence[str]) -> tuple[Path, Path]:
    """Issue department ``name``'s pair and trust its public key for ``sources``."""
    from connectors.trust_store import TrustStoreError, trust_entry, write_trusted_key
    from islandbridge.commands.departments import DepartmentKeyError, issue_department_keys
    from islandbridge.commands.options import installation
    from islandbridge.secrets import SecretError
    from islandbridge.trust import trust_store_path

    try:
        store = trust_store_path(installation(scaffold.data_dir, scaffold.config))
    except SecretError as exc:
        raise InitError(str(exc)) from None
    if store is None:
        raise InitError("the trust store is in Airflow Connections: add department keys there")
    private = _restricted(scaffold.data_dir / "secrets" / "department_keys") / f"{name}.key"
    try:
        key = issue_department_keys(name, private)
        entry = trust_entry(name, key.public_key(), department=name, sources=sources)
        write_trusted_key(store, entry)
    except (DepartmentKeyError, TrustStoreError) as exc:
        raise InitError(str(exc)) from None
    return private, store


def _first_steward(scaffold: Scaffold, steward: str, keyring: object) -> None:
    """Name the vault's first steward, as ``keys init --steward`` does."""
    from anonymize import AnonymizeError
    from islandbridge.commands.keys import open_vault
    from islandbridge.identity import IdentityError, current_user

    try:
        caller = current_user()
        with open_vault(None, keyring, scaffold.data_dir, scaffold.config) as vault:  # type: ignore[arg-type]
            vault.initialise(steward, by=caller)
    except (AnonymizeError, IdentityError) as exc:
        raise InitError(f"the vault's first steward: {exc}") from None
    scaffold.steward = steward
