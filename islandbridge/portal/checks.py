"""The checks an upload gets before it is queued for intake, each shown on its page.

In order: the file's **name** (the source's glob and pattern, a known branch, the
account's own branch), its **content type** (declared and by its first bytes), its
**encoding** (the declared one, decoded to the end), its **header** (the source's column
contract), its **row count** (read with the source's own reader) and its **signature**
(the signed manifest against the trust store, then not a replay: neither a manifest
handed in before nor one not newer than the last accepted export). A check that cannot
run because an earlier one failed is shown as not run. Details name problems, never a
value of the file.
"""

from __future__ import annotations

import codecs
import zipfile
from dataclasses import asdict, dataclass
from pathlib import Path, PurePosixPath

from connectors.file_names import name_problem
from connectors.signatures import SignatureVerdict
from connectors.specs import SourceConfig

__all__ = [
    "Check",
    "content_type_problem",
    "file_checks",
    "name_checks",
    "replay_problem",
]

_TYPES = {
    "csv": {
        "text/csv",
        "text/plain",
        "application/csv",
        "text/comma-separated-values",
        "application/vnd.ms-excel",
    },
    "xlsx": {
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "application/zip",
    },
    "json": {"application/json", "text/plain"},
    "jsonl": {"application/json", "application/x-ndjson", "application/jsonl", "text/plain"},
    "parquet": {"application/vnd.apache.parquet", "application/x-parquet"},
    "manifest": {"application/json", "text/plain"},
}
_ANY = {"", "application/octet-stream"}
_BINARY_STARTS = (b"PK\x03\x04", b"%PDF", b"MZ", b"\x7fELF", b"\x89PNG", b"GIF8", b"\xff\xd8")


@dataclass(frozen=True, slots=True)
class Check:
    """One check's outcome: ``ok`` True, False, or None (not run)."""

    code: str
    ok: bool | None
    detail: str = ""

    def to_json(self) -> dict:
        return asdict(self)


def content_type_problem(declared: str, head: bytes, kind: str) -> str | None:
    """Why a file part of ``kind`` (a source format or ``manifest``) is the wrong type:
    its declared content type, or its first bytes; None when it fits."""
    declared = declared.split(";")[0].strip().lower()
    if declared not in _TYPES.get(kind, set()) | _ANY:
        return f"declared as {declared[:80]}, not a {kind} file"
    if kind == "xlsx":
        return None if head.startswith(b"PK\x03\x04") else "not an xlsx (zip) file"
    if kind == "parquet":
        return None if head.startswith(b"PAR1") else "not a Parquet file"
    if head.startswith(_BINARY_STARTS) or b"\x00" in head:
        return f"binary content, not a {kind} file"
    return None


def name_checks(
    name: str, spec: SourceConfig, *, account_branch: str | None, trusted_branches: set[str]
) -> Check:
    """The file name against the source's glob and pattern; a per-branch source's file must
    name a branch with a key in the trust store, and a branch secretary's their own."""
    assert spec.file is not None
    glob = PurePosixPath(spec.file.path).name
    problem = name_problem(name, glob=glob, pattern=spec.file.name_pattern)
    if problem is not None:
        return Check("name", False, problem)
    branch = spec.signed_branch(name)
    if branch is not None and branch not in trusted_branches:
        return Check("name", False, "name_unknown_branch")
    if account_branch is not None and branch != account_branch:
        return Check("name", False, "branch_not_yours")
    return Check("name", True, glob if spec.file.name_pattern is None else spec.file.name_pattern)


def _encoding_check(path: Path, spec: SourceConfig) -> Check:
    assert spec.file is not None
    if spec.file.format == "xlsx":
        try:
            with zipfile.ZipFile(path) as book:
                ok = "xl/workbook.xml" in book.namelist()
        except (zipfile.BadZipFile, OSError):
            ok = False
        return Check("encoding", ok, "xlsx" if ok else "not a readable xlsx workbook")
    if spec.file.format == "parquet" or spec.file.encoding is None:
        return Check("encoding", True, "detected by the reader")
    decoder = codecs.getincrementaldecoder(spec.file.encoding)(errors="strict")
    offset = 0
    try:
        with path.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                decoder.decode(block)
                offset += len(block)
            decoder.decode(b"", final=True)
    except UnicodeDecodeError as exc:
        return Check(
            "encoding", False, f"not {spec.file.encoding} at byte {offset + int(exc.start)}"
        )
    return Check("encoding", True, spec.file.encoding)


def file_checks(path: Path, spec: SourceConfig) -> tuple[list[Check], int | None]:
    """Encoding, header contract and row count of the stored export ``path``; the checks
    and the number of records (None when it could not be read)."""
    from connectors import ExtractContext, SourceError, check_contract, connector_for

    encoding = _encoding_check(path, spec)
    if not encoding.ok:
        return [encoding, Check("header", None), Check("rows", None)], None
    reader = connector_for(spec, ExtractContext(sources_dir=path.parent))
    rows = 0
    header: Check | None = None
    try:
        for frame in reader.records_of(path.name):
            if header is None:
                check_contract(list(frame.columns), spec, path.name)
                header = Check("header", True, f"{len(spec.columns)} mapped columns")
            rows += len(frame)
    except SourceError as exc:
        where = f"column {exc.column}: " if exc.column else ""
        problem = f"{where}{exc.problem}" + (f" (row {exc.row})" if exc.row is not None else "")
        if header is None:
            return [encoding, Check("header", False, problem), Check("rows", None)], None
        return [encoding, header, Check("rows", False, problem)], None
    if header is None:
        header = Check("header", False, "no records")
    return [encoding, header, Check("rows", True, str(rows))], rows


def replay_problem(
    digest: str, sequence: int, exported_at: str, last: dict | None, seen_before: bool
) -> str | None:
    """Why a valid manifest is a replay: handed in to the portal before, or not newer than
    the last export of its file the intake accepted; None when it is new."""
    from datetime import datetime

    if seen_before:
        return "this signed manifest was handed in before"
    if last is None:
        return None
    if last.get("manifest_sha256") == digest:
        return "this export was accepted before"
    if sequence <= int(last["sequence"]):
        return f"sequence {sequence} is not newer than the last accepted ({last['sequence']})"
    if datetime.fromisoformat(exported_at) <= datetime.fromisoformat(str(last["exported_at"])):
        return "exported_at is not newer than the last accepted export's"
    return None


REFUSED = {v.value for v in SignatureVerdict if v.refused}
