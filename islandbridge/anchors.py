"""The configured chain anchors of an installation (``anchor:`` in the configuration).

``publication_anchor(ctx)`` is where the publication ledger's head is anchored;
``vault_audit_anchor(ctx)`` where the vault audit's head is (None: the vault's own
database, the default). See :mod:`anonymize.anchor` for what an anchor guarantees.
"""

from __future__ import annotations

import os
from pathlib import Path

from anonymize.anchor import AirflowVariableAnchor, ChainAnchor, FileAnchor, SqlAnchor
from islandbridge.context import RunContext

__all__ = ["AnchorConfigError", "publication_anchor", "reason_pattern", "vault_audit_anchor"]


class AnchorConfigError(RuntimeError):
    """The configured anchor store cannot be used."""


def _store(ctx: RunContext) -> ChainAnchor:
    from anonymize.vault import vault_database_url
    from islandbridge.secrets import vault_location

    config = ctx.config.anchor
    if config.store == "vault_db":
        return SqlAnchor(vault_database_url(vault_location(ctx)))
    if config.store == "sql":
        assert config.url_env
        url = os.environ.get(config.url_env)
        if not url:
            raise AnchorConfigError(f"environment variable {config.url_env} is not set (anchor)")
        return SqlAnchor(url)
    if config.store == "file":
        assert config.folder
        folder = ctx.expand(config.folder).resolve()
        published = ctx.expand(ctx.config.publish.root).resolve()
        if folder == published or published in folder.parents:
            raise AnchorConfigError(
                "anchor.folder lies inside the published zone, which the anchor must be "
                "kept apart from"
            )
        return FileAnchor(Path(folder))
    return AirflowVariableAnchor(config.variable_prefix)


def publication_anchor(ctx: RunContext) -> ChainAnchor:
    """The anchor store of the publication ledger (close it when done)."""
    return _store(ctx)


def vault_audit_anchor(ctx: RunContext) -> ChainAnchor | None:
    """The anchor store of the vault audit; None means the vault's own database."""
    if ctx.config.anchor.store == "vault_db":
        return None
    return _store(ctx)


def reason_pattern(ctx: RunContext) -> str | None:
    """The configured re-identification reason pattern (None: the vault's default)."""
    return ctx.config.reidentification.reason_pattern
