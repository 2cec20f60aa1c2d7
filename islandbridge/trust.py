"""The installation's trust store (``trust_store:`` in the configuration) and the record
of accepted exports.

The trust store holds the departments' public keys. It must lie outside the data
folder — where exports arrive and are installed, so whoever can swap an export there
must not be able to swap the key that vouches for it — and be owner-only (see
:mod:`connectors.trust_store`). :func:`check_trust_store` is what the plan runs before a
byte is written: the store loads and every source that requires signatures has at
least one trusted key.
"""

from __future__ import annotations

import os
from pathlib import Path

from connectors.export_sequences import ExportSequenceStore
from connectors.trust_store import (
    AirflowConnectionTrustStore,
    FileTrustStore,
    TrustStore,
    TrustStoreError,
)
from islandbridge.context import RunContext

__all__ = ["check_trust_store", "export_sequences", "load_trust_store", "trust_store_path"]


def _inside(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def trust_store_path(ctx: RunContext) -> Path | None:
    """The trust store file (resolved), or None when the keys are in Airflow Connections.

    Refused (:class:`~islandbridge.secrets.SecretError`) inside the data folder, the
    sources folder or the published zone.
    """
    from islandbridge.secrets import SecretError

    configured = ctx.config.trust_store.file
    if configured is None:
        return None
    path = ctx.expand(configured).resolve()
    for label, place in (
        ("data folder", ctx.data_dir),
        ("sources folder", ctx.sources_dir),
        ("published zone", ctx.publish_root),
    ):
        if _inside(path, place.resolve()):
            raise SecretError(
                f"trust store {path} lies inside the {label}: keep the departments' public "
                "keys apart from the data they vouch for (trust_store.file)"
            )
    return path


def load_trust_store(ctx: RunContext) -> TrustStore:
    """The configured trust store; fails closed (``SecretError``) when it cannot be used."""
    from islandbridge.secrets import SecretError

    config = ctx.config.trust_store
    if config.airflow_connection_prefix is not None:
        return AirflowConnectionTrustStore(config.airflow_connection_prefix, dict(os.environ))
    path = trust_store_path(ctx)
    assert path is not None
    try:
        return FileTrustStore(path)
    except TrustStoreError as exc:
        raise SecretError(str(exc)) from None


def check_trust_store(ctx: RunContext) -> TrustStore | None:
    """Load the trust store and check that every source requiring signed exports has a key
    it trusts; None when no source requires signatures (nothing is loaded)."""
    from islandbridge.secrets import SecretError

    signed = [s.name for s in ctx.config.sources if s.signature.required]
    if not signed:
        return None
    store = load_trust_store(ctx)
    try:
        unkeyed = [name for name in signed if not store.keys_for(name)]
    except TrustStoreError as exc:
        raise SecretError(str(exc)) from None
    if unkeyed:
        raise SecretError(
            f"{store.describe()} holds no key for the signed sources {unkeyed} "
            "(islandbridge keys trust)"
        )
    return store


def export_sequences(ctx: RunContext) -> ExportSequenceStore:
    """The record of the last accepted signed export per source and file."""
    return ExportSequenceStore(ctx.data.export_sequence_state)
