"""Where a run's secrets rest, checked by the plan before a byte is written.

Loading a key proves it is there and well-formed; this checks the places: every secret
file (keyring, service signing key, trust store) and the folder holding it — and the
anchor folder and the SQLite vault's folder where they exist — is owner-only and owned
by the service account, none lies inside another university's data folder or secrets
(:func:`islandbridge.universities.university_overlaps`), and no folder above it is
writable by everyone (whoever can
write a folder can replace what is in it: a secrets folder at 0777 is refused, not
silently used). Then the trust store loads and holds a key for every source that
requires signed exports (:func:`islandbridge.trust.check_trust_store`).
"""

from __future__ import annotations

import stat
from pathlib import Path

from connectors.trust_store import TrustStoreError, check_owner_only
from islandbridge.context import RunContext

__all__ = ["check_secret_files", "secret_file_problems", "secret_places"]


def secret_places(ctx: RunContext) -> list[tuple[str, Path, bool]]:
    """``(what, path, is_folder)`` of every configured place a secret rests (resolved)."""
    from islandbridge.trust import trust_store_path

    places: list[tuple[str, Path, bool]] = []

    def file_and_folder(what: str, path: Path) -> None:
        path = path.resolve()
        places.append((f"{what} folder", path.parent, True))
        places.append((what, path, False))

    if ctx.config.keys.file:
        file_and_folder("keyring", ctx.expand(ctx.config.keys.file))
    file_and_folder("signing key", ctx.expand(ctx.config.publish.signing_key))
    if any(s.signature.required for s in ctx.config.sources):
        trust = trust_store_path(ctx)
        if trust is not None:
            file_and_folder("trust store", trust)
    anchor = ctx.config.anchor
    if anchor.store == "file" and anchor.folder:
        places.append(("anchor folder", ctx.expand(anchor.folder).resolve(), True))
    vault = ctx.config.vault
    if not vault.startswith("env:"):
        places.append(("vault folder", ctx.expand(vault).resolve().parent, True))
    return places


def _open_ancestor(folder: Path) -> Path | None:
    """The first folder above ``folder`` that everyone may write (and is not sticky)."""
    for parent in folder.parents:
        try:
            mode = parent.stat().st_mode
        except OSError:
            continue
        if mode & stat.S_IWOTH and not mode & stat.S_ISVTX:
            return parent
    return None


def secret_file_problems(ctx: RunContext) -> list[str]:
    """Every reason a secret place is unsafe (not owner-only, owned by another user, a
    link, under a world-writable folder), then the trust store's (missing, unreadable, no
    key for a signed source); empty when all is well. Places that do not exist yet are
    left to the loaders (which say what is missing)."""
    from islandbridge.secrets import SecretError
    from islandbridge.trust import check_trust_store

    problems = []
    for what, path, folder in secret_places(ctx):
        if not path.exists():
            continue
        try:
            check_owner_only(path, what, folder=folder)
        except TrustStoreError as exc:
            problems.append(str(exc))
            continue
        if folder and (open_parent := _open_ancestor(path)) is not None:
            problems.append(
                f"{what} {path} lies under {open_parent}, which everyone may write: "
                "whoever can write it can replace the secrets below"
            )
    from islandbridge.universities import university_overlaps

    problems += university_overlaps(ctx)
    if not problems:
        try:
            check_trust_store(ctx)
        except SecretError as exc:
            problems.append(str(exc))
    return problems


def check_secret_files(ctx: RunContext) -> None:
    """Refuse (``SecretError``, naming the first problem) an unsafe secret place or trust
    store; see :func:`secret_file_problems`."""
    from islandbridge.secrets import SecretError

    problems = secret_file_problems(ctx)
    if problems:
        raise SecretError(problems[0])
