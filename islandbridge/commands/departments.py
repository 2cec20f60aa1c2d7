"""Department keys and signed exports: ``islandbridge sign``, ``islandbridge keys
new-department``, ``keys trust``, ``keys untrust`` and ``keys trusted``.

A department signs each export with its Ed25519 key: ``islandbridge sign`` writes a
signed manifest beside the file (:mod:`connectors.export_manifest`) naming the file,
its SHA-256, size and row count, the department, source (and branch), the export time
and a sequence. The service verifies it with the public key registered in the trust
store (``trust_store:`` in the configuration, outside the data folder), where each key
is bound to one department, its sources and optionally one branch. Register with::

    app.command("sign")(departments.sign_command)
    keys.app.command("new-department")(departments.new_department)
    keys.app.command("trust")(departments.trust_command)
    keys.app.command("untrust")(departments.untrust_command)
    keys.app.command("trusted")(departments.trusted_command)

Private keys are written owner-only (0600), never over an existing key and never
inside a git work tree where git would track them. Nothing here prints key material;
fingerprints (``ed25519:`` + 16 hex) are shown for out-of-band confirmation.
"""

from __future__ import annotations

import os
import re
import stat
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from connectors.signatures import (
    load_private_key,
    load_public_key,
    private_key_pem,
    public_key_id,
    public_key_pem,
)
from islandbridge.commands.options import ConfigOpt, DataDir, installation

__all__ = [
    "DepartmentKeyError",
    "issue_department_keys",
    "new_department",
    "sign_command",
    "sign_export_file",
    "trust_command",
    "trusted_command",
    "untrust_command",
]

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
    name: str, private_key_path: Path, public_key_path: Path | None = None, *, force: bool = False
) -> Ed25519PrivateKey:
    """Issue an Ed25519 pair for department ``name``; returns the private key.

    The private key goes to ``private_key_path`` (0600, refused inside a git work tree
    unless ignored); the public key also to ``public_key_path`` when given. Existing
    keys are kept unless ``force``.
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
    paths = [p for p in (private_key_path, public_key_path) if p is not None]
    existing = [p for p in paths if p.exists()]
    if existing and not force:
        raise DepartmentKeyError(
            f"{existing[0]} exists; a new key invalidates the department's signatures "
            "(use --force to replace it)"
        )
    for path in existing:
        path.unlink()
    key = Ed25519PrivateKey.generate()
    _write_owner_only(private_key_path, private_key_pem(key))
    if public_key_path is not None:
        public_key_path.parent.mkdir(parents=True, exist_ok=True)
        tmp = public_key_path.with_name(public_key_path.name + ".tmp")
        tmp.write_bytes(public_key_pem(key.public_key()))
        tmp.replace(public_key_path)
    return key


def _fail(exc: Exception) -> typer.Exit:
    typer.echo(f"error: {exc}", err=True)
    return typer.Exit(code=2)


def _trust_store_file(data_dir: Path, config: Path | None) -> Path:
    from islandbridge.secrets import SecretError
    from islandbridge.trust import trust_store_path

    ctx = installation(data_dir, config)
    try:
        path = trust_store_path(ctx)
    except SecretError as exc:
        raise _fail(exc) from None
    if path is None:
        raise _fail(
            DepartmentKeyError(
                "the trust store is in Airflow Connections "
                f"({ctx.config.trust_store.airflow_connection_prefix}<source>): add the key "
                'to the connection\'s extra {"keys": [...]}'
            )
        )
    return path


def _department_of(data_dir: Path, config: Path | None, sources: list[str]) -> str:
    ctx = installation(data_dir, config)
    try:
        departments = {ctx.config.source(s).department for s in sources}
    except KeyError as exc:
        raise _fail(DepartmentKeyError(str(exc.args[0]))) from None
    if len(departments) != 1:
        raise _fail(DepartmentKeyError(f"sources {sources} belong to different departments"))
    return departments.pop()


def _register_key(
    path: Path, name: str, public_pem_key, *, department: str, sources, branch, replace: bool
) -> str:
    from connectors.trust_store import TrustStoreError, trust_entry, write_trusted_key

    try:
        entry = trust_entry(
            name, public_pem_key, department=department, sources=sources, branch=branch
        )
        write_trusted_key(path, entry, replace=replace)
    except TrustStoreError as exc:
        raise _fail(exc) from None
    return entry.key_id


SourcesOpt = Annotated[
    list[str], typer.Option("--source", help="a source this key may sign for (repeatable)")
]
BranchOpt = Annotated[
    str | None,
    typer.Option("--branch", help="a branch secretary's key: the one branch it may sign for"),
]


def new_department(
    name: Annotated[str, typer.Argument(help="key name, e.g. finance_dues or signins-01U0001")],
    source: SourcesOpt,
    branch: BranchOpt = None,
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
    """Issue a department's (or a branch secretary's) Ed25519 signing pair and register its
    public key in the trust store, bound to the department, its sources and the branch."""
    store = _trust_store_file(data_dir, config)
    department = _department_of(data_dir, config, source)
    private = key_out or data_dir.resolve() / "secrets" / "department_keys" / f"{name}.key"
    try:
        key = issue_department_keys(name, private, force=force)
    except DepartmentKeyError as exc:
        raise _fail(exc) from None
    key_id = _register_key(
        store,
        name,
        key.public_key(),
        department=department,
        sources=source,
        branch=branch,
        replace=force,
    )
    typer.echo(f"private key: {private} (mode 600; hand it to the department, keep no copy)")
    typer.echo(
        f"public key trusted in {store}: {name} ({key_id}) for {department}, {source}"
        + (f", branch {branch}" if branch else "")
    )
    typer.echo("confirm the fingerprint with the department by another channel")


def trust_command(
    name: Annotated[str, typer.Argument(help="a name for the key in the trust store")],
    public_key: Annotated[
        Path, typer.Option("--public-key", help="the department's public key (PEM)", exists=True)
    ],
    source: SourcesOpt,
    branch: BranchOpt = None,
    replace: Annotated[bool, typer.Option(help="replace a key of the same name")] = False,
    data_dir: DataDir = Path("data"),
    config: ConfigOpt = None,
) -> None:
    """Trust a department's public key for its sources (and branch)."""
    store = _trust_store_file(data_dir, config)
    department = _department_of(data_dir, config, source)
    try:
        key = load_public_key(public_key)
    except (ValueError, TypeError):
        raise _fail(DepartmentKeyError(f"{public_key}: not an Ed25519 public key")) from None
    key_id = _register_key(
        store, name, key, department=department, sources=source, branch=branch, replace=replace
    )
    typer.echo(
        f"trusted {name} ({key_id}) for {department}, {source}"
        + (f", branch {branch}" if branch else "")
    )


def untrust_command(
    name: Annotated[str, typer.Argument(help="the key's name in the trust store")],
    data_dir: DataDir = Path("data"),
    config: ConfigOpt = None,
) -> None:
    """Remove a key from the trust store (its exports are refused from now on)."""
    from connectors.trust_store import TrustStoreError, remove_trusted_key

    store = _trust_store_file(data_dir, config)
    try:
        removed = remove_trusted_key(store, name)
    except TrustStoreError as exc:
        raise _fail(exc) from None
    if not removed:
        raise _fail(DepartmentKeyError(f"no key named {name!r} in {store}"))
    typer.echo(f"removed {name} from {store}")


def trusted_command(data_dir: DataDir = Path("data"), config: ConfigOpt = None) -> None:
    """List the trusted keys: name, fingerprint, department, sources, branch."""
    from connectors.trust_store import FileTrustStore, TrustStoreError

    store = _trust_store_file(data_dir, config)
    try:
        keys = FileTrustStore(store).keys
    except TrustStoreError as exc:
        raise _fail(exc) from None
    for key in keys:
        branch = f" branch {key.branch}" if key.branch else ""
        typer.echo(f"{key.name}\t{key.key_id}\t{key.department}\t{','.join(key.sources)}{branch}")
    typer.echo(f"{len(keys)} keys in {store}")


def sign_export_file(
    file: Path,
    key_path: Path,
    *,
    source: str,
    config: Path | None = None,
    branch: str | None = None,
    sequence: int | None = None,
    exported_at: datetime | None = None,
    rows: int | None = None,
    department: str | None = None,
) -> Path:
    """Sign export ``file`` for ``source`` with the private key at ``key_path`` (owner-only);
    writes and returns ``<file>.manifest.json``.

    The department, and for a source signed per branch the branch (from the file name),
    come from the configuration; the rows are counted with the source's own reader
    unless given. ``exported_at`` defaults to now; ``sequence`` to the export time in
    milliseconds since 1970, so each later export of the file is newer.
    """
    from connectors import ExtractContext, SourceError, connector_for
    from connectors.export_manifest import check_export, sign_export
    from connectors.trust_store import MappingTrustStore, trust_entry
    from islandbridge.config import load_config

    try:
        mode = stat.S_IMODE(key_path.stat().st_mode)
    except OSError as exc:
        raise DepartmentKeyError(f"{key_path}: cannot read key ({exc.strerror})") from None
    if mode & 0o077:
        raise DepartmentKeyError(
            f"{key_path}: readable by others (mode {mode:o}); chmod 600 it first"
        )
    try:
        private = load_private_key(key_path)
    except (ValueError, TypeError):
        raise DepartmentKeyError(f"{key_path}: not an Ed25519 private key") from None
    pipeline, _ = load_config(config)
    spec = next((s for s in pipeline.sources if s.name == source), None)
    if spec is None and (department is None or rows is None):
        raise DepartmentKeyError(
            f"source {source!r} is not in the configuration: give --department and --rows"
        )
    if spec is not None:
        if department not in (None, spec.department):
            raise DepartmentKeyError(f"source {source!r} belongs to department {spec.department}")
        department = spec.department
        named = spec.signed_branch(file.name)
        if branch not in (None, named):
            raise DepartmentKeyError(f"{file.name} is a file of branch {named}, not {branch}")
        if spec.signature.branch_field is None and branch is not None:
            raise DepartmentKeyError(f"source {source!r} is not signed per branch")
        branch = named
        if rows is None:
            reader = connector_for(spec, ExtractContext(sources_dir=file.parent))
            try:
                rows = sum(len(frame) for frame in reader.records_of(file.name))
            except SourceError as exc:
                raise DepartmentKeyError(
                    f"{file.name}: cannot be read to count its records ({exc.problem}); give --rows"
                ) from None
    assert department is not None and rows is not None
    when = (exported_at or datetime.now(UTC)).astimezone(UTC)
    written = sign_export(
        private,
        file,
        department=department,
        source=source,
        rows=rows,
        exported_at=when,
        sequence=sequence if sequence is not None else int(when.timestamp() * 1000),
        branch=branch,
    )
    own = MappingTrustStore(
        [
            trust_entry(
                "self", private.public_key(), department=department, sources=[source], branch=branch
            )
        ]
    )
    check = check_export(file, source=source, department=department, trust=own, branch=branch)
    if not check.ok:  # pragma: no cover - a manifest we just wrote
        raise DepartmentKeyError(f"{file.name}: the manifest does not verify ({check.detail})")
    return written


def sign_command(
    file: Annotated[Path, typer.Argument(help="the export to sign", exists=True, dir_okay=False)],
    key: Annotated[
        Path, typer.Option("--key", help="the department's private key (PEM, mode 600)")
    ],
    source: Annotated[str, typer.Option("--source", help="the source this export is for")],
    branch: Annotated[
        str | None, typer.Option("--branch", help="a branch secretary's branch (checked)")
    ] = None,
    sequence: Annotated[
        int | None,
        typer.Option(help="this export's number, above every earlier one (default: the time)"),
    ] = None,
    exported_at: Annotated[
        datetime | None, typer.Option("--exported-at", help="when it was exported (default: now)")
    ] = None,
    rows: Annotated[
        int | None, typer.Option(help="its number of records (default: counted)")
    ] = None,
    department: Annotated[
        str | None, typer.Option(help="for a source not in the configuration")
    ] = None,
    config: ConfigOpt = None,
) -> None:
    """Sign an export with a department's Ed25519 key: writes FILE.manifest.json."""
    if exported_at is not None and exported_at.tzinfo is None:
        exported_at = exported_at.replace(tzinfo=UTC)
    try:
        written = sign_export_file(
            file,
            key,
            source=source,
            config=config,
            branch=branch,
            sequence=sequence,
            exported_at=exported_at,
            rows=rows,
            department=department,
        )
    except DepartmentKeyError as exc:
        raise _fail(exc) from None
    typer.echo(
        f"signed {file} → {written} (key {public_key_id(load_private_key(key).public_key())})"
    )
