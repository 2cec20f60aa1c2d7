"""Secrets of a run: the pseudonymisation keyring and the service's signing key.

The configuration names where they are (environment variable, owner-only file,
Airflow Variable); nothing here ever logs or returns key material in a message.
Missing or unreadable secrets stop the run before anything is written.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from connectors.signatures import load_private_key, private_key_pem
from islandbridge.context import RunContext

if TYPE_CHECKING:
    pass

__all__ = [
    "SecretError",
    "ensure_signing_key",
    "load_run_keyring",
    "load_signing_key",
    "vault_location",
]


class SecretError(RuntimeError):
    """A required secret is missing, unreadable or too loosely protected."""


def load_run_keyring(ctx: RunContext):
    """The run's keyring, from the source the configuration names."""
    from anonymize import KeySource, load_keyring

    keys = ctx.config.keys
    source = KeySource(
        env=keys.env,
        file=ctx.expand(keys.file) if keys.file else None,
        airflow_variable=keys.airflow_variable,
    )
    return load_keyring(source)


def vault_location(ctx: RunContext) -> str:
    """The vault's SQLite path (folder created owner-only) or its URL from the named env var."""
    import os

    from connectors import restricted_dir

    configured = ctx.config.vault
    if configured.startswith("env:"):
        url = os.environ.get(configured[4:])
        if not url:
            raise SecretError(f"environment variable {configured[4:]} (vault URL) is not set")
        return url
    path = ctx.expand(configured)
    restricted_dir(path.parent)
    return str(path)


def _check_owner_only(path: Path) -> None:
    if not path.is_file():
        raise SecretError(f"{path}: signing key file not found")
    if path.stat().st_mode & 0o077:
        raise SecretError(f"{path}: signing key file must be owner-only (chmod 600)")


def load_signing_key(ctx: RunContext) -> Ed25519PrivateKey:
    """The service's Ed25519 key that signs manifests and the ledger."""
    path = ctx.expand(ctx.config.publish.signing_key)
    _check_owner_only(path)
    try:
        return load_private_key(path)
    except (ValueError, TypeError):
        raise SecretError(f"{path}: not a readable Ed25519 private key") from None


def ensure_signing_key(path: Path) -> Path:
    """Create the service signing key (owner-only) when it does not exist yet."""
    if path.exists():
        return path
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = path.open("xb")
    try:
        path.chmod(0o600)
        fd.write(private_key_pem(Ed25519PrivateKey.generate()))
    finally:
        fd.close()
    return path
