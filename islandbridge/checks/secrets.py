"""Every secret a run uses: present, strong, owner-only — checked without writing.

The keyring (token keys and the vault key), the service's signing key, the vault's
location, the anchor store, a PostgreSQL target's URL, and the trust store holding the
public key of every department whose exports must be signed. Messages name the file or
variable and where the configuration names it; never key material.
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

from islandbridge.checks.core import CheckContext, Finding

__all__ = [
    "anchor_store",
    "keyring",
    "postgres_target",
    "signing_key",
    "trust_store",
    "vault",
]

_INIT = "(islandbridge init, or islandbridge keys init, creates it)"


def _owner_only(path: Path, what: str) -> str | None:
    """Why ``path`` is not a private file of this user, or None."""
    try:
        st = path.stat()
    except FileNotFoundError:
        return f"{what} {path} does not exist"
    except OSError as exc:
        return f"{what} {path} cannot be read ({exc.strerror})"
    if not stat.S_ISREG(st.st_mode):
        return f"{what} {path} is not a regular file"
    if st.st_mode & 0o077:
        return (
            f"{what} {path} is readable by group or others (mode "
            f"{stat.S_IMODE(st.st_mode):o}); it must be owner-only: chmod 600 {path}"
        )
    if hasattr(os, "geteuid") and st.st_uid != os.geteuid():
        return f"{what} {path} is not owned by the user running islandbridge"
    return None


def keyring(cc: CheckContext) -> list[Finding]:
    """The keyring loads, every key is strong, the file is owner-only, a vault key is in it."""
    from anonymize import AnonymizeError, Keyring, KeySource, load_keyring

    keys = cc.run.config.keys
    where = cc.at("keys")
    try:
        if keys.env:
            text = cc.env.get(keys.env)
            if not text:
                return [Finding("keyring", f"environment variable {keys.env} is not set", where)]
            try:
                ring = Keyring(json.loads(text))
            except json.JSONDecodeError:
                return [
                    Finding("keyring", f"environment variable {keys.env}: not valid JSON", where)
                ]
        elif keys.file:
            path = cc.run.expand(keys.file)
            problem = _owner_only(path, "key file")
            if problem:
                hint = f" {_INIT}" if not path.exists() else ""
                return [Finding("keyring", problem + hint, cc.at("keys", "file"))]
            ring = load_keyring(KeySource(file=path))
        else:
            ring = load_keyring(KeySource(airflow_variable=keys.airflow_variable))
    except AnonymizeError as exc:  # weak, malformed, retired: our own words, no material
        return [Finding("keyring", str(exc), where)]
    if not ring.has_vault_key:
        return [Finding("keyring", "the keyring has no vault key " + _INIT, where)]
    return []


def signing_key(cc: CheckContext) -> list[Finding]:
    """The service's Ed25519 signing key exists, is owner-only and loads."""
    from connectors.signatures import load_private_key

    path = cc.run.expand(cc.run.config.publish.signing_key)
    where = cc.at("publish", "signing_key")
    problem = _owner_only(path, "signing key")
    if problem:
        hint = " (islandbridge init creates it)" if not path.exists() else ""
        return [Finding("signing_key", problem + hint, where)]
    try:
        load_private_key(path)
    except (ValueError, TypeError):
        return [Finding("signing_key", f"{path} is not an Ed25519 private key (PEM)", where)]
    return []


def vault(cc: CheckContext) -> list[Finding]:
    """The vault's URL variable is set, or its SQLite file and folder are owner-only."""
    configured = cc.run.config.vault
    where = cc.at("vault")
    if configured.startswith("env:"):
        name = configured[4:]
        if not cc.env.get(name):
            return [Finding("vault", f"environment variable {name} (vault URL) is not set", where)]
        return []
    path = cc.run.expand(configured)
    found = []
    if path.parent.is_dir() and path.parent.stat().st_mode & 0o077:
        found.append(
            Finding(
                "vault",
                f"vault folder {path.parent} is open to group or others: chmod 700 it",
                where,
            )
        )
    if path.exists():
        problem = _owner_only(path, "vault database")
        if problem:
            found.append(Finding("vault", problem, where))
    return found


def anchor_store(cc: CheckContext) -> list[Finding]:
    """The ledger's anchor store is configured usably (not opened: opening creates it)."""
    anchor = cc.run.config.anchor
    if anchor.store == "sql" and anchor.url_env and not cc.env.get(anchor.url_env):
        return [
            Finding(
                "anchor_store",
                f"environment variable {anchor.url_env} (anchor database URL) is not set",
                cc.at("anchor", "url_env"),
            )
        ]
    if anchor.store == "file" and anchor.folder:
        folder = cc.run.expand(anchor.folder).resolve()
        published = cc.run.publish_root.resolve()
        if folder == published or published in folder.parents:
            return [
                Finding(
                    "anchor_store",
                    "anchor.folder lies inside the published zone; keep it apart",
                    cc.at("anchor", "folder"),
                )
            ]
    return []


def postgres_target(cc: CheckContext) -> list[Finding]:
    """A PostgreSQL publication target's URL variable is set."""
    target = cc.run.config.publish.postgres
    if target is not None and not cc.env.get(target.url_env):
        return [
            Finding(
                "postgres_target",
                f"environment variable {target.url_env} (PostgreSQL target URL) is not set",
                cc.at("publish", "postgres", "url_env"),
            )
        ]
    return []


def trust_store(cc: CheckContext) -> list[Finding]:
    """The places secrets rest are owner-only (no world-writable folder above), and the
    trust store holds a key for every source that requires signed exports (the same
    checks as the plan's: :func:`islandbridge.secret_checks.secret_file_problems`)."""
    from islandbridge.secret_checks import secret_file_problems

    return [
        Finding("trust_store", problem, cc.at("trust_store"))
        for problem in secret_file_problems(cc.run)
    ]
