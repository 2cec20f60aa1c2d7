"""``islandbridge init DIR``: a new university's installation, ready to configure.

Writes, never over an existing file:

* ``DIR/islandbridge.yaml``, ``DIR/quality.yaml``, ``DIR/privacy.yaml`` — commented
  templates (:mod:`islandbridge.templates`) to edit into the university's own;
* ``DIR/data/`` (owner-only), the data folder: ``secrets/keyring.json`` (token key and
  vault key), ``secrets/service_signing.key`` (Ed25519, signs manifests and the ledger),
  each 0600 in a 0700 folder; ``sources/`` for department exports;
* with ``steward``, the vault, its first steward named (``keys init --steward``).

Department signing keys are bound to their sources in the trust store, so they are
issued once the sources are configured: ``islandbridge keys new-department NAME
--source SOURCE`` (:mod:`islandbridge.commands.departments`).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
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
    steward: str | None = None,
) -> Scaffold:
    """Create the installation in ``folder`` (see the module docstring); refuses when any
    file it would write exists already."""
    from anonymize import AnonymizeError, KeySource, init_keyring_file, load_keyring
    from islandbridge.secrets import ensure_signing_key

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
    if steward:
        _first_steward(scaffold, steward, load_keyring(KeySource(file=scaffold.keyring)))
    log.info("installation of %s created in %s", university, folder)
    return scaffold


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
