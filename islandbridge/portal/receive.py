"""Receiving an upload: the multipart body streamed to disk, part by part, capped.

The body is parsed as it arrives (python-multipart's streaming parser) and each file
part written straight to a file in the upload's owner-only folder under a fixed name
(``export.part``, ``manifest.part``) — never under the name the client sent, which is
only judged afterwards — so neither a huge upload nor a hostile name reaches memory or
the file system. Limits: the declared ``Content-Length``, the export's and manifest's
sizes, small text fields, few parts; the CSRF field must come before any file.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import Request

__all__ = ["FILE_FIELDS", "Received", "ReceivedFile", "UploadRefused", "receive_upload"]

#: file parts the form may carry, and the fixed name each is written under
FILE_FIELDS = {"export": "export.part", "manifest": "manifest.part"}
_TEXT_FIELDS = ("csrf", "source", "public_key", "sign")
_MAX_FIELD = 2048
_MAX_PARTS = 8
_OVERHEAD = 64 << 10


class UploadRefused(Exception):
    """The upload was refused before it was stored: an HTTP status and a reason code."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


@dataclass(slots=True)
class ReceivedFile:
    path: Path
    client_name: str
    content_type: str
    size: int = 0


@dataclass(slots=True)
class Received:
    fields: dict[str, str] = field(default_factory=dict)
    files: dict[str, ReceivedFile] = field(default_factory=dict)


class _Part:
    def __init__(self) -> None:
        self.headers: dict[bytes, bytes] = {}
        self.field = b""
        self.value = b""
        self.name = ""
        self.file: ReceivedFile | None = None
        self.handle = None
        self.text = bytearray()


async def receive_upload(
    request: Request,
    folder: Path,
    *,
    max_file_bytes: int,
    max_manifest_bytes: int,
    csrf_ok: Callable[[str | None], bool],
) -> Received:
    """Stream ``request``'s multipart body into ``folder``; raises :class:`UploadRefused`."""
    kind, options = parse_options_header(request.headers.get("content-type", ""))
    if kind != b"multipart/form-data" or b"boundary" not in options:
        raise UploadRefused(415, "not_multipart")
    declared = request.headers.get("content-length")
    limit = max_file_bytes + max_manifest_bytes + _OVERHEAD
    if declared is not None and (not declared.isdigit() or int(declared) > limit):
        raise UploadRefused(413, "too_large")
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    received = Received()
    state: dict = {"part": None, "parts": 0, "error": None}
    caps = {"export": max_file_bytes, "manifest": max_manifest_bytes}

    def fail(status: int, reason: str) -> None:
        if state["error"] is None:
            state["error"] = UploadRefused(status, reason)

    def on_part_begin() -> None:
        state["parts"] += 1
        if state["parts"] > _MAX_PARTS:
            fail(400, "too_many_parts")
        state["part"] = _Part()

    def on_header_field(data: bytes, start: int, end: int) -> None:
        state["part"].field += data[start:end]

    def on_header_value(data: bytes, start: int, end: int) -> None:
        state["part"].value += data[start:end]

    def on_header_end() -> None:
        part = state["part"]
        part.headers[part.field.strip().lower()] = part.value.strip()
        part.field, part.value = b"", b""

    def on_headers_finished() -> None:
        part: _Part = state["part"]
        _, disposition = parse_options_header(part.headers.get(b"content-disposition", b""))
        part.name = disposition.get(b"name", b"").decode("utf-8", "replace")
        filename = disposition.get(b"filename")
        if filename is None:
            if part.name not in _TEXT_FIELDS:
                fail(400, "unknown_field")
            return
        if part.name not in FILE_FIELDS:
            fail(400, "unknown_field")
            return
        if not csrf_ok(received.fields.get("csrf")):
            fail(403, "csrf")
            return
        if part.name in received.files or not filename:
            return  # a second file of the same field, or an empty file input: ignored
        target = folder / FILE_FIELDS[part.name]
        part.file = ReceivedFile(
            target,
            filename.decode("utf-8", "surrogateescape"),
            part.headers.get(b"content-type", b"").decode("latin-1").lower(),
        )
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        part.handle = os.fdopen(fd, "wb")

    def on_part_data(data: bytes, start: int, end: int) -> None:
        part: _Part = state["part"]
        if state["error"] is not None:
            return
        if part.file is not None and part.handle is not None:
            part.file.size += end - start
            if part.file.size > caps[part.name]:
                fail(413, "too_large" if part.name == "export" else "manifest_too_large")
                return
            part.handle.write(data[start:end])
        elif part.name in _TEXT_FIELDS:
            part.text += data[start:end]
            if len(part.text) > _MAX_FIELD:
                fail(400, "field_too_large")

    def on_part_end() -> None:
        part: _Part = state["part"]
        if part.handle is not None:
            part.handle.close()
            part.handle = None
            if state["error"] is None and part.file is not None:
                received.files[part.name] = part.file
        elif part.name in _TEXT_FIELDS and part.name not in received.fields:
            received.fields[part.name] = part.text.decode("utf-8", "replace")

    parser = MultipartParser(
        options[b"boundary"],
        {
            "on_part_begin": on_part_begin,
            "on_part_data": on_part_data,
            "on_part_end": on_part_end,
            "on_header_field": on_header_field,
            "on_header_value": on_header_value,
            "on_header_end": on_header_end,
            "on_headers_finished": on_headers_finished,
        },
    )
    total = 0
    try:
        async for chunk in request.stream():
            total += len(chunk)
            if total > limit:
                fail(413, "too_large")
            if state["error"] is None:
                parser.write(chunk)
            if state["error"] is not None:
                break
        else:
            parser.finalize()
    except UploadRefused:
        raise
    except Exception:  # a malformed body: python-multipart's own error types
        fail(400, "malformed")
    finally:
        part = state["part"]
        if part is not None and part.handle is not None:
            part.handle.close()
    if state["error"] is not None:
        for name in FILE_FIELDS.values():
            (folder / name).unlink(missing_ok=True)
        raise state["error"]
    if not csrf_ok(received.fields.get("csrf")):
        raise UploadRefused(403, "csrf")
    return received
