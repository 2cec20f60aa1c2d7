"""Ed25519 signatures over department exports.

A department signs the exact bytes of an export; the signature sits beside it
as ``<file>.sig`` (base64 text) or in a ``signatures/`` folder. The service
verifies with the department's registered public key before anything of the
file is read.
"""

from __future__ import annotations

import base64
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
    "public_key_pem",
    "sign_bytes",
    "sign_file",
    "verify_file",
]


class SignatureVerdict(StrEnum):
    VALID = "valid"
    MISSING = "signature_missing"
    INVALID = "signature_invalid"
    NOT_REQUIRED = "not_required"


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
    """Sign ``path``; write the signature next to it (``<name>.sig``) unless told where."""
    target = signature_path or path.with_name(path.name + ".sig")
    target.write_bytes(sign_bytes(key, path.read_bytes()))
    return target


def verify_file(
    public_key: Ed25519PublicKey, path: Path, signature_path: Path | None = None
) -> SignatureVerdict:
    """Check the signature of ``path``: valid, missing or invalid (never raises for bad input)."""
    sig_path = signature_path or path.with_name(path.name + ".sig")
    if not sig_path.is_file():
        return SignatureVerdict.MISSING
    try:
        signature = base64.b64decode(sig_path.read_bytes().strip(), validate=True)
        public_key.verify(signature, path.read_bytes())
    except (InvalidSignature, ValueError):
        return SignatureVerdict.INVALID
    return SignatureVerdict.VALID
