"""Handing in an export: checks, signing in the browser, queueing for intake, status.

An upload is stored in the portal's owner-only ``uploads/<id>/`` folder (the id is
random: no name or value of the export is in a URL), judged (:mod:`.checks`), and when
every check passes moved atomically (``os.replace`` within the data folder) into the
source's intake inbox with its signed manifest, then the intake run is triggered
(:mod:`.triggers`). Its status then follows the run: ``received`` → ``checked``
(queued) → ``validated`` → ``published`` or ``refused`` (:mod:`.results`).
"""

from __future__ import annotations

import base64
import binascii
import fcntl
import json
import logging
import os
import shutil
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from connectors.export_manifest import (
    ExportManifest,
    ManifestCheck,
    check_export,
    manifest_path,
    sha256_file,
    write_manifest,
)
from connectors.file_names import display_name
from connectors.signatures import SignatureVerdict, public_key_id
from connectors.specs import SourceConfig
from islandbridge.context import RunContext
from islandbridge.portal.accounts import Account
from islandbridge.portal.checks import (
    Check,
    content_type_problem,
    file_checks,
    name_checks,
    replay_problem,
)
from islandbridge.portal.receive import FILE_FIELDS, Received, UploadRefused
from islandbridge.portal.results import find_outcome
from islandbridge.portal.settings import PortalSettings
from islandbridge.portal.store import PortalStore, now, uploads
from islandbridge.portal.triggers import TriggerError, trigger_for
from islandbridge.run_layout import DataLayout

__all__ = ["SigningError", "UploadService"]

log = logging.getLogger(__name__)
_DRAFT = "draft.json"


class SigningError(ValueError):
    """A browser signature cannot be taken (reason code)."""


class UploadService:
    def __init__(self, settings: PortalSettings, store: PortalStore) -> None:
        self.settings = settings
        self.store = store
        self.data = DataLayout(settings.data_dir)

    # -- installation -----------------------------------------------------------------------

    def context(self) -> RunContext:
        return RunContext(
            self.settings.data_dir, self.settings.config, "portal", datetime.now(UTC).date()
        )

    def sources_for(self, account: Account) -> list[SourceConfig]:
        """The file sources an account may hand in (its department's; none for a steward)."""
        if account.is_steward:
            return []
        return [
            s
            for s in self.context().config.sources
            if s.connector == "file"
            and s.department == account.department
            and (account.role == "department" or s.signature.branch_field is not None)
        ]

    def folder(self, upload_id: str) -> Path:
        root = self.settings.portal_dir / "uploads"
        root.mkdir(parents=True, exist_ok=True, mode=0o700)
        return root / upload_id

    # -- records ----------------------------------------------------------------------------

    def get(self, upload_id: str) -> dict[str, Any] | None:
        if not upload_id.replace("-", "").replace("_", "").isalnum() or len(upload_id) > 32:
            return None
        return self.store.one(sa.select(uploads).where(uploads.c.id == upload_id))

    def visible(self, account: Account, limit: int = 200) -> list[dict[str, Any]]:
        """The uploads an account may see, newest first."""
        query = sa.select(uploads).order_by(uploads.c.created_at.desc()).limit(limit)
        if not account.is_steward:
            query = query.where(uploads.c.department == account.department)
            if account.role == "branch_secretary":
                query = query.where(uploads.c.branch == account.branch)
        return self.store.all(query)

    def _update(self, upload_id: str, **values: Any) -> dict[str, Any]:
        self.store.run(
            uploads.update().where(uploads.c.id == upload_id).values(updated_at=now(), **values)
        )
        row = self.get(upload_id)
        assert row is not None
        return row

    def _record(self, account: Account, upload_id: str, spec: SourceConfig, name: str) -> None:
        stamp = now()
        self.store.run(
            uploads.insert().values(
                id=upload_id,
                account_id=account.id,
                department=spec.department,
                source=spec.name,
                branch=spec.signed_branch(name) if account.role != "steward" else None,
                file_name=display_name(name),
                status="received",
                checks=[],
                queued=False,
                created_at=stamp,
                updated_at=stamp,
            )
        )

    # -- handing in -------------------------------------------------------------------------

    def sweep_unsigned(self, older_than: timedelta = timedelta(hours=24)) -> int:
        """Refuse (and delete) uploads left awaiting a browser signature; how many."""
        stale = self.store.all(
            sa.select(uploads.c.id, uploads.c.checks).where(
                uploads.c.status == "awaiting_signature", uploads.c.updated_at < now() - older_than
            )
        )
        for row in stale:
            checks = [Check(**c) for c in row["checks"]]
            self._refuse(
                row["id"], [*checks, Check("signature", False, "never signed")], "unsigned"
            )
        return len(stale)

    def accept(self, account: Account, upload_id: str, received: Received) -> dict[str, Any]:
        """Judge a received upload; queue it when every check passes; its record."""
        self.sweep_unsigned()
        folder = self.folder(upload_id)
        spec = {s.name: s for s in self.sources_for(account)}.get(received.fields.get("source", ""))
        export = received.files.get("export")
        if spec is None or export is None:
            shutil.rmtree(folder, ignore_errors=True)
            raise UploadRefused(400, "unknown_source" if spec is None else "no_export")
        trust, trust_problem = self._trust()
        branches = set(trust.branches(spec.name)) if trust is not None else set()
        name = export.client_name
        checks = [
            name_checks(
                name,
                spec,
                account_branch=account.branch if account.role == "branch_secretary" else None,
                trusted_branches=branches,
            )
        ]
        safe = checks[0].ok
        self._record(account, upload_id, spec, name if safe else "?")
        if not safe:  # a hostile name never becomes a path
            shutil.rmtree(folder, ignore_errors=True)
            log.warning("portal upload %s refused: %s", upload_id, checks[0].detail)
            return self._refuse(upload_id, checks, checks[0].detail)
        assert spec.file is not None
        kinds = {"export": spec.file.format, "manifest": "manifest"}
        for field, part in received.files.items():
            with part.path.open("rb") as handle:
                problem = content_type_problem(part.content_type, handle.read(8192), kinds[field])
            if problem is not None:
                checks.append(Check("content_type", False, f"{field}: {problem}"))
                shutil.rmtree(folder, ignore_errors=True)
                log.warning("portal upload %s refused: wrong content type", upload_id)
                return self._refuse(upload_id, checks, "wrong_content_type")
        checks.append(Check("content_type", True, spec.file.format))
        path = folder / name
        (folder / FILE_FIELDS["export"]).replace(path)
        if "manifest" in received.files:
            (folder / FILE_FIELDS["manifest"]).replace(manifest_path(path))
        digest, size = sha256_file(path)
        self._update(upload_id, sha256=digest, bytes=size)
        found, rows = file_checks(path, spec)
        checks += found
        self._update(upload_id, rows=rows, checks=[c.to_json() for c in checks])
        if rows is None:
            checks.append(Check("signature", None))
            failed = next(c for c in found if c.ok is False)
            return self._refuse(upload_id, checks, f"{failed.code}_failed")
        if "manifest" not in received.files:
            if received.fields.get("sign") == "browser":
                return self._update(
                    upload_id, status="awaiting_signature", checks=[c.to_json() for c in checks]
                )
            checks.append(Check("signature", False, "no signed manifest beside the file"))
            return self._refuse(upload_id, checks, SignatureVerdict.MISSING.value)
        return self._judge_signature(upload_id, spec, path, checks, rows, trust, trust_problem)

    def _trust(self):
        from islandbridge.secrets import SecretError
        from islandbridge.trust import check_trust_store

        try:
            return check_trust_store(self.context()), ""
        except SecretError:
            log.error("portal: the trust store cannot be used; uploads are refused")
            return None, "the trust store cannot be used (the stewards are told)"

    def _judge_signature(
        self,
        upload_id: str,
        spec: SourceConfig,
        path: Path,
        checks: list[Check],
        rows: int,
        trust,
        trust_problem: str,
    ) -> dict[str, Any]:
        if not spec.signature.required:
            checks.append(Check("signature", True, SignatureVerdict.NOT_REQUIRED.value))
            return self._queue(upload_id, spec, path, checks, None)
        if trust is None:
            checks.append(Check("signature", False, trust_problem))
            return self._refuse(upload_id, checks, "trust_store_unavailable")
        check = check_export(
            path,
            source=spec.name,
            department=spec.department,
            trust=trust,
            branch=spec.signed_branch(path.name),
        )
        manifest = check.manifest
        if check.ok and manifest is not None and manifest.rows != rows:
            check = ManifestCheck(
                SignatureVerdict.MISMATCH,
                manifest,
                f"{rows} records read, the signed manifest says {manifest.rows}",
            )
        if check.ok and manifest is not None:
            seen = self.store.one(
                sa.select(uploads.c.id).where(uploads.c.manifest_digest == manifest.digest)
            )
            from islandbridge.trust import export_sequences

            last = export_sequences(self.context()).last(spec.name, manifest.file)
            replayed = replay_problem(
                manifest.digest, manifest.sequence, manifest.exported_at, last, seen is not None
            )
            if replayed is not None:
                check = ManifestCheck(SignatureVerdict.REPLAYED, manifest, replayed)
        checks.append(Check("signature", check.ok, check.detail or check.verdict.value))
        key_id = manifest.key_id if manifest is not None else None
        self._update(upload_id, verdict=check.verdict.value, key_id=key_id)
        if not check.ok:
            log.warning("portal upload %s refused: %s", upload_id, check.verdict.value)
            return self._refuse(upload_id, checks, check.verdict.value)
        assert manifest is not None
        try:
            self._update(upload_id, manifest_digest=manifest.digest)
        except sa.exc.IntegrityError:  # the same manifest handed in at the same moment
            checks[-1] = Check("signature", False, "this signed manifest was handed in before")
            return self._refuse(upload_id, checks, SignatureVerdict.REPLAYED.value)
        return self._queue(upload_id, spec, path, checks, manifest)

    def _refuse(self, upload_id: str, checks: list[Check], reason: str) -> dict[str, Any]:
        """Record the refusal; the refused files are deleted at once (the record keeps the
        checksum, checks and verdict; the department still has its file)."""
        shutil.rmtree(self.folder(upload_id), ignore_errors=True)
        return self._update(
            upload_id, status="refused", reason=reason[:60], checks=[c.to_json() for c in checks]
        )

    @contextmanager
    def _source_lock(self, source: str):
        lock = self.settings.portal_dir / f"queue-{source}.lock"
        fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    def _queue(
        self,
        upload_id: str,
        spec: SourceConfig,
        path: Path,
        checks: list[Check],
        manifest: ExportManifest | None,
    ) -> dict[str, Any]:
        """Move the export (and its manifest) into the inbox, then trigger the intake run."""
        companion = manifest_path(path)
        with self._source_lock(spec.name):
            inbox = self.data.inbox(spec.name)
            target = inbox / path.name
            if target.exists() or manifest_path(target).exists():
                checks.append(Check("queue", False, "an earlier export of this file waits"))
                return self._refuse(upload_id, checks, "queue_busy")
            if companion.exists():  # the manifest first: an export alone would be refused
                companion.replace(manifest_path(target))
            path.replace(target)
        checks.append(Check("queue", True, spec.name))
        self._update(upload_id, status="checked", queued=True, checks=[c.to_json() for c in checks])
        try:
            done = trigger_for(self.settings).fire(spec.name, upload_id)
        except TriggerError as exc:
            log.warning("portal upload %s queued; the trigger failed: %s", upload_id, exc)
            done = f"trigger failed: {exc}"
        log.info("portal upload %s queued for %s (%s)", upload_id, spec.name, done)
        return self._update(upload_id, trigger=done[:200])

    # -- signing in the browser -------------------------------------------------------------

    def draft(self, account: Account, upload: dict[str, Any], public_key: str) -> dict[str, Any]:
        """The manifest body for the browser to sign with the key whose public half is
        ``public_key`` (raw Ed25519, base64url); the key must be trusted for the source."""
        spec = self._spec_of(account, upload)
        try:
            raw = base64.urlsafe_b64decode(public_key + "=" * (-len(public_key) % 4))
            key = Ed25519PublicKey.from_public_bytes(raw)
        except (ValueError, binascii.Error):
            raise SigningError("not_an_ed25519_key") from None
        trust, _ = self._trust()
        key_id = public_key_id(key)
        if trust is None or trust.key(spec.name, key_id) is None:
            raise SigningError(SignatureVerdict.UNTRUSTED.value)
        stamp = datetime.now(UTC)
        manifest = ExportManifest(
            department=spec.department,
            source=spec.name,
            file=upload["file_name"],
            sha256=upload["sha256"],
            bytes=int(upload["bytes"]),
            rows=int(upload["rows"]),
            exported_at=stamp.isoformat(timespec="seconds"),
            sequence=int(stamp.timestamp() * 1000),
            branch=spec.signed_branch(upload["file_name"]),
            key_id=key_id,
        )
        draft = self.folder(upload["id"]) / _DRAFT
        draft.write_text(json.dumps(manifest.body()), encoding="utf-8")
        return {"payload": manifest.payload().decode("ascii"), "sha256": manifest.sha256}

    def sign(self, account: Account, upload: dict[str, Any], signature: str) -> dict[str, Any]:
        """Complete a browser signature: write the manifest beside the export and judge it."""
        spec = self._spec_of(account, upload)
        folder = self.folder(upload["id"])
        try:
            body = json.loads((folder / _DRAFT).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            raise SigningError("no_draft") from None
        body.pop("format", None)
        manifest = ExportManifest(**body, signature=signature[:200])
        path = folder / upload["file_name"]
        write_manifest(manifest, manifest_path(path))
        (folder / _DRAFT).unlink()
        checks = [Check(**c) for c in upload["checks"]]
        trust, problem = self._trust()
        return self._judge_signature(
            upload["id"], spec, path, checks, int(upload["rows"]), trust, problem
        )

    def _spec_of(self, account: Account, upload: dict[str, Any]) -> SourceConfig:
        if upload["status"] != "awaiting_signature" or upload["account_id"] != account.id:
            raise SigningError("not_awaiting_signature")
        spec = {s.name: s for s in self.sources_for(account)}.get(upload["source"])
        if spec is None:
            raise SigningError("unknown_source")
        return spec

    # -- after queueing ---------------------------------------------------------------------

    def refresh(self, upload: dict[str, Any]) -> dict[str, Any]:
        """Follow a queued upload into its intake run; its record, updated."""
        if not upload["queued"] or upload["status"] not in ("checked", "validated"):
            return upload
        outcome = find_outcome(self.data, upload["source"], upload["file_name"], upload["sha256"])
        if outcome.status == "checked" and not outcome.run_id:
            return upload
        values: dict[str, Any] = {"status": outcome.status, "run_id": outcome.run_id or None}
        if outcome.reason:
            values["reason"] = outcome.reason
        if outcome.rows_in is not None:
            values["rows_in"] = outcome.rows_in
        if outcome.status in ("published", "refused") and outcome.rows_in is not None:
            values["rejected_rows"] = self._rejected_rows(upload, outcome.run_id)
        return self._update(upload["id"], **values)

    def _rejected_rows(self, upload: dict[str, Any], run_id: str) -> int:
        from islandbridge.portal.results import feedback_files, read_rejects

        spec = self.context().config.source(upload["source"])
        files = feedback_files(self.data, spec, run_id, upload["branch"])
        frame = read_rejects(files["csv"], spec.encoding_for_feedback)
        return 0 if frame is None else len(frame)
