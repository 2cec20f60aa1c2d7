"""`islandbridge sign FILE --key KEY` and `islandbridge keys new-department NAME`.

Departments sign each export with their Ed25519 key; the service verifies with the
public key registered under the sources folder (``department_keys/<name>.pub``).
Register with::

    app.command("sign")(departments.sign_command)
    keys.app.command("new-department")(departments.new_department)

Private keys are written owner-only (0600), never over an existing key and never
inside a git work tree where git would track them. Nothing here prints key material.
"""

from __future__ import annotations

import hashlib
import os
import re
import stat
import subprocess
from pathlib import Path
from typing import Annotated

import typer
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from connectors.signatures import (
    SignatureVerdict,
    load_private_key,
    private_key_pem,
    public_key_pem,
    sign_file,
    verify_file,
)
from islandbridge.commands.options import ConfigOpt, DataDir, installation

__all__ = ["DepartmentKeyError", "issue_department_keys", "new_department", "sign_command"]

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")


class DepartmentKeyError(RuntimeError):
    """A department key cannot be issued or used safely."""


def _tracked_by_git(path: Path) -> bool:
    """True when ``path`` lies in a git work tree and git would not ignore it."""
    folder = path.parent
    while not folder.exists():
        folder = folder.parent
    try:
        top = subprocess.run(
            ["git", "-C", str(folder), "rev-parse", "--show-toplevel"],
            capture_output=True,
            text=True,
            check=False,
        )
    except FileNotFoundError:  # no git: nothing can track it
        return False
    if top.returncode != 0:
        return False
    ignored = subprocess.run(
        ["git", "-C", top.stdout.strip(), "check-ignore", "-q", "--no-index", str(path)],
        capture_output=True,
        check=False,
    )
    return ignored.returncode != 0


def _write_owner_only(path: Path, data: bytes) -> None:
    """Create ``path`` with mode 0600 from the start (no window with wider permissions)."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)


def issue_department_keys(
    name: str, private_key_path: Path, public_key_path: Path, *, force: bool = False
) -> str:
    """Issue an Ed25519 pair for department ``name``; returns the public key's fingerprint.

    The private key goes to ``private_key_path`` (0600, refused inside a git work tree
    unless ignored); the public key to ``public_key_path``. Existing keys are kept
    unless ``force``.
    """
    if not _NAME.fullmatch(name):
        raise DepartmentKeyError(
            f"department name {name!r}: use letters, digits, '_' or '-' (at most 64)"
        )
    if _tracked_by_git(private_key_path.resolve()):
        raise DepartmentKeyError(
            f"{private_key_path}: inside a git work tree and not ignored; "
            "private keys never go into a repository"
        )
    existing = [p for p in (private_key_path, public_key_path) if p.exists()]
    if existing and not force:
        raise DepartmentKeyError(
            f"{existing[0]} exists; a new key invalidates the department's signatures "
            "(use --force to replace it)"
        )
    for path in existing:
        path.unlink()
    key = Ed25519PrivateKey.generate()
    _write_owner_only(private_key_path, private_key_pem(key))
    public_key_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = public_key_path.with_name(public_key_path.name + ".tmp")
    tmp.write_bytes(public_key_pem(key.public_key()))
    tmp.replace(public_key_path)
    return _fingerprint(public_key_pem(key.public_key()))


def _fingerprint(pem: bytes) -> str:
    return "sha256:" + hashlib.sha256(pem).hexdigest()[:16]


def _fail(exc: Exception) -> typer.Exit:
    typer.echo(f"error: {exc}", err=True)
    return typer.Exit(code=2)


def new_department(
    name: Annotated[str, typer.Argument(help="department (key) name, e.g. finance_dues")],
    key_out: Annotated[
        Path | None,
        typer.Option(
            "--key-out",
            help="where the private key goes (default: DATA_DIR/secrets/department_keys/NAME.key)",
        ),
    ] = None,
    force: Annotated[
        bool, typer.Option(help="replace an existing pair (old signatures stop verifying)")
    ] = False,
    data_dir: DataDir = Path("data"),
    config: ConfigOpt = None,
) -> None:
    """Issue a department's Ed25519 signing pair and register its public key."""
    ctx = installation(data_dir, config)
    private = key_out or ctx.data_dir / "secrets" / "department_keys" / f"{name}.key"
    public = ctx.sources_dir / "department_keys" / f"{name}.pub"
    try:
        fingerprint = issue_department_keys(name, private, public, force=force)
    except DepartmentKeyError as exc:
        raise _fail(exc) from None
    typer.echo(f"private key: {private} (mode 600; hand it to the department, keep no copy)")
    typer.echo(f"public key registered: {public} ({fingerprint})")
    typer.echo(
        "in the source's configuration: "
        f"signature: {{required: true, public_key: department_keys/{name}.pub}}"
    )


def sign_command(
    file: Annotated[Path, typer.Argument(help="the export to sign", exists=True, dir_okay=False)],
    key: Annotated[
        Path, typer.Option("--key", help="the department's private key (PEM, mode 600)")
    ],
    out: Annotated[
        Path | None, typer.Option("--out", help="signature file (default: FILE.sig beside it)")
    ] = None,
) -> None:
    """Sign an export with a department's Ed25519 key (writes FILE.sig, base64)."""
    try:
        mode = stat.S_IMODE(key.stat().st_mode)
    except OSError as exc:
        raise _fail(DepartmentKeyError(f"{key}: cannot read key ({exc.strerror})")) from None
    if mode & 0o077:
        raise _fail(
            DepartmentKeyError(f"{key}: readable by others (mode {mode:o}); chmod 600 it first")
        )
    try:
        private = load_private_key(key)
    except (ValueError, TypeError) as exc:
        raise _fail(DepartmentKeyError(f"{key}: not an Ed25519 private key")) from exc
    signature = sign_file(private, file, out)
    if verify_file(private.public_key(), file, signature) is not SignatureVerdict.VALID:
        raise _fail(DepartmentKeyError(f"{file}: signature does not verify"))  # pragma: no cover
    typer.echo(f"signed {file} → {signature}")
