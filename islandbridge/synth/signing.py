"""The synthetic departments sign their exports as real ones do with ``islandbridge sign``:
a signed manifest beside each file (:mod:`connectors.export_manifest`), one key per
department and one per branch secretary (whose manifests name their branch).

Keys are derived from the seed (same seed, same bytes) and written to the university's
``department_keys/`` folder — the departments' side, owner-only: ``<name>.key`` and
``<name>.pub`` per department, ``signins/<branch>.key|.pub`` per branch secretary — with
``signers.json``, which says which key signs for which department, source and branch.
The service does not read that folder: the demo copies the public keys into the
installation's trust store (:func:`islandbridge.demo.ensure_demo_secrets`).
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from connectors.export_manifest import manifest_path, sign_manifest, write_manifest
from connectors.signatures import private_key_pem, public_key_pem

__all__ = [
    "BRANCH_SIGNER",
    "SIGNERS",
    "SIGNERS_FILE",
    "department_key",
    "exported_at",
    "sign_branch_sheet",
    "sign_department_exports",
]

#: key name → (department, source) as the demo configuration names them
SIGNERS: dict[str, tuple[str, str]] = {
    "hr_staff": ("hr_staff", "hr_roster"),
    "finance_dues": ("finance", "finance_dues"),
    "learning": ("learning_platform", "learning_platform"),
}
#: the branch secretaries' department and source; each branch signs with its own key
BRANCH_SIGNER: tuple[str, str] = ("branch_secretaries", "branch_signins")
SIGNERS_FILE = "signers.json"
#: every synthetic export is the first of its stream
SEQUENCE = 1
_CST = timezone(timedelta(hours=8))


def department_key(seed: int, name: str) -> Ed25519PrivateKey:
    """The synthetic signer's Ed25519 key, derived from the seed."""
    return Ed25519PrivateKey.from_private_bytes(hashlib.sha256(f"{seed}:{name}".encode()).digest())


def exported_at(as_of: date) -> datetime:
    """When the synthetic departments exported: the reference date, 18:00 China time."""
    return datetime.combine(as_of, time(18, 0), tzinfo=_CST)


def _write_pair(folder: Path, name: str, key: Ed25519PrivateKey) -> None:
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    path = folder / f"{name}.key"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(private_key_pem(key))
    path.chmod(0o600)
    (folder / f"{name}.pub").write_bytes(public_key_pem(key.public_key()))


def sign_branch_sheet(key_dir: Path, seed: int, as_of: date) -> Callable[[Path, bytes, int], None]:
    """A function that signs one branch's sheet (its code is the file's stem) from memory."""

    def sign(path: Path, data: bytes, rows: int) -> None:
        code = path.stem
        key = department_key(seed, f"signins/{code}")
        _write_pair(key_dir / "signins", code, key)
        department, source = BRANCH_SIGNER
        manifest = sign_manifest(
            key,
            department=department,
            source=source,
            file_name=path.name,
            sha256=hashlib.sha256(data).hexdigest(),
            size=len(data),
            rows=rows,
            exported_at=exported_at(as_of),
            sequence=SEQUENCE,
            branch=code,
        )
        write_manifest(manifest, manifest_path(path))

    return sign


def sign_department_exports(
    out: Path, seed: int, as_of: date, exports: dict[str, str], rows: dict[str, int]
) -> None:
    """Sign every department's exports (``exports``: key name → glob under ``sources/``;
    ``rows``: file → records) and write ``signers.json`` (branch keys included)."""
    from connectors.export_manifest import sign_export

    src, key_dir = out / "sources", out / "department_keys"
    signers = []
    for name, (department, source) in SIGNERS.items():
        key = department_key(seed, name)
        _write_pair(key_dir, name, key)
        entry = {"department": department, "sources": [source], "branch": None}
        signers.append({"name": name, **entry, "public_key": f"{name}.pub"})
        for path in sorted(src.glob(exports[name])):
            rel = path.relative_to(src).as_posix()
            sign_export(
                key,
                path,
                department=department,
                source=source,
                rows=rows[rel],
                exported_at=exported_at(as_of),
                sequence=SEQUENCE,
            )
    department, source = BRANCH_SIGNER
    for pub in sorted((key_dir / "signins").glob("*.pub")):
        signers.append(
            {
                "name": f"signins:{pub.stem}",
                "department": department,
                "sources": [source],
                "branch": pub.stem,
                "public_key": f"signins/{pub.name}",
            }
        )
    (key_dir / SIGNERS_FILE).write_text(json.dumps(signers, indent=1) + "\n", encoding="utf-8")
