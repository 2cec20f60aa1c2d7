"""Ed25519 keys and signatures, and the verdicts on a department's signed export.

Departments sign a manifest of each export (:mod:`connectors.export_manifest`), which
binds the file's name, content, source, department, branch, row count, export time
and sequence. ``sign_file``/``verify_file`` are the older *detached* signature over a
file's bytes alone (``<file>.sig``): kept for tools, but an export that carries only
one is refused (``signature_legacy``), since it binds neither the file's name nor when
it was exported.
"""

from __future__ import annotations

import base64
import hashlib
from enum import StrEnum
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

__all__ = [
    "SignatureVerdict",
    "load_private_key",
    "load_public_key",
    "private_key_pem",
    "public_key_id",
    "public_key_pem",
    "sign_bytes",
    "sign_file",
    "verify_file",
]


class SignatureVerdict(StrEnum):
    """What the check of an export's signature found (the refusal reason when not valid)."""

    VALID = "valid"
    NOT_REQUIRED = "not_required"
    #: no signed manifest beside the export
    MISSING = "signature_missing"
    #: the signature does not verify, the manifest is unreadable, or the file's content is
    #: not what was signed
    INVALID = "signature_invalid"
    #: signed by a key the trust store does not hold for this source (or branch)
    UNTRUSTED = "signature_untrusted"
    #: a valid manifest of another file name, source, department or branch
    MISMATCH = "signature_mismatch"
    #: a valid manifest whose sequence or export time is not newer than the last accepted
    REPLAYED = "signature_replayed"
    #: only a detached ``<file>.sig`` (binds the bytes, not the name, source or time)
    LEGACY = "signature_legacy"

    @property
    def refused(self) -> bool:
        return self not in (SignatureVerdict.VALID, SignatureVerdict.NOT_REQUIRED)


def private_key_pem(key: Ed25519PrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def public_key_pem(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def public_key_id(key: Ed25519PublicKey) -> str:
    """Short fingerprint of a public key: ``ed25519:`` + 16 hex of SHA-256 of its raw bytes."""
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return "ed25519:" + hashlib.sha256(raw).hexdigest()[:16]


def load_private_key(path: Path) -> Ed25519PrivateKey:
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError(f"{path}: not an Ed25519 private key")
    return key


def load_public_key(path: Path) -> Ed25519PublicKey:
    key = serialization.load_pem_public_key(path.read_bytes())
    if not isinstance(key, Ed25519PublicKey):
        raise ValueError(f"{path}: not an Ed25519 public key")
    return key


def sign_bytes(key: Ed25519PrivateKey, data: bytes) -> bytes:
    """Base64 text of the Ed25519 signature over ``data`` (deterministic)."""
    return base64.b64encode(key.sign(data)) + b"\n"


def sign_file(key: Ed25519PrivateKey, path: Path, signature_path: Path | None = None) -> Path:
    """Legacy detached signature (refused by intake and extraction): sign ``path``; write
    the signature next to it (``<name>.sig``) unless told where."""
    target = signature_path or path.with_name(path.name + ".sig")
    target.write_bytes(sign_bytes(key, path.read_bytes()))
    return target


def verify_file(
    public_key: Ed25519PublicKey, path: Path, signature_path: Path | None = None
) -> SignatureVerdict:
    """Check a legacy detached signature of ``path``: valid, missing or invalid (never raises
    for bad input)."""
    sig_path = signature_path or path.with_name(path.name + ".sig")
    if not sig_path.is_file():
        return SignatureVerdict.MISSING
    try:
        signature = base64.b64decode(sig_path.read_bytes().strip(), validate=True)
        public_key.verify(signature, path.read_bytes())
    except (InvalidSignature, ValueError):
        return SignatureVerdict.INVALID
    return SignatureVerdict.VALID
