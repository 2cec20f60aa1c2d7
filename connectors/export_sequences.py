"""The last accepted export of each source and file: replayed exports are refused.

A signed export stays valid forever, so an old one could be sent again (or put back
into the sources folder) to roll a department's data back. Each accepted manifest's
``sequence`` and ``exported_at`` are therefore kept per source and file name, and an
export is accepted only if both are newer than the last accepted — or it is that very
export again (the same signed manifest, read by a later run or a retry). The state is
one small owner-only JSON file per source (its path given by the caller: the run
contract spells it), changed under an exclusive lock, written to a temporary name and
renamed.
"""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from connectors.export_manifest import ExportManifest

__all__ = ["ExportSequenceError", "ExportSequenceStore"]


class ExportSequenceError(RuntimeError):
    """The state of accepted exports cannot be read or written (fail closed)."""

    @property
    def problem(self) -> str:
        """The problem in this module's own words: the state file and the error's type."""
        return str(self.args[0]) if self.args else "the record of accepted exports is unusable"


class ExportSequenceStore:
    """Per source: ``{file: {sequence, exported_at, manifest_sha256, accepted_at}}``."""

    def __init__(self, path_for: Callable[[str], Path]) -> None:
        self._path_for = path_for

    def last(self, source: str, file_name: str) -> dict[str, Any] | None:
        """The last accepted export of ``file_name`` of ``source``, if any."""
        return self._read(self._path_for(source)).get(file_name)

    def accept(self, source: str, manifest: ExportManifest) -> str | None:
        """Record ``manifest`` as the last accepted export of its file, unless it is not
        newer than the one accepted before; returns why it was refused, or None."""
        return self.accept_many(source, [manifest])[0]

    def accept_many(self, source: str, manifests: list[ExportManifest]) -> list[str | None]:
        """:meth:`accept` for each of ``manifests`` in turn (a later one is checked against
        what an earlier one recorded), under one lock with one read and one write of the
        state: a source of many signed files costs its number of files, not its square."""
        if not manifests:
            return []
        path = self._path_for(source)
        with self._locked(path):
            state = self._read(path)
            problems: list[str | None] = []
            changed = False
            for manifest in manifests:
                last = state.get(manifest.file)
                problem = _replay_problem(manifest, last)
                problems.append(problem)
                if problem is not None or (last and last["manifest_sha256"] == manifest.digest):
                    continue
                state[manifest.file] = {
                    "sequence": manifest.sequence,
                    "exported_at": manifest.exported_at,
                    "manifest_sha256": manifest.digest,
                    "accepted_at": datetime.now(UTC).isoformat(timespec="seconds"),
                }
                changed = True
            if changed:
                self._write(path, state)
        return problems

    @contextmanager
    def _locked(self, path: Path) -> Iterator[None]:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        path.parent.chmod(0o700)
        fd = os.open(path.with_name(path.name + ".lock"), os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    @staticmethod
    def _read(path: Path) -> dict[str, Any]:
        if not path.exists():
            return {}
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
            exports = document["exports"]
            if not isinstance(exports, dict):
                raise TypeError
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ExportSequenceError(
                f"{path}: the record of accepted exports is unreadable ({type(exc).__name__}); "
                "restore it from a backup — removing it would accept replayed exports"
            ) from None
        return exports

    @staticmethod
    def _write(path: Path, exports: dict[str, Any]) -> None:
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.unlink(missing_ok=True)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            # one line: json's C encoder (indent would use the pure-Python one)
            handle.write(json.dumps({"exports": exports}, sort_keys=True))
        tmp.replace(path)


def _replay_problem(manifest: ExportManifest, last: dict[str, Any] | None) -> str | None:
    if last is None or last.get("manifest_sha256") == manifest.digest:
        return None
    if manifest.sequence <= int(last["sequence"]):
        return (
            f"sequence {manifest.sequence} is not newer than the last accepted ({last['sequence']})"
        )
    if manifest.exported <= datetime.fromisoformat(str(last["exported_at"])):
        return "exported_at is not newer than the last accepted export's"
    return None
