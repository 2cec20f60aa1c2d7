"""Signed export manifests: what a department vouches for when it hands over a file.

A department signs, with its Ed25519 key, a small manifest of each export and puts it
beside the file as ``<file>.manifest.json``::

    {"format": "islandbridge-export-manifest/1",
     "department": "finance", "source": "finance_dues", "branch": null,
     "file": "finance_dues.csv", "sha256": "…", "bytes": 48211, "rows": 1200,
     "exported_at": "2026-06-30T18:00:00+08:00", "sequence": 7,
     "key_id": "ed25519:…", "signature": "<base64 Ed25519 over the canonical JSON of the rest>"}

:func:`check_export` accepts an export only if the manifest's signature verifies under
a key the trust store holds for that source (and branch), the manifest names this very
file, source, department and branch, and the file's size and SHA-256 are the signed
ones. So a file altered in transit, a sheet copied under another branch's name with
its manifest, or an export signed by another department's (or another branch's) key
is refused, each with its own reason. Whether the export is newer than the last one
accepted is :mod:`connectors.export_sequences`' check; whether it holds the signed
number of rows, the reader's.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from dataclasses import asdict, dataclass, fields
from datetime import datetime
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from connectors.signatures import SignatureVerdict, public_key_id
from connectors.trust_store import TrustStore

__all__ = [
    "MANIFEST_FORMAT",
    "MANIFEST_SUFFIX",
    "ExportManifest",
    "ManifestCheck",
    "ManifestError",
    "check_export",
    "is_companion",
    "manifest_path",
    "read_manifest",
    "sha256_file",
    "sign_export",
    "sign_manifest",
    "write_manifest",
]

MANIFEST_FORMAT = "islandbridge-export-manifest/1"
MANIFEST_SUFFIX = ".manifest.json"
LEGACY_SUFFIX = ".sig"
_MAX_BYTES = 64 << 10
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


class ManifestError(ValueError):
    """A manifest cannot be read or made (the message names the problem, never a value)."""

    @property
    def problem(self) -> str:
        """The problem in this module's own words (safe for messages and logs)."""
        return str(self.args[0]) if self.args else "manifest unreadable"


@dataclass(frozen=True, slots=True)
class ExportManifest:
    """The signed statement about one export file."""

    department: str
    source: str
    file: str
    sha256: str
    bytes: int
    rows: int
    exported_at: str
    sequence: int
    branch: str | None
    key_id: str
    signature: str = ""

    def body(self) -> dict[str, Any]:
        """Every signed field (all but the signature), with the format tag."""
        # its fields are scalars: read directly (``asdict`` deep-copies, per file of a source)
        return {"format": MANIFEST_FORMAT, **{f: getattr(self, f) for f in _SIGNED_FIELDS}}

    def payload(self) -> bytes:
        """The bytes the signature covers: canonical JSON of :meth:`body`."""
        return json.dumps(
            self.body(), sort_keys=True, separators=(",", ":"), ensure_ascii=True
        ).encode("ascii")

    @property
    def digest(self) -> str:
        """SHA-256 of the signed payload: identifies this very manifest."""
        return hashlib.sha256(self.payload()).hexdigest()

    @property
    def exported(self) -> datetime:
        return datetime.fromisoformat(self.exported_at)


#: the fields the signature covers (all but the signature itself)
_SIGNED_FIELDS = tuple(f.name for f in fields(ExportManifest) if f.name != "signature")


@dataclass(frozen=True, slots=True)
class ManifestCheck:
    """The verdict on an export; ``detail`` says why (no value of the file, safe to log)."""

    verdict: SignatureVerdict
    manifest: ExportManifest | None = None
    detail: str = ""

    @property
    def ok(self) -> bool:
        return self.verdict is SignatureVerdict.VALID


def manifest_path(path: Path) -> Path:
    """Where the manifest of export ``path`` lies: ``<file>.manifest.json`` beside it."""
    return path.with_name(path.name + MANIFEST_SUFFIX)


def is_companion(name: str) -> bool:
    """True for a manifest or a legacy detached signature (not an export itself)."""
    return name.endswith((MANIFEST_SUFFIX, LEGACY_SUFFIX))


def sha256_file(path: Path) -> tuple[str, int]:
    """SHA-256 (hex) and size of a file, read in blocks."""
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
            size += len(block)
    return digest.hexdigest(), size


def _timestamp(value: datetime | str) -> str:
    stamp = datetime.fromisoformat(value) if isinstance(value, str) else value
    if stamp.tzinfo is None:
        raise ManifestError("exported_at must carry a time zone")
    return stamp.isoformat(timespec="seconds")


def sign_manifest(
    key: Ed25519PrivateKey,
    *,
    department: str,
    source: str,
    file_name: str,
    sha256: str,
    size: int,
    rows: int,
    exported_at: datetime | str,
    sequence: int,
    branch: str | None = None,
) -> ExportManifest:
    """The signed manifest of an export whose digest and size are known."""
    if not _SHA256.fullmatch(sha256):
        raise ManifestError("sha256 must be 64 lower-case hex digits")
    if rows < 0 or size < 0 or sequence < 0:
        raise ManifestError("rows, bytes and sequence cannot be negative")
    unsigned = ExportManifest(
        department=department,
        source=source,
        file=file_name,
        sha256=sha256,
        bytes=int(size),
        rows=int(rows),
        exported_at=_timestamp(exported_at),
        sequence=int(sequence),
        branch=branch,
        key_id=public_key_id(key.public_key()),
    )
    signature = base64.b64encode(key.sign(unsigned.payload())).decode("ascii")
    return ExportManifest(**{**asdict(unsigned), "signature": signature})


def write_manifest(manifest: ExportManifest, path: Path) -> Path:
    """Write ``manifest`` to ``path`` (temp file + rename); returns ``path``."""
    document = {**manifest.body(), "signature": manifest.signature}
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(document, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    tmp.replace(path)
    return path


def sign_export(
    key: Ed25519PrivateKey,
    path: Path,
    *,
    department: str,
    source: str,
    rows: int,
    exported_at: datetime | str,
    sequence: int,
    branch: str | None = None,
) -> Path:
    """Sign export ``path``: write ``<file>.manifest.json`` beside it; returns its path."""
    digest, size = sha256_file(path)
    manifest = sign_manifest(
        key,
        department=department,
        source=source,
        file_name=path.name,
        sha256=digest,
        size=size,
        rows=rows,
        exported_at=exported_at,
        sequence=sequence,
        branch=branch,
    )
    return write_manifest(manifest, manifest_path(path))


_FIELDS: dict[str, tuple[type, ...]] = {
    "format": (str,),
    "department": (str,),
    "source": (str,),
    "file": (str,),
    "sha256": (str,),
    "bytes": (int,),
    "rows": (int,),
    "exported_at": (str,),
    "sequence": (int,),
    "branch": (str, type(None)),
    "key_id": (str,),
    "signature": (str,),
}


def read_manifest(path: Path) -> ExportManifest:
    """Parse a manifest file strictly (exactly its fields, each of its type)."""
    data = path.read_bytes()[: _MAX_BYTES + 1]
    if len(data) > _MAX_BYTES:
        raise ManifestError("manifest is too large")
    try:
        raw = json.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ManifestError(f"manifest is not JSON ({type(exc).__name__})") from None
    if not isinstance(raw, dict) or set(raw) != set(_FIELDS):
        raise ManifestError("manifest does not hold exactly the manifest fields")
    for name, types in _FIELDS.items():
        value = raw[name]
        if not isinstance(value, types) or (int in types and isinstance(value, bool)):
            raise ManifestError(f"manifest field {name} has the wrong type")
    if raw.pop("format") != MANIFEST_FORMAT:
        raise ManifestError(f"manifest is not {MANIFEST_FORMAT}")
    manifest = ExportManifest(**raw)
    try:
        _timestamp(manifest.exported_at)
    except ValueError:
        raise ManifestError("manifest exported_at is not a time with a time zone") from None
    if not _SHA256.fullmatch(manifest.sha256) or min(manifest.bytes, manifest.rows) < 0:
        raise ManifestError("manifest sha256, bytes or rows malformed")
    return manifest


def _verify_signature(manifest: ExportManifest, public_key: Any) -> bool:
    try:
        public_key.verify(base64.b64decode(manifest.signature, validate=True), manifest.payload())
    except (InvalidSignature, binascii.Error, ValueError):
        return False
    return True


def check_export(
    path: Path,
    *,
    source: str,
    department: str,
    trust: TrustStore,
    branch: str | None = None,
) -> ManifestCheck:
    """Check export ``path`` against its signed manifest (never raises for bad input).

    ``branch``: the branch the file's name gives, for a source whose exports are signed
    per branch (None otherwise): the manifest must name it, and its key must be that
    branch's own.
    """
    where = manifest_path(path)
    v = SignatureVerdict
    if not where.exists() and not where.is_symlink():
        if path.with_name(path.name + LEGACY_SUFFIX).exists():
            return ManifestCheck(
                v.LEGACY, detail="only a detached .sig, which binds neither name nor time"
            )
        return ManifestCheck(v.MISSING, detail="no signed manifest beside the file")
    if where.is_symlink() or not where.is_file():
        return ManifestCheck(v.INVALID, detail="the manifest is not a regular file")
    try:
        manifest = read_manifest(where)
    except (ManifestError, OSError) as exc:
        problem = exc.problem if isinstance(exc, ManifestError) else type(exc).__name__
        return ManifestCheck(v.INVALID, detail=f"unreadable manifest: {problem}")
    key = trust.key(source, manifest.key_id)
    if key is None:
        return ManifestCheck(
            v.UNTRUSTED,
            manifest,
            f"signed by key {manifest.key_id}, which {trust.describe()} does not hold for "
            f"source {source}",
        )
    if not _verify_signature(manifest, key.public_key):
        return ManifestCheck(v.INVALID, manifest, "the manifest's signature does not verify")
    for field, expected in (
        ("source", source),
        ("department", department),
        ("file", path.name),
        ("branch", branch),
    ):
        if getattr(manifest, field) != expected:
            return ManifestCheck(v.MISMATCH, manifest, f"the manifest names another {field}")
    if key.department != department:
        return ManifestCheck(v.UNTRUSTED, manifest, "the key is another department's")
    if key.branch != branch:
        if key.branch and branch:
            whose = "another branch's key"
        elif key.branch:
            whose = "a branch secretary's key, and this source is not signed per branch"
        else:
            whose = "not a branch secretary's key, and this source is signed per branch"
        return ManifestCheck(v.UNTRUSTED, manifest, f"the key is {whose}")
    try:
        digest, size = sha256_file(path)
    except OSError as exc:
        return ManifestCheck(v.INVALID, manifest, f"the file cannot be read ({type(exc).__name__})")
    if (digest, size) != (manifest.sha256, manifest.bytes):
        return ManifestCheck(v.INVALID, manifest, "the file's content is not what was signed")
    return ManifestCheck(v.VALID, manifest)
